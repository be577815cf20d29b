// The run's Slack thread (issue 18): the real engine runs the example cutover on the sandbox and announces it
// through the real Slack adapter (@slack/web-api) to the local Slack server of test/support, which speaks
// Slack's wire protocol. One parent message per run, a reply per finished step saying what it did, the
// parent updated with the outcome.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox } from '../../src/adapters/sandbox/index.js';
import { planner } from '../../src/adapters/sandbox/planner.js';
import { createSlackApprovalPort } from '../../src/adapters/slack/index.js';
import { loadRunbook } from '../../src/config/load.js';
import { executeRun } from '../../src/engine/run.js';
import { stepSummary } from '../../src/engine/notify.js';
import type { Reporter } from '../../src/steps/types.js';
import { SlackServer, textOfBlocks } from '../support/slack-server.js';

const BOT_TOKEN = 'xoxb-1111-2222-thread-bot-secret';
const APP_TOKEN = 'xapp-1-A0THREAD-3333-thread-app-secret';
const CHANNEL = 'C0CUTOVER';

const quiet: Reporter = { step: () => undefined, info: () => undefined, warn: () => undefined, waiting: () => undefined };

let server: SlackServer;
beforeEach(async () => {
  server = await SlackServer.start({ botToken: BOT_TOKEN, appToken: APP_TOKEN, channels: [{ id: CHANNEL, name: 'cutovers' }] });
});
afterEach(async () => {
  await server.close();
});

describe('the run thread', () => {
  it('posts one parent per run and one line per finished step, then the outcome', async () => {
    const loaded = await loadRunbook('workflows/example.yaml');
    const sandbox = createSandbox(loaded);
    const slackEnv = {
      ...loaded.environment,
      slack: { channel: CHANNEL, approvers: ['U0SANDBOX1', 'U0SANDBOX2'], botTokenEnv: 'T_BOT', appTokenEnv: 'T_APP', allowSelfApproval: false, apiUrl: server.apiUrl },
    };
    const slack = createSlackApprovalPort(slackEnv, {
      env: { T_BOT: BOT_TOKEN, T_APP: APP_TOKEN, CUTOVER_SLACK_USER: 'U0OPER' },
      logSink: () => undefined,
      retry: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 20 },
    });
    const plan = planner.buildPlan(await planner.observe(loaded, sandbox.ports, sandbox.start), loaded);

    const result = await executeRun({
      loaded,
      plan,
      ports: { ...sandbox.ports, notifier: slack.notifier },
      clock: sandbox.clock,
      store: sandbox.store,
      reporter: quiet,
      startedBy: 'oper@laptop',
      autoApprove: false,
    });
    expect(result.status).toBe('done');

    const posts = server.callsOf('chat.postMessage');
    const parents = posts.filter((c) => c.args['thread_ts'] === undefined);
    expect(parents).toHaveLength(1);
    const parentTs = [...server.messages.values()].find((m) => m.threadTs === undefined)!.ts;
    const replies = posts.filter((c) => c.args['thread_ts'] === parentTs).map((c) => String(c.args['text']));
    const steps = loaded.runbook.steps.length;
    // A line per finished step, in order, then the run's outcome; no line for a step's start.
    expect(replies).toHaveLength(steps + 1);
    replies.slice(0, steps).forEach((line, i) => expect(line).toMatch(new RegExp(`^:white_check_mark: Step ${i + 1} done: \\*`)));
    expect(replies.some((line) => /Step \d+ started/.test(line))).toBe(false);
    expect(replies[1]).toContain('4 CronJob(s) moved');
    expect(replies[4]).toContain('api.example.com. A: blue 90%, canary 0%, green 10%');
    expect(replies[6]).toContain('approved by U0SANDBOX1, U0SANDBOX2');
    expect(replies.at(-1)).toBe('Run succeeded');
    expect(textOfBlocks(server.messages.get(parentTs)!.blocks)).toContain('succeeded');
  }, 60_000);
});

describe('stepSummary', () => {
  it('says what a step did from its output, and nothing for an output it does not know', () => {
    expect(stepSummary({ status: 'pass', summary: '3 of 3 healthy' })).toBe('3 of 3 healthy');
    expect(stepSummary({ outcome: 'approved', by: ['U1', 'U2'] })).toBe('approved by U1, U2');
    expect(stepSummary({ shares: { 'api.example.com.|A': [{ setIdentifier: 'blue', weight: 50, percent: 50 }, { setIdentifier: 'green', weight: 50, percent: 50 }] } })).toBe(
      'api.example.com. A: blue 50%, green 50%',
    );
    expect(stepSummary({ moved: 4, alreadyMoved: 0 })).toBe('4 CronJob(s) moved');
    expect(stepSummary({ something: 1 })).toBeUndefined();
    expect(stepSummary(undefined)).toBeUndefined();
  });
});
