// `cutover validate`: load both files; any problem is thrown as one InputError by the loader.
import { loadRunbook } from '../../config/load.js';
import type { CliContext, RunbookOptions } from '../context.js';
import { paint } from '../io.js';

export async function validate(options: RunbookOptions, context: CliContext): Promise<void> {
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  const { runbook } = loaded;
  const steps = plural(runbook.steps.length, 'step');
  const namespaces = plural(runbook.cronjobs.namespaces.length, 'CronJob namespace');
  const ok = paint(context.color()).green('valid:');
  context.io.stdout.write(`${ok} ${runbook.name} (${steps}, ${namespaces})\n`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
