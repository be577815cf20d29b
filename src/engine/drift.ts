// Drift watch: once a CronJob is handed off, a helm upgrade or an Argo CD / Flux sync can set
// `suspend: false` on its source copy again while the run goes on with other handoffs, traffic shifts, gates
// and approvals — and then both copies run every tick. From the moment a handoff is verified (while the
// same moveCronJobs step still works on other CronJobs) and during every step after a finished
// moveCronJobs, the source copies are read every few seconds; one found enabled is suspended again,
// journaled as a `write` and as `drift`; with `cronjobs.onDrift: halt` the run then halts (the default,
// `resuspend`, goes on). Where the source is fenced (docs/fence.md) its apiserver refuses that write first.
import { HaltError } from '../core/errors.js';
import type { CronJobRef, ObservedCronJob } from '../core/types.js';
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

/** Whether the handoff of `ref` in the moveCronJobs step `index` is verified (its progress says so). */
function handedOver(context: RunbookContext, index: number, ref: CronJobRef): boolean {
  const book = context.progress[index]?.data['cronjobs'];
  if (!book || typeof book !== 'object' || Array.isArray(book)) return false;
  const entry = book[refKey(ref)];
  return !!entry && typeof entry === 'object' && !Array.isArray(entry) && entry['phase'] === 'verified';
}

type Weights = Record<string, Record<string, number>>;

const asWeights = (value: JsonValue | undefined): Weights | undefined =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as unknown as Weights) : undefined;

/** The weights the last finished shift step before `index` set (its persisted `after`), if any. */
function shiftedWeights(run: Omit<RunContext, 'outputs'>, context: RunbookContext, index: number): Weights | undefined {
  const steps = run.loaded.runbook.steps;
  for (let i = index - 1; i >= 0; i--) {
    if (steps[i]?.kind !== 'shiftTraffic' || context.progress[i]?.status !== 'done') continue;
    const after = asWeights(context.progress[i]?.data['after']);
    if (after) return after;
  }
  return undefined;
}

/**
 * The weights the run stands behind while step `index` runs: those the last finished shift set; while a
 * shift step runs, those it recorded before its write and those it writes (its own write is not drift).
 */
function expectedWeights(run: Omit<RunContext, 'outputs'>, context: RunbookContext, index: number): Weights[] {
  const previous = shiftedWeights(run, context, index);
  if (run.loaded.runbook.steps[index]?.kind === 'shiftTraffic') {
    const data = context.progress[index]?.data ?? {};
    const own = [asWeights(data['before']), asWeights(data['after'])].filter((w): w is Weights => w !== undefined);
    if (own.length > 0) return own;
  }
  return previous ? [previous] : [];
}

/** `live`: the run's context as it is now (a shift step records its weights while it runs). */
export function startDriftGuard(
  run: Omit<RunContext, 'outputs'>,
  live: () => RunbookContext,
  index: number,
  signal: AbortSignal,
  intervalMs = DRIFT_INTERVAL_MS,
): DriftGuard | undefined {
  const context = live();
  const moved = movedBefore(run, context, index);
  const guardsWeights = run.loaded.runbook.steps[index]?.kind === 'shiftTraffic' || shiftedWeights(run, context, index) !== undefined;
  const handingOver = run.loaded.runbook.steps[index]?.kind === 'moveCronJobs';
  const source = run.ports.clusters[run.plan.from];
  if ((!(moved || handingOver) || !source) && !guardsWeights) return undefined;
  const planned = source ? run.plan.cronJobs.filter((entry) => entry.action !== 'blocked').map((entry) => entry.ref) : [];
  // During the move itself, a CronJob is watched from its verified handoff on: before that, its source
  // copy belongs to the handoff protocol, which reads both copies every round.
  const watched = (): CronJobRef[] => (moved ? planned : handingOver ? planned.filter((ref) => handedOver(live(), index, ref)) : []);
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
    const stored = await source.setSuspend(found, true);
    await run.journal.append({ type: 'write', step: index, message: `${source.name}: ${key} suspend false -> ${String(stored.suspend)}`, data: { cluster: source.name, ref: key, before: { suspend: false }, after: { suspend: stored.suspend } } });
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
    const accepted = expectedWeights(run, live(), index);
    if (accepted.length === 0 || !dns) return;
    for (const group of groups) {
      const key = groupKey(group.name, group.type);
      const wanted = accepted.map((weights) => weights[key]).filter((w): w is Record<string, number> => w !== undefined);
      if (wanted.length === 0 || stopped || halt) continue;
      const records = await dns.readGroup(group.name, group.type);
      // Record by record: a record holding any accepted value is the run's doing. (Route 53 applies a batch
      // at once; other implementations of its API may show a batch half applied.)
      const changed = records.filter((r) => wanted.some((w) => w[r.setIdentifier] !== undefined) && !wanted.some((w) => w[r.setIdentifier] === r.weight));
      if (changed.length === 0) continue;
      const now = records.map((r) => `${r.setIdentifier}=${r.weight}`).join(' ');
      const expected = wanted.map((w) => Object.entries(w).map(([id, v]) => `${id}=${v}`).join(' ')).join(' or ');
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
    for (const ref of watched()) {
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
