// docs/sandbox.md shows the report of the README's first command; issue 18 found it stale. This keeps the
// sample equal to what `cutover execute -f workflows/example.yaml` prints: when the output changes on
// purpose, paste the new report into the doc.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../src/cli/main.js';

describe('docs/sandbox.md', () => {
  it("shows the example's report exactly as the CLI prints it", async () => {
    let out = '';
    const io: CliIo = {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: () => undefined },
      env: { CUTOVER_USER: 'docs' },
      interactive: false,
      confirm: async () => false,
      onInterrupt: () => () => undefined,
    };
    expect(await main(['node', 'cutover', 'execute', '-f', 'workflows/example.yaml'], io)).toBe(0);
    const printed = out.slice(out.indexOf('Rehearsal of ')).trimEnd();
    const doc = await readFile('docs/sandbox.md', 'utf8');
    const sample = /## The report\n\n```\n([\s\S]*?)\n```/.exec(doc)?.[1];
    expect(sample, 'the report sample under "## The report" in docs/sandbox.md').toBe(printed);
  });
});
