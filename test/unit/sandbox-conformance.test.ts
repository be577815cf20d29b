// The conformance scenarios (test/support/scenarios.ts) on the sandbox alone: each controller rule the
// rehearsal relies on gives the Jobs the scenario expects. test/e2e/conformance.test.ts plays the same
// scenarios on the real lab controllers and checks the sandbox makes exactly the same Jobs.
import { describe, expect, it } from 'vitest';
import { conformanceScenarios, nextBase, playScenario, sandboxBackend } from '../support/scenarios.js';

const BASE = new Date('2026-03-02T10:00:00Z');

describe('conformance scenarios on the simulated controller', () => {
  it.each(conformanceScenarios(BASE).map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const trace = await playScenario(scenario, sandboxBackend(new Date(BASE.getTime() - 30_000)), 'conformance', BASE);
    expect(trace.checkpoints.map((c) => c.jobs)).toEqual(scenario.checkpoints.map((c) => [...c.expect].sort()));
  });

  it('places the scenarios on a minute boundary with their first action still ahead', () => {
    expect(nextBase(new Date('2026-03-02T10:00:05Z')).toISOString()).toBe('2026-03-02T10:00:00.000Z');
    expect(nextBase(new Date('2026-03-02T10:00:12Z')).toISOString()).toBe('2026-03-02T10:01:00.000Z');
  });
});
