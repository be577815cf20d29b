// Route 53 limits API calls per ACCOUNT, not per client: a cutover run shares that budget with every
// controller and pipeline of the company. So every Route 53 call of a run first takes a token from one
// bucket (well under the account limit), and a throttled or transiently failed call is retried with
// growing, jittered pauses. That is the ONE retry policy of each AWS client: the SDK clients are built with
// maxAttempts 1, so no SDK retries are stacked inside these (which made up to 30 sends per call, with
// pauses no abort could stop).
import { systemClock, type Clock } from '../../core/clock.js';

/** A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. Callers are served in order. */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly ratePerSecond: number,
    private readonly clock: Clock = systemClock,
    readonly burst: number = Math.max(1, Math.floor(ratePerSecond)),
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`rate must be above 0, got ${ratePerSecond}`);
    this.tokens = burst;
    this.refilledAt = clock.now().getTime();
  }

  /** Resolves when the caller may send one request. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken(signal));
    // A caller that gave up (aborted) must not block the ones queued behind it.
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  private async waitForToken(signal?: AbortSignal): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000), signal);
    }
  }

  private refill(): void {
    const now = this.clock.now().getTime();
    const elapsed = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.ratePerSecond);
    this.refilledAt = now;
  }
}

/**
 * Error names the AWS APIs use when a request was refused for rate or concurrency and can be sent again
 * later: Route 53 answers `Throttling` ("Rate exceeded") and `PriorRequestNotComplete` (an earlier change
 * to the zone is still being applied); CloudWatch answers `Throttling`; newer services `ThrottlingException`.
 */
const RETRYABLE = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete', 'TooManyRequestsException']);

/** 5xx answers and lost connections: the request may be sent again after a pause. */
const TRANSIENT_NAMES = new Set(['ServiceUnavailable', 'InternalFailure', 'InternalError', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError']);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code, $metadata } = error as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof name === 'string' && TRANSIENT_NAMES.has(name)) return true;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  const status = $metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

/** Milliseconds from an HTTP Retry-After header on the error's raw response, when the server sent one. */
export function awsRetryAfterMs(error: unknown): number | undefined {
  const headers = (error as { $response?: { headers?: Record<string, string | undefined> } } | undefined)?.$response?.headers ?? {};
  const value = headers['retry-after'] ?? headers['Retry-After'];
  const seconds = value === undefined ? Number.NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1_000 : undefined;
}

export function isThrottled(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, Code } = error as { name?: unknown; Code?: unknown };
  return (typeof name === 'string' && RETRYABLE.has(name)) || (typeof Code === 'string' && RETRYABLE.has(Code));
}

export interface BackoffOptions {
  clock?: Clock;
  /** Tries in all, the first included. The attempts bound the total wait: no open-ended retry. */
  attempts?: number;
  baseMs?: number;
  maxMs?: number;
  /** 0..1; injected by tests for reproducible pauses. */
  random?: () => number;
  signal?: AbortSignal;
  /** Told before each pause (journal, reporter). */
  onRetry?: (error: unknown, attempt: number, pauseMs: number) => void;
}

export const DEFAULT_BACKOFF = { attempts: 6, baseMs: 1_000, maxMs: 20_000 } as const;

/** Pause before retry `attempt` (1-based): full jitter over an exponentially growing, capped window. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const window = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  // At least half the window: a retry right away would only be throttled again.
  return Math.round(window / 2 + (random() * window) / 2);
}

/**
 * Runs `send`, retrying it after a pause while the API answers with a throttling or transient error. The
 * pause honours Retry-After; the signal ends it at once.
 */
export async function retryThrottled<T>(send: () => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  const clock = options.clock ?? systemClock;
  const attempts = options.attempts ?? DEFAULT_BACKOFF.attempts;
  const baseMs = options.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (!(isThrottled(error) || isTransient(error)) || attempt >= attempts) throw error;
      const pause = Math.max(backoffMs(attempt, baseMs, maxMs, random), awsRetryAfterMs(error) ?? 0);
      options.onRetry?.(error, attempt, pause);
      await clock.sleep(pause, options.signal);
    }
  }
}
