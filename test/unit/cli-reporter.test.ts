// The operator's progress (issue 18): every wait leaves a start and an end line with the UTC date; a live
// line on a terminal that never erases the record; a heartbeat outside a terminal.
import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { createTerminalReporter, type Every, heartbeatOption } from '../../src/cli/reporter.js';

/** The escape character that starts a terminal control sequence. */
const ESC = String.fromCharCode(27);

function sink(isTTY: boolean): { out: { write(text: string): void; isTTY: boolean; columns: number }; text(): string } {
  const chunks: string[] = [];
  return { out: { write: (text) => chunks.push(text), isTTY, columns: 80 }, text: () => chunks.join('') };
}

const at = (time: string): Date => new Date(`2026-01-15T${time}Z`);

/** A timer source the test fires by hand. */
function manualTimers(): { every: Every; fire(): void; running(): number } {
  const ticks = new Set<() => void>();
  return {
    every: (_ms, tick) => {
      ticks.add(tick);
      return () => ticks.delete(tick);
    },
    fire: () => [...ticks].forEach((tick) => tick()),
    running: () => ticks.size,
  };
}

describe('outside a terminal', () => {
  test('every event is one timestamped line without control characters; a wait starts and ends with a line', () => {
    const s = sink(false);
    let now = at('09:57:30');
    const reporter = createTerminalReporter({ out: s.out, color: false, steps: 4, now: () => now, heartbeatMs: 0 });

    reporter.step(1, 'move CronJobs');
    reporter.info('handing off 3 CronJob(s)');
    now = at('09:57:31');
    reporter.waiting('soak at 10% (5m)', at('10:02:31'));
    reporter.warn('billing/report is managed by helm\na helm upgrade can enable it again');
    now = at('10:02:31');
    reporter.waitOver?.('soak at 10% (5m)', 'soak done');
    reporter.close();

    expect(s.text()).toBe(
      [
        '2026-01-15T09:57:30Z step 2/4: move CronJobs',
        '2026-01-15T09:57:30Z handing off 3 CronJob(s)',
        '2026-01-15T09:57:31Z waiting for soak at 10% (5m) until 2026-01-15T10:02:31Z (5m)',
        '2026-01-15T09:57:31Z warning: billing/report is managed by helm',
        '2026-01-15T09:57:31Z a helm upgrade can enable it again',
        '2026-01-15T10:02:31Z done waiting for soak at 10% (5m) after 5m: soak done',
        '',
      ].join('\n'),
    );
  });

  test('a heartbeat line while a wait goes on, and none once it is over', () => {
    const s = sink(false);
    const timers = manualTimers();
    let now = at('10:00:00');
    const reporter = createTerminalReporter({ out: s.out, color: false, now: () => now, every: timers.every });

    reporter.waiting('approval via slack', at('10:30:00'));
    reporter.waiting('billing/db-copy: db-copy-1 to finish on blue', at('10:05:00'));
    now = at('10:00:30');
    timers.fire();
    reporter.info('billing/db-copy: resumed on green');
    now = at('10:01:00');
    timers.fire();
    reporter.waitOver?.('approval via slack', 'approved');
    expect(timers.running()).toBe(0);
    timers.fire();
    reporter.close();

    expect(s.text().split('\n')).toEqual([
      '2026-01-15T10:00:00Z waiting for approval via slack until 2026-01-15T10:30:00Z (30m)',
      '2026-01-15T10:00:00Z waiting for billing/db-copy: db-copy-1 to finish on blue until 2026-01-15T10:05:00Z (5m)',
      '2026-01-15T10:00:30Z still waiting for billing/db-copy: db-copy-1 to finish on blue: 4m30s left (until 2026-01-15T10:05:00Z); 1 other wait(s) open',
      // A line about the same CronJob ends a wait nobody ended explicitly.
      '2026-01-15T10:00:30Z done waiting for billing/db-copy: db-copy-1 to finish on blue after 30s',
      '2026-01-15T10:00:30Z billing/db-copy: resumed on green',
      '2026-01-15T10:01:00Z still waiting for approval via slack: 29m left (until 2026-01-15T10:30:00Z)',
      '2026-01-15T10:01:00Z done waiting for approval via slack after 1m: approved',
      '',
    ]);
  });

  test('a wait still open when the run stops says so', () => {
    const s = sink(false);
    const reporter = createTerminalReporter({ out: s.out, color: false, now: () => at('10:00:00'), heartbeatMs: 0 });
    reporter.waiting('soak at 50% (15m)', at('10:15:00'));
    reporter.close();
    expect(s.text()).toContain('2026-01-15T10:00:00Z done waiting for soak at 50% (15m) after 0ms: the run stopped while waiting\n');
  });
});

