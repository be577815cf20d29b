// Drift watch: once the CronJobs are handed off, a helm upgrade or an Argo CD / Flux sync can set
// `suspend: false` on a source copy again while the run goes on with traffic shifts, gates and approvals —
// and then both copies run every tick. During every step after a finished moveCronJobs, the source copies
// are read every few seconds; one found enabled is suspended again and journaled as `drift`; with
// `cronjobs.onDrift: halt` the run then halts (the default, `resuspend`, goes on).
import { HaltError } from '../core/errors.js';
import type { ObservedCronJob } from '../core/types.js';
import { refKey } from '../core/types.js';
import type { RunbookContext } from '../machine/runbook.js';
import { groupKey } from '../plan/weights.js';
import type { JsonValue, RunContext } from '../steps/types.js';

export const DRIFT_INTERVAL_MS = 5_000;

export interface DriftGuard {
  /** The step's signal, also aborted when drift halts the run. */
  readonly signal: AbortSignal;
  /** Runs the step's work; rejects with the drift's HaltError once that work has settled. */
  watch<T>(work: Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

/** Whether step `index` runs after a finished CronJob move, i.e. whether there is anything to guard. */
function movedBefore(run: Omit<RunContext, 'outputs'>, context: RunbookContext, index: number): boolean {
  const steps = run.loaded.runbook.steps;
  return steps.some((step, i) => i < index && step.kind === 'moveCronJobs' && context.progress[i]?.status === 'done');
}

type Weights = Record<string, Record<string, number>>;

/** The weights the last finished shift step before `index` set (its persisted `after`), if any. */
function shiftedWeights(run: Omit<RunContext, 'outputs'>, context: RunbookContext, index: number): Weights | undefined {
  const steps = run.loaded.runbook.steps;
  for (let i = index - 1; i >= 0; i--) {
    if (steps[i]?.kind !== 'shiftTraffic' || context.progress[i]?.status !== 'done') continue;
    const after = context.progress[i]?.data['after'] as JsonValue | undefined;
    if (after && typeof after === 'object' && !Array.isArray(after)) return after as unknown as Weights;
  }
  return undefined;
}

export function startDriftGuard(
  run: Omit<RunContext, 'outputs'>,
  context: RunbookContext,
  index: number,
  signal: AbortSignal,
  intervalMs = DRIFT_INTERVAL_MS,
): DriftGuard | undefined {
  const moved = movedBefore(run, context, index);
  const weights = shiftedWeights(run, context, index);
  const source = run.ports.clusters[run.plan.from];
  if ((!moved || !source) && !weights) return undefined;
  const refs = moved && source ? run.plan.cronJobs.filter((entry) => entry.action !== 'blocked').map((entry) => entry.ref) : [];
  const policy = run.loaded.runbook.cronjobs.onDrift ?? 'resuspend';
  const own = new AbortController();
  let halt: HaltError | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();
  let failure: unknown;

  // Suspended again under either policy: a halted run must not leave both copies running every tick
  // while it waits for an operator. `halt` then stops the run, so the operator stops what re-enabled it.
  const resuspend = async (found: ObservedCronJob): Promise<void> => {
    if (!source) return;
    const key = refKey(found);
    const by = found.managedBy ? ` (managed by ${found.managedBy})` : '';
    await source.setSuspend(found, true);
    const what = policy === 'halt' ? 'suspended it again and halting (onDrift: halt)' : 'suspended it again';
    await run.journal.append({ type: 'drift', step: index, message: `${key}: enabled again on ${source.name}${by}; ${what}`, data: { ref: key, cluster: source.name, policy } });
    if (policy === 'halt') {
      halt = new HaltError(
        `${key} was enabled again on the source cluster ${source.name}${by} after its handoff; cutover suspended it again and halted (cronjobs.onDrift: halt)`,
        `Stop whatever re-enabled it (a helm upgrade, an Argo CD or Flux sync), then run \`cutover execute\` again to resume.`,
      );
      own.abort(halt);
      return;
    }
    run.reporter.warn(`${key}: enabled again on ${source.name}${by}; suspended it again (cronjobs.onDrift: resuspend)`);
  };

  // Weights changed by someone else are not put back: that could undo an operator's deliberate move of
  // traffic. The run halts instead, and the next shift reads the records afresh when it is resumed.
  const checkWeights = async (): Promise<void> => {
    const dns = run.ports.dns;
    const groups = run.loaded.environment.dns?.records ?? [];
    if (!weights || !dns) return;
    for (const group of groups) {
      const wanted = weights[groupKey(group.name, group.type)];
      if (!wanted || stopped || halt) continue;
      const records = await dns.readGroup(group.name, group.type);
      const changed = records.filter((r) => wanted[r.setIdentifier] !== undefined && wanted[r.setIdentifier] !== r.weight);
      if (changed.length === 0) continue;
      const now = records.map((r) => `${r.setIdentifier}=${r.weight}`).join(' ');
      const expected = Object.entries(wanted).map(([id, w]) => `${id}=${w}`).join(' ');
      await run.journal.append({ type: 'drift', step: index, message: `${group.name} ${group.type}: weights changed outside the run (${now}, expected ${expected}); halting`, data: { group: group.name, expected: wanted, found: Object.fromEntries(records.map((r) => [r.setIdentifier, r.weight])) } });
      halt = new HaltError(
        `the weights of ${group.name} ${group.type} were changed outside the run: ${now}, where the run had set ${expected}`,
        'Find out who changed them and why; then run `cutover execute` again to resume (the next shift starts from the weights as they are then), or `cutover rollback` to go back.',
      );
      own.abort(halt);
      return;
    }
  };

  const check = async (): Promise<void> => {
    for (const ref of refs) {
      if (stopped || halt || !source) return;
      const found = await source.getCronJob(ref);
      if (found && !found.suspend) await resuspend(found);
    }
    if (!stopped && !halt) await checkWeights();
  };

  const schedule = (): void => {
    if (stopped || halt) return;
    timer = setTimeout(() => {
      checking = check().then(schedule, (error: unknown) => {
        // An API error of the watch stops the step like one of the step's own: the run halts, resumable.
        failure = error;
        own.abort(error);
      });
    }, intervalMs);
  };
  schedule();

  return {
    signal: AbortSignal.any([signal, own.signal]),
    async watch<T>(work: Promise<T>): Promise<T> {
      const tripped = new Promise<never>((_, reject) => {
        if (own.signal.aborted) reject(own.signal.reason);
        own.signal.addEventListener('abort', () => reject(own.signal.reason), { once: true });
      });
      // Drift found after the step finished is reported by the next step's guard, not here.
      tripped.catch(() => undefined);
      try {
        return await Promise.race([work, tripped]);
      } catch (error) {
        // The step stops on the aborted signal; its last write must settle before the run moves on.
        if (own.signal.aborted) await work.catch(() => undefined);
        throw halt ?? failure ?? error;
      }
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await checking;
    },
  };
}
