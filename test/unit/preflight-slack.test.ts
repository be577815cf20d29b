// Preflight asks the Slack approval port whether its approvals can be given before any CronJob moves: a
// run must not hand over CronJobs and then stop at an approval nobody can answer.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/sandbox/clock.js';
import { SimulatedCluster } from '../../src/adapters/sandbox/cluster.js';
import type { ApproveStep, PreflightStep, Step } from '../../src/config/types.js';
import type { ApprovalPort } from '../../src/core/ports.js';
import { preflight } from '../../src/steps/preflight.js';
import { stepRuntime, testEnvironment, testLoaded, testRun } from '../support/step-runtime.js';

const approve: ApproveStep = { kind: 'approve', via: 'slack', approvers: ['U0ALICE'], required: 1, timeoutMs: 60_000 };

function runWith(slack: ApprovalPort, autoApprove = false) {
  const clock = new VirtualClock(new Date('2026-03-01T12:00:00Z'));
  const steps: Step[] = [{ kind: 'preflight' }, approve];
  const environment = testEnvironment({ slack: { channel: 'C0OPS', approvers: ['U0BOB'], botTokenEnv: 'B', appTokenEnv: 'A', allowSelfApproval: false } });
  const run = testRun({
    loaded: testLoaded(environment, steps),
    ports: { clusters: { blue: new SimulatedCluster('blue', clock), green: new SimulatedCluster('green', clock) }, approvals: { slack } },
    clock,
  });
  return { rt: stepRuntime<PreflightStep>({ ...run, autoApprove }, 0) };
}

const port = (problems: string[], asked: unknown[] = []): ApprovalPort => ({
  requestApproval: async () => {
    throw new Error('preflight must not ask for an approval');
  },
  preflight: async (context) => {
    asked.push(context);
    return problems;
  },
});

describe('preflight and Slack approvals', () => {
  it('halts, naming every problem, when Slack cannot take the approvals', async () => {
    const { rt } = runWith(port(['channel C0OPS not found (channel_not_found)', 'missing scope chat:write']));
    await expect(preflight(rt)).rejects.toThrow(/Slack is not ready[\s\S]*channel C0OPS not found[\s\S]*missing scope chat:write/);
  });

  it('passes with the step approvers and the operator when Slack is ready', async () => {
    const asked: unknown[] = [];
    const { rt } = runWith(port([], asked));
    await expect(preflight(rt)).resolves.toMatchObject({ cronJobs: 0 });
    expect(asked).toEqual([{ startedBy: 'tester', approvers: ['U0ALICE'] }]);
  });

  it('does not ask Slack when approvals are answered non-interactively (--approve)', async () => {
    const asked: unknown[] = [];
    const { rt } = runWith(port(['would halt'], asked), true);
    await expect(preflight(rt)).resolves.toMatchObject({ cronJobs: 0 });
    expect(asked).toEqual([]);
  });
});
