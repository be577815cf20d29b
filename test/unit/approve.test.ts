// The approve executor's own rules, with an in-memory approval port: non-interactive approval, idempotence
// after a crash, a new attempt after a halt, and what the approvers are shown.
import { describe, expect, it } from 'vitest';
import type { ApproveStep, Step } from '../../src/config/types.js';
import { HaltError, InputError } from '../../src/core/errors.js';
import type { ApprovalPort, ApprovalRequest, Decision } from '../../src/core/ports.js';
import type { StepPlanEntry } from '../../src/plan/types.js';
import { approvalEffect, approvalSummary, approve, trafficSplit } from '../../src/steps/approve.js';
import { emptyPlan, newProgress, stepRuntime, testEnvironment, testLoaded, testRun, virtualClock, type TestRun } from '../support/step-runtime.js';

const AT = '2026-03-01T12:10:00.000Z';

/** Answers every request with the next scripted decision and keeps the requests it saw. */
function scriptedPort(...decisions: Decision[]): ApprovalPort & { requests: ApprovalRequest[] } {
  const requests: ApprovalRequest[] = [];
  return {
    requests,
    async requestApproval(request) {
      requests.push(request);
      const next = decisions.shift();
      if (!next) throw new Error('no scripted decision left');
      return next;
    },
  };
}

const STEPS: Step[] = [
  { kind: 'moveCronJobs' },
  { kind: 'shiftTraffic', percent: 10, soakMs: 60_000 },
  { kind: 'approve', via: 'slack', required: 1, timeoutMs: 600_000, message: 'Go on?' },
  { kind: 'shiftTraffic', percent: 100, soakMs: 0 },
  { kind: 'gate', timeoutMs: 60_000, gate: { type: 'cronjobFirstRun' } },
  { kind: 'approve', via: 'terminal', required: 1, timeoutMs: 60_000 },
];
const PLAN: StepPlanEntry[] = [
  { kind: 'moveCronJobs', index: 0, label: 'move', count: 3 },
  {
    kind: 'shiftTraffic',
    index: 1,
    label: '10%',
    percent: 10,
    soakMs: 60_000,
    groups: [
      {
        name: 'api.example.com.',
        type: 'A',
        before: [
          { setIdentifier: 'blue', weight: 1, percent: 100 },
          { setIdentifier: 'green', weight: 0, percent: 0 },
        ],
        after: [],
      },
    ],
  },
  { kind: 'approve', index: 2, label: 'go on', via: 'slack', approvers: [], required: 1, timeoutMs: 600_000 },
  { kind: 'shiftTraffic', index: 3, label: '100%', percent: 100, soakMs: 0, groups: [] },
  { kind: 'gate', index: 4, label: 'first runs', gateType: 'cronjobFirstRun', timeoutMs: 60_000 },
  { kind: 'approve', index: 5, label: 'finish', via: 'terminal', approvers: [], required: 1, timeoutMs: 60_000 },
];

function setup(options: { port?: ApprovalPort; allowNonInteractive?: boolean; autoApprove?: boolean } = {}): TestRun {
  const env = testEnvironment({
    allowNonInteractiveApproval: options.allowNonInteractive ?? false,
    slack: { channel: 'C1', approvers: ['U0ALICE'], botTokenEnv: 'B', appTokenEnv: 'A', allowSelfApproval: false },
  });
  const loaded = testLoaded(env, STEPS);
  const clock = virtualClock();
  const run = testRun({ loaded, clock, ports: { approvals: options.port ? { slack: options.port, terminal: options.port } : {} } });
  run.plan = { ...emptyPlan(loaded, clock.now()), steps: PLAN };
  run.autoApprove = options.autoApprove ?? false;
  return run;
}

