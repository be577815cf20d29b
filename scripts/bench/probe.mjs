// Loaded into a cutover CLI process by the bench only (`node --import scripts/bench/probe.mjs`), never by
// users. At exit it writes what it saw to $BENCH_PROBE_OUT as JSON:
//   - peak RSS of the process (getrusage maxrss), always;
//   - with $BENCH_PROBE_SOURCE / $BENCH_PROBE_TARGET (cluster names): a counting decorator around every
//     ClusterPort method of the Kubernetes adapter (requests by cluster and method), and per CronJob the
//     instants the ownerless gap is measured between: the first read of the source copy, made after the
//     source suspend was acknowledged, that shows it suspended ("source confirmed suspended"), and the
//     acknowledgement of the target's resume ("target enabled");
//   - with $BENCH_PROBE_TRACE=1 (for profiling a slow figure): every port call and every save and journal
//     append of the local state store, with start and end.
// The decorator wraps the adapter class's prototype: the CLI builds its own ports, and this is the one
// place every one of their calls passes through.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const out = process.env.BENCH_PROBE_OUT;
const source = process.env.BENCH_PROBE_SOURCE;
const target = process.env.BENCH_PROBE_TARGET;
/** Epoch milliseconds with sub-millisecond resolution, comparable with Date.now() of other processes. */
const now = () => performance.timeOrigin + performance.now();

const tracing = process.env.BENCH_PROBE_TRACE === '1';
const seen = { startedAt: now(), calls: {}, failures: {}, cronjobs: {}, trace: [] };

/** Wraps `prototype[method]` so every call is traced as [label, detail, start, end]. */
function traced(prototype, method, label, detail) {
  const original = prototype[method];
  prototype[method] = async function tracedCall(...args) {
    const startedAt = now();
    try {
      return await original.apply(this, args);
    } finally {
      seen.trace.push([label(this), detail(args), startedAt, now()]);
    }
  };
}

const METHODS = ['version', 'listCronJobs', 'getCronJob', 'setSuspend', 'setLastScheduleTime', 'listJobs'];

function instants(ref) {
  const key = `${ref.namespace}/${ref.name}`;
  return (seen.cronjobs[key] ??= {});
}

function note(cluster, method, args, result, startedAt, endedAt) {
  const [ref, value] = args;
  if (method === 'setSuspend' && cluster === source && value === true) {
    const at = instants(ref);
    at.sourceSuspendSent ??= startedAt;
    at.sourceSuspendAcked ??= endedAt;
  } else if (method === 'getCronJob' && cluster === source && result?.suspend === true) {
    const at = instants(ref);
    if (at.sourceSuspendAcked !== undefined && at.sourceConfirmed === undefined && startedAt >= at.sourceSuspendAcked) at.sourceConfirmed = endedAt;
  } else if (method === 'setSuspend' && cluster === target && value === false) {
    const at = instants(ref);
    at.targetEnableSent ??= startedAt;
    at.targetEnabled ??= endedAt;
  }
}

function decorate(prototype) {
  for (const method of METHODS) {
    const original = prototype[method];
    if (typeof original !== 'function') throw new Error(`bench probe: the cluster adapter has no method ${method}`);
    prototype[method] = async function counted(...args) {
      const key = `${this.name} ${method}`;
      // A CronJob list is one request per namespace (every list of the bench fits in one page).
      const requests = method === 'listCronJobs' ? (args[0]?.namespaces?.length ?? 1) : 1;
      seen.calls[key] = (seen.calls[key] ?? 0) + requests;
      const startedAt = now();
      try {
        const result = await original.apply(this, args);
        note(this.name, method, args, result, startedAt, now());
        return result;
      } catch (error) {
        seen.failures[key] = (seen.failures[key] ?? 0) + 1;
        throw error;
      }
    };
  }
}

if (source && target) {
  const { KubernetesCluster } = await import(new URL('../../dist/adapters/k8s/cluster.js', import.meta.url).href);
  decorate(KubernetesCluster.prototype);
  if (tracing) {
    const refOf = (args) => (args[0] && typeof args[0] === 'object' ? `${args[0].namespace ?? ''}/${args[0].name ?? ''}` : String(args[0] ?? ''));
    for (const method of METHODS) traced(KubernetesCluster.prototype, method, (port) => `${port.name} ${method}`, refOf);
    const { LocalStateStore } = await import(new URL('../../dist/engine/store.js', import.meta.url).href);
    traced(LocalStateStore.prototype, 'save', () => 'store save', () => '');
    traced(LocalStateStore.prototype, 'appendJournal', () => 'store appendJournal', (args) => args[0]?.type ?? '');
  }
}

process.on('exit', () => {
  if (!out) return;
  seen.exitedAt = now();
  seen.maxRssKb = process.resourceUsage().maxRSS;
  writeFileSync(out, JSON.stringify(seen));
});
