// The cutover command line. This is the only place that catches errors and turns them into an exit code:
// 0 ok, 1 halted or failed (HaltError, ApiError, anything unexpected), 2 invalid input (InputError, a
// usage error), 3 locked by another run (LockedError). Commands are registered here but load their heavy modules (zod, the AWS SDK,
// client-node, xstate) only when they run, so `cutover --help` starts fast.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ApiError, CutoverError, EXIT_HALTED, EXIT_INVALID, EXIT_OK, HaltError, InputError, LockedError } from '../core/errors.js';
import type { CliContext } from './context.js';
import { registerExecute } from './execute/command.js';
import { registerFence } from './fence/command.js';
import { registerGraph } from './graph/command.js';
import { type CliIo, type Paint, paint, processIo, useColor } from './io.js';
import { registerLedger } from './ledger/command.js';
import { registerPlan } from './plan/command.js';
import { registerRehearse } from './rehearse/command.js';
import { registerRollback } from './rollback/command.js';
import { registerStatus } from './status/command.js';
import { registerUnfence } from './unfence/command.js';
import { registerValidate } from './validate/command.js';

export type { CliIo } from './io.js';

/**
 * Runs the CLI with `argv` as in `process.argv` (node, script, then the arguments) and returns the exit
 * code. Never calls process.exit: the caller sets process.exitCode.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const context: CliContext = { io, exitCode: EXIT_OK, color: () => false };
  const program = buildProgram(context);
  context.color = (stream) => useColor(io, program.opts<{ color?: boolean }>().color, stream);
  try {
    await program.parseAsync(argv);
    return context.exitCode;
  } catch (error) {
    return report(error, context);
  }
}

function buildProgram(context: CliContext): Command {
  const program = new Command('cutover')
    .description(
      'Move Kubernetes CronJobs from a source to a target cluster without a tick running twice, and shift ' +
        'Route 53 weighted traffic step by step with gates and approvals.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--no-color', 'plain output without colours (also when NO_COLOR is set)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.io.stdout.write(text),
      writeErr: (text) => context.io.stderr.write(text),
    })
    .addHelpText(
      'after',
      `\nExit codes: 0 ok, 1 halted or failed, 2 invalid input (nothing was changed), 3 locked by another run.\nDocumentation: ${shippedDoc('cli.md')}`,
    );
  registerValidate(program, context);
  registerPlan(program, context);
  registerExecute(program, context);
  registerRollback(program, context);
  registerRehearse(program, context);
  registerStatus(program, context);
  registerGraph(program, context);
  registerFence(program, context);
  registerUnfence(program, context);
  registerLedger(program, context);
  return program;
}

/** Where a page of docs/ is on this machine: the npm package ships docs/ (package.json "files"). */
function shippedDoc(page: string): string {
  // Like package.json, docs/ is two folders above src/cli/main.ts and dist/cli/main.js.
  return fileURLToPath(new URL(`../../docs/${page}`, import.meta.url));
}

function packageVersion(): string {
  // src/cli/main.ts and dist/cli/main.js are both two folders below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function report(error: unknown, context: CliContext): number {
  // Commander already printed its message (or the help / version text it was asked for).
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_INVALID;
  return reportError(error, context.io, context.color(context.io.stderr));
}

/** The label, message and exit code of the errors cutover raises on purpose. */
function knownError(error: unknown, p: Paint): { label: string; message: string; exitCode: number } | undefined {
  if (error instanceof InputError) return { label: p.red('error:'), message: error.message, exitCode: EXIT_INVALID };
  if (error instanceof LockedError) return { label: p.yellow('locked:'), message: error.message, exitCode: error.exitCode };
  if (error instanceof HaltError) return { label: p.yellow('halted:'), message: error.message, exitCode: EXIT_HALTED };
  if (error instanceof ApiError) {
    const status = error.status !== undefined ? ` (HTTP ${error.status})` : '';
    return { label: p.red('error:'), message: `${error.message}${status}`, exitCode: EXIT_HALTED };
  }
  if (error instanceof CutoverError) return { label: p.red('error:'), message: error.message, exitCode: error.exitCode };
  return undefined;
}

/** Prints `error` on stderr the way its type calls for and returns the exit code it maps to. */
export function reportError(error: unknown, io: CliIo, color: boolean): number {
  const p = paint(color);
  const known = knownError(error, p);
  if (known) {
    io.stderr.write(`${known.label} ${known.message}\n`);
    return known.exitCode;
  }
  const write = (label: string, message: string): void => {
    io.stderr.write(`${label} ${message}\n`);
  };
  // A RangeError (stack overflow, a string past V8's limit) says nothing an operator can act on.
  const message =
    error instanceof RangeError
      ? 'the input is too large or too deeply nested for cutover to handle; nothing more was done — make it smaller'
      : error instanceof Error
        ? error.message
        : String(error);
  write(p.red('error:'), message);
  if (io.env.CUTOVER_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  else io.stderr.write('(unexpected error: run again with CUTOVER_DEBUG=1 to see where it happened)\n');
  return EXIT_HALTED;
}
