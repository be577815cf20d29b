// `cutover plan`: observe, plan, print. A plan with errors exits 1: execute would refuse it.
import { loadRunbook } from '../../config/load.js';
import type { LoadedRunbook } from '../../config/types.js';
import type { Ports } from '../../core/ports.js';
import { writePlanFile } from '../../plan/file.js';
import { type Plan, PLAN_VERSION } from '../../plan/types.js';
import type { CliContext } from '../context.js';
import { showPlanFences } from '../fence/action.js';
import { paint } from '../io.js';
import { connect, freshPlan, planErrors, renderPlanText } from '../planning.js';
import type { PlanOptions } from './command.js';

export async function plan(options: PlanOptions, context: CliContext): Promise<void> {
  const { stdout, stderr } = context.io;
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  const ports = loaded.environment.sandbox === undefined ? await connect(loaded) : undefined;
  const made = await makePlan(loaded, ports);
  if (options.output === 'json') stdout.write(`${JSON.stringify({ version: PLAN_VERSION, plan: made }, null, 2)}\n`);
  else stdout.write(renderPlanText(made, context.color()));
  // JSON output keeps stderr for the plan's errors only; the table shows the fences and warns about them.
  if (ports && options.output !== 'json') await showPlanFences(context, loaded, ports, made);
  if (options.out !== undefined) {
    await writePlanFile(options.out, made);
    stderr.write(`plan saved to ${options.out}; \`cutover execute -f ${options.file} --plan ${options.out}\` carries it out\n`);
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

/** The sandbox plans as of its own virtual start; a real environment is observed now. */
async function makePlan(loaded: LoadedRunbook, ports: Ports | undefined): Promise<Plan> {
  if (!ports) {
    const { planSandbox } = await import('../../adapters/sandbox/run.js');
    return planSandbox(loaded);
  }
  return freshPlan(loaded, ports);
}
