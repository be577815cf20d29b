// The planner's two functions as the sandbox uses them, imported statically: a module loaded in the middle
// of a simulated run would be real I/O, and the virtual clock must not see any once the run is under way.
// Passed around as one value so a caller (or a test) can hand the simulation another planner.
import type { LoadedRunbook } from '../../config/types.js';
import type { Ports } from '../../core/ports.js';
import { observe } from '../../plan/observe.js';
import { buildPlan } from '../../plan/planner.js';
import type { Observation, Plan, PlanMessage } from '../../plan/types.js';

export interface Planner {
  observe(loaded: LoadedRunbook, ports: Ports, now: Date): Promise<Observation>;
  buildPlan(observation: Observation, loaded: LoadedRunbook): Plan;
}

export const planner: Planner = { observe, buildPlan };

/** Every message of a plan, its own and its CronJobs'. */
export function planMessages(plan: Plan): PlanMessage[] {
  return [...plan.messages, ...plan.cronJobs.flatMap((entry) => entry.messages)];
}

export const planErrorsOf = (plan: Plan): PlanMessage[] => planMessages(plan).filter((m) => m.severity === 'error');
