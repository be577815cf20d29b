import { afterEach, describe, expect, test, vi } from 'vitest';
import { createTerminalReporter } from '../../src/cli/reporter.js';

function sink(isTTY: boolean): { out: { write(text: string): void; isTTY: boolean; columns: number }; text(): string } {
  const chunks: string[] = [];
  return { out: { write: (text) => chunks.push(text), isTTY, columns: 80 }, text: () => chunks.join('') };
}

const at = (time: string): Date => new Date(`2026-01-15T${time}Z`);

describe('outside a terminal', () => {
  test('every event is one timestamped line without control characters', () => {
    const s = sink(false);
    let now = at('09:57:30');
    const reporter = createTerminalReporter({ out: s.out, color: false, steps: 4, now: () => now });

    reporter.step(1, 'move CronJobs');
    reporter.info('handing off 3 CronJob(s)');
    now = at('09:57:31');
    reporter.waiting('billing/db-copy to finish its Job', at('10:02:31'));
    reporter.warn('billing/report is managed by helm\na helm upgrade can enable it again');
    reporter.close();

    expect(s.text()).toBe(
      [
        '2026-01-15T09:57:30Z step 2/4: move CronJobs',
        '2026-01-15T09:57:30Z handing off 3 CronJob(s)',
        '2026-01-15T09:57:31Z waiting for billing/db-copy to finish its Job until 2026-01-15T10:02:31Z (5m)',
        '2026-01-15T09:57:31Z warning: billing/report is managed by helm',
        '2026-01-15T09:57:31Z a helm upgrade can enable it again',
        '',
      ].join('\n'),
    );
  });
});

describe('outside a terminal, during a long wait (issue 19: a pod\'s log)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('a "still waiting" line comes every heartbeat until the next step, then no more', () => {
    vi.useFakeTimers();
    const s = sink(false);
    let now = at('10:00:00');
    const reporter = createTerminalReporter({ out: s.out, color: false, steps: 4, now: () => now, heartbeatMs: 60_000 });

    reporter.waiting('2 approvals in Slack', at('10:30:00'));
    now = at('10:01:00');
    vi.advanceTimersByTime(60_000);
    now = at('10:02:00');
    vi.advanceTimersByTime(60_000);
    reporter.step(3, 'shift 50% of traffic to the target');
    now = at('10:03:00');
    vi.advanceTimersByTime(180_000);
    reporter.close();

    expect(s.text()).toBe(
      [
        '2026-01-15T10:00:00Z waiting for 2 approvals in Slack until 2026-01-15T10:30:00Z (30m)',
        '2026-01-15T10:01:00Z still waiting for 2 approvals in Slack (29m left)',
        '2026-01-15T10:02:00Z still waiting for 2 approvals in Slack (28m left)',
        '2026-01-15T10:02:00Z step 4/4: shift 50% of traffic to the target',
        '',
      ].join('\n'),
    );
  });

  test('the heartbeat stops at the wait\'s deadline', () => {
    vi.useFakeTimers();
    const s = sink(false);
    let now = at('10:00:00');
    const reporter = createTerminalReporter({ out: s.out, color: false, now: () => now, heartbeatMs: 60_000 });

    reporter.waiting('the soak of 10%', at('10:01:30'));
    now = at('10:01:00');
    vi.advanceTimersByTime(60_000);
    now = at('10:02:00');
    vi.advanceTimersByTime(600_000);
    reporter.close();

    expect(s.text().trim().split('\n')).toHaveLength(2);
  });
});

describe('on a terminal', () => {
  test('a wait is a live line that later lines replace and redraw', () => {
    const s = sink(true);
    const now = at('10:00:00');
    const reporter = createTerminalReporter({ out: s.out, color: false, now: () => now });

    reporter.waiting('the soak of 10%', at('10:04:30'));
    reporter.info('traffic 10% on green');
    reporter.close();

    expect(s.text()).toBe(
      '… waiting for the soak of 10% until 10:04:30 (4m30s left)' +
        '\r\u001b[2K' +
        '10:00:00 traffic 10% on green\n' +
        '… waiting for the soak of 10% until 10:04:30 (4m30s left)' +
        '\r\u001b[2K',
    );
  });

  test('a new step ends the previous wait', () => {
    const s = sink(true);
    const now = at('10:00:00');
    const reporter = createTerminalReporter({ out: s.out, color: false, now: () => now });

    reporter.waiting('approval', at('10:30:00'));
    reporter.step(3, 'shift 50% of traffic to the target');
    reporter.close();

    expect(s.text()).toBe(
      '… waiting for approval until 10:30:00 (30m left)\r\u001b[2K10:00:00 step 4: shift 50% of traffic to the target\n',
    );
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
    reporter.close();

    const live = s.text().split('\r')[0]!;
    expect(live).toHaveLength(79);
    expect(live.endsWith('…')).toBe(true);
  });
});
