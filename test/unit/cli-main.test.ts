import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ApiError, HaltError, InputError } from '../../src/core/errors.js';
import { type CliIo, main } from '../../src/cli/main.js';
import { loadRunbook } from '../../src/config/load.js';
import { openStateStore, RUN_VERSION, type StateStore } from '../../src/engine/store.js';
import { reverseRunbook } from '../../src/engine/rollback.js';
import type { StepKind } from '../../src/config/types.js';
import type { Plan } from '../../src/plan/types.js';

const ENVIRONMENT = `apiVersion: cutover.dev/v1
kind: Environment
name: lab
clusters:
  blue: { kubeconfig: { context: lab-blue, path: kubeconfig } }
  green: { kubeconfig: { context: lab-green, path: kubeconfig } }
`;

const RUNBOOK = `apiVersion: cutover.dev/v1
kind: Runbook
name: billing-move
environment: env.yaml
from: blue
to: green
cronjobs:
  namespaces: [billing]
steps:
  - preflight: {}
  - moveCronJobs: {}
  - approve: { via: terminal }
`;

interface Captured {
  io: CliIo;
  out(): string;
  err(): string;
}

function capture(options: { tty?: boolean; env?: Record<string, string>; interactive?: boolean } = {}): Captured {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (text: string) => out.push(text), isTTY: options.tty ?? false },
    stderr: { write: (text: string) => err.push(text), isTTY: options.tty ?? false },
    env: options.env ?? {},
    interactive: options.interactive ?? false,
    confirm: async () => false,
    onInterrupt: () => () => undefined,
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

const cli = (args: string[], captured: Captured): Promise<number> => main(['node', 'cutover', ...args], captured.io);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-cli-'));
  await writeFile(join(dir, 'env.yaml'), ENVIRONMENT);
  await writeFile(join(dir, 'rb.yaml'), RUNBOOK);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('global flags', () => {
  test('--version prints the package version and exits 0', async () => {
    const c = capture();
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

    expect(await cli(['--version'], c)).toBe(0);
    expect(c.out()).toBe(`${pkg.version}\n`);
  });

  test('--help lists every command and the exit codes', async () => {
    const c = capture();

    expect(await cli(['--help'], c)).toBe(0);
    for (const command of ['validate', 'plan', 'execute', 'rehearse', 'status', 'graph']) expect(c.out()).toContain(`  ${command}`);
    expect(c.out()).toContain('Exit codes: 0 ok, 1 halted or failed, 2 invalid input');
  });

  test('a command --help describes its flags', async () => {
    const c = capture();

    expect(await cli(['execute', '--help'], c)).toBe(0);
    expect(c.out()).toContain('--steal-lock');
    expect(c.out()).toContain('--plan <plan.json>');
  });

  test('no command shows the help on stderr and exits 2', async () => {
    const c = capture();

    expect(await cli([], c)).toBe(2);
    expect(c.err()).toContain('Usage: cutover');
  });

  test('an unknown command is a usage error with a suggestion', async () => {
    const c = capture();

    expect(await cli(['valdate'], c)).toBe(2);
    expect(c.err()).toContain("unknown command 'valdate'");
    expect(c.err()).toContain('validate');
  });

  test('an unknown option and a missing required option are usage errors', async () => {
    const unknown = capture();
    const missing = capture();

    expect(await cli(['validate', '-f', 'x.yaml', '--frobnicate'], unknown)).toBe(2);
    expect(unknown.err()).toContain("unknown option '--frobnicate'");
    expect(await cli(['validate'], missing)).toBe(2);
    expect(missing.err()).toContain("required option '-f, --file <runbook>' not specified");
  });

  test('an output format outside the choices is a usage error', async () => {
    const c = capture();

    expect(await cli(['plan', '-f', join(dir, 'rb.yaml'), '--output', 'yaml'], c)).toBe(2);
    expect(c.err()).toContain("argument 'yaml' is invalid. Allowed choices are table, json, markdown.");
  });
});

