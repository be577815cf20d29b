// The drift watch over Route 53 weights (issue 6): weights changed by someone else while a later step runs
// halt the run; the write of a shift step in progress is the run's own and is not drift.
import { describe, expect, it } from 'vitest';
import type { DnsPort, WeightedRecord } from '../../src/core/ports.js';
import type { Step } from '../../src/config/types.js';
import type { JsonValue } from '../../src/steps/types.js';
import { startDriftGuard } from '../../src/engine/drift.js';
import type { RunbookContext } from '../../src/machine/runbook.js';
import { testEnvironment, testLoaded, testRun, virtualClock } from '../support/step-runtime.js';

const NAME = 'api.example.com.';

/** A DNS port whose group has the weights in `current`. */
function dnsWith(current: Record<string, number>): DnsPort {
  const record = (setIdentifier: string): WeightedRecord => ({ name: NAME, type: 'A', setIdentifier, weight: current[setIdentifier] ?? 0, raw: {} });
  return {
    readGroup: async () => Object.keys(current).map(record),
    setWeights: async () => ({ id: 'C1', status: 'INSYNC', submittedAt: new Date(0).toISOString() }),
    getChange: async () => ({ id: 'C1', status: 'INSYNC', submittedAt: new Date(0).toISOString() }),
  };
}

/** Step 0 shifted to 10% (blue=180 green=20) and is done; step 1 runs, with `data` recorded so far. */
function watchDuring(step: Step, current: Record<string, number>, data: Record<string, JsonValue> = {}) {
  const env = testEnvironment({ dns: { hostedZoneId: 'Z1', maxRequestsPerSecond: 2, records: [{ name: NAME, type: 'A', setIdentifiers: { blue: 'blue', green: 'green' } }] } });
  const loaded = testLoaded(env, [{ kind: 'shiftTraffic', percent: 10, soakMs: 0 }, step]);
  const run = testRun({ loaded, ports: { dns: dnsWith(current) }, clock: virtualClock() });
  const context: RunbookContext = {
    runbook: loaded.runbook.name,
    current: 1,
    progress: [
      { status: 'done', deadlines: {}, data: { after: { [`${NAME}|A`]: { blue: 180, green: 20 } } } },
      { status: 'running', deadlines: {}, data },
    ],
  };
  return startDriftGuard(run, () => context, 1, new AbortController().signal, 5);
}

const outlasting = (ms: number) => new Promise<string>((resolve) => setTimeout(() => resolve('done'), ms));

describe('drift watch over Route 53 weights', () => {
  it('does not take the write of a shift step in progress (its soak) for drift', async () => {
    const recorded = { before: { [`${NAME}|A`]: { blue: 180, green: 20 } }, after: { [`${NAME}|A`]: { blue: 100, green: 100 } } };
    const guard = watchDuring({ kind: 'shiftTraffic', percent: 50, soakMs: 60_000 }, { blue: 100, green: 100 }, recorded);
    try {
      await expect(guard?.watch(outlasting(50)) ?? outlasting(0)).resolves.toBe('done');
    } finally {
      await guard?.stop();
    }
  });

  it('halts a shift step in progress when the weights are neither those before nor after its write', async () => {
    const recorded = { before: { [`${NAME}|A`]: { blue: 180, green: 20 } }, after: { [`${NAME}|A`]: { blue: 100, green: 100 } } };
    const guard = watchDuring({ kind: 'shiftTraffic', percent: 50, soakMs: 60_000 }, { blue: 200, green: 0 }, recorded);
    try {
      await expect(guard!.watch(outlasting(200))).rejects.toThrow(/changed outside the run: blue=200 green=0, where the run had set blue=180 green=20 or blue=100 green=100/);
    } finally {
      await guard?.stop();
    }
  });

  it('halts a later step when the weights differ from those the last shift set', async () => {
    const guard = watchDuring({ kind: 'gate', gate: { type: 'command', command: 'true', args: [], env: {}, timeoutMs: 1_000 }, timeoutMs: 1_000 }, { blue: 7, green: 3 });
    try {
      await expect(guard!.watch(outlasting(200))).rejects.toThrow(/changed outside the run: blue=7 green=3, where the run had set blue=180 green=20/);
    } finally {
      await guard?.stop();
    }
  });
});

describe('drift watch from the moment a CronJob is handed over (issue 13)', () => {
  it('re-suspends a verified CronJob enabled again on the source while the same move step still runs, journaled as a write', async () => {
    const { MemoryCluster } = await import('../support/memory-cluster.js');
    const blue = new MemoryCluster('blue');
    blue.addCronJob({ namespace: 'billing', name: 'done-already', suspend: false });
    blue.addCronJob({ namespace: 'billing', name: 'in-flight', suspend: false });
    const loaded = testLoaded(testEnvironment(), [{ kind: 'moveCronJobs' }]);
    const clock = virtualClock();
    const run = testRun({ loaded, ports: { clusters: { blue, green: new MemoryCluster('green') } }, clock });
    const entry = (name: string) => ({ kind: 'cronjob', ref: { namespace: 'billing', name }, action: 'move' }) as unknown as (typeof run.plan.cronJobs)[number];
    run.plan.cronJobs.push(entry('done-already'), entry('in-flight'));
    const context: RunbookContext = {
      runbook: loaded.runbook.name,
      current: 0,
      progress: [
        {
          status: 'running',
          deadlines: {},
          data: { cronjobs: { 'billing/done-already': { phase: 'verified' }, 'billing/in-flight': { phase: 'source-suspended' } } },
        },
      ],
    };
    const guard = startDriftGuard(run, () => context, 0, new AbortController().signal, 5);
    try {
      await expect(guard!.watch(outlasting(100))).resolves.toBe('done');
    } finally {
      await guard?.stop();
    }
    // The verified one is suspended again; the one still in its handoff belongs to the protocol.
    expect((await blue.getCronJob({ namespace: 'billing', name: 'done-already' }))?.suspend).toBe(true);
    expect((await blue.getCronJob({ namespace: 'billing', name: 'in-flight' }))?.suspend).toBe(false);
    const writes = run.entries.filter((e) => e.type === 'write');
    expect(writes[0]?.message).toBe('blue: billing/done-already suspend false -> true');
    expect(run.entries.some((e) => e.type === 'drift' && e.message.includes('billing/done-already: enabled again on blue'))).toBe(true);
  });
});
