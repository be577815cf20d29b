import { describe, expect, it } from 'vitest';
import type { V1Lease } from '@kubernetes/client-node';
import {
  holderIdentity,
  isHeldBy,
  leaseDurationSeconds,
  leaseExpiry,
  leaseHolder,
  newLease,
  parseHolderIdentity,
  renewedLease,
  takenOverLease,
} from '../../src/adapters/k8s/lease-spec.js';
import { lockRefusal, staleReason } from '../../src/engine/lock.js';

const T0 = new Date('2025-06-01T10:00:00.000Z');

function leaseAt(spec: V1Lease['spec']): V1Lease {
  return { metadata: { name: 'cutover-x', namespace: 'ops', resourceVersion: '7' }, spec };
}

describe('lease holder identity', () => {
  it('is user@host/pid/random, so people know whom to ask and only the holding process recognises it', () => {
    const a = holderIdentity({ user: 'alice', host: 'ops-1', pid: 4242 });
    const b = holderIdentity({ user: 'alice', host: 'ops-1', pid: 4242 });
    expect(a).toMatch(/^alice@ops-1\/4242\/[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(holderIdentity({ user: 'alice', host: 'ops-1', pid: 4242, nonce: 'n1' })).toBe('alice@ops-1/4242/n1');
  });

  it('parses its own identities back, user names with @ included, and leaves foreign ones unparsed', () => {
    expect(parseHolderIdentity('alice@ops-1/4242/n1')).toEqual({ user: 'alice', host: 'ops-1', pid: 4242, nonce: 'n1' });
    expect(parseHolderIdentity('ci@corp@runner-7/12/ab')).toEqual({ user: 'ci@corp', host: 'runner-7', pid: 12, nonce: 'ab' });
    expect(parseHolderIdentity('kube-controller-manager_1234')).toBeUndefined();
  });
});

describe('lease expiry', () => {
  it('rounds the lock time-to-live up to whole seconds, never below one', () => {
    expect(leaseDurationSeconds(120_000)).toBe(120);
    expect(leaseDurationSeconds(1_500)).toBe(2);
    expect(leaseDurationSeconds(0)).toBe(1);
  });

  it('lapses leaseDurationSeconds after the last renewal, read from MicroTime strings as the server sends them', () => {
    const lease = leaseAt({ acquireTime: '2025-06-01T09:00:00.000000Z' as never, renewTime: '2025-06-01T10:00:00.250000Z' as never, leaseDurationSeconds: 60 });
    expect(leaseExpiry(lease).toISOString()).toBe('2025-06-01T10:01:00.250Z');
  });

  it('counts a lease never renewed as expired from its acquisition, and one with no times at all as expired', () => {
    expect(leaseExpiry(leaseAt({ acquireTime: T0 as never, leaseDurationSeconds: 10 })).toISOString()).toBe('2025-06-01T10:00:10.000Z');
    expect(leaseExpiry(leaseAt({ holderIdentity: 'x' })).getTime()).toBe(0);
  });

  it('describes the holder for refusals and status: identity, since acquisition, expiry; nobody when holderIdentity is empty', () => {
    const lease = leaseAt({ holderIdentity: 'alice@ops-1/4242/n1', acquireTime: '2025-06-01T09:00:00.000000Z' as never, renewTime: T0 as never, leaseDurationSeconds: 120 });
    expect(leaseHolder(lease)).toEqual({ holder: 'alice@ops-1/4242/n1', host: 'ops-1', pid: 4242, since: '2025-06-01T09:00:00.000Z', expiresAt: '2025-06-01T10:02:00.000Z' });
    expect(leaseHolder(leaseAt({ holderIdentity: '', renewTime: T0 as never }))).toBeUndefined();
  });

  it('lets a lease be taken over only after its expiry, whatever the holder process', () => {
    const holder = leaseHolder(leaseAt({ holderIdentity: 'alice@ops-1/4242/n1', acquireTime: T0 as never, renewTime: T0 as never, leaseDurationSeconds: 60 }))!;
    expect(staleReason(holder, new Date(T0.getTime() + 59_000), '', () => true)).toBeUndefined();
    expect(staleReason(holder, new Date(T0.getTime() + 61_000), '', () => true)).toBe('it expired at 2025-06-01T10:01:00.000Z');
  });

  it('refuses with who holds the run, since when and until when', () => {
    const holder = leaseHolder(leaseAt({ holderIdentity: 'alice@ops-1/4242/n1', acquireTime: T0 as never, renewTime: T0 as never, leaseDurationSeconds: 60 }))!;
    expect(lockRefusal(holder, undefined, false).message).toBe(
      'run locked by alice@ops-1/4242/n1 since 2025-06-01T10:00:00.000Z (expires 2025-06-01T10:01:00.000Z)\nWait for that run to finish or stop it.',
    );
  });
});

describe('lease bodies', () => {
  it('creates a lease naming the holder, its duration and MicroTime acquire and renew times', () => {
    const lease = newLease({ name: 'cutover-x', namespace: 'ops', identity: 'me', durationSeconds: 120, now: T0, labels: { a: 'b' } });
    expect(JSON.parse(JSON.stringify(lease))).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'cutover-x', namespace: 'ops', labels: { a: 'b' } },
      spec: {
        holderIdentity: 'me',
        leaseDurationSeconds: 120,
        acquireTime: '2025-06-01T10:00:00.000000Z',
        renewTime: '2025-06-01T10:00:00.000000Z',
        leaseTransitions: 0,
      },
    });
  });

  it('takes over under the resourceVersion read, with a new holder, fresh times and one more transition', () => {
    const current = leaseAt({ holderIdentity: 'old', acquireTime: '2025-06-01T09:00:00.000000Z' as never, renewTime: '2025-06-01T09:00:00.000000Z' as never, leaseDurationSeconds: 60, leaseTransitions: 2 });
    const taken = JSON.parse(JSON.stringify(takenOverLease(current, 'new', 120, T0))) as V1Lease;
    expect(taken.metadata?.resourceVersion).toBe('7');
    expect(taken.spec).toEqual({
      holderIdentity: 'new',
      leaseDurationSeconds: 120,
      acquireTime: '2025-06-01T10:00:00.000000Z',
      renewTime: '2025-06-01T10:00:00.000000Z',
      leaseTransitions: 3,
    });
    expect(isHeldBy(taken, 'new')).toBe(true);
    expect(isHeldBy(taken, 'old')).toBe(false);
  });

  it('renews only renewTime, keeping holder, acquisition and resourceVersion', () => {
    const current = leaseAt({ holderIdentity: 'me', acquireTime: '2025-06-01T09:00:00.000000Z' as never, renewTime: '2025-06-01T09:00:00.000000Z' as never, leaseDurationSeconds: 60 });
    const renewed = JSON.parse(JSON.stringify(renewedLease(current, T0))) as V1Lease;
    expect(renewed).toEqual({
      metadata: { name: 'cutover-x', namespace: 'ops', resourceVersion: '7' },
      spec: { holderIdentity: 'me', acquireTime: '2025-06-01T09:00:00.000000Z', renewTime: '2025-06-01T10:00:00.000000Z', leaseDurationSeconds: 60 },
    });
  });
});
