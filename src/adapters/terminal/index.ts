// Approval on the operator's terminal, for environments without Slack. The operator at the keyboard is the
// one approver, so it is refused where no one could be asked (no TTY) or where more than one approval is
// required. The deadline still holds: no answer in time ends the wait as `timeout`.
import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { HaltError } from '../../core/errors.js';
import type { ApprovalPort, ApprovalRequest, Decision } from '../../core/ports.js';
import { setLongTimeout } from '../../core/timer.js';

export interface TerminalOptions {
  input?: Readable & { isTTY?: boolean };
  output?: Writable;
  now?: () => Date;
}

const YES = new Set(['y', 'yes', 'approve']);
const NO = new Set(['n', 'no', 'reject']);

function refuseWithoutTty(request: ApprovalRequest): never {
  throw new HaltError(
    `approval "${request.stepName}" needs an interactive terminal, and standard input is not one`,
    'Run `cutover execute` in a terminal, use `approve: {via: slack}`, or pass --approve where the environment sets allowNonInteractiveApproval: true.',
  );
}

function describe(request: ApprovalRequest): string {
  return [
    '',
    `Approval needed: ${request.stepName}`,
    ...(request.message ? [request.message] : []),
    '',
    'What has happened:',
    indent(request.summary),
    '',
    'Approving will:',
    indent(request.effect),
    '',
    `Decide before ${request.deadline.toISOString()}.`,
    '',
  ].join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

export function createTerminalApprovalPort(options: TerminalOptions = {}): ApprovalPort {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stderr;
  const now = options.now ?? (() => new Date());

  async function ask(request: ApprovalRequest, signal: AbortSignal): Promise<Decision> {
    const rl = createInterface({ input, output, terminal: input.isTTY === true });
    try {
      output.write(describe(request));
      for (;;) {
        const answer = (await rl.question('Approve? [yes/no]: ', { signal })).trim().toLowerCase();
        if (YES.has(answer)) return { outcome: 'approved', by: [request.startedBy], at: now().toISOString(), votes: [{ by: request.startedBy, at: now().toISOString() }] };
        if (NO.has(answer)) return { outcome: 'rejected', by: request.startedBy, at: now().toISOString(), reason: await askReason(rl, signal) };
        output.write('Please answer yes or no.\n');
      }
    } finally {
      rl.close();
    }
  }

  return {
    async requestApproval(request: ApprovalRequest, signal: AbortSignal): Promise<Decision> {
      if (input.isTTY !== true) refuseWithoutTty(request);
      if (request.required > 1) {
        throw new HaltError(
          `approval "${request.stepName}" needs ${request.required} approvals; a terminal can give one`,
          'Use `approve: {via: slack}` for approvals by several people.',
        );
      }
      const deadline = deadlineSignal(request.deadline.getTime() - now().getTime());
      try {
        return await ask(request, AbortSignal.any([signal, deadline.signal]));
      } catch (err) {
        if (deadline.signal.aborted && !signal.aborted) {
          output.write('\nNo answer before the deadline.\n');
          return { outcome: 'timeout', at: now().toISOString(), approvedBy: [] };
        }
        throw err;
      } finally {
        deadline.clear();
      }
    },
  };
}

async function askReason(rl: ReturnType<typeof createInterface>, signal: AbortSignal): Promise<string> {
  for (;;) {
    const reason = (await rl.question('Reason for rejecting (kept in the audit trail): ', { signal })).trim();
    if (reason) return reason;
  }
}

/** Aborts after `ms`, however long (setLongTimeout: one setTimeout overflows past ~24.8 days). */
function deadlineSignal(ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setLongTimeout(() => controller.abort(new Error('deadline')), ms);
  return { signal: controller.signal, clear: () => timer.cancel() };
}