describe('validate', () => {
  test('a valid runbook prints a summary and exits 0', async () => {
    const c = capture();

    expect(await cli(['validate', '-f', join(dir, 'rb.yaml')], c)).toBe(0);
    expect(c.out()).toBe('valid: billing-move (3 steps, 1 CronJob namespace)\n');
    expect(c.err()).toBe('');
  });

  test('--env points at another environment file', async () => {
    await writeFile(join(dir, 'other.yaml'), ENVIRONMENT.replace('name: lab', 'name: other'));
    await writeFile(join(dir, 'rb.yaml'), RUNBOOK.replace('environment: env.yaml', 'environment: gone.yaml'));
    const c = capture();

    expect(await cli(['validate', '-f', join(dir, 'rb.yaml'), '--env', join(dir, 'other.yaml')], c)).toBe(0);
  });

  test('problems are printed with file:line:col and exit 2, cross-file ones with the schema ones (issue 14)', async () => {
    await writeFile(join(dir, 'rb.yaml'), RUNBOOK.replace('to: green', 'to: purple').replace('{ via: terminal }', '{ via: pigeon }'));
    const c = capture();

    expect(await cli(['validate', '-f', join(dir, 'rb.yaml')], c)).toBe(2);
    expect(c.out()).toBe('');
    expect(c.err().replaceAll(dir, '<dir>')).toBe(
      'error: <dir>/rb.yaml: 2 problems found, nothing was changed; fix them and run again:\n' +
        '  <dir>/rb.yaml:12:21 steps.2.approve.via: expected one of "slack", "terminal", found the text "pigeon"\n' +
        '  <dir>/rb.yaml:6:5 to: unknown cluster "purple"; the environment "lab" has: blue, green\n',
    );
  });

  test('cross-file rules run once both files parse', async () => {
    await writeFile(join(dir, 'rb.yaml'), RUNBOOK.replace('to: green', 'to: purple'));
    const c = capture();

    expect(await cli(['validate', '-f', join(dir, 'rb.yaml')], c)).toBe(2);
    expect(c.err().replaceAll(dir, '<dir>')).toContain(
      '  <dir>/rb.yaml:6:5 to: unknown cluster "purple"; the environment "lab" has: blue, green\n',
    );
  });

  test('malformed YAML exits 2 with its position', async () => {
    await writeFile(join(dir, 'rb.yaml'), 'apiVersion: cutover.dev/v1\nkind: [Runbook\n');
    const c = capture();

    expect(await cli(['validate', '-f', join(dir, 'rb.yaml')], c)).toBe(2);
    expect(c.err().replaceAll(dir, '<dir>')).toMatch(/<dir>\/rb\.yaml:3:1: invalid YAML: /);
  });
});

describe('colour', () => {
  test('is used on a terminal', async () => {
    const c = capture({ tty: true });

    await cli(['validate', '-f', join(dir, 'rb.yaml')], c);
    expect(c.out()).toBe('\u001b[32mvalid:\u001b[39m billing-move (3 steps, 1 CronJob namespace)\n');
  });

  test('is never used with NO_COLOR or --no-color', async () => {
    const noColorEnv = capture({ tty: true, env: { NO_COLOR: '1' } });
    const noColorFlag = capture({ tty: true });

    await cli(['validate', '-f', join(dir, 'rb.yaml')], noColorEnv);
    await cli(['--no-color', 'validate', '-f', join(dir, 'rb.yaml')], noColorFlag);
    expect(noColorEnv.out()).toBe('valid: billing-move (3 steps, 1 CronJob namespace)\n');
    expect(noColorFlag.out()).toBe('valid: billing-move (3 steps, 1 CronJob namespace)\n');
  });
});

