// How every Kubernetes call is made: a per-request timeout, capped retries with a deadline for reads, and
// errors translated into ApiErrors that name the cluster and operation.
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
  firstBackoffMs: number;
  maxBackoffMs: number;
  clock: Clock;
}

export const defaultRequestPolicy: RequestPolicy = {
  requestTimeoutMs: 30_000,
  retryDeadlineMs: 20_000,
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

function backoff(policy: RequestPolicy, attempt: number, error: unknown): number {
  const exponential = Math.min(policy.maxBackoffMs, policy.firstBackoffMs * 2 ** attempt);
  const asked = retryAfterMs(error);
  return asked === undefined ? exponential : Math.min(Math.max(asked, exponential), policy.maxBackoffMs * 2);
}

/** A read: retried on 429, 5xx, resets, timeouts and DNS hiccups, until the retry deadline. */
export async function read<T>(op: Operation, policy: RequestPolicy, send: () => Promise<T>): Promise<T> {
  const deadline = policy.clock.now().getTime() + policy.retryDeadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const wait = backoff(policy, attempt, error);
      if (!isRetryable(error) || policy.clock.now().getTime() + wait > deadline) throw toApiError(op, error);
      await policy.clock.sleep(wait);
    }
  }
}

/** A write: sent once. After an unclear failure the caller re-reads rather than blindly sending it again. */
export async function write<T>(op: Operation, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw toApiError(op, error);
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
