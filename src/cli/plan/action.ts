// `cutover plan`: observe, plan, print. A plan with errors exits 1: execute would refuse it.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadRunbook } from '../../config/load.js';
import { InputError } from '../../core/errors.js';
import type { LoadedRunbook } from '../../config/types.js';
import type { Ports } from '../../core/ports.js';
import { writePlanFile } from '../../plan/file.js';
import { renderPlanMarkdown } from '../../plan/markdown.js';
import { type Plan, PLAN_VERSION } from '../../plan/types.js';
import type { CliContext } from '../context.js';
import { showPlanFences } from '../fence/action.js';
import { paint } from '../io.js';
import { connect, freshPlan, planErrors, renderPlanText } from '../planning.js';
import type { PlanOptions } from './command.js';

export async function plan(options: PlanOptions, context: CliContext): Promise<void> {
  const { stdout, stderr } = context.io;
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  // Checked before anything is observed or printed: a plan that cannot be saved is not worth making.
  if (options.out !== undefined) await checkPlanOut(options.out);
  const ports = loaded.environment.sandbox === undefined ? await connect(loaded) : undefined;
  const made = await makePlan(loaded, ports);
  if (options.output === 'json') stdout.write(`${JSON.stringify({ version: PLAN_VERSION, plan: made }, null, 2)}\n`);
  else if (options.output === 'markdown') stdout.write(renderPlanMarkdown(made));
  else stdout.write(renderPlanText(made, context.color()));
  // JSON output keeps stderr for the plan's errors only; the table shows the fences and warns about them.
  if (ports && options.output !== 'json') await showPlanFences(context, loaded, ports, made);
  if (options.out !== undefined) {
    await writePlanFile(options.out, made);
    // A sandbox execute plans from its own simulated start and takes no --plan: do not suggest one.
    const next =
      loaded.environment.sandbox !== undefined
        ? `a sandbox execute plans from its own simulated start, so \`cutover execute -f ${options.file}\` (without --plan) runs it`
        : `\`cutover execute -f ${options.file} --plan ${options.out}\` carries it out`;
    stderr.write(`plan saved to ${options.out}; ${next}\n`);
  }
  const errors = planErrors(made);
  if (errors.length === 0) return;
  // The table shows the errors in place; JSON readers get them on stderr too, so a pipeline's log says why.
  const red = paint(context.color(stderr)).red;
  const where = options.output === 'json' ? ':' : ' (shown in the plan above)';
  stderr.write(`${red('error:')} the plan has ${errors.length} error(s)${where}; execute would refuse it\n`);
  if (options.output === 'json') {
    for (const error of errors) stderr.write(`  ${error.subject ? `${error.subject}: ` : ''}${error.message}\n`);
  }
  context.exitCode = 1;
}

/** Refuses a --out path whose folder is missing or not writable, or that is itself a folder. */
async function checkPlanOut(out: string): Promise<void> {
  const folder = dirname(resolve(out));
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new InputError(`--out ${out}: the folder ${folder} does not exist; create it first or save the plan elsewhere (nothing was planned)`);
  }
  if (await access(folder, constants.W_OK).then(() => false, () => true)) {
    throw new InputError(`--out ${out}: the folder ${folder} is not writable; save the plan elsewhere (nothing was planned)`);
  }
  if ((await stat(out).catch(() => undefined))?.isDirectory()) {
    throw new InputError(`--out ${out}: is a folder; give a file name such as ${out.replace(/\/+$/, '')}/plan.json (nothing was planned)`);
  }
}

/** The sandbox plans as of its own virtual start; a real environment is observed now. */
async function makePlan(loaded: LoadedRunbook, ports: Ports | undefined): Promise<Plan> {
  if (!ports) {
    const { planSandbox } = await import('../../adapters/sandbox/run.js');
    return planSandbox(loaded);
  }
  return freshPlan(loaded, ports);
}
