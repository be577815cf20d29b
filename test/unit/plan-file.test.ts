import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObservedCronJob, ObservedJob } from '../../src/core/types.js';
import { InputError } from '../../src/core/errors.js';
import type { Step } from '../../src/config/types.js';
import { planChanges, readPlanFile, writePlanFile } from '../../src/plan/file.js';
import { buildPlan } from '../../src/plan/planner.js';
import type { Plan } from '../../src/plan/types.js';
import { PLAN_VERSION } from '../../src/plan/types.js';
import { copies, cronJob, dnsSection, job, loadedRunbook, observation, TARGET, weightedRecord } from '../support/builders.js';

describe('plan files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-plan-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const samplePlan = (): Plan => {
    const { source, target } = copies();
    return buildPlan(observation({ source: { cronJobs: [source] }, target: { cronJobs: [target] } }), loadedRunbook());
  };

  it('writes { version, plan } as pretty JSON and reads the plan back', async () => {
    const path = join(dir, 'plan.json');
    const plan = samplePlan();
    await writePlanFile(path, plan);
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/^\{\n {2}"version": 1,\n {2}"plan": \{/);
    expect(JSON.parse(text)).toEqual({ version: PLAN_VERSION, plan });
    expect(await readPlanFile(path)).toEqual(plan);
  });

  it('refuses a missing file, naming it', async () => {
    const path = join(dir, 'nope.json');
    await expect(readPlanFile(path)).rejects.toBeInstanceOf(InputError);
    await expect(readPlanFile(path)).rejects.toThrow(`${path}: plan file no such file`);
  });

  it('refuses a device or a folder at once instead of reading it forever (issue 14)', async () => {
    await expect(readPlanFile('/dev/zero')).rejects.toThrow('/dev/zero: is not a regular file (a pipe or a device)');
    await expect(readPlanFile(dir)).rejects.toThrow(`${dir}: is a folder`);
  });

  it('refuses a file that is not JSON', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{ version: 1', 'utf8');
    await expect(readPlanFile(path)).rejects.toThrow(new RegExp(`${path}: not a plan file: invalid JSON`));
  });

  it('refuses another version with "expected version 1, received N"', async () => {
    const path = join(dir, 'v2.json');
    await writeFile(path, JSON.stringify({ version: 2, plan: samplePlan() }), 'utf8');
    const failure = readPlanFile(path);
    await expect(failure).rejects.toBeInstanceOf(InputError);
    await expect(failure).rejects.toThrow(`${path}: unsupported plan file version: expected version 1, received 2`);
  });

  it('refuses JSON that is not a plan', async () => {
    const path = join(dir, 'other.json');
    await writeFile(path, JSON.stringify({ version: 1, plan: { hello: 'world' } }), 'utf8');
    await expect(readPlanFile(path)).rejects.toThrow(/not a plan file/);
    await writeFile(path, '[1, 2]', 'utf8');
    await expect(readPlanFile(path)).rejects.toThrow(/expected an object with "version" and "plan"/);
  });
});

