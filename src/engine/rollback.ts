// `cutover rollback`: the reverse of a run, as a run of its own. The runbook is turned around (source and
// target swapped) and renamed `<runbook>-rollback`, so it is persisted, locked and resumed exactly like an
// execute, and its CronJobs move back with the same handoff protocol (suspend the target → confirm →
// drain → baseline → resume the source → verify). When the run being undone had shifted traffic, a first
// step puts the Route 53 weights back to the values recorded before that run.
import type { LoadedRunbook, ShiftTrafficStep, Step } from '../config/types.js';
import { preRunWeightsFrom, restoreWeights, type GroupWeights } from '../steps/shift-traffic.js';
import { stepExecutors, type StepExecutors } from '../steps/index.js';
import type { JsonValue, StepExecutor } from '../steps/types.js';
import type { PersistedRun } from './store.js';

export const ROLLBACK_SUFFIX = '-rollback';
const RESTORE_LABEL = 'restore the weights before the run';

/** The weights the run recorded before its first shift, if it shifted traffic at all. */
export function preRunWeights(run: PersistedRun | undefined): GroupWeights | undefined {
  if (!run) return undefined;
  return preRunWeightsFrom(run.snapshot.context.progress.flatMap((p) => [p.output, p.data]));
}

/**
 * The runbook that undoes `loaded`: from and to swapped, its own name (own state, own lock), preflight and
 * the CronJob move, preceded by a weight restore when there are weights to restore.
 */
export function reverseRunbook(loaded: LoadedRunbook, restore: boolean): LoadedRunbook {
  const { runbook } = loaded;
  const restoreStep: ShiftTrafficStep = { kind: 'shiftTraffic', name: RESTORE_LABEL, percent: 100, soakMs: 0 };
  const steps: Step[] = [...(restore ? [restoreStep] : []), { kind: 'preflight' }, { kind: 'moveCronJobs' }];
  return {
    ...loaded,
    runbook: { ...runbook, name: `${runbook.name}${ROLLBACK_SUFFIX}`, from: runbook.to, to: runbook.from, onFailure: 'halt', steps },
  };
}

/**
 * The executors of a rollback run: the traffic step restores `before` instead of shifting by percent.
 * The weights are persisted with the step on its first run, so a resumed rollback restores the same
 * values even if the run it undoes has since been archived.
 */
export function rollbackExecutors(before: GroupWeights | undefined): StepExecutors {
  const restore: StepExecutor<ShiftTrafficStep> = async (rt) => {
    const stored = rt.progress.data['restoring'] as GroupWeights | undefined;
    const weights = stored ?? before;
    if (!weights) throw new Error('rollback: no weights recorded before the run to restore');
    if (!stored) await rt.update({ restoring: weights as unknown as JsonValue });
    return restoreWeights(rt, weights);
  };
  return { ...stepExecutors, shiftTraffic: restore };
}
