import { describe, expect, it } from 'vitest';
import { ApiException, FetchError } from '@kubernetes/client-node';
import type { Clock } from '../../src/core/clock.js';
import { ApiError } from '../../src/core/errors.js';
import { isRetryable, serverMessage, toApiError, type Operation } from '../../src/adapters/k8s/errors.js';
import { read, write, type RequestPolicy } from '../../src/adapters/k8s/request.js';

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
  return { requestTimeoutMs: 30_000, retryDeadlineMs: 5_000, firstBackoffMs: 250, maxBackoffMs: 2_000, clock };
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

describe('writes are sent once', () => {
  it('does not retry a 503 or a reset: the engine re-reads instead', async () => {
    for (const error of [status(503, 'unavailable'), systemError('ECONNRESET')]) {
      const call = failing([error], 'ok');
      await expect(write({ ...op, verb: 'patch' }, call.send)).rejects.toBeInstanceOf(ApiError);
      expect(call.calls()).toBe(1);
    }
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
