// Slack approvals end to end: the real approve executor, the real Slack adapter and the real @slack/web-api
// and @slack/socket-mode clients, against the local Slack server in test/support (no lab needed).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSlackApprovalPort, preflightSlack, type SlackClientOptions } from '../../src/adapters/slack/index.js';
import type { ApproveStep, Environment, SlackConfig, Step } from '../../src/config/types.js';
import { systemClock } from '../../src/core/clock.js';
import { HaltError } from '../../src/core/errors.js';
import type { StepPlanEntry } from '../../src/plan/types.js';
import { approve } from '../../src/steps/approve.js';
import type { StepProgress } from '../../src/steps/types.js';
import { buttonsOf, SlackServer, type StoredMessage, textOfBlocks } from '../support/slack-server.js';
import { emptyPlan, newProgress, stepRuntime, testEnvironment, testLoaded, testRun, type TestRun } from '../support/step-runtime.js';

const BOT_TOKEN = 'xoxb-1111-2222-local-bot-secret';
const APP_TOKEN = 'xapp-1-A0LOCAL-3333-local-app-secret';
const CHANNEL = 'C0APPROVE';
const OPERATOR = 'U0OPER';

let server: SlackServer;
let logs: string[];

beforeEach(async () => {
  logs = [];
  server = await SlackServer.start({
    botToken: BOT_TOKEN,
    appToken: APP_TOKEN,
    channels: [
      { id: CHANNEL, name: 'deploys' },
      { id: 'C0OUTSIDE', name: 'elsewhere', isMember: false },
    ],
    usergroups: { S0ONCALL: ['U0CAROL', 'U0DAVE'] },
  });
});

afterEach(async () => {
  await server.close();
});

function slackEnv(slack: Partial<SlackConfig> = {}): Environment {
  return testEnvironment({
    slack: {
      channel: CHANNEL,
      approvers: ['U0ALICE', 'U0BOB'],
      botTokenEnv: 'TEST_SLACK_BOT',
      appTokenEnv: 'TEST_SLACK_APP',
      allowSelfApproval: false,
      apiUrl: server.apiUrl,
      ...slack,
    },
  });
}

function clientOptions(vars: Record<string, string> = {}): SlackClientOptions {
  return {
    env: { TEST_SLACK_BOT: BOT_TOKEN, TEST_SLACK_APP: APP_TOKEN, CUTOVER_SLACK_USER: OPERATOR, ...vars },
    logSink: (level, line) => logs.push(`${level} ${line}`),
    logLevel: 'debug',
    retry: { retries: 3, factor: 1, minTimeout: 20, maxTimeout: 50 },
    pingTimeoutMs: 1_500,
    reconnectDelayMs: 50,
  };
}

const STEPS: Step[] = [
  { kind: 'shiftTraffic', name: '10% to green', percent: 10, soakMs: 0 },
  {
    kind: 'gate',
    name: 'api healthy',
    timeoutMs: 60_000,
    gate: { type: 'http', url: 'http://api.local/health', method: 'GET', headers: {}, expectStatus: 200, successes: 3, intervalMs: 1_000 },
  },
  { kind: 'approve', name: 'go to 50%', via: 'slack', message: 'Go to 50%?', required: 1, timeoutMs: 60_000 },
  { kind: 'shiftTraffic', name: '50% to green', percent: 50, soakMs: 300_000 },
];
const APPROVE_INDEX = 2;

const PLAN_STEPS: StepPlanEntry[] = [
  { kind: 'shiftTraffic', index: 0, label: '10% to green', percent: 10, soakMs: 0, groups: [] },
  { kind: 'gate', index: 1, label: 'api healthy', gateType: 'http', timeoutMs: 60_000 },
  { kind: 'approve', index: 2, label: 'go to 50%', via: 'slack', approvers: ['U0ALICE', 'U0BOB'], required: 1, timeoutMs: 60_000 },
  { kind: 'shiftTraffic', index: 3, label: '50% to green', percent: 50, soakMs: 300_000, groups: [] },
];

interface Scenario {
  step?: Partial<ApproveStep>;
  slack?: Partial<SlackConfig>;
  vars?: Record<string, string>;
}

