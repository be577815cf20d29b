// The plan: what `cutover plan` shows and `cutover execute --plan` carries out. Saved as
// `{ version: PLAN_VERSION, plan }`; entries are discriminated unions on `kind`.
import type { CronJobRef, ObservedCronJob, ObservedJob } from '../core/types.js';

export const PLAN_VERSION = 1;

export type Severity = 'error' | 'warning' | 'info';

export interface PlanMessage {
  severity: Severity;
  /** Stable machine-readable code, e.g. `missing-on-target`, `enabled-on-both`. */
  code: string;
  message: string;
  /** `namespace/name` of the CronJob, or the step label, the message is about. */
  subject?: string;
}

/** Everything the planner needs, gathered by src/plan/observe.ts; the planner reads nothing else. */
export interface Observation {
  observedAt: string;
  from: string;
  to: string;
  source: { cluster: string; version?: string; cronJobs: ObservedCronJob[]; jobs: ObservedJob[] };
  target: { cluster: string; version?: string; cronJobs: ObservedCronJob[]; jobs: ObservedJob[] };
  /** Weighted groups as read, keyed `name|type` (issue: traffic). */
  dns?: Record<string, import('../core/ports.js').WeightedRecord[]>;
}

export type CronJobAction =
  /** Suspend on source, drain, baseline, resume on target. */
  | 'move'
  /** Enabled on both: suspend the target at once, then move. */
  | 'suspend-target-then-move'
  /** Source suspended and target enabled already: only verify. */
  | 'already-moved'
  /** Cannot move (e.g. missing on target): blocks execute. */
  | 'blocked';

export interface CronJobSide {
  present: boolean;
  suspend?: boolean;
  uid?: string;
  lastScheduleTime?: string;
  activeJobs: string[];
}

export interface SpecDifference {
  field: 'schedule' | 'timeZone' | 'images' | 'concurrencyPolicy' | 'startingDeadlineSeconds';
  source: string;
  target: string;
}

export interface CronJobPlanEntry {
  kind: 'cronjob';
  ref: CronJobRef;
  action: CronJobAction;
  schedule: string;
  timeZone?: string;
  source: CronJobSide;
  target: CronJobSide;
  differences: SpecDifference[];
  /** The next ticks after the observation, ISO-8601 UTC. */
  nextTicks: string[];
  /** Latest tick at or before the observation: the baseline `missedRuns: skip` writes. */
  latestTick?: string;
  messages: PlanMessage[];
}

export interface RecordShare {
  setIdentifier: string;
  weight: number;
  /** Effective share of the whole group, 0..100, after Route 53's rules (all-zero = equal split). */
  percent: number;
}

export type StepPlanEntry =
  | { kind: 'preflight'; index: number; label: string }
  | { kind: 'moveCronJobs'; index: number; label: string; count: number }
  | {
      kind: 'shiftTraffic';
      index: number;
      label: string;
      percent: number;
      soakMs: number;
      groups: { name: string; type: string; before: RecordShare[]; after: RecordShare[] }[];
    }
  | { kind: 'gate'; index: number; label: string; gateType: string; timeoutMs: number }
  | { kind: 'approve'; index: number; label: string; via: string; approvers: string[]; required: number; timeoutMs: number };

export interface Plan {
  runbook: string;
  environment: string;
  from: string;
  to: string;
  observedAt: string;
  /** sha256 over the parts of the observation that execute depends on; a stale plan is refused. */
  fingerprint: string;
  /** Server versions of the source and target clusters as observed (shown in the plan's header). */
  versions?: { source?: string; target?: string };
  cronJobs: CronJobPlanEntry[];
  steps: StepPlanEntry[];
  messages: PlanMessage[];
}

export interface PlanFile {
  version: number;
  plan: Plan;
}
