// `cutover graph`: the machine drawn from the same definition `execute` runs.
import { loadRunbook } from '../../config/load.js';
import { toMermaid } from '../../machine/graph.js';
import type { CliContext, RunbookOptions } from '../context.js';

export async function graph(options: RunbookOptions, context: CliContext): Promise<void> {
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  const text = toMermaid(loaded);
  context.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
