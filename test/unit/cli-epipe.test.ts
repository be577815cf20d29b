// Issue 14: a reader that goes away (`cutover execute ... | head -1`, a pager quit) must never kill a run.
// A real pipe to `head -c 1`: once head exits, writes fail with EPIPE, which the writer absorbs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect, test } from 'vitest';
import { survivingWriter } from '../../src/cli/io.js';

test('writes to a pipe whose reader exited are dropped, not thrown or left as an unhandled error', async () => {
  const head = spawn('head', ['-c', '1'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const writer = survivingWriter(head.stdin as unknown as NodeJS.WriteStream);
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown): void => {
    uncaught.push(error);
  };
  process.on('uncaughtException', onUncaught);
  try {
    writer.write('first line\n');
    await once(head, 'exit');
    for (let i = 0; i < 200; i++) writer.write(`line ${i}: ${'x'.repeat(1_000)}\n`);
    // Let the EPIPE error event arrive and be handled.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(writer.write('after the reader left\n')).toBe(false);
    expect(uncaught).toEqual([]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});
