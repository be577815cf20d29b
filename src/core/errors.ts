// The handful of error types cutover throws. Commands throw; only the CLI entry point catches, prints and
// chooses the exit code (0 ok, 1 halted/failed, 2 invalid input, 3 locked by another run).

export const EXIT_OK = 0;
export const EXIT_HALTED = 1;
export const EXIT_INVALID = 2;
/** Another run holds the runbook's lock: nothing was planned, printed or changed. */
export const EXIT_LOCKED = 3;

/** One problem in a user file, located for an editor: `file:line:col path: message`. */
export interface InputIssue {
  file: string;
  line?: number;
  col?: number;
  /** Dotted path of the field, e.g. `steps.2.shiftTraffic.percent`. */
  path: string;
  message: string;
}

export function formatIssue(issue: InputIssue): string {
  const where = issue.line !== undefined ? `${issue.file}:${issue.line}:${issue.col ?? 1}` : issue.file;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

export abstract class CutoverError extends Error {
  abstract readonly exitCode: number;
}

/** Bad input from the user (file, flag, plan): nothing was touched. Exit 2. */
export class InputError extends CutoverError {
  readonly exitCode = EXIT_INVALID;
  constructor(
    message: string,
    readonly issues: InputIssue[] = [],
  ) {
    super(issues.length > 0 ? `${message}\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}` : message);
    this.name = 'InputError';
  }
}

/**
 * A run stopped in a safe, recorded state: a deadline passed, a gate failed, an approval was rejected, a
 * precondition is not met. `next` tells the operator what to do. Exit 1.
 */
export class HaltError extends CutoverError {
  readonly exitCode = EXIT_HALTED;
  constructor(
    message: string,
    readonly next?: string,
  ) {
    super(next ? `${message}\n${next}` : message);
    this.name = 'HaltError';
  }
}

/** A remote API refused or could not be reached; names the resource and the operation. Exit 1. */
export class ApiError extends CutoverError {
  readonly exitCode = EXIT_HALTED;
  constructor(
    message: string,
    readonly status?: number,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The runbook's run lock is held by another live run: refused before anything was planned or printed.
 * Not a halt (nothing of this run started), so it has its own exit code. `next` says what to do.
 */
export class LockedError extends CutoverError {
  readonly exitCode = EXIT_LOCKED;
  constructor(
    message: string,
    readonly next?: string,
  ) {
    super(next ? `${message}\n${next}` : message);
    this.name = 'LockedError';
  }
}