describe('execute refuses before touching anything', () => {
  test('--approve where the environment does not allow it exits 2', async () => {
    const c = capture();

    expect(await cli(['execute', '-f', join(dir, 'rb.yaml'), '--approve', '--yes'], c)).toBe(2);
    expect(c.err()).toContain('--approve answers approvals without a human, which the environment "lab" does not allow');
  });

  test('--plan while the runbook has an unfinished run exits 2: the run keeps its own plan', async () => {
    await recordRun();
    const c = capture();

    expect(await cli(['execute', '-f', join(dir, 'rb.yaml'), '--plan', join(dir, 'plan.json'), '--yes'], c)).toBe(2);
    expect(c.err()).toContain(
      'run billing-move-20260115T095730-ab12 of billing-move is halted: it continues with the plan it started with, so --plan is refused',
    );
  });

  test('a runbook locked by a live run exits 3 naming its operator, before any plan is printed (issue 14)', async () => {
    const loaded = await loadRunbook(join(dir, 'rb.yaml'));
    // This test process stands for the live holder: same host, a pid that runs.
    const held = await openStateStore(loaded).lock({ steal: false, operator: 'alice' });
    try {
      const c = capture({ env: { CUTOVER_USER: 'bob' } });

      expect(await cli(['execute', '-f', join(dir, 'rb.yaml'), '--yes'], c)).toBe(3);
      expect(c.out()).toBe('');
      expect(c.err()).toMatch(/^locked: run locked by alice \(.+@.+\) \(pid \d+\) since \S+ \(expires \S+\)\nWait for that run to finish or stop it\.\n$/);
    } finally {
      await held.release();
    }
  });

  test('a lock left by a process that is gone on this host is taken over without --steal-lock (issue 14)', async () => {
    const loaded = await loadRunbook(join(dir, 'rb.yaml'));
    const state = join(dir, '.cutover', 'billing-move');
    await mkdir(state, { recursive: true });
    const since = new Date().toISOString();
    const gone = { holder: 'alice@elsewhere', operator: 'alice', host: hostname(), pid: 2 ** 22 + 17, since, expiresAt: new Date(Date.now() + 60_000).toISOString() };
    await writeFile(join(state, 'lock'), `${JSON.stringify(gone)}\n`);
    const c = capture();

    // Passes the lock check, then fails on the unreachable cluster: a halt, not a lock refusal.
    const code = await cli(['execute', '-f', join(dir, 'rb.yaml'), '--yes'], c);
    expect(c.err()).not.toContain('locked');
    expect(code).not.toBe(3);
    expect(loaded.runbook.name).toBe('billing-move');
  });

  test('a bad runbook exits 2', async () => {
    await writeFile(join(dir, 'rb.yaml'), RUNBOOK.replace('namespaces: [billing]', 'namespaces: []'));
    const c = capture();

    expect(await cli(['execute', '-f', join(dir, 'rb.yaml'), '--yes'], c)).toBe(2);
    expect(c.err()).toContain('cronjobs.namespaces: expected at least 1 item, found an empty list');
  });
});

