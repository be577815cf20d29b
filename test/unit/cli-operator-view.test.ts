// Issue 18's list of things a new user tripped over, each as the CLI answers it now (in-process, on the
// sandbox): the plan as a pull-request comment, suggestions the sandbox then refuses, `--approve` answered
// the same way by rehearse and execute, a reproducible `rehearse -o json`.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { type CliIo, main } from '../../src/cli/main.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: { CUTOVER_USER: 'view-test' },
    interactive: false,
    confirm: async () => false,
    onInterrupt: () => () => undefined,
  };
  const code = await main(['node', 'cutover', ...args], io);
  return { code, out, err };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-view-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('plan --output markdown', () => {
  it('is a compact comment: the verdict and the warnings first, the steps, the CronJobs folded', async () => {
    const { code, out, err } = await cli('plan', '-f', 'workflows/example.yaml', '--output', 'markdown');
    expect(err).toBe('');
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toBe('### cutover plan: example-blue-to-green (sandbox), blue → green');
    expect(lines[2]).toBe(':warning: **No errors, 3 warning(s): `cutover execute` would carry out this plan.**');
    expect(out.indexOf('**Warnings**')).toBeLessThan(out.indexOf('**Steps**'));
    expect(out).toContain('- `billing/db-copy` running on blue: db-copy-29474516;');
    expect(out).toContain('5. shift 10% of traffic to the target: 10% to green, soak 10m. api.example.com. A: blue 100% → 90%, canary 0% → 0%, green 0% → 10%');
    expect(out).toMatch(/<details>\n<summary>CronJobs: 4 \(4 move\)<\/summary>/);
    expect(out).toContain('| `billing/nightly-export` | move | enabled | suspended | 2026-01-15 02:30 Asia/Kolkata | 2026-01-16 02:30 Asia/Kolkata | - |');
    // Far shorter than the table output.
    expect(lines.length).toBeLessThan(40);
  });
});

describe('the sandbox suggests only what it accepts', () => {
  it('plan --out on a sandbox does not suggest execute --plan, which a sandbox refuses', async () => {
    const saved = join(dir, 'plan.json');
    const { code, err } = await cli('plan', '-f', 'workflows/example.yaml', '--out', saved);
    expect(code).toBe(0);
    expect(err).toContain(`plan saved to ${saved}; a sandbox execute plans from its own simulated start, so \`cutover execute -f workflows/example.yaml\` (without --plan) runs it`);
    expect(err).not.toContain('--plan plan');
  });
});

describe('rollback on a sandbox environment', () => {
  it('rehearses the run and then its rollback on the same simulated world, and reports both', async () => {
    const { code, out, err } = await cli('rollback', '-f', 'workflows/example.yaml');
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/run example-blue-to-green-\S+ done; rolling it back/);
    expect(out).toMatch(/step 1: restore the weights before the run\n.*weights restored \(change \S+\): api\.example\.com\. A blue=100 canary=0 green=0/);
    expect(out).toMatch(/^Run: done, then rolled back: done in /m);
    for (const cj of ['billing/db-copy', 'billing/invoice-mailer', 'billing/ledger-sync']) expect(out).toMatch(new RegExp(`${cj}  "[^"]+"  \\(enabled at the end on blue\\)`));
    expect(out).toContain('Double runs: 0');
  });

  it('rehearse --rollback does the same from any environment, and writes its page', async () => {
    const page = join(dir, 'rollback.html');
    const { code, out } = await cli('rehearse', '-f', 'workflows/example.yaml', '--rollback', '--output', 'html', page);
    expect(code).toBe(0);
    expect(out).toMatch(/^Run: done, then rolled back: done in /m);
    expect(await readFile(page, 'utf8')).toContain('Run: done, then rolled back: done');
  });
});

describe('--approve', () => {
  it('is refused up front, exit 2, by rehearse exactly as by execute, where the environment does not allow it', async () => {
    const env = parse(await readFile('config/sandbox.yaml', 'utf8')) as Record<string, unknown>;
    env.allowNonInteractiveApproval = false;
    await writeFile(join(dir, 'env.yaml'), stringify(env));
    const runbook = parse(await readFile('workflows/example.yaml', 'utf8')) as Record<string, unknown>;
    runbook.environment = join(dir, 'env.yaml');
    await writeFile(join(dir, 'rb.yaml'), stringify(runbook));

    const rehearsed = await cli('rehearse', '-f', join(dir, 'rb.yaml'), '--approve');
    const executed = await cli('execute', '-f', join(dir, 'rb.yaml'), '--approve', '--yes');
    expect([rehearsed.code, executed.code]).toEqual([2, 2]);
    expect(rehearsed.out).toBe('');
    expect(rehearsed.err).toBe(executed.err);
    expect(rehearsed.err).toContain('--approve answers approvals without a human, which the environment "sandbox" does not allow');
  });
});

describe('rehearse --output json', () => {
  it('is the same document every time for the same world (run ids come from the seed)', async () => {
    const first = await cli('rehearse', '-f', 'workflows/example.yaml', '-o', 'json');
    const second = await cli('rehearse', '-f', 'workflows/example.yaml', '-o', 'json');
    expect(first.code).toBe(0);
    expect(second.out).toBe(first.out);
    expect(first.out).toMatch(/cutover run example-blue-to-green-20260115T095730-[0-9a-f]{4} step 5/);
  });
});

describe('--help', () => {
  it('points at documentation the npm package ships', async () => {
    const help = await cli('--help');
    const doc = /Documentation: (\S+)/.exec(help.out)?.[1];
    expect(doc).toBeDefined();
    const packed = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: resolve('.'), timeout: 60_000 });
    const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toContain(doc!.replace(/^.*?(docs\/)/, '$1'));
    expect(files).toContain('docs/sandbox.md');
  }, 90_000);
});
