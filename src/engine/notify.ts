// Run announcements (the Slack thread) are for the people watching, not part of the cutover: a
// notifier that fails is reported as a warning on the terminal and in the journal, and the run goes on.
import type { RunNotice, RunNotifier } from '../core/ports.js';
import { describeFailure } from '../machine/runbook.js';
import type { Journal, Reporter } from '../steps/types.js';

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