function scenario(options: Scenario = {}): { run: TestRun; env: Environment; vars: Record<string, string> } {
  const env = slackEnv(options.slack);
  const steps = STEPS.map((s, i) => (i === APPROVE_INDEX ? ({ ...s, ...options.step } as Step) : s));
  const loaded = testLoaded(env, steps);
  const port = createSlackApprovalPort(env, clientOptions(options.vars));
  const run = testRun({ loaded, ports: { approvals: { slack: port } }, clock: systemClock, runId: 'run-e2e-1' });
  run.plan = { ...emptyPlan(loaded, new Date()), steps: PLAN_STEPS };
  run.startedBy = 'oper@laptop';
  run.outputs[0] = {
    percent: 10,
    shares: {
      'api.example.com.|A': [
        { setIdentifier: 'blue', weight: 90, percent: 90 },
        { setIdentifier: 'green', weight: 10, percent: 10 },
      ],
    },
  };
  run.outputs[1] = { gate: 'http', status: 'pass', summary: '3 of 3 looks answered 200' };
  return { run, env, vars: options.vars ?? {} };
}

function startApproval(run: TestRun, progress: StepProgress = newProgress(), signal = new AbortController().signal): Promise<unknown> {
  const pending = approve(stepRuntime<ApproveStep>(run, APPROVE_INDEX, progress, signal));
  // Rejections are asserted by the tests; this keeps an early one from being reported as unhandled meanwhile.
  pending.catch(() => undefined);
  return pending;
}

/** The approval message once it shows its buttons. */
function approvalMessage(): Promise<StoredMessage> {
  return server.waitFor(() => [...server.messages.values()].find((m) => buttonsOf(m.blocks).length > 0), 'an approval message with buttons');
}

function decisionEntry(run: TestRun): Record<string, unknown> | undefined {
  return run.entries.find((e) => e.type === 'decision')?.data;
}

