// The step executors by kind: the engine looks a step's executor up here. Tests pass their own registry
// to `executeRun` instead.
import type { Step, StepKind } from '../config/types.js';
import { approve } from './approve.js';
import { gate } from './gate.js';
import { moveCronJobs } from './move-cronjobs.js';
import { preflight } from './preflight.js';
import { shiftTraffic } from './shift-traffic.js';
import type { StepExecutor } from './types.js';

export type StepExecutors = { [K in StepKind]: StepExecutor<Extract<Step, { kind: K }>> };

export const stepExecutors: StepExecutors = { preflight, moveCronJobs, shiftTraffic, gate, approve };

/** The executor of one step, typed for any step (the registry's mapped type keeps kinds and steps paired). */
export function executorFor(executors: StepExecutors, step: Step): StepExecutor {
  return executors[step.kind] as StepExecutor;
}
