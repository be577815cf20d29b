// How every Kubernetes call is made: a per-request timeout, capped retries with a deadline, and errors
// translated into ApiErrors that name the cluster and operation.
//
// One retry policy for the whole client (client-node itself never retries): reads are sent again after a
// transient fault (429, 5xx, reset, timeout); a write whose answer was such a fault, or lost, is followed by
// a read, and sent again only when that read shows it did not apply. Pauses grow exponentially with full
// jitter, capped, honour Retry-After, stay inside the retry deadline, and end at once on abort. Anything
// else (400, 401, 403, 404, 422, a conflict that re-reading does not resolve) is answered at once.
import {
  Observable,
  type ConfigurationOptions,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { systemClock, type Clock } from '../../core/clock.js';
import { isRetryable, retryAfterMs, toApiError, type Operation } from './errors.js';

export interface RequestPolicy {
  /** Abort a single request after this long (a hung connection must not stall a run). */
  requestTimeoutMs: number;
  /** Give up retrying a read once this much time has passed since the first attempt. */
  retryDeadlineMs: number;
  /** Give up re-sending a write once this much time has passed since the first attempt. */
  writeDeadlineMs?: number;
  firstBackoffMs: number;
  maxBackoffMs: number;
  clock: Clock;
  /** Stops a pause between attempts at once (Ctrl-C, a lost lock). */
  signal?: AbortSignal;
  /** 0..1; injected by tests for reproducible pauses. */
  random?: () => number;
}

export const defaultRequestPolicy: RequestPolicy = {
  requestTimeoutMs: 30_000,
  retryDeadlineMs: 20_000,
  writeDeadlineMs: 60_000,
  firstBackoffMs: 250,
  maxBackoffMs: 2_000,
  clock: systemClock,
};

function timeoutMiddleware(ms: number): ObservableMiddleware {
  return {
    pre: (request: RequestContext) => {
      request.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(request));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
}

/** Call options for client-node: the timeout, plus whatever the call adds (e.g. the merge-patch type). */
export function callOptions(
  policy: RequestPolicy,
  extra?: ConfigurationOptions<ObservableMiddleware>,
): ConfigurationOptions<ObservableMiddleware> {
  return {
    ...extra,
    middleware: [timeoutMiddleware(policy.requestTimeoutMs), ...(extra?.middleware ?? [])],
    middlewareMergeStrategy: 'append',
  };
}

/**
 * Pause before attempt `attempt + 1`: full jitter over an exponentially growing window, at least half of it
 * (an immediate retry would meet the same overload); a server's Retry-After is a floor.
 */
export function backoffMs(policy: RequestPolicy, attempt: number, error: unknown): number {
  const window = Math.min(policy.maxBackoffMs, policy.firstBackoffMs * 2 ** attempt);
  const jittered = Math.round(window / 2 + ((policy.random ?? Math.random)() * window) / 2);
  const asked = retryAfterMs(error);
  return asked === undefined ? jittered : Math.max(asked, jittered);
}

/** A 409 on a write that names no resourceVersion: another writer got in between; re-read decides. */
const isConflict = (error: unknown): boolean => (error as { code?: unknown } | undefined)?.code === 409;

/** Waits `ms`, or throws `giveUp` when that would pass `deadline`; an abort ends the wait at once. */
async function pause(policy: RequestPolicy, ms: number, deadline: number, giveUp: () => Error): Promise<void> {
  if (policy.clock.now().getTime() + ms > deadline) throw giveUp();
  await policy.clock.sleep(ms, policy.signal);
}

/**
 * A read: retried on 429, 5xx, resets, timeouts and DNS hiccups, until the retry deadline. `question`: a
 * POST that stores nothing (an access review), for which a 409 can only be a passing fault, retried too.
 */
export async function read<T>(op: Operation, policy: RequestPolicy, send: () => Promise<T>, question = false): Promise<T> {
  const deadline = policy.clock.now().getTime() + policy.retryDeadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (!isRetryable(error) && !(question && isConflict(error))) throw toApiError(op, error);
      await pause(policy, backoffMs(policy, attempt, error), deadline, () => toApiError(op, error));
    }
  }
}

export interface WriteCheck<T> {
  /**
   * Reads the object back after a failed or lost answer: what the server stores when the write applied,
   * undefined when it did not (then it is sent again).
   */
  applied: () => Promise<T | undefined>;
}

/** Conflicts re-read and re-sent at most this often; past it the conflict is not one re-reading resolves. */
const MAX_CONFLICTS = 3;

/**
 * A write. Without `check` it is sent once (the caller re-reads itself, e.g. the Lease lock, whose 409 is
 * its safety). With `check`, a transient failure or a conflict is followed by a read: the write is done
 * when the read shows it applied, and sent again only when it did not, until the write deadline.
 */
export async function write<T>(op: Operation, send: () => Promise<T>, policy?: RequestPolicy, check?: WriteCheck<T>): Promise<T> {
  if (policy && check) return writeChecked(op, send, { policy, check });
  try {
    return await send();
  } catch (error) {
    throw toApiError(op, error);
  }
}

async function writeChecked<T>(op: Operation, send: () => Promise<T>, { policy, check }: { policy: RequestPolicy; check: WriteCheck<T> }): Promise<T> {
  const deadline = policy.clock.now().getTime() + (policy.writeDeadlineMs ?? policy.retryDeadlineMs);
  let conflicts = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const conflict = isConflict(error);
      if (!(isRetryable(error) || (conflict && ++conflicts <= MAX_CONFLICTS))) throw toApiError(op, error);
      await pause(policy, backoffMs(policy, attempt, error), deadline, () => toApiError(op, error));
      const stored = await check.applied();
      if (stored !== undefined) return stored;
    }
  }
}

interface Page<T> {
  items: T[];
  metadata?: { _continue?: string };
}

/** Follows `continue` tokens until the list is complete (pages keep responses bounded). */
export async function listAll<T>(fetchPage: (continueToken: string | undefined) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    items.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token);
  return items;
}

/** The `limit`/`_continue` part of a LIST request. */
export function pageParams(limit: number, continueToken: string | undefined): { limit: number; _continue?: string } {
  return continueToken ? { limit, _continue: continueToken } : { limit };
}