describe('approve step', () => {
  it('asks the port with the step\'s message, approvers, deadline and what approving will do', async () => {
    const port = scriptedPort({ outcome: 'approved', by: ['U0ALICE'], at: AT, link: 'https://slack/p1' });
    const run = setup({ port });
    const output = await approve(stepRuntime<ApproveStep>(run, 2));
    const request = port.requests[0]!;
    expect(request).toMatchObject({ stepIndex: 2, message: 'Go on?', approvers: ['U0ALICE'], required: 1, startedBy: 'tester' });
    expect(request.deadline.toISOString()).toBe('2026-03-01T12:10:00.000Z');
    expect(request.effect).toBe('continue with: 4. send 100% of traffic to green; 5. gate first runs (cronjobFirstRun, up to 1m); then wait for the next approval (finish)');
    expect(output).toMatchObject({ outcome: 'approved', by: ['U0ALICE'], link: 'https://slack/p1' });
    expect(run.entries.map((e) => e.type)).toEqual(['wait', 'decision']);
  });

  it('a crash after the decision does not ask again', async () => {
    const port = scriptedPort({ outcome: 'approved', by: ['U0ALICE'], at: AT });
    const run = setup({ port });
    const progress = newProgress();
    await approve(stepRuntime<ApproveStep>(run, 2, progress));
    const again = await approve(stepRuntime<ApproveStep>(run, 2, progress));
    expect(port.requests).toHaveLength(1);
    expect(again).toMatchObject({ outcome: 'approved', by: ['U0ALICE'] });
    expect(run.entries.filter((e) => e.type === 'decision')).toHaveLength(1);
  });

  it('a rejection halts; resuming asks again with a fresh deadline and without the old message', async () => {
    const port = scriptedPort(
      { outcome: 'rejected', by: 'U0ALICE', at: AT, reason: 'error budget spent' },
      { outcome: 'approved', by: ['U0ALICE'], at: AT },
    );
    const run = setup({ port });
    const progress = newProgress();
    const first = stepRuntime<ApproveStep>(run, 2, progress);
    await expect(approve(first)).rejects.toThrow(/rejected by U0ALICE .*error budget spent/);
    await first.update({ waiting: { slackTs: '1.000001' }, waitingAttempt: 1 });
    (run.clock as ReturnType<typeof virtualClock>).advance(3_600_000);

    const output = await approve(stepRuntime<ApproveStep>(run, 2, progress));
    expect(output).toMatchObject({ outcome: 'approved' });
    expect(port.requests[1]?.resume).toBeUndefined();
    expect(port.requests[1]?.deadline.getTime()).toBeGreaterThan(port.requests[0]!.deadline.getTime());
    expect(Object.keys(progress.deadlines)).toEqual(['approval', 'approval-2']);
  });

  it('hands an interrupted wait what the port remembered', async () => {
    let seen: ApprovalRequest | undefined;
    const port: ApprovalPort = {
      async requestApproval(request) {
        seen = request;
        if (!request.resume) {
          await request.remember({ slackChannel: 'C1', slackTs: '1.000002' });
          throw new Error('interrupted');
        }
        return { outcome: 'approved', by: ['U0ALICE'], at: AT };
      },
    };
    const run = setup({ port });
    const progress = newProgress();
    await expect(approve(stepRuntime<ApproveStep>(run, 2, progress))).rejects.toThrow('interrupted');
    await approve(stepRuntime<ApproveStep>(run, 2, progress));
    expect(seen?.resume).toEqual({ slackChannel: 'C1', slackTs: '1.000002' });
  });

  it('a timeout halts and is recorded as a decision', async () => {
    const run = setup({ port: scriptedPort({ outcome: 'timeout', at: AT, approvedBy: ['U0ALICE'] }) });
    await expect(approve(stepRuntime<ApproveStep>(run, 2))).rejects.toThrow(HaltError);
    expect(run.entries.find((e) => e.type === 'decision')?.data).toMatchObject({ outcome: 'timeout', approvedBy: ['U0ALICE'] });
  });

  it('--approve is refused where the environment does not allow non-interactive approval', async () => {
    const port = scriptedPort();
    const run = setup({ port, autoApprove: true });
    await expect(approve(stepRuntime<ApproveStep>(run, 2))).rejects.toThrow(/--approve refused .*allowNonInteractiveApproval/s);
    expect(port.requests).toHaveLength(0);
  });

  it('--approve answers the step where the environment allows it, and the journal says so', async () => {
    const run = setup({ autoApprove: true, allowNonInteractive: true });
    const output = await approve(stepRuntime<ApproveStep>(run, 2));
    expect(output).toMatchObject({ outcome: 'approved', by: ['tester (--approve)'], via: 'non-interactive' });
    expect(run.entries.find((e) => e.type === 'decision')?.data).toMatchObject({ via: 'non-interactive' });
  });

  it('refuses a slack approval when the run has no Slack port', async () => {
    await expect(approve(stepRuntime<ApproveStep>(setup(), 2))).rejects.toThrow(InputError);
  });

  it('a terminal approval is asked of the operator', async () => {
    const port = scriptedPort({ outcome: 'approved', by: ['tester'], at: AT });
    await approve(stepRuntime<ApproveStep>(setup({ port }), 5));
    expect(port.requests[0]?.approvers).toEqual(['tester']);
  });
});

describe('what approvers are shown', () => {
  it('summarises the steps done and the split the plan observed before any shift ran', () => {
    const run = setup();
    const summary = approvalSummary(run, 1);
    expect(summary).toContain('1. move: 3 CronJobs moved');
    expect(summary).toContain('Traffic now: api.example.com. A: blue 100% · green 0%');
  });

  it('takes the current split from the latest shift step\'s output and the gates\' summaries', () => {
    const run = setup();
    run.outputs[1] = { percent: 10, shares: { 'api.example.com.|A': [{ setIdentifier: 'blue', weight: 9, percent: 90 }, { setIdentifier: 'green', weight: 1, percent: 10 }] } };
    run.outputs[0] = { summary: '3 CronJobs moved, no tick missed' };
    expect(trafficSplit(run, 2)).toBe('api.example.com. A: blue 90% · green 10%');
    expect(approvalSummary(run, 2)).toContain('1. move: 3 CronJobs moved, no tick missed');
    expect(approvalSummary(run, 2)).toContain('2. 10%: 10% of traffic to the target');
  });

  it('the last approval says it finishes the run', () => {
    expect(approvalEffect(setup(), 5)).toBe('finish the run');
  });
});
