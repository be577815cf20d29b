// The ports the engine receives. Adapters (src/adapters/<system>) implement them against real APIs; the
// sandbox implements them in memory on a virtual clock. Nothing past this line knows which it talks to.
import type { FencePort } from './fence.js';
import type { CronJobRef, CronJobSelector, ObservedCronJob, ObservedJob } from './types.js';

/** One permission: may the run's credentials `verb` the resource (or its subresource) in the namespace? */
export interface AccessCheck {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace: string;
}

export interface AccessVerdict {
  allowed: boolean;
  /** The authorizer's reason, when it gives one. */
  reason?: string;
}

/** One Kubernetes cluster, as named in the environment file. */
export interface ClusterPort {
  readonly name: string;
  /** Server version, e.g. `v1.34.4`; also proves the cluster is reachable and the credentials work. */
  version(): Promise<string>;
  listCronJobs(selector: CronJobSelector): Promise<ObservedCronJob[]>;
  getCronJob(ref: CronJobRef): Promise<ObservedCronJob | undefined>;
  /** Merge-patches spec.suspend and returns the CronJob as the server stored it. */
  setSuspend(ref: CronJobRef, suspend: boolean): Promise<ObservedCronJob>;
  /** Merge-patches status.lastScheduleTime through the cronjobs/status subresource. */
  setLastScheduleTime(ref: CronJobRef, time: string): Promise<ObservedCronJob>;
  /**
   * Starts the Job of one tick of a CronJob as its controller would (name `<cronjob>-<minutes>`, the
   * scheduled-timestamp annotation in the CronJob's zone, the template's labels and annotations, a controller
   * ownerReference) and lists it in status.active, so the controller tracks it as its own. Idempotent: a Job
   * of that name already there is returned with `created: false`.
   */
  startJobForTick(cronJob: CronJobRef, tick: string): Promise<{ job: ObservedJob; created: boolean }>;
  /** Jobs in the namespace; with ownerUid, only those whose controller is that CronJob. */
  listJobs(namespace: string, ownerUid?: string): Promise<ObservedJob[]>;
  /** Asks the cluster's authorizer (SelfSubjectAccessReview) about each check, in order; changes nothing. */
  canI(checks: AccessCheck[]): Promise<AccessVerdict[]>;
  /** The fence's policy and ownership records on this cluster (docs/fence.md); absent in the sandbox. */
  readonly fence?: FencePort;
}

/** A weighted record of a Route 53 group, as read; `raw` keeps every other field for a faithful UPSERT. */
export interface WeightedRecord {
  name: string;
  type: string;
  setIdentifier: string;
  weight: number;
  ttl?: number;
  raw: unknown;
}

export interface DnsChange {
  id: string;
  status: 'PENDING' | 'INSYNC';
  submittedAt: string;
}

export interface DnsPort {
  /** Every record of the weighted group (name + type), all pages read. */
  readGroup(name: string, type: string): Promise<WeightedRecord[]>;
  /** One atomic ChangeResourceRecordSets batch: an UPSERT per record, each a copy with only Weight changed. */
  setWeights(records: WeightedRecord[], weights: Record<string, number>, comment: string): Promise<DnsChange>;
  getChange(id: string): Promise<DnsChange>;
}

/** One approver's approval and when it was given (an approval may need several). */
export interface Vote {
  by: string;
  at: string;
}

export type Decision =
  | { outcome: 'approved'; by: string[]; at: string; link?: string; votes?: Vote[] }
  | { outcome: 'rejected'; by: string; at: string; reason: string; link?: string; approvedBy?: string[]; votes?: Vote[] }
  /** The deadline passed without enough approvals; `approvedBy` lists the approvals that did arrive. */
  | { outcome: 'timeout'; at: string; approvedBy: string[]; link?: string; votes?: Vote[] };

