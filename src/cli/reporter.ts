// What the operator sees while a run goes on. On a terminal: one line per event and a live status line
// at the bottom saying what is awaited and until when, refreshed every second. Anywhere else (CI logs,
// files): plain timestamped lines, no control characters.
import { formatDuration } from '../core/duration.js';
import type { Reporter } from '../steps/types.js';
import { type Paint, paint, type Writer } from './io.js';

export interface TerminalReporterOptions {
  out: Writer;
  color: boolean;
  /** Number of steps, for "step 3/8". */
  steps?: number;
  /** Wall clock by default; a rehearsal passes its virtual clock so "time left" is in its time. */
  now?: () => Date;
  /** Refresh period of the live line (ms). */
  refreshMs?: number;
  /** Without a terminal: period of the "still waiting" lines during a wait (ms). */
  heartbeatMs?: number;
}

export interface TerminalReporter extends Reporter {
  /** Stops the live line; call when the run is over. */
  close(): void;
}

interface Wait {
  what: string;
  until: Date;
}

export function createTerminalReporter(options: TerminalReporterOptions): TerminalReporter {
  return options.out.isTTY ? new LiveReporter(options) : new PlainReporter(options);
}

const clockTime = (date: Date): string => date.toISOString().slice(11, 19);
const stamp = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`;

abstract class BaseReporter implements TerminalReporter {
  protected readonly paint: Paint;
  protected readonly now: () => Date;

  constructor(protected readonly options: TerminalReporterOptions) {
    this.paint = paint(options.color);
    this.now = options.now ?? (() => new Date());
  }

  step(index: number, label: string): void {
    const of = this.options.steps !== undefined ? `/${this.options.steps}` : '';
    this.line(this.paint.bold(`step ${index + 1}${of}: ${label}`));
  }

  info(message: string): void {
    this.line(message);
  }

  warn(message: string): void {
    this.line(`${this.paint.yellow('warning:')} ${message}`);
  }

  abstract waiting(what: string, until: Date): void;
  abstract close(): void;
  protected abstract line(text: string): void;
}

class PlainReporter extends BaseReporter {
  private heartbeat: NodeJS.Timeout | undefined;

  waiting(what: string, until: Date): void {
    this.stopHeartbeat();
    const left = until.getTime() - this.now().getTime();
    this.line(`waiting for ${what} until ${stamp(until)} (${formatDuration(Math.max(0, left))})`);
    // In a pod's log a 30-minute approval would be 30 minutes of silence: a line now and then shows the
    // run is alive, until the next step or the wait's deadline.
    this.heartbeat = setInterval(() => {
      const rest = until.getTime() - this.now().getTime();
      if (rest <= 0) return this.stopHeartbeat();
      this.line(`still waiting for ${what} (${formatDuration(rest)} left)`);
    }, this.options.heartbeatMs ?? 60_000);
    this.heartbeat.unref();
  }

  override step(index: number, label: string): void {
    this.stopHeartbeat();
    super.step(index, label);
  }

  close(): void {
    this.stopHeartbeat();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  protected line(text: string): void {
    // Multi-line messages (halt reasons with a "next" hint) keep the stamp on every line for grep.
    const at = this.paint.dim(stamp(this.now()));
    this.options.out.write(`${text.split('\n').map((part) => `${at} ${part}`).join('\n')}\n`);
  }
}

class LiveReporter extends BaseReporter {
  private wait: Wait | undefined;
  private timer: NodeJS.Timeout | undefined;
  private shown = false;

  waiting(what: string, until: Date): void {
    this.wait = { what, until };
    this.redraw();
    if (!this.timer) {
      this.timer = setInterval(() => this.redraw(), this.options.refreshMs ?? 1_000);
      // The live line never keeps the process alive on its own.
      this.timer.unref();
    }
  }

  override step(index: number, label: string): void {
    // A new step means the previous wait is over.
    this.wait = undefined;
    super.step(index, label);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.wait = undefined;
    this.clearLive();
  }

  protected line(text: string): void {
    this.clearLive();
    this.options.out.write(`${this.paint.dim(clockTime(this.now()))} ${text}\n`);
    this.redraw();
  }

  private redraw(): void {
    this.clearLive();
    const wait = this.wait;
    if (!wait) return;
    const left = wait.until.getTime() - this.now().getTime();
    if (left <= 0) {
      this.wait = undefined;
      return;
    }
    const text = `… waiting for ${wait.what} until ${clockTime(wait.until)} (${formatDuration(left)} left)`;
    this.options.out.write(this.paint.dim(this.fit(text)));
    this.shown = true;
  }

  private fit(text: string): string {
    const width = this.options.out.columns ?? 120;
    return text.length < width ? text : `${text.slice(0, Math.max(0, width - 2))}…`;
  }

  private clearLive(): void {
    if (!this.shown) return;
    this.options.out.write('\r\u001b[2K');
    this.shown = false;
  }
}