describe('planChanges', () => {
  interface World {
    source?: ObservedCronJob[];
    target?: ObservedCronJob[];
    jobs?: ObservedJob[];
    targetJobs?: ObservedJob[];
    weights?: [number, number];
    steps?: Step[];
    runbook?: string;
    observedAt?: string;
  }

  const steps: Step[] = [{ kind: 'moveCronJobs' }, { kind: 'shiftTraffic', percent: 10, soakMs: 60_000 }];

  function planOf(world: World): Plan {
    const [blue, green] = world.weights ?? [100, 0];
    return buildPlan(
      observation({
        observedAt: world.observedAt ?? '2025-06-02T10:07:00.000Z',
        source: { cronJobs: world.source ?? [], jobs: world.jobs ?? [] },
        target: { cronJobs: world.target ?? [], jobs: world.targetJobs ?? [] },
        dns: { 'api.example.com.|A': [weightedRecord('blue', blue), weightedRecord('green', green)] },
      }),
      loadedRunbook({ steps: world.steps ?? steps, environment: { dns: dnsSection() }, ...(world.runbook ? { runbook: { name: world.runbook } } : {}) }),
    );
  }

  const a = copies({ name: 'a', lastScheduleTime: '2025-06-02T10:00:00Z' });
  const b = copies({ name: 'b' });
  const base: World = { source: [a.source, b.source], target: [a.target, b.target] };

  it('is empty when nothing that matters changed, even hours later', () => {
    expect(planChanges(planOf(base), planOf({ ...base, observedAt: '2025-06-02T13:00:00.000Z' }))).toEqual([]);
  });

  it('treats ticks that ran on an enabled source as the world going on as planned', () => {
    const later = { ...a.source, lastScheduleTime: '2025-06-02T10:15:00Z' };
    const fresh = planOf({ ...base, source: [later, b.source], jobs: [job(later, { name: 'a-2' })] });
    expect(fresh.fingerprint).not.toBe(planOf(base).fingerprint);
    expect(planChanges(planOf(base), fresh)).toEqual([]);
  });

  it('names a CronJob that appeared or vanished on the source', () => {
    const c = copies({ name: 'c' });
    expect(planChanges(planOf(base), planOf({ source: [...base.source!, c.source], target: [...base.target!, c.target] }))).toEqual([
      'billing/c: appeared on blue (action move)',
    ]);
    expect(planChanges(planOf(base), planOf({ source: [a.source], target: base.target! }))).toEqual([
      'billing/b: no longer on blue (or no longer selected)',
      'billing/b: appeared on green only',
    ]);
  });

  it('names a flipped suspend and the action it changes', () => {
    const enabled = { ...a.target, suspend: false };
    expect(planChanges(planOf(base), planOf({ ...base, target: [enabled, b.target] }))).toEqual([
      'billing/a on green: suspend true → false',
      'billing/a: action move → suspend-target-then-move',
    ]);
  });

  it('names a copy that was recreated or removed on the target', () => {
    const recreated = { ...b.target, uid: 'green-new' };
    expect(planChanges(planOf(base), planOf({ ...base, target: [a.target, recreated] }))).toEqual([
      'billing/b on green: recreated (uid green-billing-b → green-new)',
    ]);
    expect(planChanges(planOf(base), planOf({ ...base, target: [a.target] }))).toEqual([
      'billing/b on green: vanished',
      'billing/b: action move → blocked',
    ]);
  });

  it('names a lastScheduleTime that moved on a suspended copy or went back', () => {
    const ranOnTarget = { ...a.target, lastScheduleTime: '2025-06-02T10:15:00Z' };
    expect(planChanges(planOf(base), planOf({ ...base, target: [ranOnTarget, b.target] }))).toEqual([
      'billing/a on green: lastScheduleTime 2025-06-02T10:00:00Z → 2025-06-02T10:15:00Z',
    ]);
    const back = { ...a.source, lastScheduleTime: '2025-06-02T09:00:00Z' };
    expect(planChanges(planOf(base), planOf({ ...base, source: [back, b.source] }))).toEqual([
      'billing/a on blue: lastScheduleTime 2025-06-02T10:00:00Z → 2025-06-02T09:00:00Z',
    ]);
  });

  it('names Jobs that started on a suspended copy', () => {
    expect(planChanges(planOf(base), planOf({ ...base, targetJobs: [job(a.target, { name: 'a-manual' })] }))).toEqual([
      'billing/a on green: Jobs started while suspended: a-manual',
    ]);
  });

  it('names changed DNS weights', () => {
    expect(planChanges(planOf(base), planOf({ ...base, weights: [50, 50] }))).toEqual([
      'DNS api.example.com. A: weights blue=100, green=0 → blue=50, green=50',
    ]);
  });

  it('names a different runbook or direction and nothing else', () => {
    const other = planOf({ ...base, runbook: 'green-to-blue', weights: [1, 1] });
    expect(planChanges(planOf(base), other)).toEqual([
      'the saved plan is for runbook blue-to-green (environment lab), blue → green; this run is runbook green-to-blue (environment lab), blue → green',
    ]);
  });

  it('names changed steps', () => {
    const edited: Step[] = [{ kind: 'moveCronJobs' }, { kind: 'shiftTraffic', percent: 25, soakMs: 60_000 }];
    expect(planChanges(planOf(base), planOf({ ...base, steps: edited }))).toEqual([
      'step 2: shift 10% of traffic to the target (10%, soak 1m) → shift 25% of traffic to the target (25%, soak 1m)',
    ]);
  });

  it('names a CronJob that appeared on the target only', () => {
    const extra = cronJob({ cluster: TARGET, name: 'new', suspend: true });
    expect(planChanges(planOf(base), planOf({ ...base, target: [...base.target!, extra] }))).toEqual([
      'billing/new: appeared on green only',
    ]);
  });
});
