import { describe, expect, it } from 'vitest';
import { HaltError, InputError } from '../../src/core/errors.js';
import type { DnsChange, DnsPort, WeightedRecord } from '../../src/core/ports.js';
import type { Environment, ShiftTrafficStep, Step } from '../../src/config/types.js';
import { ALIAS_TTL_MS, INSYNC_TIMEOUT_MS, preRunWeightsFrom, restoreWeights, shiftTraffic } from '../../src/steps/shift-traffic.js';
import type { JsonValue } from '../../src/steps/types.js';
import { newProgress, stepRuntime, testEnvironment, testLoaded, testRun, virtualClock, type VirtualClock } from '../support/step-runtime.js';

/** Route 53 in memory: one weighted group, a change that stays PENDING for `pendingPolls` GetChange calls. */
class MemoryDns implements DnsPort {
  writes: { records: string[]; weights: Record<string, number>; comment: string }[] = [];
  polls = 0;
  constructor(
    public records: WeightedRecord[],
    public pendingPolls = 0,
  ) {}
  async readGroup(): Promise<WeightedRecord[]> {
    return this.records.map((r) => ({ ...r }));
  }
  async setWeights(records: WeightedRecord[], weights: Record<string, number>, comment: string): Promise<DnsChange> {
    this.writes.push({ records: records.map((r) => r.setIdentifier), weights, comment });
    this.records = this.records.map((r) => {
      const w = weights[`api.example.com.|A|${r.setIdentifier}`];
      return w === undefined ? r : { ...r, weight: w };
    });
    return { id: `C${this.writes.length}`, status: 'PENDING', submittedAt: '2026-03-01T12:00:00.000Z' };
  }
  async getChange(id: string): Promise<DnsChange> {
    this.polls++;
    return { id, status: this.polls > this.pendingPolls ? 'INSYNC' : 'PENDING', submittedAt: '2026-03-01T12:00:00.000Z' };
  }
}

const rec = (setIdentifier: string, weight: number, ttl?: number): WeightedRecord => ({
  name: 'api.example.com.',
  type: 'A',
  setIdentifier,
  weight,
  ...(ttl !== undefined ? { ttl } : {}),
  raw: { Name: 'api.example.com.', Type: 'A', SetIdentifier: setIdentifier, Weight: weight },
});

const env: Environment = testEnvironment({
  dns: { hostedZoneId: 'Z1', maxRequestsPerSecond: 2, records: [{ name: 'api.example.com.', type: 'A', setIdentifiers: { blue: 'blue', green: 'green' } }] },
});

const shift = (percent: number, soakMs = 300_000): ShiftTrafficStep => ({ kind: 'shiftTraffic', percent, soakMs });

function setup(dns: DnsPort, steps: Step[], clock: VirtualClock = virtualClock()) {
  const run = testRun({ loaded: testLoaded(env, steps), ports: { dns }, clock });
  return { run, clock };
}

