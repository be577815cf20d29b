// What the Kubernetes state store keeps, and under which names: pure builders, no client. A runbook's run
// lives in its state namespace as
//   ConfigMap cutover-<runbook>                     the current run (data key snapshot.json)
//   ConfigMap cutover-<runbook>-journal-<n>         the current run's journal, chunk n (journal.ndjson)
//   Lease     cutover-<runbook>                     the run lock
//   ConfigMap cutover-<runbook>-run-<id>[-journal-<n>]  finished runs, copied aside when a new run starts
// Runbook names are free text in the runbook file; object names and label values are not, so both are
// derived (with a hash when the name had to be changed, so two runbooks never share objects).
import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { ApiError, HaltError } from '../../core/errors.js';
import type { JournalEntry } from '../../steps/types.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'cutover';
export const RUNBOOK_LABEL = 'cutover.dev/runbook';
/** snapshot | journal | archived-snapshot | archived-journal */
export const PART_LABEL = 'cutover.dev/part';
export const CHUNK_LABEL = 'cutover.dev/journal-chunk';
/** The runbook's name as written, when the label had to shorten or clean it. */
export const RUNBOOK_ANNOTATION = 'cutover.dev/runbook-name';
export const RUN_ID_ANNOTATION = 'cutover.dev/run-id';

export const SNAPSHOT_KEY = 'snapshot.json';
export const JOURNAL_KEY = 'journal.ndjson';

/** The API server refuses a ConfigMap whose keys and values add up to more than 1 MiB. */
export const CONFIGMAP_MAX_BYTES = 1024 * 1024;
/**
 * A journal chunk is closed at half the ConfigMap limit: every append rewrites the whole chunk, so small
 * chunks keep each write (and what a conflict re-reads) small.
 */
export const JOURNAL_CHUNK_BYTES = 512 * 1024;

export type StatePart = 'snapshot' | 'journal' | 'archived-snapshot' | 'archived-journal';

/** Object names are DNS subdomains of ≤ 253 characters; the base leaves room for the longest suffix. */
const MAX_BASE_NAME = 200;
const MAX_LABEL_VALUE = 63;
const DNS_LABELISH = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

function trimDashes(text: string): string {
  return text.replace(/-+/g, '-').replace(/^[-_.]+|[-_.]+$/g, '');
}

/** The runbook's part of object names: itself when already lowercase DNS-shaped, else cleaned plus a hash. */
export function runbookObjectName(runbook: string): string {
  if (DNS_LABELISH.test(runbook) && runbook.length <= MAX_BASE_NAME - 'cutover-'.length) return runbook;
  const cleaned = trimDashes(runbook.toLowerCase().replace(/[^a-z0-9-]/g, '-')).slice(0, MAX_BASE_NAME - 20);
  return `${trimDashes(cleaned) || 'runbook'}-${shortHash(runbook)}`;
}

/** The runbook's label value (≤ 63 characters of [A-Za-z0-9-_.]): itself when valid, else cleaned plus a hash. */
export function runbookLabelValue(runbook: string): string {
  if (LABEL_VALUE.test(runbook) && runbook.length <= MAX_LABEL_VALUE) return runbook;
  const cleaned = trimDashes(runbook.replace(/[^A-Za-z0-9-_.]/g, '-')).slice(0, MAX_LABEL_VALUE - 9);
  return `${trimDashes(cleaned) || 'runbook'}-${shortHash(runbook)}`;
}

/**
 * The part of a run id that tells runs of one runbook apart, as an object-name suffix: run ids are
 * `<runbook>-<yyyymmddThhmmss>-<hex>`, so the runbook prefix is dropped and the rest lowercased.
 */
export function archiveKey(runId: string, runbook: string): string {
  const own = runId.startsWith(`${runbook}-`) ? runId.slice(runbook.length + 1) : runId;
  const lowered = own.toLowerCase();
  if (DNS_LABELISH.test(lowered) && lowered.length <= 40) return lowered;
  const cleaned = trimDashes(lowered.replace(/[^a-z0-9-]/g, '-')).slice(0, 31);
  return `${trimDashes(cleaned) || 'run'}-${shortHash(runId)}`;
}

export interface StateNames {
  /** The snapshot ConfigMap and the Lease share it (different kinds, so no clash). */
  base: string;
  snapshot: string;
  lease: string;
  chunk(index: number): string;
  archivedSnapshot(key: string): string;
  archivedChunk(key: string, index: number): string;
}

export function stateNames(runbook: string): StateNames {
  const base = `cutover-${runbookObjectName(runbook)}`;
  return {
    base,
    snapshot: base,
    lease: base,
    chunk: (index) => `${base}-journal-${index}`,
    archivedSnapshot: (key) => `${base}-run-${key}`,
    archivedChunk: (key, index) => `${base}-run-${key}-journal-${index}`,
  };
}

