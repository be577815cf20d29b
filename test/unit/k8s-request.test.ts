import { describe, expect, it } from 'vitest';
import { ApiException, FetchError } from '@kubernetes/client-node';
import type { Clock } from '../../src/core/clock.js';
import { ApiError } from '../../src/core/errors.js';
import { isRetryable, serverMessage, toApiError, type Operation } from '../../src/adapters/k8s/errors.js';
import { backoffMs, read, write, type RequestPolicy } from '../../src/adapters/k8s/request.js';
import { systemClock } from '../../src/core/clock.js';

/** A clock that only moves when the code under test sleeps. */
function virtualClock(): Clock & { slept: number[] } {
  let now = Date.parse('2025-03-02T08:05:00Z');
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date(now),
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

function policy(clock: Clock): RequestPolicy {
  // random 1: the top of each jitter window, so pauses are exact.
  return { requestTimeoutMs: 30_000, retryDeadlineMs: 5_000, firstBackoffMs: 250, maxBackoffMs: 2_000, clock, random: () => 1 };
}

const op: Operation = {
  cluster: 'green',
  server: 'https://127.0.0.1:26443',
  verb: 'list',
  resource: 'cronjobs',
  group: 'batch',
  namespace: 'billing',
};

const status = (code: number, message: string, headers: Record<string, string> = {}) =>
  new ApiException(code, 'Unknown API Status Code!', JSON.stringify({ kind: 'Status', message, code }), headers);

const systemError = (code: string) =>
  new FetchError(`request to https://127.0.0.1:26443/apis failed, reason: connect ${code} 127.0.0.1:26443`, 'system', {
    code,
  } as unknown as NodeJS.ErrnoException);

function failing<T>(errors: unknown[], result: T): { send: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    send: async () => {
      const error = errors[calls];
      calls += 1;
      if (error !== undefined) throw error;
      return result;
    },
    calls: () => calls,
  };
}

describe('reads retry what is transient', () => {
  it('retries 5xx and connection resets with growing backoff, then returns', async () => {
    const clock = virtualClock();
    const call = failing([status(503, 'etcd leader changed'), systemError('ECONNRESET'), status(500, 'oops')], 'ok');
    await expect(read(op, policy(clock), call.send)).resolves.toBe('ok');
    expect(call.calls()).toBe(4);
    expect(clock.slept).toEqual([250, 500, 1_000]);
  });

  it('honours Retry-After on 429', async () => {
    const clock = virtualClock();
    const call = failing([status(429, 'too many requests', { 'retry-after': '1' })], 'ok');
    await expect(read(op, policy(clock), call.send)).resolves.toBe('ok');
    expect(clock.slept).toEqual([1_000]);
  });

  it('retries a DNS hiccup (EAI_AGAIN)', async () => {
    const clock = virtualClock();
    const call = failing([systemError('EAI_AGAIN')], 'ok');
    await expect(read(op, policy(clock), call.send)).resolves.toBe('ok');
  });

  it('gives up at the retry deadline with the last error, named', async () => {
    const clock = virtualClock();
    const call = failing(Array.from({ length: 50 }, () => status(503, 'unavailable')), 'never');
    const failure = read(op, policy(clock), call.send);
    await expect(failure).rejects.toThrow('cluster green: list cronjobs in billing failed with HTTP 503: unavailable');
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(5_000);
    expect(call.calls()).toBeGreaterThan(1);
  });

  it('a question sent as POST (an access review, which stores nothing) is retried on a 409 too', async () => {
    const clock = virtualClock();
    const call = failing([status(409, 'conflict')], 'allowed');
    await expect(read(op, policy(clock), call.send, true)).resolves.toBe('allowed');
    await expect(read(op, policy(virtualClock()), failing([status(409, 'conflict')], 'x').send)).rejects.toThrow('HTTP 409');
  });

  it('does not retry what will not change: 403, 404, 422, refused connections', async () => {
    for (const error of [status(403, 'forbidden'), status(404, 'not found'), status(422, 'invalid'), systemError('ECONNREFUSED')]) {
      const clock = virtualClock();
      const call = failing([error], 'ok');
      await expect(read(op, policy(clock), call.send)).rejects.toBeInstanceOf(ApiError);
      expect(call.calls()).toBe(1);
      expect(clock.slept).toEqual([]);
    }
  });
});

describe('writes without a read-back are sent once', () => {
  it('does not retry a 503 or a reset: the caller re-reads instead', async () => {
    for (const error of [status(503, 'unavailable'), systemError('ECONNRESET')]) {
      const call = failing([error], 'ok');
      await expect(write({ ...op, verb: 'patch' }, call.send)).rejects.toBeInstanceOf(ApiError);
      expect(call.calls()).toBe(1);
    }
  });
});

