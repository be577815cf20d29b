// `gate: command`: runs a team's own check (teams that deploy with helmfile and shell scripts have one);
// exit 0 passes. Spawned without a shell, so arguments reach the program exactly as written in the
// runbook; a relative command path is resolved against the runbook's folder, which is also the working
// directory. The tail of the output is kept as evidence.
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { GateSpec } from '../../config/types.js';
import { fail, pass, type GateCheck, type Verdict } from './types.js';
import { setLongTimeout } from '../../core/timer.js';

type CommandSpec = Extract<GateSpec, { type: 'command' }>;

const TAIL_BYTES = 4096;
/** After SIGTERM at the timeout, the command gets this long to exit before SIGKILL. */
const KILL_GRACE_MS = 5_000;

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** stdout and stderr interleaved as they arrived, last TAIL_BYTES only. */
  tail: string;
  error?: string;
  ms: number;
}

export function judgeCommand(commandLine: string, result: CommandResult): Verdict {
  const evidence = { command: commandLine, exitCode: result.exitCode, signal: result.signal, timedOut: result.timedOut, ms: result.ms, tail: result.tail, ...(result.error ? { error: result.error } : {}) };
  if (result.error) return fail(`${commandLine} could not run: ${result.error}`, evidence);
  if (result.timedOut) return fail(`${commandLine} did not finish within its timeout`, evidence);
  if (result.exitCode === 0) return pass(`${commandLine} exited 0`, evidence);
  return fail(`${commandLine} ${result.signal ? `was killed by ${result.signal}` : `exited ${result.exitCode}`}`, evidence);
}

/** A rolling window over the output: keeps memory flat for chatty scripts. */
class Tail {
  private buffer = Buffer.alloc(0);
  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.buffer, chunk]);
    this.buffer = joined.length > TAIL_BYTES ? joined.subarray(joined.length - TAIL_BYTES) : joined;
  }
  text(): string {
    return this.buffer.toString('utf8');
  }
}

export function runCommand(
  spec: Pick<CommandSpec, 'command' | 'args' | 'env'>,
  options: { cwd: string; timeoutMs: number; signal: AbortSignal; now: () => Date },
): Promise<CommandResult> {
  const started = options.now().getTime();
  const tail = new Tail();
  const command = spec.command.includes('/') ? path.resolve(options.cwd, spec.command) : spec.command;
  return new Promise((resolve, reject) => {
    // An abort that arrived before the look must not start a command the run then waits out.
    if (options.signal.aborted) {
      reject(options.signal.reason);
      return;
    }
    const child = spawn(command, spec.args, { cwd: options.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    let spawnError: string | undefined;
    let killer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setLongTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = (): void => stop();
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
    child.on('error', (error) => {
      spawnError = `${(error as NodeJS.ErrnoException).code ?? 'error'}: ${error.message}`;
    });
    child.on('close', (exitCode, signal) => {
      timer.cancel();
      if (killer) clearTimeout(killer);
      options.signal.removeEventListener('abort', onAbort);
      if (options.signal.aborted) {
        reject(options.signal.reason);
        return;
      }
      const result: CommandResult = { exitCode, signal, timedOut, tail: tail.text(), ms: options.now().getTime() - started };
      if (spawnError) result.error = spawnError;
      resolve(result);
    });
  });
}

export function commandCheck(spec: CommandSpec, runbookDir: string, now: () => Date): GateCheck {
  const commandLine = [spec.command, ...spec.args].join(' ');
  return {
    intervalMs: 0,
    async check(until, signal) {
      const timeoutMs = Math.max(1, Math.min(spec.timeoutMs, until.getTime() - now().getTime()));
      // One run decides: a check script does its own retrying, and running it again would hide a flap.
      return judgeCommand(commandLine, await runCommand(spec, { cwd: runbookDir, timeoutMs, signal, now }));
    },
  };
}
