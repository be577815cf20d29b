// A virtual clock for rehearsals: hours of soak pass in milliseconds of real time.
//
// Everything in a sandbox run (simulated clusters, DNS, gates, approvals, the engine's in-memory store) is
// in-memory promises, so "nothing can happen until a timer fires" is the same as "no callback is queued".
// The clock waits for the event loop to drain (a setImmediate turn runs after every queued microtask), then
// jumps to the earliest timer and fires it. Timers marked `daemon` (the simulated controllers' requeues)
// never keep the clock going on their own: time only advances while some non-daemon sleeper (the engine,
// a report's "run two more minutes") is waiting, so a finished run does not spin forever.
import type { Clock } from '../../core/clock.js';

interface Timer {
  at: number;
  seq: number;
  daemon: boolean;
  fire: () => void;
  cancelled: boolean;
}

export class VirtualClock implements Clock {
  private current: number;
  private readonly timers: Timer[] = [];
  private seq = 0;
  private kicked = false;

  constructor(start: Date) {
    this.current = start.getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = this.schedule(this.current + Math.max(0, ms), () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      const onAbort = (): void => {
        timer.cancel();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls `fire` when virtual time reaches `at` (never earlier than now). */
  schedule(at: number, fire: () => void, options: { daemon?: boolean } = {}): { cancel(): void } {
    const timer: Timer = { at: Math.max(at, this.current), seq: this.seq++, daemon: options.daemon ?? false, fire, cancelled: false };
    this.timers.push(timer);
    this.kick();
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Number of non-daemon timers waiting: zero means the simulation has come to rest. */
  get waiting(): number {
    return this.timers.filter((t) => !t.cancelled && !t.daemon).length;
  }

  private kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      this.advance();
    });
  }

  private advance(): void {
    this.dropCancelled();
    if (this.waiting === 0) return;
    // Earliest first; equal times in the order they were scheduled, so runs are reproducible.
    this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = this.timers.shift();
    if (!next) return;
    this.current = Math.max(this.current, next.at);
    next.fire();
    this.kick();
  }

  private dropCancelled(): void {
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.cancelled) this.timers.splice(i, 1);
  }
}
