// The ledger over hand-built Job sets: which cluster ran each tick, double runs, ticks run nowhere, ticks in
// a CronJob's own zone (Jobs annotated with that zone's offset) and across a daylight-saving change.
import { describe, expect, it } from 'vitest';
import { buildLedger, tickRows, type LedgerInput, type LedgerJob } from '../../src/plan/ledger.js';

const job = (cluster: string, scheduledTime: string, name = `j-${cluster}-${scheduledTime}`): LedgerJob => ({
  cluster,
  name,
  createdAt: scheduledTime,
  scheduledTime,
});

const copies = (created = '2026-01-01T00:00:00Z'): LedgerInput['copies'] => [
  { cluster: 'blue', creationTimestamp: created, suspend: true },
  { cluster: 'green', creationTimestamp: created, suspend: false },
];

describe('ledger', () => {
  it('gives every tick of the window the clusters that ran it, and flags a tick run twice', () => {
    const input: LedgerInput = {
      cronJob: 'billing/invoices',
      schedule: '*/10 * * * *',
      copies: copies(),
      jobs: [
        job('blue', '2026-12-03T10:10:00Z'),
        job('blue', '2026-12-03T10:20:00Z'),
        // The catch-up Job green starts on resume, for a tick blue already ran.
        job('green', '2026-12-03T10:20:00Z'),
        job('green', '2026-12-03T10:30:00Z'),
      ],
    };
    const ledger = buildLedger([input], new Date('2026-12-03T10:00:00Z'), new Date('2026-12-03T10:35:00Z'));
    const [entry] = ledger.cronJobs;
    expect(entry?.ticks.map((t) => [t.tick, t.jobs.map((j) => j.cluster).join('+'), t.verdict])).toEqual([
      ['2026-12-03T10:10:00.000Z', 'blue', 'once'],
      ['2026-12-03T10:20:00.000Z', 'blue+green', 'double'],
      ['2026-12-03T10:30:00.000Z', 'green', 'once'],
    ]);
    expect(ledger.doubleRuns).toBe(1);
    expect(entry?.doubleRuns).toEqual(['2026-12-03T10:20:00.000Z']);
    expect(entry?.copies).toEqual([
      { cluster: 'blue', enabled: false },
      { cluster: 'green', enabled: true },
    ]);
  });

  it('flags a tick no cluster ran, but not one before any copy existed nor one that may still start', () => {
    const input: LedgerInput = {
      cronJob: 'billing/report',
      schedule: '0 * * * *',
      copies: copies('2026-12-03T08:30:00Z'),
      jobs: [job('blue', '2026-12-03T09:00:00Z'), job('green', '2026-12-03T11:00:00Z')],
    };
    const ledger = buildLedger([input], new Date('2026-12-03T06:30:00Z'), new Date('2026-12-03T12:00:30Z'));
    const verdicts = Object.fromEntries(ledger.cronJobs[0]!.ticks.map((t) => [t.tick.slice(11, 16), t.verdict]));
    expect(verdicts).toEqual({
      '07:00': 'before-created',
      '08:00': 'before-created',
      '09:00': 'once',
      '10:00': 'nowhere',
      '11:00': 'once',
      '12:00': 'pending',
    });
    expect(ledger.ranNowhere).toBe(1);
    expect(ledger.doubleRuns).toBe(0);
  });

  it('matches Jobs annotated in the CronJob zone (+05:30) to the ticks of that zone', () => {
    const input: LedgerInput = {
      cronJob: 'ops/kolkata',
      schedule: '0 9 * * *',
      timeZone: 'Asia/Kolkata',
      copies: copies(),
      jobs: [job('blue', '2026-12-01T09:00:00+05:30'), job('green', '2026-12-02T09:00:00+05:30'), job('blue', '2026-12-02T09:00:00+05:30')],
    };
    const ledger = buildLedger([input], new Date('2026-11-30T12:00:00Z'), new Date('2026-12-03T00:00:00Z'));
    const entry = ledger.cronJobs[0]!;
    expect(entry.ticks.map((t) => t.tick)).toEqual(['2026-12-01T03:30:00.000Z', '2026-12-02T03:30:00.000Z']);
    expect(entry.doubleRuns).toEqual(['2026-12-02T03:30:00.000Z']);
    expect(entry.timeZone).toBe('Asia/Kolkata');
  });

  it('follows the local hour across a daylight-saving change (Europe/Berlin, 29 March 2026)', () => {
    const input: LedgerInput = {
      cronJob: 'ops/berlin',
      schedule: '0 9 * * *',
      timeZone: 'Europe/Berlin',
      copies: copies(),
      jobs: [job('blue', '2026-03-28T09:00:00+01:00'), job('green', '2026-03-29T09:00:00+02:00')],
    };
    const ledger = buildLedger([input], new Date('2026-03-28T00:00:00Z'), new Date('2026-03-30T12:00:00Z'));
    const entry = ledger.cronJobs[0]!;
    expect(entry.ticks.map((t) => [t.tick, t.verdict])).toEqual([
      ['2026-03-28T08:00:00.000Z', 'once'],
      ['2026-03-29T07:00:00.000Z', 'once'],
      ['2026-03-30T07:00:00.000Z', 'nowhere'],
    ]);
  });

  it('leaves out Jobs for ticks outside the chosen window, where the rehearsal report keeps them', () => {
    const jobs = [job('blue', '2026-12-03T09:50:00Z'), job('green', '2026-12-03T10:10:00Z')];
    const schedule = { schedule: '*/10 * * * *' };
    const window = [new Date('2026-12-03T10:00:00Z'), new Date('2026-12-03T10:15:00Z')] as const;
    expect(tickRows(schedule, jobs, ...window, 'drop').map((r) => r.tick)).toEqual(['2026-12-03T10:10:00.000Z']);
    expect(tickRows(schedule, jobs, ...window, 'include').map((r) => r.tick)).toEqual(['2026-12-03T09:50:00.000Z', '2026-12-03T10:10:00.000Z']);
  });
});
