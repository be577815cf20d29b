// What the operator sees while a run goes on, and what the log keeps afterwards. Every wait leaves a
// record: a line when it starts (what, until when, in UTC with the date) and a line when it ends (how, after
// how long). In between, on a terminal, a live line at the bottom counts down, redrawn in place below the
// record lines and never erasing them; anywhere else (CI logs, a Job's log) a heartbeat line every
// `heartbeatMs`, so a system that stops silent jobs sees the run is alive, and no control characters.
import { formatDuration, parseDuration } from '../core/duration.js';
import { InputError } from '../core/errors.js';
import type { Reporter } from '../steps/types.js';
import { type Paint, paint, type Writer } from './io.js';

/** Calls `tick` every `ms` until the returned function is called. */
export type Every = (ms: number, tick: () => void) => () => void;

export interface TerminalReporterOptions {
  out: Writer;
  color: boolean;
  /** Number of steps, for "step 3/8". */
  steps?: number;
  /** Wall clock by default; a rehearsal passes its virtual clock so "time left" is in its time. */
  now?: () => Date;
  /** Refresh period of the live line on a terminal (ms). */
  refreshMs?: number;
  /** Period of the heartbeat line outside a terminal (ms); 0 for none. Default 30 s. */
  heartbeatMs?: number;
  /** Timer source for the refresh and the heartbeat: wall-clock intervals by default. */
  every?: Every;
}

export interface TerminalReporter extends Reporter {
  /** Ends the waits still open (the run stopped under them) and stops the live line; call when the run is over. */
  close(): void;
}

export const DEFAULT_HEARTBEAT_MS = 30_000;

interface Wait {
  what: string;
  since: Date;
  until: Date;
}

export function createTerminalReporter(options: TerminalReporterOptions): TerminalReporter {
  return options.out.isTTY ? new LiveReporter(options) : new PlainReporter(options);
}

const wallEvery: Every = (ms, tick) => {
  const timer = setInterval(tick, ms);
  // Neither the live line nor the heartbeat keeps the process alive on its own.
  timer.unref();
  return () => clearInterval(timer);
};

const clockTime = (date: Date): string => date.toISOString().slice(11, 19);
/** UTC with the date, whole seconds unless the time has milliseconds. */
export const stamp = (date: Date): string => date.toISOString().replace(/\.000Z$/, 'Z');

/** The subject a line is about: `billing/db-copy` of `billing/db-copy: resumed on green`. */
const subjectOf = (text: string): string | undefined => /^([\w.-]+\/[\w.-]+):/.exec(text)?.[1];

abstract class BaseReporter implements TerminalReporter {
  protected readonly paint: Paint;
  protected readonly now: () => Date;
  protected readonly every: Every;
  /** Open waits, oldest first. */
  protected readonly waits = new Map<string, Wait>();

  constructor(protected readonly options: TerminalReporterOptions) {
    this.paint = paint(options.color);
    this.now = options.now ?? (() => new Date());
    this.every = options.every ?? wallEvery;
  }

  step(index: number, label: string): void {
    // A new step means every wait of the previous one is over.
    this.endAll(undefined);
    const of = this.options.steps !== undefined ? `/${this.options.steps}` : '';
    this.line(this.paint.bold(`step ${index + 1}${of}: ${label}`));
  }

  info(message: string): void {
    this.endSubject(message);
    this.line(message);
  }

  warn(message: string): void {
    this.endSubject(message);
    this.line(`${this.paint.yellow('warning:')} ${message}`);
  }

  waiting(what: string, until: Date): void {
    const open = this.waits.get(what);
    if (open && open.until.getTime() === until.getTime()) return;
    if (open) this.end(open, 'a new deadline replaces it');
    const wait = { what, since: this.now(), until };
    this.waits.set(what, wait);
    const left = Math.max(0, until.getTime() - wait.since.getTime());
    this.line(`waiting for ${what} until ${stamp(until)} (${formatDuration(left)})`);
    this.started();
  }

  waitOver(what: string, how: string): void {
    const open = this.waits.get(what);
    if (open) this.end(open, how);
  }

  close(): void {
    this.endAll('the run stopped while waiting');
    this.stopped();
  }

  /** A wait began: start the live line or the heartbeat if not running. */
  protected abstract started(): void;
  /** Stop the live line or the heartbeat. */
  protected abstract stopped(): void;
  protected abstract line(text: string): void;

