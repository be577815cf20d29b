// The Kubernetes state store and its Lease lock against a real API server: what a run leaves in the
// state namespace, how a second writer or a second run is refused, and how a lock changes hands.
import { beforeAll, describe, expect, it } from 'vitest';
import { CoordinationV1Api, CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import type { ClusterConnection } from '../../src/adapters/k8s/client.js';
import { KubernetesStateStore, type KubernetesStateOptions } from '../../src/adapters/k8s/state-store.js';
import type { LoadedRunbook, Step } from '../../src/config/types.js';
import { ApiError, HaltError, LockedError } from '../../src/core/errors.js';
import { executeRun, findRun, readRunJournal } from '../../src/engine/run.js';
import { openStateStore, type PersistedRun } from '../../src/engine/store.js';
import type { Plan } from '../../src/plan/types.js';
import type { StepExecutors } from '../../src/steps/index.js';
import type { JournalEntry, Reporter, StepExecutor } from '../../src/steps/types.js';
import { createNamespace, kubeConfigFor, labEnvironmentPath, uniqueName } from '../support/lab.js';
import { loadedRunbook } from '../support/builders.js';

const kubeConfig = kubeConfigFor('blue');
const server = kubeConfig.getCurrentCluster()!.server;
const connection = async (): Promise<ClusterConnection> => ({ kubeConfig, server });
const core = kubeConfig.makeApiClient(CoreV1Api);
const coordination = kubeConfig.makeApiClient(CoordinationV1Api);

let namespace: string;
beforeAll(async () => {
  namespace = await createNamespace('blue', 'state-store');
});

function storeFor(runbook: string, options: KubernetesStateOptions = {}): KubernetesStateStore {
  return new KubernetesStateStore({ cluster: 'blue', namespace, runbook }, connection, options);
}

const plan: Plan = {
  runbook: 'state-e2e',
  environment: 'lab',
  from: 'blue',
  to: 'green',
  observedAt: '2025-06-01T10:00:00.000Z',
  fingerprint: 'sha256:test',
  cronJobs: [],
  steps: [],
  messages: [],
};

function persistedRun(runbook: string, runId: string, status: PersistedRun['status'], note = ''): PersistedRun {
  return {
    version: 1,
    runId,
    runbook,
    startedAt: '2025-06-01T10:00:00.000Z',
    startedBy: 'alice',
    stepKinds: ['moveCronJobs'],
    status,
    plan,
    snapshot: { status: 'active', value: 'step0', context: { current: 0, note } as never },
  };
}

const entry = (n: number, message = `write ${n}`): JournalEntry => ({ at: new Date(Date.UTC(2025, 5, 1, 10, 0, n)).toISOString(), type: 'write', message });

async function configMapsOf(runbook: string, part: string): Promise<V1ConfigMap[]> {
  const list = await core.listNamespacedConfigMap({ namespace, labelSelector: `cutover.dev/runbook=${runbook},cutover.dev/part=${part}` });
  return list.items;
}

async function configMap(name: string): Promise<V1ConfigMap | undefined> {
  try {
    return await core.readNamespacedConfigMap({ name, namespace });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

describe('KubernetesStateStore', () => {
  it('keeps the run in ConfigMap cutover-<runbook> and the journal in chunks, readable from another machine', async () => {
    const runbook = uniqueName('round-trip');
    const store = storeFor(runbook, { journalChunkBytes: 2048 });
    const run = persistedRun(runbook, `${runbook}-20250601T100000-ab12`, 'running');
    await store.save(run);
    await store.save({ ...run, snapshot: { ...run.snapshot, value: 'step1' } });
    const entries = Array.from({ length: 40 }, (_, i) => entry(i, `write ${i} ${'x'.repeat(i * 3)}`));
    for (const e of entries) await store.appendJournal(e);

    // A second store stands in for another machine: it sees what the first wrote.
    const elsewhere = storeFor(runbook);
    expect(await elsewhere.load()).toEqual({ ...run, snapshot: { ...run.snapshot, value: 'step1' } });
    expect(await elsewhere.readJournal()).toEqual(entries);
    expect(elsewhere.location).toBe(`ConfigMap ${namespace}/cutover-${runbook} on cluster blue`);

    const snapshot = await configMap(`cutover-${runbook}`);
    expect(snapshot?.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'cutover',
      'cutover.dev/runbook': runbook,
      'cutover.dev/part': 'snapshot',
    });
    expect(Object.keys(snapshot?.data ?? {})).toEqual(['snapshot.json']);
    const chunks = await configMapsOf(runbook, 'journal');
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.metadata?.name).toMatch(new RegExp(`^cutover-${runbook}-journal-\\d+$`));
      expect(Buffer.byteLength(chunk.data?.['journal.ndjson'] ?? '')).toBeLessThanOrEqual(2048);
    }
  });

  it('archives a finished run aside, so the next run starts with an empty journal; archiving again is harmless', async () => {
    const runbook = uniqueName('archive');
    const store = storeFor(runbook, { journalChunkBytes: 512 });
    const runId = `${runbook}-20250601T100000-ab12`;
    await store.save(persistedRun(runbook, runId, 'done'));
    for (let i = 0; i < 8; i++) await store.appendJournal(entry(i));
    const chunkCount = (await configMapsOf(runbook, 'journal')).length;

    await store.archive(runId);
    expect(await store.load()).toBeUndefined();
    expect(await store.readJournal()).toEqual([]);
    expect(await configMapsOf(runbook, 'journal')).toEqual([]);

    const archived = (await configMap(`cutover-${runbook}-run-20250601t100000-ab12`))!;
    expect(archived.metadata!.labels!['cutover.dev/part']).toBe('archived-snapshot');
    expect(archived.metadata!.annotations!['cutover.dev/run-id']).toBe(runId);
    expect(JSON.parse(archived.data!['snapshot.json']!)).toMatchObject({ runId, status: 'done' });
    const archivedChunks = await configMapsOf(runbook, 'archived-journal');
    expect(archivedChunks).toHaveLength(chunkCount);
    const archivedText = archivedChunks
      .sort((a, b) => Number(a.metadata?.labels?.['cutover.dev/journal-chunk']) - Number(b.metadata?.labels?.['cutover.dev/journal-chunk']))
      .map((c) => c.data?.['journal.ndjson'])
      .join('');
    expect(archivedText.trim().split('\n').map((line) => (JSON.parse(line) as JournalEntry).message)).toEqual(
      Array.from({ length: 8 }, (_, i) => `write ${i}`),
    );

    await store.archive(runId);
    const next = persistedRun(runbook, `${runbook}-20250601T110000-cd34`, 'running');
    await store.save(next);
    await store.appendJournal(entry(1, 'next run'));
    expect(await storeFor(runbook).readJournal()).toEqual([entry(1, 'next run')]);
    expect((await configMapsOf(runbook, 'journal')).map((c) => c.metadata?.name)).toEqual([`cutover-${runbook}-journal-0`]);
  });

  it('refuses a run too big for a ConfigMap with a clear message, and writes nothing', async () => {
    const runbook = uniqueName('too-big');
    const store = storeFor(runbook);
    const huge = persistedRun(runbook, `${runbook}-20250601T100000-ab12`, 'running', 'x'.repeat(1024 * 1024));
    const saving = store.save(huge);
    await expect(saving).rejects.toThrow(HaltError);
    await expect(saving).rejects.toThrow(/more than the 1024 KiB a ConfigMap can hold .* it was not saved/);
    expect(await configMap(`cutover-${runbook}`)).toBeUndefined();
  });

  it('names the missing state namespace (cutover never creates it) when locking or saving there', async () => {
    const missing = uniqueName('no-such-namespace');
    const store = new KubernetesStateStore({ cluster: 'blue', namespace: missing, runbook: 'x' }, connection);
    const message = `the state namespace ${missing} does not exist on cluster blue: create it and grant cutover the Role in deploy/rbac/cutover-state.role.yaml there`;
    await expect(store.lock({ steal: false })).rejects.toThrow(message);
    await expect(store.save(persistedRun('x', 'r', 'running'))).rejects.toThrow(message);
    expect(await store.load()).toBeUndefined();
  });

  it('stops a writer without the run lock that lost a resourceVersion race (409), leaving the other write in place', async () => {
    const runbook = uniqueName('conflict');
    const holder = storeFor(runbook, { lock: { user: 'alice' } });
    const lock = await holder.lock({ steal: false });
    await holder.save(persistedRun(runbook, 'r', 'running', 'first'));

    const stray = storeFor(runbook);
    await stray.load(); // reads resourceVersion N
    await holder.save(persistedRun(runbook, 'r', 'running', 'second')); // N → N+1
    const write = stray.save(persistedRun(runbook, 'r', 'running', 'stray'));
    await expect(write).rejects.toThrow(ApiError);
    await expect(write).rejects.toMatchObject({ status: 409 });
    await expect(write).rejects.toThrow(
      `ConfigMap ${namespace}/cutover-${runbook} on cluster blue was changed by another writer since this process read it (resourceVersion conflict, HTTP 409), and this process does not hold the run lock`,
    );
    expect((await storeFor(runbook).load())?.snapshot.context).toMatchObject({ note: 'second' });

    // The same for the journal: the stray writer's view of the last chunk is stale.
    await stray.appendJournal(entry(1, 'stray first'));
    await holder.appendJournal(entry(2, 'holder'));
    await expect(stray.appendJournal(entry(3, 'stray again'))).rejects.toMatchObject({ status: 409 });
    expect((await storeFor(runbook).readJournal()).map((e) => e.message)).toEqual(['stray first', 'holder']);
    await lock.release();
  });

  it('lets the lock holder re-read and write again after someone else changed its ConfigMap', async () => {
    const runbook = uniqueName('holder-retry');
    const store = storeFor(runbook);
    const lock = await store.lock({ steal: false });
    await store.save(persistedRun(runbook, 'r', 'running', 'first'));
    await store.appendJournal(entry(1, 'first'));
    // A stray write behind the holder's back (kubectl edit): the holder's resourceVersions are now stale.
    const name = `cutover-${runbook}`;
    const current = await core.readNamespacedConfigMap({ name, namespace });
    await core.replaceNamespacedConfigMap({ name, namespace, body: { ...current, metadata: { ...current.metadata, annotations: { touched: 'yes' } } } });
    const chunk = await core.readNamespacedConfigMap({ name: `${name}-journal-0`, namespace });
    await core.replaceNamespacedConfigMap({ name: `${name}-journal-0`, namespace, body: { ...chunk, metadata: { ...chunk.metadata, annotations: { touched: 'yes' } } } });

    await store.save(persistedRun(runbook, 'r', 'running', 'second'));
    await store.appendJournal(entry(2, 'second'));
    expect((await storeFor(runbook).load())?.snapshot.context).toMatchObject({ note: 'second' });
    expect((await storeFor(runbook).readJournal()).map((e) => e.message)).toEqual(['first', 'second']);
    await lock.release();
  });
});

