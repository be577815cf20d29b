// The engine's StateStore kept in a Kubernetes namespace (state: { kubernetes: { cluster, namespace } }),
// so a run started on one machine can be resumed from another, or by a Job in a management cluster.
// Names and layout: state-objects.ts. Lock: lease-lock.ts.
//
// Every write carries a precondition: create fails when the object exists, replace and delete carry the
// resourceVersion last read. A 409 means someone wrote since we read: the store re-reads and tries again
// only while this process still holds the run lock (then the other write was an earlier attempt of ours,
// or a stray writer the lock holder overrides); without the lock it stops and says so. A write whose
// answer was lost (timeout, reset, 5xx) is read back before it is sent again, so it never lands twice.
import { CoordinationV1Api, CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import type { LoadedRunbook } from '../../config/types.js';
import { ApiError, HaltError, InputError } from '../../core/errors.js';
import type { LockHolder, LockRequest, RunLock } from '../../engine/lock.js';
import { parseJournal, parseRun } from '../../engine/store.js';
import type { PersistedRun, StateStore } from '../../engine/store.js';
import type { JournalEntry } from '../../steps/types.js';
import { connectCluster, inClusterConnection, lazyConnection, makeApiClient, type ClusterConnection } from './client.js';
import type { Operation } from './errors.js';
import { acquireLeaseLock, isConflict, isNotFound, isUnclear, readLeaseHolder, type LeaseLock, type LeaseLockOptions, type LeaseTarget } from './lease-lock.js';
import { callOptions, defaultRequestPolicy, listAll, pageParams, read, write, type RequestPolicy } from './request.js';
import {
  IN_CLUSTER,
  JOURNAL_CHUNK_BYTES,
  JOURNAL_KEY,
  SNAPSHOT_KEY,
  archiveKey,
  checkSnapshotFits,
  chunkIndex,
  joinChunks,
  journalLine,
  labelSelector,
  missingStateNamespace,
  ownerLabels,
  placeJournalLine,
  stateConfigMap,
  stateLabels,
  stateLocation,
  stateNames,
  type StateNames,
  type StatePart,
} from './state-objects.js';

export interface KubernetesStateLocation {
  /** The environment cluster that keeps the state. */
  cluster: string;
  namespace: string;
  runbook: string;
}

export interface KubernetesStateOptions {
  policy?: RequestPolicy;
  lock?: Omit<LeaseLockOptions, 'policy'>;
  /** Size at which a journal chunk is closed; tests make it small to see several chunks. */
  journalChunkBytes?: number;
}

interface Apis {
  server: string;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
}

/** Attempts of one write before giving up; each is a fresh read and a conditional write. */
const MAX_WRITE_ATTEMPTS = 6;

/** The last chunk of the journal as read or written; index -1 when the journal has no chunk yet. */
interface JournalTail {
  index: number;
  configMap?: V1ConfigMap;
}

export class KubernetesStateStore implements StateStore {
  readonly location: string;
  private readonly names: StateNames;
  private readonly policy: RequestPolicy;
  private readonly chunkBytes: number;
  private clients: { from: ClusterConnection; apis: Apis } | undefined;
  private held: LeaseLock | undefined;
  /** The snapshot ConfigMap as last read or written: null when absent, undefined when not known. */
  private snapshot: V1ConfigMap | null | undefined;
  private tail: JournalTail | undefined;

  constructor(
    private readonly where: KubernetesStateLocation,
    private readonly connection: () => Promise<ClusterConnection>,
    private readonly options: KubernetesStateOptions = {},
  ) {
    this.names = stateNames(where.runbook);
    this.policy = options.policy ?? defaultRequestPolicy;
    this.chunkBytes = options.journalChunkBytes ?? JOURNAL_CHUNK_BYTES;
    this.location = stateLocation(where);
  }

  private async apis(): Promise<Apis> {
    const connection = await this.connection();
    if (this.clients?.from !== connection) {
      const { kubeConfig, server } = connection;
      const apis = { server, core: makeApiClient(kubeConfig, CoreV1Api), coordination: makeApiClient(kubeConfig, CoordinationV1Api) };
      this.clients = { from: connection, apis };
    }
    return this.clients.apis;
  }

  private op(server: string, verb: string, name?: string): Operation {
    const { cluster, namespace } = this.where;
    return { cluster, server, verb, resource: 'configmaps', group: '', namespace, ...(name ? { name } : {}) };
  }

  // ---- reads

  private async getConfigMap(name: string): Promise<V1ConfigMap | undefined> {
    const { server, core } = await this.apis();
    const { namespace } = this.where;
    return read(this.op(server, 'get', name), this.policy, async () => {
      try {
        return await core.readNamespacedConfigMap({ name, namespace }, callOptions(this.policy));
      } catch (error) {
        if ((error as { code?: number }).code === 404) return undefined;
        throw error;
      }
    });
  }

  private async listParts(part: StatePart): Promise<V1ConfigMap[]> {
    const { server, core } = await this.apis();
    const { namespace, runbook } = this.where;
    const selector = labelSelector(stateLabels(runbook, part));
    return listAll<V1ConfigMap>((token) =>
      read(this.op(server, 'list'), this.policy, () =>
        core.listNamespacedConfigMap({ namespace, labelSelector: selector, ...pageParams(100, token) }, callOptions(this.policy)),
      ),
    );
  }

  /** The current run's journal chunks, in chunk order. */
  private async journalChunks(): Promise<V1ConfigMap[]> {
    const chunks = await this.listParts('journal');
    return chunks.sort((a, b) => (chunkIndex(a) ?? -1) - (chunkIndex(b) ?? -1));
  }

  async load(): Promise<PersistedRun | undefined> {
    const configMap = await this.getConfigMap(this.names.snapshot);
    this.snapshot = configMap ?? null;
    const text = configMap?.data?.[SNAPSHOT_KEY];
    return text === undefined ? undefined : parseRun(text, this.location);
  }

  async readJournal(): Promise<JournalEntry[]> {
    return parseJournal(joinChunks(await this.journalChunks()));
  }

  async lockHolder(): Promise<LockHolder | undefined> {
    return readLeaseHolder(await this.leaseTarget(), this.policy);
  }

  // ---- writes

  private async create(body: V1ConfigMap): Promise<V1ConfigMap> {
    const { server, core } = await this.apis();
    const { namespace } = this.where;
    const name = body.metadata?.name;
    try {
      return await write(this.op(server, 'create', name), () => core.createNamespacedConfigMap({ namespace, body }, callOptions(this.policy)));
    } catch (error) {
      if (isNotFound(error)) throw missingStateNamespace(this.where.cluster, this.where.namespace, error);
      throw error;
    }
  }

  private async replace(body: V1ConfigMap): Promise<V1ConfigMap> {
    const { server, core } = await this.apis();
    const { namespace } = this.where;
    const name = body.metadata?.name ?? '';
    return write(this.op(server, 'update', name), () => core.replaceNamespacedConfigMap({ name, namespace, body }, callOptions(this.policy)));
  }

  private async remove(configMap: V1ConfigMap): Promise<void> {
    const { server, core } = await this.apis();
    const { namespace } = this.where;
    const name = configMap.metadata?.name ?? '';
    const resourceVersion = configMap.metadata?.resourceVersion;
    await write(this.op(server, 'delete', name), () =>
      core.deleteNamespacedConfigMap({ name, namespace, body: { preconditions: { resourceVersion } } }, callOptions(this.policy)),
    );
  }

  private conflict(name: string, error: unknown): ApiError {
    const { cluster, namespace } = this.where;
    return new ApiError(
      `ConfigMap ${namespace}/${name} on cluster ${cluster} was changed by another writer since this process read it (resourceVersion conflict, HTTP 409), and this process does not hold the run lock (Lease ${namespace}/${this.names.lease}): it was not overwritten. Check \`cutover status\`: another cutover may be running this runbook.`,
      409,
      error,
    );
  }

  /** The copy made aside is no longer the object: deleting it would lose what changed. */
  private changedWhileArchiving(name: string): HaltError {
    const { cluster, namespace } = this.where;
    return new HaltError(
      `ConfigMap ${namespace}/${name} on cluster ${cluster} changed while the finished run was being archived: it was kept`,
      'Check `cutover status` for another cutover of this runbook, then run `cutover execute` again to archive it afresh.',
    );
  }

  /**
   * Runs `attempt` until it lands: a conflict is retried only under the run lock, an unclear failure
   * after a pause; `attempt` re-reads when told it is a retry, and may find its write already there.
   */
  private async writeWithRetries(name: () => string, attempt: (retry: boolean) => Promise<void>): Promise<void> {
    let last: unknown;
    for (let n = 0; n < MAX_WRITE_ATTEMPTS; n++) {
      try {
        await attempt(n > 0);
        return;
      } catch (error) {
        last = error;
        if (isConflict(error)) {
          if (!(await this.holdsLock())) throw this.conflict(name(), error);
        } else if (isUnclear(error)) {
          await this.policy.clock.sleep(Math.min(this.policy.maxBackoffMs, this.policy.firstBackoffMs * 2 ** n));
        } else {
          throw error;
        }
      }
    }
    throw last;
  }

  private async holdsLock(): Promise<boolean> {
    return this.held !== undefined && (await this.held.holds());
  }

  async save(run: PersistedRun): Promise<void> {
    const text = JSON.stringify(run);
    checkSnapshotFits(text, this.location);
    const { namespace, runbook } = this.where;
    const name = this.names.snapshot;
    await this.writeWithRetries(() => name, async (retry) => {
      if (retry || this.snapshot === undefined) this.snapshot = (await this.getConfigMap(name)) ?? null;
      const current = this.snapshot;
      // A retry may find that the attempt whose answer was lost did land.
      if (retry && current?.data?.[SNAPSHOT_KEY] === text) return;
      const resourceVersion = current?.metadata?.resourceVersion;
      const body = stateConfigMap({ name, namespace, runbook, part: 'snapshot', data: { [SNAPSHOT_KEY]: text }, ...(resourceVersion ? { resourceVersion } : {}) });
      this.snapshot = undefined;
      this.snapshot = current ? await this.replace(body) : await this.create(body);
    });
  }

  async appendJournal(...entries: JournalEntry[]): Promise<void> {
    // One line per write: each keeps its own lost-answer check, and a chunk boundary can fall between any two.
    for (const entry of entries) await this.appendLine(journalLine(entry));
  }

  private async appendLine(line: string): Promise<void> {
    // The chunk a conflict is about: the last one known, or the first when there is none yet.
    const chunkName = () => this.names.chunk(Math.max(0, this.tail?.index ?? 0));
    await this.writeWithRetries(chunkName, async (retry) => {
      if (retry || this.tail === undefined) this.tail = await this.findTail();
      const tail = this.tail;
      const text = tail.configMap?.data?.[JOURNAL_KEY];
      if (retry && text?.endsWith(line)) return;
      this.tail = undefined;
      this.tail = await this.writeLine(tail, text, line);
    });
  }

  private async findTail(): Promise<JournalTail> {
    const chunks = await this.journalChunks();
    const last = chunks[chunks.length - 1];
    return last ? { index: chunkIndex(last) ?? 0, configMap: last } : { index: -1 };
  }

  private async writeLine(tail: JournalTail, text: string | undefined, line: string): Promise<JournalTail> {
    const { namespace, runbook } = this.where;
    const placement = placeJournalLine(tail.configMap ? (text ?? '') : undefined, line, this.chunkBytes);
    if (placement === 'append' && tail.configMap) {
      const resourceVersion = tail.configMap.metadata?.resourceVersion;
      const body = stateConfigMap({
        name: this.names.chunk(tail.index),
        namespace,
        runbook,
        part: 'journal',
        chunk: tail.index,
        data: { [JOURNAL_KEY]: `${text ?? ''}${line}` },
        ...(resourceVersion ? { resourceVersion } : {}),
      });
      return { index: tail.index, configMap: await this.replace(body) };
    }
    const index = tail.index + 1;
    const body = stateConfigMap({ name: this.names.chunk(index), namespace, runbook, part: 'journal', chunk: index, data: { [JOURNAL_KEY]: line } });
    return { index, configMap: await this.create(body) };
  }

  async lock(request: LockRequest): Promise<RunLock> {
    const lock = await acquireLeaseLock(await this.leaseTarget(), request, { ...this.options.lock, policy: this.policy });
    this.held = lock;
    return lock;
  }

  private async leaseTarget(): Promise<LeaseTarget> {
    const { server, coordination } = await this.apis();
    const { cluster, namespace, runbook } = this.where;
    return { api: coordination, cluster, server, namespace, name: this.names.lease, labels: ownerLabels(runbook) };
  }

  /**
   * Moves the current run aside, as the local store renames its files into runs/<runId>/: ConfigMaps
   * cannot be renamed, so each is copied under the run's name first and deleted after (the snapshot
   * last). A crash in between leaves the snapshot in place, so the next execute archives again; every
   * copy is idempotent.
   */
  async archive(runId: string): Promise<void> {
    const key = archiveKey(runId, this.where.runbook);
    const chunks = await this.journalChunks();
    const snapshot = await this.getConfigMap(this.names.snapshot);
    for (const chunk of chunks) {
      const index = chunkIndex(chunk) ?? 0;
      await this.copyAside(chunk, this.names.archivedChunk(key, index), 'archived-journal', runId, index);
    }
    if (snapshot) await this.copyAside(snapshot, this.names.archivedSnapshot(key), 'archived-snapshot', runId);
    for (const chunk of chunks) await this.removeCurrent(chunk);
    if (snapshot) await this.removeCurrent(snapshot);
    this.snapshot = null;
    this.tail = { index: -1 };
  }

  private async copyAside(source: V1ConfigMap, name: string, part: StatePart, runId: string, chunk?: number): Promise<void> {
    const { namespace, runbook } = this.where;
    const data = source.data ?? {};
    const spec = { name, namespace, runbook, part, data, runId, ...(chunk === undefined ? {} : { chunk }) };
    await this.writeWithRetries(() => name, async (retry) => {
      const existing = retry ? await this.getConfigMap(name) : undefined;
      if (existing && sameData(existing.data, data)) return;
      const resourceVersion = existing?.metadata?.resourceVersion;
      await (existing ? this.replace(stateConfigMap({ ...spec, ...(resourceVersion ? { resourceVersion } : {}) })) : this.create(stateConfigMap(spec)));
    });
  }

  /** Deletes a current-run object only as it was read when copied; gone already counts as done. */
  private async removeCurrent(configMap: V1ConfigMap): Promise<void> {
    const name = configMap.metadata?.name ?? '';
    await this.writeWithRetries(() => name, async (retry) => {
      const current = retry ? await this.getConfigMap(name) : configMap;
      if (!current) return;
      if (retry && !sameData(current.data, configMap.data)) throw this.changedWhileArchiving(name);
      try {
        await this.remove(current);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    });
  }
}

function sameData(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  return JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());
}

/** The store `state: { kubernetes: { cluster, namespace } }` names, reached like any environment cluster. */
export function openKubernetesStateStore(loaded: LoadedRunbook, options: KubernetesStateOptions = {}): KubernetesStateStore {
  const { environment: env, environmentFile } = loaded;
  const state = env.state;
  if (!state || !('kubernetes' in state)) throw new InputError(`${environmentFile}: state.kubernetes is not set`);
  const { cluster, namespace } = state.kubernetes;
  if (cluster === undefined) {
    // The management cluster: the one this process runs in, through its pod's ServiceAccount.
    const connection = lazyConnection(() => Promise.resolve(inClusterConnection(environmentFile)));
    return new KubernetesStateStore({ cluster: IN_CLUSTER, namespace, runbook: loaded.runbook.name }, connection, options);
  }
  const config = env.clusters[cluster];
  if (!config) {
    throw new InputError(`invalid state in ${environmentFile}`, [
      { file: environmentFile, path: 'state.kubernetes.cluster', message: `unknown cluster "${cluster}"; expected one of: ${Object.keys(env.clusters).join(', ')}` },
    ]);
  }
  const connection = lazyConnection(() => connectCluster(cluster, config, env, environmentFile));
  return new KubernetesStateStore({ cluster, namespace, runbook: loaded.runbook.name }, connection, options);
}
