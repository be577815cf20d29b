// The fence: an admission policy on a cluster that refuses (or, where the server can, rewrites) any create
// or update of a selected CronJob with `suspend` not true, unless the cluster owns that CronJob. Ownership
// is cutover's record on the cluster: one FenceRecord (cutover.dev/v1) per fenced namespace (FENCE_RECORD),
// which only cutover writes, so re-applying a chart or a manifest never touches it (docs/fence.md). These are the shapes the
// engine and the commands see; src/adapters/k8s/fence.ts implements the port.
import type { CronJobRef } from './types.js';

/** The ownership record's name (a FenceRecord), in every fenced namespace: the binding's paramRef finds it there. */
export const FENCE_RECORD = 'cutover-fence';

/** Deny refuses; Warn lets the write through with a warning and an audit annotation; Mutate forces suspend. */
export type FenceMode = 'Deny' | 'Warn' | 'Mutate';
export const FENCE_MODES: readonly FenceMode[] = ['Deny', 'Warn', 'Mutate'];

/** Whether the cluster may run a CronJob (`owned`) or must keep it suspended (`fenced`). */
export type Ownership = 'owned' | 'fenced';

/** What the runbook's CronJob selection turns into on the policy. */
export interface FenceScope {
  runbook: string;
  namespaces: string[];
  selector?: string;
  /** `namespace/name` entries the runbook leaves alone: the fence leaves them alone too. */
  exclude: string[];
}

/** The ownership record of one namespace: per CronJob name, and the default for CronJobs not listed. */
export interface FenceRecord {
  default: Ownership;
  cronJobs: Record<string, Ownership>;
}

export interface FenceState {
  /** The runbook's policy and binding are installed (mode as the binding says). */
  mode?: FenceMode;
  /** Per namespace of the scope; undefined where the namespace has no record (writes there are refused). */
  records: Record<string, FenceRecord | undefined>;
  /** Why the policy could not be read (the run's credentials may lack the fence's cluster role). */
  unreadable?: string;
}

export interface FencePort {
  /** What is installed for `scope` on this cluster; reads only. */
  state(scope: FenceScope): Promise<FenceState>;
  /**
   * Installs or updates the policy, its binding and the records (a record already present keeps every
   * entry; a new one starts with `defaultOwnership`). Idempotent.
   */
  install(scope: FenceScope, mode: FenceMode, defaultOwnership: Ownership): Promise<void>;
  /** Removes the policy and binding of the runbook; the records stay (they hold the ownership history). */
  remove(runbook: string): Promise<{ removed: string[] }>;
  /** The namespace's record, undefined when there is none (the namespace is not fenced). */
  record(namespace: string): Promise<FenceRecord | undefined>;
  /** Writes one CronJob's ownership into its namespace's record; returns the record as stored. */
  setOwnership(ref: CronJobRef, ownership: Ownership): Promise<FenceRecord>;
  /** Asks the server, by a dry run, whether resuming the copy would be admitted as `suspend: false`. */
  admitsResume(ref: CronJobRef): Promise<{ admitted: boolean; reason?: string }>;
  /** Whether the server serves MutatingAdmissionPolicy (needed for mode Mutate). */
  servesMutatingPolicies(): Promise<boolean>;
}

/** Ownership of one CronJob as its namespace's record says. */
export const ownershipOf = (record: FenceRecord, name: string): Ownership => record.cronJobs[name] ?? record.default;
