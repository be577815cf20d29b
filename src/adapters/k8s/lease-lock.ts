// The run lock of the Kubernetes state store: a coordination.k8s.io/v1 Lease, so runs started from
// different machines (or a Job in a management cluster) exclude each other.
//
// Every change is conditional: create fails with 409 when the Lease exists, replace and delete carry the
// resourceVersion last read and fail with 409 when anyone wrote since. That 409 is the whole safety
// argument: two processes can never both believe their write made them the holder.
//
// Expiry is judged on this machine's clock against the holder's renewTime: hosts whose clocks disagree by
// more than a small part of the lease duration should not share a runbook (see docs/safety.md).
import { hostname } from 'node:os';
import { currentUser } from '../../core/identity.js';
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { ApiError, HaltError } from '../../core/errors.js';
import { DEFAULT_LOCK_TTL_MS, lockRefusal, mayTakeOver, processAlive, staleReason } from '../../engine/lock.js';
import type { LockHolder, LockRequest, RunLock } from '../../engine/lock.js';
import { isRetryable, type Operation } from './errors.js';
import {
  holderIdentity,
  isHeldBy,
  leaseDurationSeconds,
  leaseHolder,
  newLease,
  parseHolderIdentity,
  renewedLease,
  takenOverLease,
} from './lease-spec.js';
import { missingStateNamespace } from './state-objects.js';
import { callOptions, defaultRequestPolicy, read, write, type RequestPolicy } from './request.js';

/** Where the Lease lives and how to reach it. */
export interface LeaseTarget {
  api: CoordinationV1Api;
  cluster: string;
  server: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
}

export interface LeaseLockOptions {
  now?: () => Date;
  user?: string;
  host?: string;
  pid?: number;
  /** The random part of the identity; tests fix it. */
  nonce?: string;
  policy?: RequestPolicy;
  /** Whether a process of this host still runs; tests stand in for a process that died. */
  isProcessAlive?: (pid: number) => boolean;
}

/** Rounds of create / read / take over before giving up on a Lease that keeps changing under us. */
const MAX_ROUNDS = 5;
/** Renewal attempts; unclear failures also stop at the lease's expiry. */
const MAX_RENEW_ATTEMPTS = 10;

export const isConflict = (error: unknown): boolean => error instanceof ApiError && error.status === 409;
export const isNotFound = (error: unknown): boolean => error instanceof ApiError && error.status === 404;
/** A write whose fate is unknown (timeout, reset, 5xx, 429): read back before trying again. */
export const isUnclear = (error: unknown): boolean =>
  error instanceof ApiError && (error.status === undefined || error.status === 429 || error.status >= 500) && isRetryable(error.cause);

function op(target: LeaseTarget, verb: string): Operation {
  return {
    cluster: target.cluster,
    server: target.server,
    verb,
    resource: 'leases',
    group: 'coordination.k8s.io',
    namespace: target.namespace,
    name: target.name,
  };
}

