// Issue 14: a corpus of bad inputs, one case per folder under test/corpus/: the user files, and case.json
// with the command line (default `validate -f runbook.yaml`), the exit code and fragments the message must
// hold. Each case runs through the real CLI entry (`main`) in a copy of its folder; the test checks the exit
// code, the message, that no stack trace or "unexpected error" leaks, and that nothing was written.
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type CliIo, main } from '../../src/cli/main.js';

interface CaseSpec {
  args?: string[];
  exit: number;
  message: string[];
  /** A file of the case made a named pipe (git cannot hold one). */
  fifo?: string;
  /** `file:line:col path` the first line of the message must point at. */
  at?: string;
}

const CORPUS = new URL('../corpus/', import.meta.url);
const names = (await readdir(CORPUS, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();

async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    env: {},
    interactive: false,
    confirm: async () => false,
    onInterrupt: () => () => undefined,
  };
  const code = await main(['node', 'cutover', ...args], io);
  return { code, out: out.join(''), err: err.join('') };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cutover-corpus-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

test('the corpus holds at least 100 bad inputs', () => {
  expect(names.length).toBeGreaterThanOrEqual(100);
});

describe('bad inputs are refused cleanly (issue 14)', () => {
  test.each(names)('%s', async (name) => {
    const spec = JSON.parse(await readFile(new URL(`${name}/case.json`, CORPUS), 'utf8')) as CaseSpec;
    const dir = join(root, name);
    await cp(new URL(name, CORPUS), dir, { recursive: true });
    if (spec.fifo) execFileSync('mkfifo', [join(dir, spec.fifo)]);
    const before = await listing(dir);
    const args = (spec.args ?? ['validate', '-f', '{dir}/runbook.yaml']).map((a) => a.replaceAll('{dir}', dir));

    const { code, err } = await run(args);
    const shown = err.replaceAll(`${dir}/`, '');

    expect(code, shown).toBe(spec.exit);
    for (const fragment of spec.message) expect(shown).toContain(fragment);
    if (spec.at) expect(shown.split('\n')[1]?.trim().startsWith(spec.at), shown).toBe(true);
    expect(shown).not.toMatch(/unexpected error|\n\s+at .+:\d+:\d+\)?\n|RangeError|TypeError/);
    expect(await listing(dir), 'nothing was written next to the files').toEqual(before);
  });
});
