// The parsed, validated shape of the two user files. src/config/schema.ts builds zod schemas whose output
// is exactly these types; everything past the loader works with these, never with raw YAML.

export interface KubeconfigClusterConfig {
  kubeconfig: { context: string; path?: string };
}
export interface EksClusterConfig {
  eks: { name: string; region: string };
}
/** A simulated cluster of the built-in sandbox; its CronJobs are described in the `sandbox:` section. */
export interface SandboxClusterConfig {
  sandbox: Record<string, never>;
}
export type ClusterConfig = KubeconfigClusterConfig | EksClusterConfig | SandboxClusterConfig;

export interface DnsRecordGroup {
  /** Record name, e.g. `api.example.com.` */
  name: string;
  type: string;
  /** SetIdentifier of each environment cluster in this weighted group, e.g. `{blue: blue, green: green}`. */
  setIdentifiers: Record<string, string>;
}

export interface SlackConfig {
  channel: string;
  approvers: string[];
  /** Names of environment variables holding the tokens (never the tokens themselves). */
  botTokenEnv: string;
  appTokenEnv: string;
  allowSelfApproval: boolean;
  /** Base URL of the Slack Web API (tests point this at a local server). */
  apiUrl?: string;
}

export type StateConfig =
  | { local: { dir: string } }
  /** No `cluster`: the cluster cutover runs in, reached with its pod's ServiceAccount (a management cluster). */
  | { kubernetes: { cluster?: string; namespace: string } };

export interface Environment {
  apiVersion: 'cutover.dev/v1';
  kind: 'Environment';
  name: string;
  aws?: { region: string; accountId?: string; endpoint?: string };
  clusters: Record<string, ClusterConfig>;
  dns?: {
    hostedZoneId: string;
    records: DnsRecordGroup[];
    /** Client-side cap on Route 53 requests per second, shared by every call of a run. */
    maxRequestsPerSecond: number;
  };
  slack?: SlackConfig;
  state?: StateConfig;
  /** Allows `execute --approve` to answer approvals without a human (rehearsals, CI). */
  allowNonInteractiveApproval: boolean;
  /** Set by the built-in simulated environment (config/sandbox.yaml). */
  sandbox?: Record<string, unknown>;
}

export type RunningJobsPolicy = 'wait' | 'ignore';
/** `run-once` in a runbook is read as `latest`. */
export type MissedRunsPolicy = 'skip' | 'latest' | 'all';
export type FailurePolicy = 'halt' | 'rollback';

export interface CronJobsSection {
  namespaces: string[];
  selector?: string;
  /** `namespace/name` entries left where they are. */
  exclude: string[];
  running: RunningJobsPolicy;
  drainTimeoutMs: number;
  missedRuns: MissedRunsPolicy;
  /** With missedRuns `all`: at most this many missed ticks of one CronJob run, the latest ones. */
  missedRunsLimit: number;
  concurrency: number;
  /** A moved CronJob enabled again on the source during a later step: suspend it again (default) or halt. */
  onDrift?: 'resuspend' | 'halt';
}

export interface PreflightStep {
  kind: 'preflight';
  name?: string;
}
export interface MoveCronJobsStep {
  kind: 'moveCronJobs';
  name?: string;
}
export interface ShiftTrafficStep {
  kind: 'shiftTraffic';
  name?: string;
  /** Share of the blue+green traffic sent to the target, 0..100. */
  percent: number;
  soakMs: number;
}
export type GateSpec =
  | {
      type: 'http';
      url: string;
      method: string;
      headers: Record<string, string>;
      expectStatus: number;
      bodyPattern?: string;
      successes: number;
      intervalMs: number;
    }
  | { type: 'cloudwatchAlarms'; names: string[]; prefix?: string; insufficientData: 'ok' | 'fail' | 'wait' }
  | { type: 'route53HealthChecks'; ids: string[] }
  | { type: 'kubernetes'; cluster: string; namespaces: string[]; selector?: string }
  | { type: 'command'; command: string; args: string[]; env: Record<string, string>; timeoutMs: number }
  | { type: 'cronjobFirstRun' };
export interface GateStep {
  kind: 'gate';
  name?: string;
  gate: GateSpec;
  timeoutMs: number;
}
export interface ApproveStep {
  kind: 'approve';
  name?: string;
  via: 'slack' | 'terminal';
  message?: string;
  approvers?: string[];
  required: number;
  timeoutMs: number;
}
export type Step = PreflightStep | MoveCronJobsStep | ShiftTrafficStep | GateStep | ApproveStep;
export type StepKind = Step['kind'];

export interface Runbook {
  apiVersion: 'cutover.dev/v1';
  kind: 'Runbook';
  name: string;
  /** Path of the environment file, resolved against the runbook's folder. */
  environment: string;
  from: string;
  to: string;
  cronjobs: CronJobsSection;
  onFailure: FailurePolicy;
  steps: Step[];
}

/** A runbook with its environment, both validated, and where they came from. */
export interface LoadedRunbook {
  runbook: Runbook;
  runbookFile: string;
  environment: Environment;
  environmentFile: string;
}