describe('shiftTraffic', () => {
  it('polls GetChange through PENDING until INSYNC with growing pauses, then waits TTL and soak', async () => {
    const dns = new MemoryDns([rec('blue', 100, 30), rec('green', 0, 30)], 3);
    const { run, clock } = setup(dns, [shift(10)]);
    const start = clock.now().getTime();
    const output = await shiftTraffic(stepRuntime(run, 0));
    expect(dns.writes).toHaveLength(1);
    expect(dns.polls).toBe(4);
    // 2s, 4s, 8s between the PENDING answers; then the 30 s TTL; then the 5 min soak.
    expect(clock.sleeps).toEqual([2000, 4000, 8000, 30_000, 300_000]);
    expect(clock.now().getTime() - start).toBe(14_000 + 30_000 + 300_000);
    expect(output).toMatchObject({ after: { 'api.example.com.|A': { blue: 90, green: 10 } }, changeId: 'C1' });
    const kinds = run.entries.map((e) => `${e.type}: ${e.message}`);
    expect(kinds).toEqual([
      expect.stringMatching(/^write: Route 53 change C1/),
      'wait: change C1 INSYNC',
      'wait: TTL 30s waited',
      'wait: soak 5m done',
    ]);
    expect(dns.writes[0]?.comment).toMatch(/cutover run run-test step 1 .*10% to green/);
  });

  it('halts when the change is still PENDING at the deadline, and a resume polls the same change without writing', async () => {
    const dns = new MemoryDns([rec('blue', 100, 30), rec('green', 0, 30)], 1_000);
    const { run, clock } = setup(dns, [shift(50)]);
    const progress = newProgress();
    const start = clock.now().getTime();
    await expect(shiftTraffic(stepRuntime(run, 0, progress))).rejects.toThrow(HaltError);
    expect(clock.now().getTime() - start).toBe(INSYNC_TIMEOUT_MS);
    expect(progress.data.changeId).toBe('C1');

    dns.pendingPolls = dns.polls + 2;
    await shiftTraffic(stepRuntime(run, 0, progress));
    expect(dns.writes).toHaveLength(1);
    expect(dns.records.map((r) => r.weight)).toEqual([50, 50]);
  });

  it('resumed after a crash during the soak, neither writes again nor restarts the waits', async () => {
    const dns = new MemoryDns([rec('blue', 100, 60), rec('green', 0, 60)]);
    const { run, clock } = setup(dns, [shift(10, 600_000)]);
    const progress = newProgress();
    const crash = new AbortController();
    clock.sleep = (() => {
      const original = clock.sleep.bind(clock);
      return async (ms: number, signal?: AbortSignal) => {
        // The process dies five minutes into the ten-minute soak.
        if (ms === 600_000) {
          clock.advance(300_000);
          crash.abort(new Error('crash'));
          throw crash.signal.reason;
        }
        return original(ms, signal);
      };
    })();
    await expect(shiftTraffic(stepRuntime(run, 0, progress, crash.signal))).rejects.toThrow('crash');
    const soakUntil = progress.deadlines.soak;
    expect(soakUntil).toBeDefined();

    const resumedClock = virtualClock(clock.now());
    const resumed = testRun({ loaded: run.loaded, ports: { dns }, clock: resumedClock });
    await shiftTraffic(stepRuntime(resumed, 0, progress));
    expect(dns.writes).toHaveLength(1);
    expect(resumed.entries.some((e) => e.message === 'weights already at the target (change C1); not writing again')).toBe(true);
    expect(resumedClock.now().toISOString()).toBe(soakUntil);
    expect(resumedClock.sleeps).toEqual([300_000]);
  });

  it('waits the alias target TTL for alias records, which have no TTL of their own', async () => {
    const dns = new MemoryDns([rec('blue', 100), rec('green', 0)]);
    const { run, clock } = setup(dns, [shift(10, 0)]);
    await shiftTraffic(stepRuntime(run, 0));
    expect(clock.sleeps).toEqual([ALIAS_TTL_MS]);
  });

  it('refuses a group with a record that is not weighted before writing anything', async () => {
    const notWeighted: WeightedRecord = { name: 'api.example.com.', type: 'A', setIdentifier: '', weight: Number.NaN, raw: {} };
    const dns = new MemoryDns([rec('blue', 100), notWeighted]);
    const { run } = setup(dns, [shift(10)]);
    await expect(shiftTraffic(stepRuntime(run, 0))).rejects.toThrow(InputError);
    expect(dns.writes).toHaveLength(0);
  });

  it('refuses, on resume, target weights that would leave the group all zero', async () => {
    const dns = new MemoryDns([rec('blue', 100), rec('green', 0)]);
    const { run } = setup(dns, [shift(10)]);
    const progress = newProgress();
    progress.data = { before: { 'api.example.com.|A': { blue: 100, green: 0 } }, after: { 'api.example.com.|A': { blue: 0, green: 0 } } };
    await expect(shiftTraffic(stepRuntime(run, 0, progress))).rejects.toThrow(/EQUALLY/);
    expect(dns.writes).toHaveLength(0);
  });

  it('halts without writing when the weights were changed by someone else since the step began', async () => {
    const dns = new MemoryDns([rec('blue', 100), rec('green', 0)]);
    const { run } = setup(dns, [shift(10)]);
    const progress = newProgress();
    progress.data = { before: { 'api.example.com.|A': { blue: 100, green: 0 } }, after: { 'api.example.com.|A': { blue: 90, green: 10 } } };
    dns.records = [rec('blue', 30), rec('green', 70)];
    await expect(shiftTraffic(stepRuntime(run, 0, progress))).rejects.toThrow(/changed outside this run/);
    expect(dns.writes).toHaveLength(0);
  });

  it('records the pre-run weights in the first shift and carries them through later ones', async () => {
    const dns = new MemoryDns([rec('blue', 100), rec('green', 0), rec('canary', 10)]);
    const { run } = setup(dns, [shift(10, 0), shift(50, 0)]);
    run.outputs[0] = (await shiftTraffic(stepRuntime(run, 0))) ?? undefined;
    const second = await shiftTraffic(stepRuntime(run, 1));
    const before = { 'api.example.com.|A': { blue: 100, green: 0, canary: 10 } };
    expect(run.outputs[0]?.preRunWeights).toEqual(before);
    expect(second?.preRunWeights).toEqual(before);
    expect(second?.before).toEqual({ 'api.example.com.|A': { blue: 90, green: 10, canary: 10 } });
    expect(dns.records.find((r) => r.setIdentifier === 'canary')?.weight).toBe(10);
  });
});

describe('shiftTraffic when the runbook changed between attempts', () => {
  it('recomputes for the new percent but keeps the weights from before the run', async () => {
    const dns = new MemoryDns([rec('blue', 100), rec('green', 0)]);
    const first = setup(dns, [shift(10, 0)]);
    const progress = newProgress();
    await shiftTraffic(stepRuntime(first.run, 0, progress));
    const edited = setup(dns, [shift(20, 0)]);
    const output = await shiftTraffic(stepRuntime(edited.run, 0, progress));
    expect(dns.records.map((r) => r.weight)).toEqual([80, 20]);
    expect(output?.preRunWeights).toEqual({ 'api.example.com.|A': { blue: 100, green: 0 } });
    expect(output?.before).toEqual({ 'api.example.com.|A': { blue: 90, green: 10 } });
  });
});

describe('restoreWeights', () => {
  it('writes back the pre-run weights in one batch and waits for INSYNC; a second call writes nothing', async () => {
    const dns = new MemoryDns([rec('blue', 50), rec('green', 50), rec('canary', 10)], 1);
    const { run } = setup(dns, [shift(50)]);
    const before = preRunWeightsFrom([undefined, { preRunWeights: { 'api.example.com.|A': { blue: 100, green: 0, canary: 10 } } as JsonValue }]);
    expect(before).toBeDefined();
    const rt = stepRuntime(run, 0);
    const result = await restoreWeights(rt, before!);
    expect(result.changeId).toBe('C1');
    expect(dns.records.map((r) => r.weight)).toEqual([100, 0, 10]);
    expect(dns.writes[0]?.records).toEqual(['blue', 'green']);
    await restoreWeights(rt, before!);
    expect(dns.writes).toHaveLength(1);
  });
});
