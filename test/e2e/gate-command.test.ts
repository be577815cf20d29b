// The command gate running real processes: exit codes, environment, a script beside the runbook, a
// timeout, a command that does not exist.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GateStep } from '../../src/config/types.js';
import { gate } from '../../src/steps/gate.js';
import { runCommand } from '../../src/steps/gates/command.js';
import { stepRuntime, testEnvironment, testLoaded, testRun, virtualClock } from '../support/step-runtime.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cutover-gate-command-'));
  await writeFile(path.join(dir, 'check.sh'), '#!/bin/sh\necho "pods ready: $READY"\n[ "$READY" = "3/3" ]\n');
  await chmod(path.join(dir, 'check.sh'), 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function commandGate(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): GateStep {
  return { kind: 'gate', name: 'team check', timeoutMs: 60_000, gate: { type: 'command', command, args, env, timeoutMs } };
}

function runGate(step: GateStep) {
  const loaded = { ...testLoaded(testEnvironment(), [step]), runbookFile: path.join(dir, 'runbook.yaml') };
  const run = testRun({ loaded, ports: {}, clock: virtualClock() });
  return { run, result: gate(stepRuntime(run, 0)) };
}

describe('command gate', () => {
  it('passes when a script beside the runbook exits 0 with the environment it was given', async () => {
    const { result } = runGate(commandGate('./check.sh', [], { READY: '3/3' }));
    await expect(result).resolves.toMatchObject({ status: 'pass', evidence: { exitCode: 0, tail: 'pods ready: 3/3\n' } });
  });

  it('fails with the exit code and the tail of the output as evidence', async () => {
    const { run, result } = runGate(commandGate('./check.sh', [], { READY: '1/3' }));
    await expect(result).rejects.toThrow(/gate team check failed: \.\/check\.sh exited 1/);
    expect(run.entries[0]?.data?.evidence).toMatchObject({ exitCode: 1, tail: 'pods ready: 1/3\n' });
  });

  it('passes arguments as they are, without a shell', async () => {
    const { result } = runGate(commandGate('node', ['-e', 'process.exit(process.argv[1] === "$HOME; exit 1" ? 0 : 2)', '$HOME; exit 1']));
    await expect(result).resolves.toMatchObject({ status: 'pass' });
  });

  it('kills a command that outlives its timeout and fails', async () => {
    const { result } = runGate(commandGate('sleep', ['30'], {}, 300));
    await expect(result).rejects.toThrow(/did not finish within its timeout/);
  });

  it('does not start the command when the run was aborted before the look', async () => {
    const marker = path.join(dir, 'started');
    const abort = new AbortController();
    abort.abort(new Error('interrupted by SIGINT'));
    const running = runCommand({ command: 'touch', args: [marker], env: {} }, { cwd: dir, timeoutMs: 5_000, signal: abort.signal, now: () => new Date() });
    await expect(running).rejects.toThrow('interrupted by SIGINT');
    expect(existsSync(marker)).toBe(false);
  });

  it('fails clearly when the command does not exist', async () => {
    const { result } = runGate(commandGate('./no-such-check.sh', []));
    await expect(result).rejects.toThrow(/could not run: ENOENT/);
  });
});
