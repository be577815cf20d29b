// Shared by every command of one CLI invocation.
import type { CliIo, Writer } from './io.js';

export interface CliContext {
  io: CliIo;
  /** Set by a command that finishes without throwing but must not exit 0 (a plan with errors). */
  exitCode: number;
  /** Whether to colour what is written to `stream` (stdout by default). */
  color(stream?: Writer): boolean;
}

/** Options every command taking a runbook has. */
export interface RunbookOptions {
  file: string;
  env?: string;
}
