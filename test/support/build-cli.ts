// Builds the CLI (`node bin/cutover.js` runs dist/) from the current sources, for tests that run it as a
// child process. Called from a vitest globalSetup, once, before any test file runs: a build inside one
// file would rewrite dist/ under another file's running `cutover` processes.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export async function buildCli(): Promise<void> {
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: repoRoot, timeout: 300_000 });
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    throw new Error(`building the CLI for the tests failed:\n${out}`);
  }
}

/** globalSetup of the unit project: its CLI tests spawn the shipped binary. */
export default async function setup(): Promise<void> {
  await buildCli();
}
