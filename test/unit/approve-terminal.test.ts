// Terminal approvals, driven through a stream that claims to be a TTY.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createTerminalApprovalPort } from '../../src/adapters/terminal/index.js';
import { HaltError } from '../../src/core/errors.js';
import type { ApprovalRequest } from '../../src/core/ports.js';

function request(over: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    runId: 'run-1',
    stepIndex: 3,
    stepName: 'approve 4',
    summary: 'Steps done:\n  1. move',
    effect: 'send 50% of traffic to green',
    approvers: ['oper'],
    required: 1,
    deadline: new Date(Date.now() + 60_000),
    startedBy: 'oper',
    remember: async () => undefined,
    ...over,
  };
}

function terminal(isTTY = true): { input: PassThrough & { isTTY?: boolean }; output: PassThrough; shown: () => string } {
  const input: PassThrough & { isTTY?: boolean } = new PassThrough();
  input.isTTY = isTTY;
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { input, output, shown: () => text };
}

/** Types `line` once the prompt containing `prompt` is on screen. */
async function answer(t: ReturnType<typeof terminal>, prompt: string, line: string): Promise<void> {
  for (let i = 0; i < 200 && !t.shown().includes(prompt); i++) await new Promise((r) => setTimeout(r, 5));
  t.input.write(`${line}\n`);
}

describe('terminal approval', () => {
  it('is refused without a TTY, with what to do instead', async () => {
    const t = terminal(false);
    const port = createTerminalApprovalPort({ input: t.input, output: t.output });
    const result = port.requestApproval(request(), new AbortController().signal);
    await expect(result).rejects.toThrow(HaltError);
    await expect(result).rejects.toThrow(/needs an interactive terminal.*--approve.*allowNonInteractiveApproval/s);
  });

  it('shows what has happened and what approving will do, and approves on yes', async () => {
    const t = terminal();
    const port = createTerminalApprovalPort({ input: t.input, output: t.output });
    const result = port.requestApproval(request(), new AbortController().signal);
    await answer(t, 'Approve? [yes/no]', 'maybe');
    await answer(t, 'Please answer yes or no', 'yes');
    await expect(result).resolves.toMatchObject({ outcome: 'approved', by: ['oper'] });
    expect(t.shown()).toContain('send 50% of traffic to green');
  });

  it('asks for a reason on no', async () => {
    const t = terminal();
    const port = createTerminalApprovalPort({ input: t.input, output: t.output });
    const result = port.requestApproval(request(), new AbortController().signal);
    await answer(t, 'Approve? [yes/no]', 'no');
    await answer(t, 'Reason for rejecting', 'dashboards are red');
    await expect(result).resolves.toMatchObject({ outcome: 'rejected', by: 'oper', reason: 'dashboards are red' });
  });

  it('ends as timeout when nobody answers before the deadline', async () => {
    const t = terminal();
    const port = createTerminalApprovalPort({ input: t.input, output: t.output });
    const decision = await port.requestApproval(request({ deadline: new Date(Date.now() + 100) }), new AbortController().signal);
    expect(decision).toMatchObject({ outcome: 'timeout', approvedBy: [] });
  });

  it('refuses a step that needs more approvals than one terminal can give', async () => {
    const t = terminal();
    const port = createTerminalApprovalPort({ input: t.input, output: t.output });
    await expect(port.requestApproval(request({ required: 2 }), new AbortController().signal)).rejects.toThrow(/needs 2 approvals/);
  });
});
