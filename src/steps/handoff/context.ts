// What one CronJob handoff needs from the step runtime, narrowed so the protocol modules stay small and
// testable: the two cluster ports, time, the policies of the runbook, and the ways to leave a trace.
import type { Clock } from '../../core/clock.js';
import type { ClusterPort } from '../../core/ports.js';
import type { CronJobRef } from '../../core/types.js';
import type { MissedRunsPolicy, RunningJobsPolicy } from '../../config/types.js';
import type { JournalType, JsonValue, Reporter } from '../types.js';
import type { CronJobProgress } from './progress.js';

export interface HandoffPolicy {
  running: RunningJobsPolicy;
  missedRuns: MissedRunsPolicy;
  /** With missedRuns `all`: at most this many missed ticks of one CronJob run. */
  missedRunsLimit: number;
  drainTimeoutMs: number;
}

/** Pacing of the protocol; the defaults suit real clusters, tests on a virtual clock keep them. */
export interface HandoffTiming {
  /** How often a drain re-lists the source copy's Jobs. */
  drainPollMs: number;
  /** A tick closer than this when a handoff would start is let run on the source first. */
  tickGuardMs: number;
  /** How long after such a tick the handoff starts, so the source controller has created its Job. */
  tickMarginMs: number;
  /**
   * How long after that tick the handoff keeps reading the source until its lastScheduleTime shows the
   * tick ran (a busy controller may start it late); past it, the tick is handled by missedRuns.
   */
  tickConfirmMs: number;
  /** Pause between resuming the target and verifying, so a catch-up Job the target starts is visible. */
  verifySettleMs: number;
  /** A source copy re-enabled more often than this during one handoff halts it (a sync keeps undoing it). */
  maxReenables: number;
}

export const DEFAULT_TIMING: HandoffTiming = {
  drainPollMs: 2_000,
  tickGuardMs: 10_000,
  tickMarginMs: 3_000,
  tickConfirmMs: 30_000,
  verifySettleMs: 3_000,
  maxReenables: 3,
};

export interface HandoffContext {
  source: ClusterPort;
  target: ClusterPort;
  clock: Clock;
  signal: AbortSignal;
  policy: HandoffPolicy;
  timing: HandoffTiming;
  reporter: Reporter;
  journal(type: JournalType, message: string, data?: Record<string, JsonValue>): Promise<void>;
  /** Absolute deadline, stored on first use so a resumed run keeps waiting for the same instant. */
  deadline(name: string, ms: number): Promise<Date>;
  /** Last persisted progress of a CronJob: a hint for status and resume, never trusted over the clusters. */
  progress(ref: CronJobRef): CronJobProgress;
  /** Merges into the CronJob's persisted progress and resolves once it is stored. */
  record(ref: CronJobRef, patch: Partial<CronJobProgress>): Promise<void>;
}
