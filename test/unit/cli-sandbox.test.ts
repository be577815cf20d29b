// `execute`, `plan` and `rehearse` on a sandbox environment, in-process: simulated clusters on a virtual
// clock, the real engine and steps; nothing real is touched and nothing is asked.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { type CliIo, main } from '../../src/cli/main.js';

const ENVIRONMENT = `apiVersion: cutover.dev/v1
kind: Environment
name: rehearsal
clusters:
  blue: { sandbox: {} }
  green: { sandbox: {} }
allowNonInteractiveApproval: true
sandbox:
  start: "2026-01-15T09:57:30Z"
  observeAfter: 2m
  clusters:
    blue:
      cronjobs:
        - { namespace: billing, name: mailer, schedule: "*/5 * * * *", jobDuration: 20s, lastScheduleTime: "2026-01-15T09:55:00Z" }
    green:
      cronjobs:
        - { namespace: billing, name: mailer, schedule: "*/5 * * * *", suspend: true, creationTimestamp: "2026-01-14T08:00:00Z" }
`;

const RUNBOOK = `apiVersion: cutover.dev/v1
kind: Runbook
name: sandbox-move
environment: env.yaml
from: blue
to: green
cronjobs:
  namespaces: [billing]
steps:
  - preflight: {}
  - moveCronJobs: {}
`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-cli-sandbox-'));
  await writeFile(join(dir, 'env.yaml'), ENVIRONMENT);
  await writeFile(join(dir, 'rb.yaml'), RUNBOOK);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  let asked = 0;
  const io: CliIo = {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: { CUTOVER_USER: 'tester' },
    interactive: true,
    confirm: async () => {
      asked += 1;
      return false;
    },
    onInterrupt: () => () => undefined,
  };
  const code = await main(['node', 'cutover', ...args], io);
  expect(asked).toBe(0);
  return { code, out, err };
}

test('execute on a sandbox environment runs without asking and reports every tick', async () => {
  const result = await cli('execute', '-f', join(dir, 'rb.yaml'));

  expect(result.err).toBe('');
  expect(result.code).toBe(0);
  expect(result.out).toContain('2026-01-15T09:57:30Z step 2/2: move CronJobs');
  expect(result.out).toContain('Rehearsal of sandbox-move: blue → green');
  expect(result.out).toContain('Double runs: 0');
});

test('plan on a sandbox environment plans as of the simulated start', async () => {
  const result = await cli('plan', '-f', join(dir, 'rb.yaml'), '--output', 'json');

  expect(result.code).toBe(0);
  const doc = JSON.parse(result.out) as { plan: { observedAt: string; cronJobs: { action: string }[] } };
  expect(doc.plan.observedAt).toBe('2026-01-15T09:57:30.000Z');
  expect(doc.plan.cronJobs.map((c) => c.action)).toEqual(['move']);
});

test('rehearse --output json prints the report alone', async () => {
  const result = await cli('rehearse', '-f', join(dir, 'rb.yaml'), '--output', 'json');

  expect(result.code).toBe(0);
  const report = JSON.parse(result.out) as { status: string; doubleRuns: number };
  expect(report).toMatchObject({ status: 'done', doubleRuns: 0 });
});

test('a sandbox run that halts exits 1 with the reason', async () => {
  // The sandbox never runs a real command: the gate's health comes from the environment's script.
  await writeFile(join(dir, 'env.yaml'), `${ENVIRONMENT}  gates:\n    smoke: { neverHealthy: true }\n`);
  await writeFile(join(dir, 'rb.yaml'), `${RUNBOOK}  - gate: { name: smoke, timeout: 1m, command: { command: "false" } }\n`);

  const result = await cli('execute', '-f', join(dir, 'rb.yaml'));

  expect(result.code).toBe(1);
  expect(result.err).toMatch(/^halted: sandbox run: the run halted: /);
});

test('--plan is refused on a sandbox environment', async () => {
  const result = await cli('execute', '-f', join(dir, 'rb.yaml'), '--plan', join(dir, 'plan.json'));

  expect(result.code).toBe(2);
  expect(result.err).toContain('--plan: a sandbox run plans from its own simulated start');
});
