// The steps `plan` and `execute` share: connect the ports, observe both clusters and DNS, build the plan,
// render it, check a saved plan is still true.
import type { LoadedRunbook } from '../config/types.js';
import type { Ports } from '../core/ports.js';
import { planChanges, readPlanFile } from '../plan/file.js';
import { observe } from '../plan/observe.js';
import { buildPlan } from '../plan/planner.js';
import { renderPlan } from '../plan/render.js';
import type { Plan, PlanMessage } from '../plan/types.js';

/** Observes the world through `ports` now and builds the plan (pure) from what was seen. */
export async function freshPlan(loaded: LoadedRunbook, ports: Ports): Promise<Plan> {
  return buildPlan(await observe(loaded, ports, new Date()), loaded);
}

/** The ports of the environment; `signal` (the run's) ends any retry pause at once. */
export async function connect(loaded: LoadedRunbook, signal?: AbortSignal): Promise<Ports> {
  const { createPorts } = await import('../adapters/index.js');
  return createPorts(loaded, signal ? { signal } : {});
}

/** Every error-level message of the plan, its own and its CronJobs'. */
export function planErrors(plan: Plan): PlanMessage[] {
  return [...plan.messages, ...plan.cronJobs.flatMap((entry) => entry.messages)].filter((m) => m.severity === 'error');
}

export function renderPlanText(plan: Plan, color: boolean): string {
  const text = renderPlan(plan, { color });
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** Reads a saved plan and lists how it differs from `fresh`; empty when it still holds. */
export async function staleness(path: string, fresh: Plan): Promise<string[]> {
  return planChanges(await readPlanFile(path), fresh);
}