export async function readLease(target: LeaseTarget, policy: RequestPolicy = defaultRequestPolicy): Promise<V1Lease | undefined> {
  return read(op(target, 'get'), policy, async () => {
    try {
      return await target.api.readNamespacedLease({ name: target.name, namespace: target.namespace }, callOptions(policy));
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  });
}

export async function readLeaseHolder(target: LeaseTarget, policy?: RequestPolicy): Promise<LockHolder | undefined> {
  const lease = await readLease(target, policy);
  return lease ? leaseHolder(lease) : undefined;
}

function createLease(target: LeaseTarget, body: V1Lease, policy: RequestPolicy): Promise<V1Lease> {
  return write(op(target, 'create'), () => target.api.createNamespacedLease({ namespace: target.namespace, body }, callOptions(policy)));
}

function replaceLease(target: LeaseTarget, body: V1Lease, policy: RequestPolicy): Promise<V1Lease> {
  return write(op(target, 'update'), () =>
    target.api.replaceNamespacedLease({ name: target.name, namespace: target.namespace, body }, callOptions(policy)),
  );
}

function lostLock(target: LeaseTarget, current: V1Lease | undefined): HaltError {
  const holder = current ? leaseHolder(current) : undefined;
  const now = holder
    ? `it is now held by ${holder.holder} since ${holder.since}`
    : `Lease ${target.namespace}/${target.name} was deleted or released`;
  return new HaltError(
    `lost the run lock: ${now}`,
    'Another cutover may be running this runbook: check `cutover status` before going on.',
  );
}

export class LeaseLock implements RunLock {
  constructor(
    private readonly target: LeaseTarget,
    private lease: V1Lease,
    readonly identity: string,
    private readonly now: () => Date,
    private readonly policy: RequestPolicy,
  ) {}

  get holder(): LockHolder {
    const holder = leaseHolder(this.lease);
    if (!holder) throw new Error(`Lease ${this.target.name} held by this process has no holderIdentity`);
    return holder;
  }

  /** Whether the Lease still names this process, as the server has it now. */
  async holds(): Promise<boolean> {
    return isHeldBy(await readLease(this.target, this.policy), this.identity);
  }

  /**
   * Moves renewTime forward under the resourceVersion last seen. A 409 is either our own earlier renewal
   * whose answer was lost (the Lease still names us: carry on from it) or a takeover (lost). Unclear
   * failures are retried until the lease would lapse: past that, another run may rightly take it.
   */
  async renew(): Promise<void> {
    const deadline = Date.parse(this.holder.expiresAt);
    for (let attempt = 0; attempt < MAX_RENEW_ATTEMPTS; attempt++) {
      try {
        this.lease = await replaceLease(this.target, renewedLease(this.lease, this.now()), this.policy);
        return;
      } catch (error) {
        if (isNotFound(error)) throw lostLock(this.target, undefined);
        if (!isConflict(error) && !isUnclear(error)) throw error;
        if (isUnclear(error)) await this.backoff(attempt, deadline, error);
        const current = await readLease(this.target, this.policy);
        if (!current || !isHeldBy(current, this.identity)) throw lostLock(this.target, current);
        this.lease = current;
      }
    }
    throw new HaltError(
      `could not renew the run lock (Lease ${this.target.namespace}/${this.target.name} on cluster ${this.target.cluster}): it kept changing`,
      'Another process writes this Lease: check `cutover status` before going on.',
    );
  }

  private async backoff(attempt: number, deadline: number, error: unknown): Promise<void> {
    const wait = Math.min(this.policy.maxBackoffMs, this.policy.firstBackoffMs * 2 ** attempt);
    if (this.now().getTime() + wait >= deadline) {
      throw new HaltError(
        `could not renew the run lock (Lease ${this.target.namespace}/${this.target.name} on cluster ${this.target.cluster}) before it expired: ${(error as Error).message}`,
        'The run stopped so that it never acts without the lock; resume it with `cutover execute` once the cluster answers.',
      );
    }
    await this.policy.clock.sleep(wait);
  }

  /** Deletes the Lease only while it still names us and is unchanged since read; a taken-over lock is left alone. */
  async release(): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await readLease(this.target, this.policy);
      if (!current || !isHeldBy(current, this.identity)) return;
      try {
        await this.deleteLease(current.metadata?.resourceVersion);
        return;
      } catch (error) {
        if (isNotFound(error)) return;
        if (!isConflict(error) && !isUnclear(error)) throw error;
      }
    }
    throw new ApiError(
      `could not release the run lock (Lease ${this.target.namespace}/${this.target.name} on cluster ${this.target.cluster}): it kept changing; it expires by itself at ${this.holder.expiresAt}`,
    );
  }

  private async deleteLease(resourceVersion: string | undefined): Promise<void> {
    const { target } = this;
    await write(op(target, 'delete'), () =>
      target.api.deleteNamespacedLease(
        { name: target.name, namespace: target.namespace, body: { preconditions: { resourceVersion } } },
        callOptions(this.policy),
      ),
    );
  }
}


