// Run announcements (the Slack thread) are for the people watching, not part of the cutover: a
// notifier that fails is reported as a warning on the terminal and in the journal, and the run goes on.
import type { RunNotice, RunNotifier } from '../core/ports.js';
import { describeFailure } from '../machine/runbook.js';
import type { Journal, JsonValue, Reporter } from '../steps/types.js';

export interface Notices {
  runStarted(notice: RunNotice): Promise<void>;
  stepStarted(index: number, label: string): Promise<void>;
  stepFinished(index: number, label: string, outcome: 'done' | 'failed', detail?: string): Promise<void>;
  runFinished(outcome: 'succeeded' | 'halted' | 'failed', detail?: string): Promise<void>;
}

export function createNotices(notifier: RunNotifier | undefined, reporter: Reporter, journal: Journal): Notices {
  const guard = async (what: string, step: number | undefined, send: (n: RunNotifier) => Promise<void>) => {
    if (!notifier) return;
    try {
      await send(notifier);
    } catch (error) {
      const message = `could not announce ${what}: ${describeFailure(error)}`;
      reporter.warn(message);
      await journal.append({ type: 'warning', message, ...(step === undefined ? {} : { step }) });
    }
  };
  return {
    runStarted: (notice) => guard('the run', undefined, (n) => n.runStarted(notice)),
    stepStarted: (index, label) => guard(`step ${index + 1}`, index, (n) => n.stepStarted(index, label)),
    stepFinished: (index, label, outcome, detail) =>
      guard(`the end of step ${index + 1}`, index, (n) => n.stepFinished(index, label, outcome, detail)),
    runFinished: (outcome, detail) => guard('the end of the run', undefined, (n) => n.runFinished(outcome, detail)),
  };
}

/** One line of what a finished step did, from its output, for the run's thread: a gate's evidence, an approval's deciders, the traffic split. */
export function stepSummary(output: Record<string, JsonValue> | void): string | undefined {
  if (!output) return undefined;
  if (typeof output.summary === 'string') return output.summary;
  if (typeof output.outcome === 'string') {
    const by = Array.isArray(output.by) ? output.by.map(String) : typeof output.by === 'string' ? [output.by] : [];
    return `${output.outcome}${by.length > 0 ? ` by ${by.join(', ')}` : ''}`;
  }
  const shares = output.shares;
  if (shares !== null && typeof shares === 'object' && !Array.isArray(shares)) {
    return Object.entries(shares)
      .map(([group, records]) => {
        const list = Array.isArray(records) ? records : [];
        const split = list.flatMap((r) => (r !== null && typeof r === 'object' && !Array.isArray(r) ? [`${String(r.setIdentifier)} ${String(r.percent)}%`] : []));
        return `${group.replace('|', ' ')}: ${split.join(', ')}`;
      })
      .join('; ');
  }
  if (typeof output.moved === 'number') return `${output.moved} CronJob(s) moved`;
  if (typeof output.cronJobs === 'number') return `${output.cronJobs} CronJob(s) present on both clusters`;
  return undefined;
}