describe('Lease run lock', () => {
  async function lease(runbook: string) {
    return coordination.readNamespacedLease({ name: `cutover-${runbook}`, namespace });
  }

  it('lets exactly one of two concurrent acquirers win; the other is refused with holder, since and expiry', async () => {
    const runbook = uniqueName('two-runs');
    const results = await Promise.allSettled([
      storeFor(runbook, { lock: { user: 'alice', host: 'ops-1' } }).lock({ steal: false }),
      storeFor(runbook, { lock: { user: 'bob', host: 'ops-2' } }).lock({ steal: false }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = won[0]!.value;
    const refusal = lost[0]!.reason as LockedError;
    expect(refusal).toBeInstanceOf(LockedError);
    expect(refusal.message).toBe(
      `run locked by ${winner.holder.holder} since ${winner.holder.since} (expires ${winner.holder.expiresAt})\nWait for that run to finish or stop it.`,
    );

    const stored = await lease(runbook);
    expect(stored.spec?.holderIdentity).toBe(winner.holder.holder);
    expect(stored.spec?.holderIdentity).toMatch(/^(alice@ops-1|bob@ops-2)\/\d+\/[0-9a-f]{8}$/);
    expect(stored.spec?.leaseDurationSeconds).toBe(120);
    expect(stored.spec?.leaseTransitions).toBe(0);
    // MicroTime on the wire: six fractional digits.
    expect(String(stored.spec?.acquireTime)).toMatch(/\.\d{6}Z$/);
    expect(stored.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'cutover', 'cutover.dev/runbook': runbook });
    expect(await storeFor(runbook).lockHolder()).toEqual(winner.holder);

    await winner.release();
    expect(await storeFor(runbook).lockHolder()).toBeUndefined();
  });

  it('takes over without --steal-lock a Lease whose holder process is gone on this host; on another host only expiry frees it (issue 14)', async () => {
    const runbook = uniqueName('gone');
    // Not this test process's own pid, which the lock never takes for a dead holder.
    const gone = process.pid === 4242 ? 4243 : 4242;
    await storeFor(runbook, { lock: { user: 'alice', host: 'ops-1', pid: gone } }).lock({ steal: false });
    const deadHere = (pid: number) => pid !== gone;

    const elsewhere = storeFor(runbook, { lock: { user: 'carol', host: 'ops-2', isProcessAlive: deadHere } }).lock({ steal: true });
    await expect(elsewhere).rejects.toThrow(LockedError);
    await expect(elsewhere).rejects.toThrow(`run locked by alice@ops-1/${gone}/`);

    const next = await storeFor(runbook, { lock: { user: 'bob', host: 'ops-1', isProcessAlive: deadHere } }).lock({ steal: false });
    expect(next.holder.holder).toMatch(/^bob@ops-1\//);
    expect((await lease(runbook)).spec?.leaseTransitions).toBe(1);
    await next.release();
  });

  it('refuses a takeover before expiry even with steal, and after expiry without it; takes it after expiry with steal', async () => {
    const runbook = uniqueName('takeover');
    const start = Date.now();
    const at = (ms: number) => () => new Date(start + ms);
    const first = await storeFor(runbook, { lock: { user: 'alice', now: at(0) } }).lock({ steal: false, ttlMs: 60_000 });

    const early = storeFor(runbook, { lock: { user: 'bob', now: at(30_000) } }).lock({ steal: true });
    await expect(early).rejects.toThrow(`run locked by ${first.holder.holder}`);
    await expect(early).rejects.toThrow('cannot be stolen');

    const unasked = storeFor(runbook, { lock: { user: 'bob', now: at(120_000) } }).lock({ steal: false });
    await expect(unasked).rejects.toThrow(
      `The lock looks stale (it expired at ${first.holder.expiresAt}). If that run is really gone, take the lock over with --steal-lock.`,
    );

    const thief = storeFor(runbook, { lock: { user: 'bob', now: at(120_000) } });
    const second = await thief.lock({ steal: true });
    expect(second.holder.holder).toMatch(/^bob@/);
    const stored = await lease(runbook);
    expect(stored.spec?.holderIdentity).toBe(second.holder.holder);
    expect(stored.spec?.leaseTransitions).toBe(1);

    // The first holder learns it lost the lock at its next renewal, and its release leaves the new holder alone.
    const renewal = first.renew();
    await expect(renewal).rejects.toThrow(HaltError);
    await expect(renewal).rejects.toThrow(`lost the run lock: it is now held by ${second.holder.holder}`);
    await first.release();
    expect((await lease(runbook)).spec?.holderIdentity).toBe(second.holder.holder);

    await second.release();
    expect(await thief.lockHolder()).toBeUndefined();
  });

  it('renews by moving renewTime and the expiry forward under the same holder', async () => {
    const runbook = uniqueName('renew');
    let now = Date.now();
    const lock = await storeFor(runbook, { lock: { now: () => new Date(now) } }).lock({ steal: false, ttlMs: 60_000 });
    const before = await lease(runbook);
    now += 20_000;
    await lock.renew();
    const after = await lease(runbook);
    expect(after.spec?.holderIdentity).toBe(before.spec?.holderIdentity);
    expect(Date.parse(String(after.spec?.renewTime)) - Date.parse(String(before.spec?.renewTime))).toBe(20_000);
    expect(String(after.spec?.acquireTime)).toBe(String(before.spec?.acquireTime));
    expect(Date.parse(lock.holder.expiresAt)).toBe(now + 60_000);
    await lock.release();
  });
});

describe('state: { kubernetes } in the environment', () => {
  const silent: Reporter = { step: () => {}, info: () => {}, warn: () => {}, waiting: () => {} };
  const unexpected: StepExecutor = async (rt) => {
    throw new Error(`no executor for ${rt.step.kind} in this test`);
  };
  const steps: Step[] = [{ kind: 'moveCronJobs' }];
  const executors = {
    preflight: unexpected,
    moveCronJobs: async (rt) => {
      await rt.update({ moved: 1 });
      return { moved: 1 };
    },
    shiftTraffic: unexpected,
    gate: unexpected,
    approve: unexpected,
  } as StepExecutors;

  function loaded(runbook: string): LoadedRunbook {
    return {
      ...loadedRunbook({
        runbook: { name: runbook, steps },
        environment: { clusters: { blue: { kubeconfig: { context: 'lab-blue', path: '../.lab/kubeconfig' } } }, state: { kubernetes: { cluster: 'blue', namespace } } },
      }),
      runbookFile: labEnvironmentPath.replace(/config[/\\]lab\.yaml$/, 'workflows/state.yaml'),
      environmentFile: labEnvironmentPath,
    };
  }

  it('runs a runbook with its state in the cluster, refuses a second execute while the Lease is held, archives the done run', async () => {
    const runbook = uniqueName('engine');
    const options = { loaded: loaded(runbook), plan, ports: { clusters: {}, approvals: {}, workloads: {} }, reporter: silent, startedBy: 'alice', autoApprove: false, executors };

    const first = await executeRun(options);
    expect(first.status).toBe('done');
    const record = await findRun(loaded(runbook));
    expect(record).toMatchObject({ runId: first.runId, status: 'done', location: `ConfigMap ${namespace}/cutover-${runbook} on cluster blue` });
    expect(record?.snapshot.context.progress[0]?.output).toEqual({ moved: 1 });
    expect(record?.lock).toBeUndefined();
    const journal = await readRunJournal(loaded(runbook));
    expect(journal.filter((e) => e.type === 'transition').map((e) => e.message)).toEqual(['start → step0', 'step0 → done']);

    const held = await openStateStore(loaded(runbook)).lock({ steal: false });
    await expect(executeRun(options)).rejects.toThrow(`run locked by ${held.holder.holder} since ${held.holder.since}`);
    await held.release();

    const second = await executeRun(options);
    expect(second.status).toBe('done');
    expect(second.runId).not.toBe(first.runId);
    expect(await configMapsOf(runbook, 'archived-snapshot')).toHaveLength(1);
    expect((await readRunJournal(loaded(runbook))).filter((e) => e.type === 'run')[0]?.message).toBe(`run ${second.runId} started by alice`);
  });
});