interface Attempt {
  target: LeaseTarget;
  request: LockRequest;
  identity: string;
  host: string;
  isAlive: (pid: number) => boolean;
  durationSeconds: number;
  now: () => Date;
  policy: RequestPolicy;
}

/**
 * Creates the Lease; when it exists: adopts it if it already names us (our create answered late), takes
 * it when nobody holds it, takes it over when expired and `steal` is asked, and otherwise refuses with
 * the holder, since when and until when.
 */
export async function acquireLeaseLock(target: LeaseTarget, request: LockRequest, options: LeaseLockOptions = {}): Promise<LeaseLock> {
  const attempt = attemptOf(target, request, options);
  const { identity, now, policy } = attempt;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const lease = await acquireOnce(attempt);
    if (lease) return new LeaseLock(target, lease, identity, now, policy);
  }
  throw new HaltError(
    `could not take the run lock (Lease ${target.namespace}/${target.name} on cluster ${target.cluster}): it kept changing while cutover tried`,
    'Another process is competing for this runbook: check `cutover status`, then try again.',
  );
}

function identityFor(request: LockRequest, options: LeaseLockOptions, host: string): string {
  return holderIdentity({
    // The operator the run records names the Lease's holder, so whoever finds it held knows whom to ask.
    user: options.user ?? request.operator?.replace(`@${host}`, '') ?? currentUser(),
    host,
    pid: options.pid ?? process.pid,
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
  });
}

function attemptOf(target: LeaseTarget, request: LockRequest, options: LeaseLockOptions): Attempt {
  const host = options.host ?? hostname();
  return {
    target,
    request,
    identity: identityFor(request, options, host),
    host,
    isAlive: options.isProcessAlive ?? processAlive,
    durationSeconds: leaseDurationSeconds(request.ttlMs ?? DEFAULT_LOCK_TTL_MS),
    now: options.now ?? (() => new Date()),
    policy: options.policy ?? defaultRequestPolicy,
  };
}

/** One round: the Lease we now hold, or undefined to go round again; throws when the lock is refused. */
async function acquireOnce(a: Attempt): Promise<V1Lease | undefined> {
  const body = newLease({ ...a.target, identity: a.identity, durationSeconds: a.durationSeconds, now: a.now(), labels: a.target.labels });
  try {
    return await createLease(a.target, body, a.policy);
  } catch (error) {
    if (isNotFound(error)) throw missingStateNamespace(a.target.cluster, a.target.namespace, error);
    if (!isConflict(error) && !isUnclear(error)) throw error;
  }
  const current = await readLease(a.target, a.policy);
  if (!current) return undefined; // released between our create and our read
  if (isHeldBy(current, a.identity)) return current;
  const holder = leaseHolder(current);
  if (holder) {
    // Across hosts a Lease is freed by expiry alone. On this host, a holder whose process is gone is
    // provably not acting any more: taken over without --steal-lock.
    const stale = staleReason(holder, a.now(), '', () => true);
    if (!mayTakeOver(stale, holderGoneHere(current, a), a.request.steal)) throw lockRefusal(holder, stale, a.request.steal);
  }
  return takeOver(a, current);
}

function holderGoneHere(lease: V1Lease, a: Attempt): boolean {
  const parts = parseHolderIdentity(lease.spec?.holderIdentity ?? '');
  return parts !== undefined && parts.host === a.host && parts.pid !== process.pid && !a.isAlive(parts.pid);
}

async function takeOver(a: Attempt, current: V1Lease): Promise<V1Lease | undefined> {
  try {
    return await replaceLease(a.target, takenOverLease(current, a.identity, a.durationSeconds, a.now()), a.policy);
  } catch (error) {
    if (isUnclear(error)) return undefined; // the next round reads who holds it, maybe us
    if (!isConflict(error)) throw error;
  }
  // Someone else wrote first: if they now hold it, they won; a Lease left free goes round again.
  const winner = await readLease(a.target, a.policy);
  const holder = winner ? leaseHolder(winner) : undefined;
  if (winner && isHeldBy(winner, a.identity)) return winner;
  if (holder) throw lockRefusal(holder, undefined, a.request.steal);
  return undefined;
}