describe('writes with a read-back ride out transient faults (issue 14)', () => {
  const patch: Operation = { ...op, verb: 'patch', name: 'invoices' };

  it('a write whose answer was lost (500 after it applied) is read back, not sent again', async () => {
    const clock = virtualClock();
    const call = failing([status(500, 'lost')], 'never sent twice');
    let reads = 0;
    const applied = async () => {
      reads += 1;
      return 'as stored';
    };
    await expect(write(patch, call.send, policy(clock), { applied })).resolves.toBe('as stored');
    expect([call.calls(), reads]).toEqual([1, 1]);
  });

  it('a write that did not apply (503, reset, 429) is sent again after the read shows so', async () => {
    const clock = virtualClock();
    const call = failing([status(503, 'unavailable'), systemError('ECONNRESET'), status(429, 'slow down', { 'retry-after': '2' })], 'stored');
    let reads = 0;
    const applied = async () => {
      reads += 1;
      return undefined;
    };
    await expect(write(patch, call.send, policy(clock), { applied })).resolves.toBe('stored');
    expect([call.calls(), reads]).toEqual([4, 3]);
    // Exponential and capped, with Retry-After as a floor.
    expect(clock.slept).toEqual([250, 500, 2_000]);
  });

  it('halts at once on what is not transient: 400, 403, 404, 422', async () => {
    for (const error of [status(400, 'bad'), status(403, 'forbidden'), status(404, 'gone'), status(422, 'invalid')]) {
      const clock = virtualClock();
      const call = failing([error], 'ok');
      let reads = 0;
      const applied = async () => {
        reads += 1;
        return 'x';
      };
      await expect(write(patch, call.send, policy(clock), { applied })).rejects.toBeInstanceOf(ApiError);
      expect([call.calls(), reads, clock.slept.length]).toEqual([1, 0, 0]);
    }
  });

  it('a conflict that re-reading does not resolve halts after a few rounds', async () => {
    const clock = virtualClock();
    const call = failing(Array.from({ length: 10 }, () => status(409, 'conflict')), 'never');
    await expect(write(patch, call.send, policy(clock), { applied: async () => undefined })).rejects.toThrow('HTTP 409');
    expect(call.calls()).toBe(4);
  });

  it('stops re-sending at the write deadline', async () => {
    const clock = virtualClock();
    const call = failing(Array.from({ length: 100 }, () => status(503, 'unavailable')), 'never');
    await expect(write(patch, call.send, { ...policy(clock), writeDeadlineMs: 8_000 }, { applied: async () => undefined })).rejects.toThrow('HTTP 503');
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(8_000);
  });

  it('an abort stops a backoff at once', async () => {
    const controller = new AbortController();
    const slow: RequestPolicy = { ...policy(systemClock), firstBackoffMs: 60_000, maxBackoffMs: 60_000, writeDeadlineMs: 600_000, signal: controller.signal };
    const call = failing([status(503, 'unavailable')], 'never');
    const started = Date.now();
    const writing = write(patch, call.send, slow, { applied: async () => undefined });
    setTimeout(() => controller.abort(new Error('stopped by SIGINT')), 20);
    await expect(writing).rejects.toThrow('stopped by SIGINT');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('jitter spreads pauses over the upper half of each window', () => {
    const base = policy(virtualClock());
    expect(backoffMs({ ...base, random: () => 0 }, 2, status(503, 'x'))).toBe(500);
    expect(backoffMs({ ...base, random: () => 1 }, 2, status(503, 'x'))).toBe(1_000);
    expect(backoffMs({ ...base, random: () => 1 }, 10, status(503, 'x'))).toBe(2_000);
  });
});

describe('error messages', () => {
  const patchStatus: Operation = { ...op, verb: 'patch', resource: 'cronjobs/status', name: 'invoices' };

  it('names the missing permission on 403', () => {
    const error = toApiError(patchStatus, status(403, 'cronjobs.batch "invoices" is forbidden: User "ci" cannot patch resource "cronjobs/status"'));
    expect(error.status).toBe(403);
    expect(error.message).toContain('cannot patch cronjobs/status in billing on cluster green (billing/invoices): forbidden (HTTP 403)');
    expect(error.message).toContain('grant patch on cronjobs/status (API group "batch") in namespace billing');
    expect(error.message).toContain('server: cronjobs.batch "invoices" is forbidden');
  });

  it('says the credentials were rejected on 401', () => {
    const error = toApiError(patchStatus, new ApiException(401, 'Unauthorized', undefined, {}));
    expect(error.status).toBe(401);
    expect(error.message).toContain('cluster green rejected the credentials for patch cronjobs/status billing/invoices');
  });

  it('names cluster, verb, object, status and server message otherwise', () => {
    const error = toApiError(patchStatus, status(409, 'the object has been modified'));
    expect(error.message).toBe('cluster green: patch cronjobs/status billing/invoices failed with HTTP 409: the object has been modified');
  });

  it('calls refused connections and DNS failures unreachable, with the server URL', () => {
    expect(toApiError(op, systemError('ECONNREFUSED')).message).toBe(
      'cluster green (https://127.0.0.1:26443) unreachable: connect ECONNREFUSED 127.0.0.1:26443',
    );
    expect(toApiError(op, systemError('ENOTFOUND')).message).toMatch(/^cluster green \(https:\/\/127\.0\.0\.1:26443\) unreachable: /);
  });

  it('reads the message out of a Status body given as text or object', () => {
    expect(serverMessage('{"kind":"Status","message":"boom"}')).toBe('boom');
    expect(serverMessage({ message: 'boom' })).toBe('boom');
    expect(serverMessage('<html>bad gateway</html>')).toBe('<html>bad gateway</html>');
    expect(serverMessage(undefined)).toBeUndefined();
  });

  it('classifies retryable failures', () => {
    expect(isRetryable(status(429, 'slow down'))).toBe(true);
    expect(isRetryable(status(504, 'timeout'))).toBe(true);
    expect(isRetryable(status(409, 'conflict'))).toBe(false);
    expect(isRetryable(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe(true);
  });
});
