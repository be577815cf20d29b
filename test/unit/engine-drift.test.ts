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