describe('status', () => {
  test('without a recorded run says how to start one', async () => {
    const c = capture();

    expect(await cli(['status', '-f', join(dir, 'rb.yaml')], c)).toBe(0);
    expect(c.out()).toBe('no run of billing-move is recorded yet; `cutover execute` starts one\n');
  });

  test('shows the steps, CronJob phases, approvals and the last journal entries of the recorded run', async () => {
    await recordRun();
    const c = capture();

    expect(await cli(['status', '-f', join(dir, 'rb.yaml'), '--journal', '2'], c)).toBe(0);
    expect(c.out().replaceAll(dir, '<dir>')).toBe(
      [
        'run billing-move-20260115T095730-ab12: halted',
        '  started 2026-01-15T09:57:30.000Z by alice@ops',
        '  halted: approval rejected by U2: not tonight',
        '  state: <dir>/.cutover/billing-move',
        '',
        'steps',
        '   1. preflight                            done     2026-01-15T09:57:30.000Z → 09:57:32.000Z (2s)',
        '   2. move CronJobs                        done     2026-01-15T09:57:32.000Z → 09:59:02.000Z (1m30s)',
        '       billing/invoice-mailer                   verified  (drain waited, baseline 2026-01-15T09:55:00Z)',
        '       billing/ledger-sync                      pending',
        '>  3. approval via terminal                failed   2026-01-15T09:59:02.000Z → 10:01:00.000Z (1m58s)',
        '       approval rejected by U2: not tonight',
        '',
        'approvals',
        '  2026-01-15T10:01:00.000Z step 3: rejected by U2: not tonight',
        '',
        'journal (last 2 of 3)',
        '  2026-01-15T09:59:02.000Z transition step 3: entered approval via terminal',
        '  2026-01-15T10:01:00.000Z decision   step 3: rejected by U2: not tonight',
        '',
      ].join('\n'),
    );
  });

  test('--output json gives the documented shape', async () => {
    await recordRun();
    const c = capture();

    expect(await cli(['status', '-f', join(dir, 'rb.yaml'), '--output', 'json'], c)).toBe(0);
    const view = JSON.parse(c.out());
    expect(Object.keys(view)).toEqual(['version', 'runbook', 'run', 'runs', 'approvals', 'journal']);
    expect(view.runs).toEqual([
      { runId: 'billing-move-20260115T095730-ab12', kind: 'execute', status: 'halted', startedAt: '2026-01-15T09:57:30.000Z', startedBy: 'alice@ops', message: 'approval rejected by U2: not tonight' },
    ]);
    expect(view.run).toMatchObject({ runId: 'billing-move-20260115T095730-ab12', status: 'halted', current: 2 });
    expect(view.run.steps[1].cronjobs).toEqual([
      { cronjob: 'billing/invoice-mailer', phase: 'verified', details: { drain: 'waited', baseline: '2026-01-15T09:55:00Z' } },
      { cronjob: 'billing/ledger-sync', phase: 'pending', details: {} },
    ]);
    expect(view.journal).toHaveLength(3);
  });

  test('after a rollback, shows the rollback in detail and every run, rollbacks included, newest first (issue 18)', async () => {
    const loaded = await loadRunbook(join(dir, 'rb.yaml'));
    // An earlier run, archived when the next one started; then the run that finished; then its rollback.
    await recordDoneRun(openStateStore(loaded), 'billing-move-20260114T080000-0001', '2026-01-14T08:00:00.000Z', ['preflight', 'moveCronJobs', 'approve']);
    await openStateStore(loaded).archive('billing-move-20260114T080000-0001');
    await recordDoneRun(openStateStore(loaded), 'billing-move-20260115T095730-ab12', '2026-01-15T09:57:30.000Z', ['preflight', 'moveCronJobs', 'approve']);
    const rollback = reverseRunbook(loaded, false);
    await recordDoneRun(openStateStore(rollback), 'billing-move-rollback-20260115T110000-cd34', '2026-01-15T11:00:00.000Z', ['preflight', 'moveCronJobs']);
    const c = capture();

    expect(await cli(['status', '-f', join(dir, 'rb.yaml')], c)).toBe(0);
    const out = c.out();
    expect(out.split('\n')[0]).toBe('run billing-move-rollback-20260115T110000-cd34: done');
    expect(out).toContain('runs (newest first)');
    const listed = out.split('runs (newest first)\n')[1]!.split('\n').filter((l) => l.startsWith('  billing-move'));
    expect(listed.map((l) => l.trim().split(/\s+/).slice(0, 3))).toEqual([
      ['billing-move-rollback-20260115T110000-cd34', 'rollback', 'done'],
      ['billing-move-20260115T095730-ab12', 'execute', 'done'],
      ['billing-move-20260114T080000-0001', 'execute', 'done'],
    ]);

    const json = capture();
    expect(await cli(['status', '-f', join(dir, 'rb.yaml'), '-o', 'json'], json)).toBe(0);
    const view = JSON.parse(json.out());
    expect(view.run.runId).toBe('billing-move-rollback-20260115T110000-cd34');
    expect(view.run.steps.map((s: { label: string }) => s.label)).toEqual(['preflight', 'move CronJobs']);
    expect(view.runs.map((r: { runId: string }) => r.runId)).toEqual(listed.map((l) => l.trim().split(/\s+/)[0]));
  });

  test('--output html FILE writes the page of the newest run besides the table', async () => {
    await recordRun();
    const c = capture();
    const page = join(dir, 'status.html');

    expect(await cli(['status', '-f', join(dir, 'rb.yaml'), '--output', 'html', page], c)).toBe(0);
    expect(c.out()).toContain('run billing-move-20260115T095730-ab12: halted');
    expect(c.err()).toBe(`page written to ${page}\n`);
    const html = await readFile(page, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Run billing-move-20260115T095730-ab12: halted');
    expect(html).toContain('<svg class="timeline"');
    expect(html).toContain('class="marker approval failed"');

    const missing = capture();
    expect(await cli(['status', '-f', join(dir, 'rb.yaml'), '--output', 'html'], missing)).toBe(2);
    expect(missing.err()).toContain('--output html: name the page to write');
  });

  test('on a sandbox environment says runs are never recorded there, and what to run instead', async () => {
    const c = capture();
    expect(await cli(['status', '-f', 'workflows/example.yaml'], c)).toBe(0);
    expect(c.out()).toContain('is a sandbox environment: its runs are simulated in memory and never recorded');
    expect(c.out()).toContain('`cutover execute -f workflows/example.yaml` prints the whole report of a simulated run');
  });

  test('--journal must be a whole number', async () => {
    const c = capture();

    expect(await cli(['status', '-f', join(dir, 'rb.yaml'), '--journal', 'many'], c)).toBe(2);
    expect(c.err()).toContain('--journal: expected a whole number of entries, found "many"');
  });
});

/** A finished run of `steps`, as the engine saves it. */
async function recordDoneRun(store: StateStore, runId: string, startedAt: string, steps: StepKind[]): Promise<void> {
  await store.save({
    version: RUN_VERSION,
    runId,
    runbook: runId.replace(/-\d{8}T.*$/, ''),
    startedAt,
    startedBy: 'alice@ops',
    stepKinds: steps,
    status: 'done',
    plan: {} as Plan,
    snapshot: {
      status: 'done',
      value: 'done',
      context: {
        runbook: 'billing-move',
        current: steps.length,
        progress: steps.map(() => ({ status: 'done' as const, startedAt, finishedAt: startedAt, deadlines: {}, data: {} })),
      } as never,
    },
  });
  await store.appendJournal({ at: startedAt, type: 'run', message: `run ${runId} started by alice@ops` });
}

/** Writes a halted run through the engine's own state store, as `execute` would have left it. */
async function recordRun(): Promise<void> {
  const loaded = await loadRunbook(join(dir, 'rb.yaml'));
  const store = openStateStore(loaded);
  const at = (time: string): string => `2026-01-15T${time}.000Z`;
  await store.save({
    version: RUN_VERSION,
    runId: 'billing-move-20260115T095730-ab12',
    runbook: 'billing-move',
    startedAt: at('09:57:30'),
    startedBy: 'alice@ops',
    stepKinds: ['preflight', 'moveCronJobs', 'approve'],
    status: 'halted',
    message: 'approval rejected by U2: not tonight',
    plan: {} as Plan,
    snapshot: {
      status: 'active',
      value: 'halted',
      context: {
        runbook: 'billing-move',
        current: 2,
        halt: { step: 2, message: 'approval rejected by U2: not tonight' },
        progress: [
          { status: 'done', startedAt: at('09:57:30'), finishedAt: at('09:57:32'), deadlines: {}, data: {} },
          {
            status: 'done',
            startedAt: at('09:57:32'),
            finishedAt: at('09:59:02'),
            deadlines: {},
            data: {
              cronjobs: {
                'billing/invoice-mailer': { phase: 'verified', drain: 'waited', baseline: '2026-01-15T09:55:00Z' },
                'billing/ledger-sync': { phase: 'pending' },
              },
            },
          },
          {
            status: 'failed',
            startedAt: at('09:59:02'),
            finishedAt: at('10:01:00'),
            deadlines: {},
            data: {},
            error: 'approval rejected by U2: not tonight',
          },
        ],
      },
    },
  });
  await store.appendJournal({ at: at('09:57:30'), type: 'run', message: 'run started by alice@ops' });
  await store.appendJournal({ at: at('09:59:02'), type: 'transition', step: 2, message: 'entered approval via terminal' });
  await store.appendJournal({ at: at('10:01:00'), type: 'decision', step: 2, message: 'rejected by U2: not tonight' });
}

describe('exit codes of errors', () => {
  test.each([
    ['InputError', new InputError('bad'), 2, 'error: bad\n'],
    ['HaltError', new HaltError('gate failed', 'fix it'), 1, 'halted: gate failed\nfix it\n'],
    ['ApiError', new ApiError('PATCH cronjobs/x refused', 403), 1, 'error: PATCH cronjobs/x refused (HTTP 403)\n'],
  ])('%s', async (_name, error, code, printed) => {
    const c = capture();
    const { reportError } = await import('../../src/cli/main.js');

    expect(reportError(error, c.io, false)).toBe(code);
    expect(c.err()).toBe(printed);
  });

  test('an unexpected error exits 1 and shows its stack only with CUTOVER_DEBUG', async () => {
    const { reportError } = await import('../../src/cli/main.js');
    const quiet = capture();
    const debug = capture({ env: { CUTOVER_DEBUG: '1' } });

    expect(reportError(new TypeError('x is undefined'), quiet.io, false)).toBe(1);
    expect(quiet.err()).toBe('error: x is undefined\n(unexpected error: run again with CUTOVER_DEBUG=1 to see where it happened)\n');
    expect(reportError(new TypeError('x is undefined'), debug.io, false)).toBe(1);
    expect(debug.err()).toContain('TypeError: x is undefined\n    at ');
  });
});
