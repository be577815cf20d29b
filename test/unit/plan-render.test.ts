import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/config/types.js';
import { buildPlan } from '../../src/plan/planner.js';
import { renderPlan } from '../../src/plan/render.js';
import type { Plan } from '../../src/plan/types.js';
import { copies, cronJob, dnsSection, job, loadedRunbook, observation, TARGET, weightedRecord } from '../support/builders.js';

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[\\d+m`);

const steps: Step[] = [
  { kind: 'preflight' },
  { kind: 'moveCronJobs' },
  { kind: 'shiftTraffic', percent: 10, soakMs: 300_000 },
  { kind: 'gate', name: 'api healthy', gate: { type: 'cronjobFirstRun' }, timeoutMs: 600_000 },
  { kind: 'approve', via: 'slack', required: 2, approvers: ['U1', 'U2'], timeoutMs: 1_800_000 },
];

function samplePlan(): Plan {
  const berlin = copies({ name: 'invoices', schedule: '0 9 * * *', timeZone: 'Europe/Berlin', lastScheduleTime: '2025-06-02T07:00:00Z' });
  const both = copies({ name: 'payroll' }, { suspend: false });
  const missing = cronJob({ name: 'ledger' });
  return buildPlan(
    observation({
      observedAt: '2025-06-02T10:07:00.000Z',
      source: { cronJobs: [berlin.source, both.source, missing], jobs: [job(berlin.source, { name: 'invoices-29145000' })] },
      target: { cronJobs: [berlin.target, both.target, cronJob({ cluster: TARGET, name: 'only-green', suspend: true })] },
      dns: { 'api.example.com.|A': [weightedRecord('blue', 100), weightedRecord('green', 0), weightedRecord('canary', 10)] },
    }),
    loadedRunbook({ steps, environment: { dns: dnsSection() } }),
  );
}

const lineWith = (text: string, needle: string): string => text.split('\n').find((l) => l.includes(needle)) ?? '';

describe('renderPlan', () => {
  const text = renderPlan(samplePlan(), { color: false });

  it('starts with the runbook, the direction with versions, and the observation time', () => {
    const [first, second, third] = text.split('\n');
    expect(first).toBe('Plan for runbook blue-to-green (environment lab)');
    expect(second).toBe('  blue (v1.34.4) → green (v1.34.4)');
    expect(third).toMatch(/^ {2}observed at 2025-06-02T10:07:00.000Z · fingerprint [0-9a-f]{12}$/);
  });

  it('shows one line per CronJob with action, both states, last run, next ticks in its zone and running Jobs', () => {
    // LAST RUN names its zone like NEXT TICKS does (issue 18: the column mixed zones without saying which).
    expect(text).toContain('CronJobs: 3 (1 move, 1 suspend target, then move, 1 blocked)');
    const invoices = lineWith(text, 'billing/invoices');
    expect(invoices).toMatch(/billing\/invoices\s+move\s+enabled\s+suspended\s+2025-06-02 09:00 Europe\/Berlin\s+2025-06-03 09:00, 2025-06-04 09:00, 2025-06-05 09:00 Europe\/Berlin\s+invoices-29145000$/);
    expect(lineWith(text, 'billing/payroll')).toMatch(/^ {2}!\s+billing\/payroll\s+suspend target, then move\s+enabled\s+enabled\s+never\s+2025-06-02 10:15, 10:30, 10:45 UTC/);
    expect(lineWith(text, 'billing/ledger ')).toMatch(/^ {2}✗\s+billing\/ledger\s+BLOCKED\s+enabled\s+missing/);
    expect(lineWith(text, 'CRONJOB')).toMatch(/CRONJOB\s+ACTION\s+BLUE\s+GREEN\s+LAST RUN\s+NEXT TICKS\s+RUNNING/);
  });

  it('shows the UTC offset of each time when a daylight-saving change falls among them', () => {
    const pair = copies({ name: 'nightly', schedule: '30 2 * * *', timeZone: 'Europe/Berlin', lastScheduleTime: '2025-10-26T00:30:00Z' });
    const plan = buildPlan(
      observation({ observedAt: '2025-10-26T01:10:00.000Z', source: { cronJobs: [pair.source] }, target: { cronJobs: [pair.target] } }),
      loadedRunbook(),
    );
    expect(lineWith(renderPlan(plan, { color: false }), 'billing/nightly')).toContain(
      '2025-10-26 02:30+02:00 Europe/Berlin  2025-10-26 02:30+01:00, 2025-10-27 02:30+01:00, 2025-10-28 02:30+01:00 Europe/Berlin',
    );
  });

  it('numbers the steps and shows every record of a traffic step before → after', () => {
    expect(text).toContain('  1. preflight — checks both clusters');
    expect(text).toContain('  2. move CronJobs — 2 CronJob(s) from blue to green');
    expect(text).toContain('  3. shift 10% of traffic to the target — 10% of the blue+green traffic to green, soak 5m');
    expect(text).toContain('     api.example.com. A');
    expect(lineWith(text, '       blue ')).toMatch(/blue\s+weight 100 → 90\s+share 90.91% → 81.82%/);
    expect(lineWith(text, '       green ')).toMatch(/green\s+weight\s+0 → 10\s+share\s+0% →\s+9.09%/);
    expect(lineWith(text, '       canary ')).toMatch(/canary\s+weight\s+10 → 10\s+share\s+9.09% →\s+9.09%/);
    expect(text).toContain('  4. api healthy — cronjobFirstRun gate, timeout 10m');
    expect(text).toContain('  5. approval via slack — 2 approval(s) from U1, U2, timeout 30m');
  });

  it('groups messages by severity with their codes and subjects', () => {
    const errors = text.indexOf('Errors (1)');
    const warnings = text.indexOf('Warnings (');
    const notes = text.indexOf('Notes (');
    expect(errors).toBeGreaterThan(text.indexOf('Steps'));
    expect(warnings).toBeGreaterThan(errors);
    expect(text).toContain('  ✗ billing/ledger [missing-on-target] not found on the target cluster green');
    expect(text).toContain('  ! billing/only-green [missing-on-source]');
    expect(text).toContain('  ! billing/payroll [enabled-on-both]');
    expect(text).toContain('  ! billing/invoices [running-job] running on blue: invoices-29145000');
    expect(notes).toBe(-1);
    expect(text.trimEnd().split('\n').pop()).toBe('1 error(s): execute refuses this plan until they are fixed.');
  });

  it('uses ANSI colors only when asked', () => {
    expect(text).not.toMatch(ANSI);
    const colored = renderPlan(samplePlan(), { color: true });
    expect(colored).toMatch(ANSI);
    expect(colored.replace(new RegExp(ANSI, 'g'), '')).toBe(text);
  });

  it('keeps one line per CronJob with 150 of them', () => {
    const pairs = Array.from({ length: 150 }, (_, i) => copies({ name: `job-${String(i).padStart(3, '0')}` }));
    const plan = buildPlan(
      observation({ source: { cronJobs: pairs.map((p) => p.source) }, target: { cronJobs: pairs.map((p) => p.target) } }),
      loadedRunbook(),
    );
    const rendered = renderPlan(plan, { color: false });
    const rows = rendered.split('\n').filter((l) => l.includes('billing/job-'));
    expect(rows).toHaveLength(150);
    expect(rows[0]).toContain('billing/job-000');
    expect(rows[149]).toContain('billing/job-149');
    expect(rendered).toContain('No errors: `cutover execute` would carry out this plan.');
  });
});
