// `cutover execute` on the built-in sandbox, in-process through the CLI entry point: the run goes through
// the same command a user types, prints progress in virtual time, then the report.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { main, type CliIo } from '../../src/cli/main.js';

function capture(): { io: CliIo; stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t) },
    env: { CUTOVER_USER: 'sandbox-test' },
    interactive: false,
    confirm: async () => false,
    onInterrupt: () => () => {},
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

/** workflows/example.yaml cut down to its CronJob steps, with `change` applied, written to a temp folder. */
async function runbookFile(change: (runbook: Record<string, unknown>) => void = () => {}): Promise<string> {
  const runbook = parse(await readFile('workflows/example.yaml', 'utf8')) as Record<string, unknown>;
  runbook.environment = resolve('config/sandbox.yaml');
  runbook.steps = [{ preflight: {} }, { moveCronJobs: {} }];
  change(runbook);
  const file = join(await mkdtemp(join(tmpdir(), 'cutover-sandbox-cli-')), 'runbook.yaml');
  await writeFile(file, stringify(runbook));
  return file;
}

describe('cutover execute on a sandbox environment', () => {
  it("README's first command runs the example cutover to the end with no double run", async () => {
    const { io, stdout, stderr } = capture();
    const code = await main(['node', 'cutover', 'execute', '-f', 'workflows/example.yaml'], io);
    expect(stderr()).toBe('');
    expect(code).toBe(0);
    expect(stdout()).toMatch(/^Run: done in /m);
    expect(stdout()).toContain('Double runs: 0');
  });

  it('moves the CronJobs in virtual time, prints the report and exits 0', async () => {
    const { io, stdout, stderr } = capture();
    const code = await main(['node', 'cutover', 'execute', '-f', await runbookFile()], io);
    expect(stderr()).toBe('');
    expect(code).toBe(0);
    expect(stdout()).toMatch(/09:57:30.* step 1\/2: preflight/);
    expect(stdout()).toContain('Rehearsal of example-blue-to-green: blue → green');
    expect(stdout()).toContain('Double runs: 0');
  });

  it('exits 1 and says where it stopped when the drain would time out', async () => {
    const { io, stdout, stderr } = capture();
    const file = await runbookFile((r) => {
      (r.cronjobs as Record<string, unknown>).drainTimeout = '30s';
    });
    const code = await main(['node', 'cutover', 'execute', '-f', file], io);
    expect(code).toBe(1);
    expect(stdout()).toContain('Run: halted');
    expect(stderr()).toMatch(/billing\/db-copy: Jobs of the source copy are still running on blue/);
  });
});