export interface ApprovalRequest {
  runId: string;
  stepIndex: number;
  stepName: string;
  /** The runbook's question for the approvers (`approve.message`), shown as the title when given. */
  message?: string;
  /** What has happened so far, the traffic split, gate evidence: shown to the approvers. */
  summary: string;
  /** What approving will do. */
  effect: string;
  approvers: string[];
  required: number;
  deadline: Date;
  startedBy: string;
  /** Where an earlier attempt of this wait left its message (ts etc.), so a resume does not post twice. */
  resume?: Record<string, string>;
  /** Lets the approval port record where its message lives before waiting. */
  remember(data: Record<string, string>): Promise<void>;
}

export interface ApprovalPort {
  /** Resolves with the decision, `timeout` once `request.deadline` passes; rejects with the signal's reason. */
  requestApproval(request: ApprovalRequest, signal: AbortSignal): Promise<Decision>;
  /**
   * Checks credentials, channel, permissions and approvers without changing anything: a list of problems, empty
   * when ready. `approvers` are those the runbook's steps name, besides the environment's defaults.
   */
  preflight?(context: { startedBy: string; approvers: string[] }): Promise<string[]>;
}

/** Where a run's progress is announced (the Slack channel): one parent message per run, steps threaded under it. */
export interface RunNotice {
  runId: string;
  runbook: string;
  environment: string;
  from: string;
  to: string;
  startedBy: string;
  /** What an earlier `runStarted` of this run remembered, so a resumed run threads under the same message. */
  resume?: Record<string, string>;
  /** Persists where the parent message lives (the engine stores it with the run). */
  remember: (data: Record<string, string>) => Promise<void>;
}

export interface RunNotifier {
  runStarted(run: RunNotice): Promise<void>;
  stepStarted(index: number, label: string): Promise<void>;
  stepFinished(index: number, label: string, outcome: 'done' | 'failed', detail?: string): Promise<void>;
  runFinished(outcome: 'succeeded' | 'halted' | 'failed', detail?: string): Promise<void>;
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** CloudWatch alarms, for `gate: cloudwatchAlarms`. */
export interface AlarmsPort {
  alarmStates(query: { names: string[]; prefix?: string }): Promise<{ name: string; state: AlarmState }[]>;
}

/** Route 53 health checks, for `gate: route53HealthChecks`. */
export interface HealthChecksPort {
  /** Per health check, how many checkers report healthy out of how many. */
  healthCheckStatus(id: string): Promise<{ healthy: number; total: number }>;
}

/** Deployments and StatefulSets of one cluster, for `gate: kubernetes`. */
export interface WorkloadsPort {
  workloads(namespaces: string[], selector?: string): Promise<
    { kind: 'Deployment' | 'StatefulSet'; namespace: string; name: string; desired: number; available: number }[]
  >;
}

export interface ScriptedVerdict {
  status: 'pass' | 'wait' | 'fail';
  summary: string;
}

/**
 * Gate health scripted by the sandbox. A gate step asks it before looking for itself: a verdict replaces the
 * gate's own look (an http or command gate must never reach a real system from a rehearsal); undefined means
 * "not scripted", and the gate looks through the run's (simulated) ports as usual.
 */
export interface ScriptedGatesPort {
  /** `label` is the gate step's label (its name, else its default label), `type` the gate type. */
  verdict(label: string, type: string, startedAt: Date, now: Date): ScriptedVerdict | undefined;
}

/** Every port a run may use; absent ones are refused at validation when a step needs them. */
export interface Ports {
  clusters: Record<string, ClusterPort>;
  dns?: DnsPort;
  approvals: Partial<Record<'slack' | 'terminal' | 'auto', ApprovalPort>>;
  alarms?: AlarmsPort;
  healthChecks?: HealthChecksPort;
  workloads: Record<string, WorkloadsPort>;
  /** Announces run and step progress (Slack thread); absent when the environment has no `slack` section. */
  notifier?: RunNotifier;
  /** Present only in sandbox runs: gate health as the rehearsal's script says. */
  scriptedGates?: ScriptedGatesPort;
}
