// The bench's own access to the lab clusters: it makes the CronJobs the tools then move, checks what the
// tools left behind, deletes it all again, and reads the apiservers' request counters.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { repoRoot } from './paths.mjs';
import { MERGE_PATCH, RestError, request } from './rest.mjs';

export const kubeconfigPath = join(repoRoot, '.lab', 'kubeconfig');
export const contextOf = (cluster) => `lab-${cluster}`;

/** A schedule whose next tick is months away (midnight, 1 January), so no Job interferes with a round. */
export const FAR_SCHEDULE = '0 0 1 1 *';

const call = (cluster, method, path, options) => request(kubeconfigPath, contextOf(cluster), method, path, options);
const cronJobsPath = (namespace) => `/apis/batch/v1/namespaces/${namespace}/cronjobs`;

/** Runs `work` over `items`, at most `limit` at a time; rejects with the first failure. */
export async function inParallel(items, limit, work) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * A CronJob shaped like a helm-deployed one (script from a ConfigMap, env, resources), so list and plan
 * sizes are realistic. Created suspended on the target, enabled on the source.
 */
export function benchCronJob(name, suspend) {
  return {
    metadata: {
      name,
      labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'bench', team: 'bench' },
      annotations: { 'bench.cutover.dev/purpose': 'handoff benchmark' },
    },
    spec: {
      schedule: FAR_SCHEDULE,
      suspend,
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          ttlSecondsAfterFinished: 3600,
          template: {
            metadata: { labels: { 'app.kubernetes.io/name': name } },
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'task',
                  image: 'registry.example.com/batch/runner:1.42.0',
                  command: ['/bin/sh', '/scripts/run.sh'],
                  env: [
                    { name: 'TASK', value: name },
                    { name: 'DB_HOST', value: 'db.internal.example.com' },
                    { name: 'LOG_LEVEL', value: 'info' },
                  ],
                  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
                  volumeMounts: [{ name: 'scripts', mountPath: '/scripts' }],
                },
              ],
              volumes: [{ name: 'scripts', configMap: { name: `${name}-scripts` } }],
            },
          },
        },
      },
    },
  };
}

/**
 * `count` CronJobs spread evenly over `namespaces` fresh namespaces named `<prefix>-<random>-<i>`, on the
 * source (enabled) and the target (suspended). Returns the namespaces and the CronJob refs.
 */
export async function createRound(prefix, count, namespaces, { source, target, concurrency = 24 }) {
  const id = randomBytes(3).toString('hex');
  const names = Array.from({ length: namespaces }, (_, i) => `${prefix}-${id}-${i}`);
  const refs = Array.from({ length: count }, (_, i) => ({ namespace: names[i % namespaces], name: `task-${String(i).padStart(5, '0')}` }));
  for (const cluster of [source, target]) {
    await inParallel(names, concurrency, (name) =>
      call(cluster, 'POST', '/api/v1/namespaces', { body: { metadata: { name, labels: { 'bench.cutover.dev/round': id } } } }),
    );
  }
  const creates = refs.flatMap((ref) => [
    { cluster: source, ref, suspend: false },
    { cluster: target, ref, suspend: true },
  ]);
  await inParallel(creates, concurrency, ({ cluster, ref, suspend }) =>
    call(cluster, 'POST', cronJobsPath(ref.namespace), { body: benchCronJob(ref.name, suspend) }),
  );
  return { id, namespaces: names, refs };
}