describe('slack approvals', () => {
  it('approve: posts the evidence with confirmed buttons, records who approved and removes the buttons', async () => {
    const { run } = scenario();
    const result = startApproval(run);
    const message = await approvalMessage();

    const shown = textOfBlocks(message.blocks);
    expect(shown).toContain('Go to 50%?');
    expect(shown).toContain('blue 90% · green 10%');
    expect(shown).toContain('3 of 3 looks answered 200');
    expect(shown).toContain('send 50% of traffic to green');
    const buttons = message.blocks.find((b) => b['type'] === 'actions')?.['elements'] as Record<string, unknown>[];
    expect(buttons.map((b) => b['action_id'])).toEqual(['cutover_approve', 'cutover_reject']);
    for (const button of buttons) expect(button['confirm']).toMatchObject({ confirm: { type: 'plain_text' }, deny: { type: 'plain_text' } });

    const ack = await server.click('U0ALICE', message.ts, 'cutover_approve');
    expect(ack).toEqual({});
    const output = (await result) as Record<string, unknown>;

    expect(output).toMatchObject({ outcome: 'approved', by: ['U0ALICE'], via: 'slack' });
    expect(output['link']).toBe(`https://local.slack.test/archives/${CHANNEL}/p${message.ts.replace('.', '')}`);
    expect(buttonsOf(message.blocks)).toEqual([]);
    expect(textOfBlocks(message.blocks)).toMatch(/Approved\* by <@U0ALICE>/);
    expect(decisionEntry(run)).toMatchObject({ outcome: 'approved', by: ['U0ALICE'], link: output['link'], step: 'go to 50%' });
    expect(server.callsOf('chat.postMessage')).toHaveLength(1);
  });

  it('reject: asks for a reason in a dialog, refuses an empty one, halts with the reason on record', async () => {
    const { run } = scenario();
    const progress = newProgress();
    const result = startApproval(run, progress);
    const message = await approvalMessage();

    await server.click('U0BOB', message.ts, 'cutover_reject');
    const dialog = await server.waitFor(() => server.views[0], 'the reason dialog');
    expect(dialog.view).toMatchObject({ type: 'modal', callback_id: 'cutover_reject_reason' });

    const refused = await server.submitView('U0BOB', dialog, '   ');
    expect(refused).toMatchObject({ response_action: 'errors', errors: { reason: expect.any(String) } });
    const accepted = await server.submitView('U0BOB', dialog, 'p99 latency doubled');
    expect(accepted).toEqual({});

    await expect(result).rejects.toThrow(HaltError);
    await expect(result).rejects.toThrow(/rejected by U0BOB .*p99 latency doubled/);
    expect(decisionEntry(run)).toMatchObject({ outcome: 'rejected', by: 'U0BOB', reason: 'p99 latency doubled' });
    expect(progress.data['decision']).toMatchObject({ outcome: 'rejected', by: 'U0BOB' });
    expect(buttonsOf(message.blocks)).toEqual([]);
    expect(textOfBlocks(message.blocks)).toContain('p99 latency doubled');
  });

  it('a click by someone who is not an approver is answered privately and ignored', async () => {
    const { run } = scenario();
    const result = startApproval(run);
    const message = await approvalMessage();

    await server.click('U0MALLORY', message.ts, 'cutover_approve');
    await server.waitFor(() => server.ephemerals.find((e) => e.user === 'U0MALLORY'), 'an ephemeral answer');
    expect(server.ephemerals[0]?.text).toMatch(/Only the approvers/);
    expect(buttonsOf(message.blocks)).toEqual(['cutover_approve', 'cutover_reject']);

    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await expect(result).resolves.toMatchObject({ outcome: 'approved', by: ['U0ALICE'] });
  });

  it('the operator who started the run cannot approve it', async () => {
    const { run } = scenario({ vars: { CUTOVER_SLACK_USER: 'U0ALICE' } });
    const result = startApproval(run);
    const message = await approvalMessage();

    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await server.waitFor(() => server.ephemerals.find((e) => e.user === 'U0ALICE'), 'an ephemeral answer');
    expect(server.ephemerals[0]?.text).toMatch(/You started this run/);

    await server.click('U0BOB', message.ts, 'cutover_approve');
    await expect(result).resolves.toMatchObject({ outcome: 'approved', by: ['U0BOB'] });
  });

  it('self-approval counts where the environment allows it', async () => {
    const { run } = scenario({ vars: { CUTOVER_SLACK_USER: 'U0ALICE' }, slack: { allowSelfApproval: true } });
    const result = startApproval(run);
    const message = await approvalMessage();
    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await expect(result).resolves.toMatchObject({ outcome: 'approved', by: ['U0ALICE'] });
  });

  it('required: 2 needs two distinct approvers; a second click by the same one does not count', async () => {
    const { run } = scenario({ step: { required: 2 } });
    const result = startApproval(run);
    const message = await approvalMessage();

    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await server.waitFor(() => (textOfBlocks(message.blocks).includes('Approvals: 1 of 2') ? true : undefined), 'the tally');
    expect(buttonsOf(message.blocks)).toEqual(['cutover_approve', 'cutover_reject']);

    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await server.waitFor(() => server.ephemerals.find((e) => /already counted/.test(e.text)), 'the already-counted answer');

    await server.click('U0BOB', message.ts, 'cutover_approve');
    const output = (await result) as Record<string, unknown>;
    expect(output).toMatchObject({ outcome: 'approved', by: ['U0ALICE', 'U0BOB'] });
    expect(output['votes']).toHaveLength(2);
    expect(decisionEntry(run)?.['votes']).toHaveLength(2);
  });

  it('approvers given as a user group are expanded through usergroups.users.list', async () => {
    const { run } = scenario({ step: { approvers: ['S0ONCALL'] } });
    const result = startApproval(run);
    const message = await approvalMessage();
    expect(server.callsOf('usergroups.users.list')[0]?.args['usergroup']).toBe('S0ONCALL');

    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await server.waitFor(() => server.ephemerals.find((e) => e.user === 'U0ALICE'), 'the refusal');
    await server.click('U0CAROL', message.ts, 'cutover_approve');
    await expect(result).resolves.toMatchObject({ outcome: 'approved', by: ['U0CAROL'] });
  });

  it('timeout: no decision before the deadline halts the run and says so on the message', async () => {
    const { run } = scenario({ step: { timeoutMs: 700 } });
    const result = startApproval(run);
    const message = await approvalMessage();

    await expect(result).rejects.toThrow(HaltError);
    await expect(result).rejects.toThrow(/no decision before the deadline/);
    expect(decisionEntry(run)).toMatchObject({ outcome: 'timeout' });
    expect(buttonsOf(message.blocks)).toEqual([]);
    expect(textOfBlocks(message.blocks)).toContain('Timed out');
  });

  it('keeps the decision open across a socket refresh and a dropped socket', async () => {
    const { run } = scenario({ step: { required: 2 } });
    const result = startApproval(run);
    const message = await approvalMessage();
    expect(server.connections).toBe(1);

    server.dropSocket('refresh');
    await server.waitForConnections(2);
    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await server.waitFor(() => (textOfBlocks(message.blocks).includes('Approvals: 1 of 2') ? true : undefined), 'the tally');

    server.dropSocket('drop');
    await server.waitForConnections(3);
    await server.click('U0BOB', message.ts, 'cutover_approve');
    await expect(result).resolves.toMatchObject({ outcome: 'approved', by: ['U0ALICE', 'U0BOB'] });
  });

  it('a resumed wait finds its message instead of posting again, and keeps the approvals already given', async () => {
    const { run } = scenario({ step: { required: 2 } });
    const progress = newProgress();
    const interrupted = new AbortController();
    const first = startApproval(run, progress, interrupted.signal);
    const message = await approvalMessage();
    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await server.waitFor(() => (textOfBlocks(message.blocks).includes('Approvals: 1 of 2') ? true : undefined), 'the tally');

    interrupted.abort(new Error('run interrupted'));
    await expect(first).rejects.toThrow('run interrupted');
    expect(buttonsOf(message.blocks)).toEqual([]);
    expect(textOfBlocks(message.blocks)).toContain('interrupted');
    const deadline = progress.deadlines['approval'];

    // A new process: a new port, the persisted progress.
    const resumed = scenario({ step: { required: 2 } }).run;
    const second = startApproval(resumed, progress);
    await server.waitFor(() => (buttonsOf(message.blocks).length > 0 ? true : undefined), 'the buttons back');
    await server.click('U0BOB', message.ts, 'cutover_approve');

    await expect(second).resolves.toMatchObject({ outcome: 'approved', by: ['U0ALICE', 'U0BOB'] });
    expect(server.callsOf('chat.postMessage')).toHaveLength(1);
    expect(progress.deadlines['approval']).toBe(deadline);
  });

  it('whoever resumes the run, the operator who started it still cannot approve it', async () => {
    const { run } = scenario({ vars: { CUTOVER_SLACK_USER: 'U0ALICE' } });
    const progress = newProgress();
    const interrupted = new AbortController();
    const first = startApproval(run, progress, interrupted.signal);
    await approvalMessage();
    interrupted.abort(new Error('run interrupted'));
    await expect(first).rejects.toThrow('run interrupted');

    const byBob = scenario({ vars: { CUTOVER_SLACK_USER: 'U0BOB' } }).run;
    const second = startApproval(byBob, progress);
    const message = await approvalMessage();
    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await server.waitFor(() => server.ephemerals.find((e) => e.user === 'U0ALICE'), 'the refusal');
    expect(server.ephemerals[0]?.text).toMatch(/You started this run/);
    await server.click('U0BOB', message.ts, 'cutover_approve');
    await expect(second).resolves.toMatchObject({ outcome: 'approved', by: ['U0BOB'] });
  });

  it('a decision reached before Slack failed is kept: the resume concludes it without asking again', async () => {
    const { run } = scenario();
    const progress = newProgress();
    const first = startApproval(run, progress);
    const message = await approvalMessage();
    server.failNext('chat.update', 'fatal_error');
    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await expect(first).rejects.toThrow(/Slack chat.update failed: Slack answered fatal_error/);
    const connections = server.connections;

    const output = await startApproval(scenario().run, progress);
    expect(output).toMatchObject({ outcome: 'approved', by: ['U0ALICE'] });
    expect(buttonsOf(message.blocks)).toEqual([]);
    expect(server.connections).toBe(connections);
    expect(server.callsOf('chat.postMessage')).toHaveLength(1);
  });

  it('threads the approval under the run message the notifier posted, and a resumed run reuses it', async () => {
    const { run } = scenario();
    const port = run.ports.approvals.slack as ReturnType<typeof createSlackApprovalPort>;
    const remembered: Record<string, string> = {};
    const notice = { runId: run.runId, runbook: 'lab-blue-to-green', environment: 'test', from: 'blue', to: 'green', startedBy: 'oper@laptop' };
    await port.notifier.runStarted({ ...notice, remember: async (data) => void Object.assign(remembered, data) });
    const parent = server.callsOf('chat.postMessage')[0];
    expect(parent?.args['thread_ts']).toBeUndefined();
    const parentTs = remembered['slackTs'];
    expect(parentTs).toBeTruthy();
    expect(remembered['slackOperator']).toBe(OPERATOR);

    await port.notifier.stepStarted(APPROVE_INDEX, 'go to 50%');
    const result = startApproval(run);
    const message = await approvalMessage();
    expect(message.threadTs).toBe(parentTs);
    expect(message.replyBroadcast).toBe(true);
    await server.click('U0BOB', message.ts, 'cutover_approve');
    await result;
    await port.notifier.stepFinished(APPROVE_INDEX, 'go to 50%', 'done', 'approved by U0BOB');
    await port.notifier.runFinished('succeeded');
    expect(textOfBlocks(server.messages.get(parentTs!)!.blocks)).toContain('succeeded');

    const again = createSlackApprovalPort(slackEnv(), clientOptions());
    await again.notifier.runStarted({ ...notice, resume: remembered, remember: async () => undefined });
    const posts = server.callsOf('chat.postMessage');
    expect(posts.filter((c) => c.args['thread_ts'] === undefined)).toHaveLength(1);
    expect(posts.at(-1)?.args['text']).toMatch(/resumed/);
  });

  it('a channel Slack does not know fails the wait with what to fix, and nothing is posted', async () => {
    const { run } = scenario({ slack: { channel: 'C0NOPE' } });
    const result = startApproval(run);
    await expect(result).rejects.toThrow(/Slack chat.postMessage failed: channel C0NOPE was not found \(slack.channel\)/);
    expect(server.messages.size).toBe(0);
    expect(decisionEntry(run)).toBeUndefined();
  });

  it('waits out a rate limit (429 with Retry-After) and says why it paused', async () => {
    const { run } = scenario();
    server.rateLimit('chat.postMessage', 1);
    const result = startApproval(run);
    const message = await approvalMessage();
    await server.click('U0ALICE', message.ts, 'cutover_approve');
    await expect(result).resolves.toMatchObject({ outcome: 'approved' });
    const attempts = server.calls.filter((c) => c.method === 'chat.postMessage');
    expect(attempts.map((c) => c.status)).toEqual([429, 200]);
    expect(logs.some((l) => /rate limit on chat\.postMessage: retrying in 1s/.test(l))).toBe(true);
  });

  it('never lets a token reach the logs, the terminal, the journal or an error message', async () => {
    const written: string[] = [];
    const capture = (chunk: unknown): boolean => {
      written.push(String(chunk));
      return true;
    };
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      const { run } = scenario({ step: { required: 2 } });
      const progress = newProgress();
      const result = startApproval(run, progress);
      const message = await approvalMessage();
      await server.click('U0ALICE', message.ts, 'cutover_approve');
      await server.click('U0BOB', message.ts, 'cutover_reject');
      const dialog = await server.waitFor(() => server.views[0], 'the reason dialog');
      await server.submitView('U0BOB', dialog, 'not today');
      const error = await result.then(
        () => new Error('expected a rejection'),
        (err: unknown) => err as Error,
      );

      // A refused token: the message names the variable, never the value.
      const wrong = { TEST_SLACK_BOT: `${BOT_TOKEN}-revoked`, TEST_SLACK_APP: APP_TOKEN };
      const problems = await preflightSlack(slackEnv(), { ...clientOptions(wrong), startedBy: OPERATOR });
      expect(problems.join('\n')).toMatch(/\$TEST_SLACK_BOT/);

      const everything = [
        ...logs,
        ...written,
        JSON.stringify(run.entries),
        JSON.stringify(progress),
        error.message,
        error.stack ?? '',
        ...problems,
      ].join('\n');
      expect(logs.length).toBeGreaterThan(20);
      expect(everything).not.toContain(BOT_TOKEN);
      expect(everything).not.toContain(APP_TOKEN);
      expect(everything).not.toContain('local-bot-secret');
      expect(everything).not.toContain('local-app-secret');
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });
});