describe('on a terminal', () => {
  test('the record lines stay; the live line below them is redrawn in place', () => {
    const s = sink(true);
    const timers = manualTimers();
    let now = at('10:00:00');
    const reporter = createTerminalReporter({ out: s.out, color: false, now: () => now, every: timers.every });

    reporter.waiting('the soak of 10%', at('10:04:30'));
    now = at('10:00:01');
    timers.fire();
    reporter.info('traffic 10% on green');
    now = at('10:04:30');
    reporter.waitOver?.('the soak of 10%', 'soak done');
    reporter.close();

    const clear = '\r\u001b[2K';
    expect(s.text()).toBe(
      '10:00:00 waiting for the soak of 10% until 2026-01-15T10:04:30Z (4m30s)\n' +
        '… waiting for the soak of 10% until 2026-01-15T10:04:30Z (4m30s left)' +
        clear +
        '… waiting for the soak of 10% until 2026-01-15T10:04:30Z (4m29s left)' +
        clear +
        '10:00:01 traffic 10% on green\n' +
        '… waiting for the soak of 10% until 2026-01-15T10:04:30Z (4m29s left)' +
        clear +
        '10:04:30 done waiting for the soak of 10% after 4m30s: soak done\n',
    );
    // What stays on the screen once the control sequences are applied: the record, no live line.
    expect(screen(s.text())).toEqual([
      '10:00:00 waiting for the soak of 10% until 2026-01-15T10:04:30Z (4m30s)',
      '10:00:01 traffic 10% on green',
      '10:04:30 done waiting for the soak of 10% after 4m30s: soak done',
    ]);
  });

  test('a new step ends the previous wait with a line', () => {
    const s = sink(true);
    const reporter = createTerminalReporter({ out: s.out, color: false, now: () => at('10:00:00') });

    reporter.waiting('approval', at('10:30:00'));
    reporter.step(3, 'shift 50% of traffic to the target');
    reporter.close();

    expect(screen(s.text())).toEqual([
      '10:00:00 waiting for approval until 2026-01-15T10:30:00Z (30m)',
      '10:00:00 done waiting for approval after 0ms',
      '10:00:00 step 4: shift 50% of traffic to the target',
    ]);
  });

  test('no heartbeat lines on a terminal', () => {
    const s = sink(true);
    const timers = manualTimers();
    const reporter = createTerminalReporter({ out: s.out, color: false, now: () => at('10:00:00'), every: timers.every, heartbeatMs: 1_000 });
    reporter.waiting('soak', at('10:30:00'));
    timers.fire();
    reporter.close();
    expect(s.text()).not.toContain('still waiting');
  });

  test('colour follows the option', () => {
    const s = sink(true);
    const reporter = createTerminalReporter({ out: s.out, color: true, now: () => at('10:00:00') });

    reporter.warn('slow');
    reporter.close();

    expect(s.text()).toBe('\u001b[2m10:00:00\u001b[22m \u001b[33mwarning:\u001b[39m slow\n');
  });

  test('a live line longer than the terminal is cut to its width', () => {
    const s = sink(true);
    const reporter = createTerminalReporter({ out: s.out, color: false, now: () => at('10:00:00') });

    reporter.waiting('x'.repeat(200), at('10:01:00'));
    const live = s.text().split('\n')[1]!;
    reporter.close();

    expect(live).toHaveLength(79);
    expect(live.endsWith('…')).toBe(true);
  });
});

describe('--heartbeat', () => {
  test('takes a duration, or 0/off for none', () => {
    expect(heartbeatOption(undefined)).toBeUndefined();
    expect(heartbeatOption('10s')).toBe(10_000);
    expect(heartbeatOption('2m')).toBe(120_000);
    expect(heartbeatOption('0')).toBe(0);
    expect(heartbeatOption('off')).toBe(0);
  });

  test('refuses what is not an interval of at least a second', () => {
    expect(() => heartbeatOption('soon')).toThrow(InputError);
    expect(() => heartbeatOption('10ms')).toThrow(/--heartbeat: expected an interval of at least 1s/);
  });
});

/** The lines a terminal shows after `\r` + erase-line sequences are applied. */
function screen(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const part of text.split(new RegExp(`(\r${ESC}\\[2K|\n)`))) {
    if (part === '\r\u001b[2K') current = '';
    else if (part === '\n') {
      lines.push(current);
      current = '';
    } else current += part;
  }
  if (current !== '') lines.push(current);
  return lines;
}
