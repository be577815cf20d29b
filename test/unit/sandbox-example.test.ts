// README's first command: workflows/example.yaml on the built-in sandbox (config/sandbox.yaml), through the
// same engine and step executors as a real run. The report must show the product's promises kept.
import { describe, expect, it } from 'vitest';
import { runSandbox, type SandboxRunOutcome } from '../../src/adapters/sandbox/run.js';
import { createSandbox } from '../../src/adapters/sandbox/index.js';
import { rehearse } from '../../src/adapters/sandbox/rehearse.js';
import { loadRunbook } from '../../src/config/load.js';
import type { LoadedRunbook } from '../../src/config/types.js';
import { effectiveShares } from '../../src/plan/weights.js';
import type { Reporter } from '../../src/steps/types.js';

const quiet: Reporter = { step: () => {}, info: () => {}, warn: () => {}, waiting: () => {} };

const example = (): Promise<LoadedRunbook> => loadRunbook('workflows/example.yaml');

/** The example environment with parts of its `sandbox:` section replaced. */
async function exampleWith(change: (sandbox: Record<string, unknown>) => Record<string, unknown>): Promise<LoadedRunbook> {
  const loaded = await example();
  return { ...loaded, environment: { ...loaded.environment, sandbox: change(structuredClone(loaded.environment.sandbox ?? {})) } };
}

const greenShares = (outcome: SandboxRunOutcome): number[] =>
  outcome.report.weights.map((w) => {
    const group = w.groups['api.example.com.|A'] ?? {};
    const shares = effectiveShares(Object.entries(group).map(([setIdentifier, weight]) => ({ setIdentifier, weight })));
    return shares.find((s) => s.setIdentifier === 'green')?.percent ?? Number.NaN;
  });

describe('workflows/example.yaml on the sandbox', () => {
  it('runs end to end: no tick twice, every CronJob enabled only on green at the end, traffic 10 → 50 → 100', async () => {
    const outcome = await runSandbox(await example(), { reporter: quiet });
    expect(outcome.result?.status).toBe('done');
    const { report } = outcome;
    expect(report.doubleRuns).toBe(0);
    expect(report.enabledOnBoth).toBe(0);
    expect(report.concurrentRuns).toBe(0);
    expect(report.cronJobs.map((c) => [c.cronJob, c.enabledAtEnd])).toEqual([
      ['billing/db-copy', ['green']],
      ['billing/invoice-mailer', ['green']],
      ['billing/ledger-sync', ['green']],
      ['billing/nightly-export', ['green']],
    ]);
    expect(greenShares(outcome)).toEqual([10, 50, 100]);
    expect(report.approvals.map((a) => a.data?.outcome)).toEqual(['approved']);
    expect(report.approvals[0]?.data?.by).toEqual(['U0SANDBOX1', 'U0SANDBOX2']);
    expect(report.gates.map((g) => g.data?.status)).toEqual(['pass', 'pass', 'pass']);
    expect(outcome.text).toContain('Double runs: 0');
  });

  it('after the handoff, runs every tick of a moved CronJob on green only', async () => {
    const { report } = await runSandbox(await example(), { reporter: quiet });
    const ledger = report.cronJobs.find((c) => c.cronJob === 'billing/ledger-sync')!;
    const resumed = Date.parse(ledger.handoff!.targetResumedAt!);
    const after = ledger.ticks.filter((row) => Date.parse(row.tick) > resumed);
    expect(after.length).toBeGreaterThan(30);
    expect(after.every((row) => row.jobs.length === 1 && row.jobs[0]!.cluster === 'green')).toBe(true);
  });

  it('gives the same report for the same world and seed', async () => {
    const strip = (o: SandboxRunOutcome) => ({ ...o.report, weights: o.report.weights.map(({ comment: _c, ...w }) => w), gates: o.report.gates.length, approvals: o.report.approvals.map((a) => a.message) });
    const first = await runSandbox(await example(), { reporter: quiet });
    const second = await runSandbox(await example(), { reporter: quiet });
    expect(strip(second)).toEqual(strip(first));
  });

  it('shows where the run would stop when a gate never becomes healthy', async () => {
    const loaded = await exampleWith((s) => ({ ...s, gates: { 'api healthy on green': { neverHealthy: true } } }));
    const outcome = await runSandbox(loaded, { reporter: quiet });
    expect(outcome.result?.status).toBe('halted');
    expect(outcome.report.message).toMatch(/gate api healthy on green did not pass within 5m/);
    expect(greenShares(outcome)).toEqual([10]);
    expect(outcome.report.doubleRuns).toBe(0);
  });

  it('halts at the approval the script rejects, with the reason in the report', async () => {
    const loaded = await exampleWith((s) => ({ ...s, approvals: { decision: 'reject', after: '2m', by: ['U0SANDBOX2'], reason: 'latency is up' } }));
    const outcome = await runSandbox(loaded, { reporter: quiet });
    expect(outcome.result?.status).toBe('halted');
    expect(outcome.report.approvals.map((a) => a.message)).toEqual([expect.stringContaining('rejected by U0SANDBOX2')]);
    expect(outcome.report.message).toContain('latency is up');
  });
});

describe('rehearse', () => {
  it('seeds the sandbox from what the environment shows now and predicts the same cutover', async () => {
    // The "live" environment here is another sandbox, observed through its ports as the real ones would be.
    const live = await example();
    const world = createSandbox(live);
    const real: LoadedRunbook = {
      ...live,
      environment: {
        ...live.environment,
        clusters: { blue: { kubeconfig: { context: 'blue' } }, green: { kubeconfig: { context: 'green' } } },
        sandbox: undefined,
      },
    };
    const outcome = await rehearse(real, { reporter: quiet, ports: world.ports, now: world.start, runningJobRemainingMs: 70_000 });
    expect(outcome.observation.observedAt).toBe(world.start.toISOString());
    expect(outcome.report.startedAt).toBe(world.start.toISOString());
    expect(outcome.report.notes.join('\n')).toContain('assumed to run 1m10s more');
    expect(outcome.result?.status).toBe('done');
    expect(outcome.report.doubleRuns).toBe(0);
    const db = outcome.report.cronJobs.find((c) => c.cronJob === 'billing/db-copy')!;
    // The drain of the running Job keeps both copies suspended across the 09:58 tick: predicted, and warned in the plan.
    expect(db.handoff?.ticksInside).toEqual(['2026-01-15T09:58:00.000Z']);
    expect(outcome.report.planMessages.some((m) => m.subject === 'billing/db-copy' && m.severity === 'warning')).toBe(true);
    // Nothing was written to the environment that was observed.
    expect(world.clusters.blue!.calls.setSuspend ?? 0).toBe(0);
    expect(world.zone!.timeline).toEqual([]);
  });
});