/** Deletes the round's namespaces on both clusters and waits until they are gone, so the next round runs on a quiet lab. */
export async function deleteRound(round, clusters, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  const gone = (error) => {
    if (!(error instanceof RestError && error.status === 404)) throw error;
  };
  for (const cluster of clusters) {
    await inParallel(round.namespaces, 8, (name) =>
      call(cluster, 'DELETE', `/api/v1/namespaces/${name}`, { body: { propagationPolicy: 'Background' } }).catch(gone),
    );
  }
  for (const cluster of clusters) {
    for (const name of round.namespaces) {
      for (;;) {
        const exists = await call(cluster, 'GET', `/api/v1/namespaces/${name}`).then(
          () => true,
          (error) => gone(error) ?? false,
        );
        if (!exists) break;
        if (Date.now() > deadline) throw new Error(`namespace ${name} on ${cluster} still exists ${timeoutMs / 1000} s after its deletion`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}

/** suspend of every CronJob of the round on one cluster, keyed `namespace/name`. */
export async function suspendStates(cluster, namespaces) {
  const states = new Map();
  for (const namespace of namespaces) {
    let token;
    do {
      const query = `?limit=500${token ? `&continue=${encodeURIComponent(token)}` : ''}`;
      const page = await call(cluster, 'GET', `${cronJobsPath(namespace)}${query}`);
      for (const item of page.items) states.set(`${namespace}/${item.metadata.name}`, item.spec.suspend === true);
      token = page.metadata?.continue;
    } while (token);
  }
  return states;
}

/**
 * Checks a tool really handed every CronJob over: suspended on the source, enabled on the target. A tool
 * that left one behind has not earned its time.
 */
export async function assertHandedOver(round, source, target) {
  const [onSource, onTarget] = await Promise.all([suspendStates(source, round.namespaces), suspendStates(target, round.namespaces)]);
  const wrong = round.refs
    .map((ref) => `${ref.namespace}/${ref.name}`)
    .filter((key) => onSource.get(key) !== true || onTarget.get(key) !== false);
  if (wrong.length > 0) {
    throw new Error(`${wrong.length} of ${round.refs.length} CronJobs were not handed over (e.g. ${wrong.slice(0, 3).join(', ')})`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// The apiserver's own request counter: counts everything any client sent, including kubectl's discovery.

const LABEL = /(\w+)="([^"]*)"/g;

/** apiserver_request_total summed by `VERB resource[/subresource]`, the bench's own /metrics reads left out. */
export async function requestCounters(cluster) {
  const text = await call(cluster, 'GET', '/metrics');
  const counters = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries([...line.slice(0, close).matchAll(LABEL)].map((m) => [m[1], m[2]]));
    if (labels.subresource === '/metrics') continue;
    const what = labels.resource ? `${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}` : labels.subresource || '?';
    const key = `${labels.verb} ${what}`;
    counters[key] = (counters[key] ?? 0) + Number(line.slice(close + 1).trim());
  }
  return counters;
}

/** What both clusters counted between two reads of `requestCounters`, by key, zero entries left out. */
export function counterDelta(before, after) {
  const delta = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d > 0) delta[key] = d;
  }
  return delta;
}

export async function bothCounters(clusters) {
  const read = await Promise.all(clusters.map((c) => requestCounters(c)));
  return Object.fromEntries(clusters.map((c, i) => [c, read[i]]));
}

/**
 * Runs `run` between two reads of both clusters' counters. `requests.tool` counts the requests a CronJob tool
 * can be answerable for (CronJobs, Jobs, discovery, version); `byKey` has everything, by cluster, verb and resource.
 */
export async function countRequests(clusters, run) {
  const before = await bothCounters(clusters);
  const result = await run();
  const after = await bothCounters(clusters);
  const byKey = {};
  for (const cluster of clusters) {
    for (const [key, n] of Object.entries(counterDelta(before[cluster], after[cluster]))) byKey[`${cluster} ${key}`] = n;
  }
  const total = Object.values(byKey).reduce((a, b) => a + b, 0);
  const tool = Object.entries(byKey)
    .filter(([key]) => TOOL_REQUEST.test(key.slice(key.indexOf(' ') + 1)))
    .reduce((a, [, n]) => a + n, 0);
  return { result, requests: { total, tool, byKey } };
}

/** Requests a CronJob handoff tool is answerable for: CronJob and Job calls and discovery, not the controllers' own. */
export const TOOL_REQUEST = /^(GET|PATCH|PUT|POST|LIST|DELETE) (cronjobs|cronjobs\/status|jobs|api|apis|openapi\/v2|openapi\/v3.*|version|\/version|selfsubjectaccessreviews|selfsubjectrulesreviews)$/;

// ---------------------------------------------------------------------------------------------------------
// The API's own limit for a handoff: the three writes no safe handoff can do without, and nothing else.

/** The latest tick of FAR_SCHEDULE at or before `now`: midnight UTC, 1 January of this year. */
const lastNewYear = (now) => `${now.getUTCFullYear()}-01-01T00:00:00Z`;

/**
 * Per CronJob: suspend on the source, write the target's lastScheduleTime baseline, resume on the target,
 * `concurrency` CronJobs in flight over keep-alive connections. Resolves with the per-CronJob gaps (source
 * suspend answered → target resume answered, ms).
 */
export async function minimalHandoff(round, source, target, concurrency) {
  const gaps = [];
  const baseline = lastNewYear(new Date());
  await inParallel(round.refs, concurrency, async (ref) => {
    const path = `${cronJobsPath(ref.namespace)}/${ref.name}`;
    await call(source, 'PATCH', path, { body: { spec: { suspend: true } }, contentType: MERGE_PATCH });
    const suspended = performance.now();
    await call(target, 'PATCH', `${path}/status`, { body: { status: { lastScheduleTime: baseline } }, contentType: MERGE_PATCH });
    await call(target, 'PATCH', path, { body: { spec: { suspend: false } }, contentType: MERGE_PATCH });
    gaps.push(performance.now() - suspended);
  });
  return gaps;
}
