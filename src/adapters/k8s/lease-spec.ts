// The run lock as a coordination.k8s.io/v1 Lease: pure builders and the expiry arithmetic, no client.
//
// holderIdentity is `user@host/pid/<random>`: the person and process to ask about a held run, plus a
// random part only the holding process knows, so a restarted process with the same pid on the same host
// never mistakes an old lease for its own.
import { randomBytes } from 'node:crypto';
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { LockHolder } from '../../engine/lock.js';

export interface HolderParts {
  user: string;
  host: string;
  pid: number;
  /** Random, so only this process can recognise the lease as its own. */
  nonce?: string;
}

export function holderIdentity(parts: HolderParts): string {
  return `${parts.user}@${parts.host}/${parts.pid}/${parts.nonce ?? randomBytes(4).toString('hex')}`;
}

/** The parts of an identity this tool wrote; other writers' identities come back as undefined. */
export function parseHolderIdentity(identity: string): HolderParts | undefined {
  const match = /^(.+)@([^@/]+)\/(\d+)\/([^/]+)$/.exec(identity);
  if (!match) return undefined;
  const [, user, host, pid, nonce] = match as unknown as [string, string, string, string, string];
  return { user, host, pid: Number(pid), nonce };
}

/** Lease durations are whole seconds; a lock is never shorter than asked. */
export function leaseDurationSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/** client-node hands MicroTime back as the server's string; tolerate a Date (a body built here). */
export function leaseTime(value: Date | string | undefined): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * When the lease lapses: its last renewal plus its duration. A lease with no renewal time has never been
 * renewed by anyone: it counts as expired from its acquisition (or at once).
 */
export function leaseExpiry(lease: V1Lease): Date {
  const spec = lease.spec ?? {};
  const renewed = leaseTime(spec.renewTime) ?? leaseTime(spec.acquireTime);
  if (!renewed) return new Date(0);
  return new Date(renewed.getTime() + (spec.leaseDurationSeconds ?? 0) * 1000);
}

/** The holder as the engine and `status` describe it; undefined when nobody holds the lease. */
export function leaseHolder(lease: V1Lease): LockHolder | undefined {
  const identity = lease.spec?.holderIdentity;
  if (!identity) return undefined;
  const parts = parseHolderIdentity(identity);
  const since = leaseTime(lease.spec?.acquireTime) ?? leaseTime(lease.spec?.renewTime) ?? new Date(0);
  // The pid matters only on the holder's own host, where a gone process frees the Lease at once; across
  // hosts expiry alone does.
  return {
    holder: identity,
    since: since.toISOString(),
    expiresAt: leaseExpiry(lease).toISOString(),
    ...(parts ? { host: parts.host, pid: parts.pid } : {}),
  };
}

export function isHeldBy(lease: V1Lease | undefined, identity: string): boolean {
  return lease?.spec?.holderIdentity === identity;
}

const micro = (at: Date): V1MicroTime => new V1MicroTime(at.getTime());

export function newLease(spec: {
  name: string;
  namespace: string;
  identity: string;
  durationSeconds: number;
  now: Date;
  labels: Record<string, string>;
}): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels },
    spec: {
      holderIdentity: spec.identity,
      leaseDurationSeconds: spec.durationSeconds,
      acquireTime: micro(spec.now),
      renewTime: micro(spec.now),
      leaseTransitions: 0,
    },
  };
}

/** The current lease handed to a new holder; its resourceVersion makes the replace lose to any other writer. */
export function takenOverLease(current: V1Lease, identity: string, durationSeconds: number, now: Date): V1Lease {
  const transitions = current.spec?.leaseTransitions ?? 0;
  return {
    ...current,
    spec: {
      ...current.spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: micro(now),
      renewTime: micro(now),
      leaseTransitions: transitions + 1,
    },
  };
}

export function renewedLease(current: V1Lease, now: Date): V1Lease {
  return { ...current, spec: { ...current.spec, renewTime: micro(now) } };
}