/**
 * How messages name the cluster cutover runs in, reached with its pod's ServiceAccount: the state cluster of
 * an environment whose `state.kubernetes` names no cluster (a management cluster).
 */
export const IN_CLUSTER = 'in-cluster';

/** Where a runbook's state is kept, for messages and `status`; known before anything is dialled. */
export function stateLocation(where: { cluster: string; namespace: string; runbook: string }): string {
  return `ConfigMap ${where.namespace}/${stateNames(where.runbook).snapshot} on cluster ${where.cluster}`;
}

export function ownerLabels(runbook: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY, [RUNBOOK_LABEL]: runbookLabelValue(runbook) };
}

export function stateLabels(runbook: string, part: StatePart, chunk?: number): Record<string, string> {
  return { ...ownerLabels(runbook), [PART_LABEL]: part, ...(chunk === undefined ? {} : { [CHUNK_LABEL]: String(chunk) }) };
}

/** A label selector for exactly these labels. */
export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

function annotations(runbook: string, runId?: string): Record<string, string> {
  return { [RUNBOOK_ANNOTATION]: runbook, ...(runId === undefined ? {} : { [RUN_ID_ANNOTATION]: runId }) };
}

/** A ConfigMap body; with resourceVersion, a replace that the server refuses (409) if someone wrote since. */
export function stateConfigMap(spec: {
  name: string;
  namespace: string;
  runbook: string;
  part: StatePart;
  data: Record<string, string>;
  chunk?: number;
  runId?: string;
  resourceVersion?: string;
}): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: spec.name,
      namespace: spec.namespace,
      labels: stateLabels(spec.runbook, spec.part, spec.chunk),
      annotations: annotations(spec.runbook, spec.runId),
      ...(spec.resourceVersion === undefined ? {} : { resourceVersion: spec.resourceVersion }),
    },
    data: spec.data,
  };
}

/** Bytes the API server counts against the ConfigMap limit: every key plus every value. */
export function configMapDataBytes(data: Record<string, string>): number {
  return Object.entries(data).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
}

/** A create answered 404: the namespace itself is missing, and cutover never creates namespaces. */
export function missingStateNamespace(cluster: string, namespace: string, cause: unknown): ApiError {
  return new ApiError(
    `the state namespace ${namespace} does not exist on cluster ${cluster}: create it and grant cutover the Role in deploy/rbac/cutover-state.role.yaml there, or change state.kubernetes.namespace`,
    404,
    cause,
  );
}

const kib = (bytes: number): string => `${Math.ceil(bytes / 1024)} KiB`;

/** Refuses a snapshot the server would refuse, before anything is sent. */
export function checkSnapshotFits(text: string, where: string): void {
  const bytes = configMapDataBytes({ [SNAPSHOT_KEY]: text });
  if (bytes <= CONFIGMAP_MAX_BYTES) return;
  throw new HaltError(
    `the run is ${kib(bytes)} as JSON, more than the ${kib(CONFIGMAP_MAX_BYTES)} a ConfigMap can hold (${where}): it was not saved`,
    'Keep this runbook\'s state in a local folder (state: { local: { dir: ... } } in the environment file), or split the runbook so each run moves fewer CronJobs.',
  );
}

export function journalLine(entry: JournalEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

export type Placement = 'append' | 'next-chunk';

/**
 * Where a journal line goes: appended to the last chunk while it stays within the chunk size, else
 * into a new chunk. A line too big for any ConfigMap is refused.
 */
export function placeJournalLine(lastChunk: string | undefined, line: string, chunkBytes = JOURNAL_CHUNK_BYTES): Placement {
  const lineBytes = configMapDataBytes({ [JOURNAL_KEY]: line });
  if (lineBytes > CONFIGMAP_MAX_BYTES) {
    throw new HaltError(
      `a journal entry of ${kib(lineBytes)} does not fit in a ConfigMap (at most ${kib(CONFIGMAP_MAX_BYTES)}): it was not recorded`,
      'This is a bug in cutover: please report it with the step that was running.',
    );
  }
  if (lastChunk === undefined || lastChunk === '') return lastChunk === undefined ? 'next-chunk' : 'append';
  return Buffer.byteLength(lastChunk) + Buffer.byteLength(line) + Buffer.byteLength(JOURNAL_KEY) <= chunkBytes ? 'append' : 'next-chunk';
}

/** The chunk number a journal ConfigMap carries in its label, or undefined when it has none. */
export function chunkIndex(configMap: V1ConfigMap): number | undefined {
  const value = configMap.metadata?.labels?.[CHUNK_LABEL];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** The journal text of the chunks, in chunk order (a listing comes in name order: -10 before -2). */
export function joinChunks(chunks: V1ConfigMap[]): string {
  return chunks
    .map((chunk) => ({ index: chunkIndex(chunk) ?? -1, text: chunk.data?.[JOURNAL_KEY] ?? '' }))
    .sort((a, b) => a.index - b.index)
    .map((chunk) => chunk.text)
    .join('');
}
