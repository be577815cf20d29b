// Where the bench finds the repository and the built CLI.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliBin = join(repoRoot, 'bin', 'cutover.js');
export const probeModule = join(repoRoot, 'scripts', 'bench', 'probe.mjs');
export const kubectlLoop = join(repoRoot, 'scripts', 'bench', 'kubectl-loop.sh');
export const benchmarksDoc = join(repoRoot, 'docs', 'benchmarks.md');