describe('slack preflight', () => {
  const ready = { startedBy: OPERATOR };

  it('finds nothing to fix when tokens, channel, scopes and approvers are right', async () => {
    await expect(preflightSlack(slackEnv({ approvers: ['U0ALICE', 'S0ONCALL'] }), { ...clientOptions(), ...ready })).resolves.toEqual([]);
    expect(server.callsOf('auth.test')).toHaveLength(1);
    expect(server.callsOf('conversations.info')).toHaveLength(1);
    expect(server.callsOf('chat.postMessage')).toHaveLength(0);
  });

  it('names missing token variables without calling Slack', async () => {
    const problems = await preflightSlack(slackEnv(), { ...clientOptions(), env: { CUTOVER_SLACK_USER: OPERATOR } });
    expect(problems).toEqual([expect.stringMatching(/\$TEST_SLACK_BOT and \$TEST_SLACK_APP/)]);
    expect(server.calls).toHaveLength(0);
  });

  it('reports an unknown channel and a channel the app is not in', async () => {
    const missing = await preflightSlack(slackEnv({ channel: 'C0NOPE' }), { ...clientOptions(), ...ready });
    expect(missing).toEqual([expect.stringMatching(/channel C0NOPE was not found/)]);
    const outside = await preflightSlack(slackEnv({ channel: 'C0OUTSIDE' }), { ...clientOptions(), ...ready });
    expect(outside).toEqual([expect.stringMatching(/not a member of channel C0OUTSIDE.*\/invite/)]);
  });

  it('reports the scopes the token lacks, read from the x-oauth-scopes header', async () => {
    server.scopes = ['chat:write', 'channels:read'];
    const problems = await preflightSlack(slackEnv({ approvers: ['S0ONCALL'] }), { ...clientOptions(), ...ready });
    expect(problems).toEqual([expect.stringMatching(/lacks the scope usergroups:read \(it has: chat:write, channels:read\)/)]);
  });

  it('reports a refused app-level token and an unknown user group', async () => {
    const problems = await preflightSlack(slackEnv({ approvers: ['S0NOBODY'] }), {
      ...clientOptions({ TEST_SLACK_APP: 'xapp-wrong' }),
      ...ready,
    });
    expect(problems).toEqual([
      expect.stringMatching(/user group in approvers does not exist/),
      expect.stringMatching(/refused the token in \$TEST_SLACK_APP \(invalid_auth\)/),
    ]);
  });

  it('asks for the operator\'s Slack ID when self-approval must be prevented', async () => {
    const options = clientOptions();
    delete options.env!['CUTOVER_SLACK_USER'];
    const problems = await preflightSlack(slackEnv(), { ...options, startedBy: 'oper@laptop' });
    expect(problems).toEqual([expect.stringMatching(/CUTOVER_SLACK_USER/)]);
  });

  it('the local Slack answers JSON bodies as the real API does', async () => {
    const response = await fetch(`${server.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${BOT_TOKEN}` },
      body: JSON.stringify({ channel: CHANNEL, text: 'hello', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hi' } }] }),
    });
    expect(response.headers.get('x-oauth-scopes')).toContain('chat:write');
    expect(await response.json()).toMatchObject({ ok: true, channel: CHANNEL });
    expect(server.calls[0]?.encoding).toBe('json');
  });
});
