// `cutover validate`: load both files (and the sandbox section, when there is one); any problem is thrown as
// one InputError.
import { loadRunbook } from '../../config/load.js';
import type { CliContext, RunbookOptions } from '../context.js';
import { paint } from '../io.js';

export async function validate(options: RunbookOptions, context: CliContext): Promise<void> {
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  const { runbook } = loaded;
  if (loaded.environment.sandbox !== undefined) {
    // The sandbox section is checked here too, not only when a simulation starts (issue 14).
    const { parseSandboxConfig } = await import('../../adapters/sandbox/validate.js');
    parseSandboxConfig(loaded);
  }
  const steps = plural(runbook.steps.length, 'step');
  const namespaces = plural(runbook.cronjobs.namespaces.length, 'CronJob namespace');
  const ok = paint(context.color()).green('valid:');
  context.io.stdout.write(`${ok} ${runbook.name} (${steps}, ${namespaces})\n`);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