  private end(wait: Wait, how: string | undefined): void {
    this.waits.delete(wait.what);
    const now = this.now();
    const took = formatDuration(Math.max(0, now.getTime() - wait.since.getTime()));
    const why = how ?? (now.getTime() >= wait.until.getTime() ? `its deadline ${stamp(wait.until)} passed` : undefined);
    this.line(`done waiting for ${wait.what} after ${took}${why ? `: ${why}` : ''}`);
    if (this.waits.size === 0) this.stopped();
  }

  private endAll(how: string | undefined): void {
    for (const wait of [...this.waits.values()]) this.end(wait, how);
  }

  /** A line about a CronJob ends the waits about that CronJob nobody ended explicitly. */
  private endSubject(message: string): void {
    const subject = subjectOf(message);
    if (subject === undefined) return;
    for (const wait of [...this.waits.values()]) if (subjectOf(wait.what) === subject) this.end(wait, undefined);
  }

  /** The wait shown on the live line and in the heartbeat: the last one begun, and how many others. */
  protected current(): { wait: Wait; others: number } | undefined {
    const all = [...this.waits.values()];
    const wait = all.at(-1);
    return wait ? { wait, others: all.length - 1 } : undefined;
  }

  protected remaining(wait: Wait): string {
    const left = wait.until.getTime() - this.now().getTime();
    return left >= 0 ? `${formatDuration(left)} left` : `deadline passed ${formatDuration(-left)} ago`;
  }
}

class PlainReporter extends BaseReporter {
  private stopHeartbeat: (() => void) | undefined;

  protected started(): void {
    const period = this.options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (this.stopHeartbeat || period <= 0) return;
    this.stopHeartbeat = this.every(period, () => this.heartbeat());
  }

  protected stopped(): void {
    this.stopHeartbeat?.();
    this.stopHeartbeat = undefined;
  }

  private heartbeat(): void {
    const shown = this.current();
    if (!shown) return;
    const { wait, others } = shown;
    const more = others > 0 ? `; ${others} other wait(s) open` : '';
    this.line(`still waiting for ${wait.what}: ${this.remaining(wait)} (until ${stamp(wait.until)})${more}`);
  }

  protected line(text: string): void {
    // Multi-line messages (halt reasons with a "next" hint) keep the stamp on every line for grep.
    const at = this.paint.dim(stamp(this.now()));
    this.options.out.write(`${text.split('\n').map((part) => `${at} ${part}`).join('\n')}\n`);
  }
}

class LiveReporter extends BaseReporter {
  private stopRefresh: (() => void) | undefined;
  private shown = false;

  protected started(): void {
    // The record line of the wait has drawn the live line already.
    this.stopRefresh ??= this.every(this.options.refreshMs ?? 1_000, () => this.redraw());
  }

  protected stopped(): void {
    this.stopRefresh?.();
    this.stopRefresh = undefined;
    this.clearLive();
  }

  protected line(text: string): void {
    this.clearLive();
    this.options.out.write(`${this.paint.dim(clockTime(this.now()))} ${text}\n`);
    this.redraw();
  }

  private redraw(): void {
    this.clearLive();
    const shown = this.current();
    if (!shown) return;
    const { wait, others } = shown;
    const more = others > 0 ? ` (+${others} more)` : '';
    const text = `… waiting for ${wait.what} until ${stamp(wait.until)} (${this.remaining(wait)})${more}`;
    this.options.out.write(this.paint.dim(this.fit(text)));
    this.shown = true;
  }

  private fit(text: string): string {
    // A pseudo-terminal without a size (script, some CI runners) says 0 columns.
    const width = this.options.out.columns || 120;
    return text.length < width ? text : `${text.slice(0, Math.max(0, width - 2))}…`;
  }

  private clearLive(): void {
    if (!this.shown) return;
    this.options.out.write('\r\u001b[2K');
    this.shown = false;
  }
}

/**
 * `--heartbeat <interval>`: a duration (`30s`, `2m`), or `0` / `off` for none. Undefined when not given,
 * so each command picks its default.
 */
export function heartbeatOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '0' || value.trim() === 'off') return 0;
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1_000) {
    throw new InputError(`--heartbeat: expected an interval of at least 1s like 30s or 2m, or 0 for none; found "${value}"`);
  }
  return ms;
}
