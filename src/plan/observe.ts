// Gathers everything the planner needs, through the ports only: both clusters' versions, the CronJobs the
// runbook selects on BOTH clusters (a CronJob present on either side is in scope), the Jobs of those
// namespaces (to see what is still running), and the weighted DNS groups when the runbook shifts traffic.
// Independent reads run concurrently.
import type { LoadedRunbook } from '../config/types.js';
import { InputError } from '../core/errors.js';
import type { ClusterPort, Ports, WeightedRecord } from '../core/ports.js';
import type { CronJobSelector, ObservedJob } from '../core/types.js';
import { refKey } from '../core/types.js';
import type { Observation } from './types.js';
import { groupKey } from './weights.js';

type ClusterObservation = Observation['source'];

export async function observe(loaded: LoadedRunbook, ports: Ports, now: Date): Promise<Observation> {
  const { runbook } = loaded;
  const source = clusterOf(loaded, ports, runbook.from, 'source');
  const target = clusterOf(loaded, ports, runbook.to, 'target');
  const selector = selectorOf(loaded);
  const excluded = new Set(runbook.cronjobs.exclude);
  const [sourceSide, targetSide, dns] = await Promise.all([
    observeCluster(source, selector, excluded),
    observeCluster(target, selector, excluded),
    observeDns(loaded, ports),
  ]);
  return {
    observedAt: now.toISOString(),
    from: runbook.from,
    to: runbook.to,
    source: sourceSide,
    target: targetSide,
    ...(dns ? { dns } : {}),
  };
}

function clusterOf(loaded: LoadedRunbook, ports: Ports, name: string, role: 'source' | 'target'): ClusterPort {
  const port = ports.clusters[name];
  if (port) return port;
  const known = Object.keys(ports.clusters).join(', ') || 'none';
  throw new InputError(
    `${loaded.runbookFile}: the ${role} cluster "${name}" is not among the clusters of ${loaded.environmentFile} (${known})`,
  );
}

function selectorOf(loaded: LoadedRunbook): CronJobSelector {
  const { namespaces, selector } = loaded.runbook.cronjobs;
  return selector !== undefined && selector !== '' ? { namespaces, labelSelector: selector } : { namespaces };
}

async function observeCluster(
  cluster: ClusterPort,
  selector: CronJobSelector,
  excluded: ReadonlySet<string>,
): Promise<ClusterObservation> {
  const [version, cronJobs, jobs] = await Promise.all([
    cluster.version(),
    cluster.listCronJobs(selector),
    listJobs(cluster, selector.namespaces),
  ]);
  return {
    cluster: cluster.name,
    version,
    cronJobs: cronJobs.filter((c) => !excluded.has(refKey(c))),
    jobs,
  };
}

async function listJobs(cluster: ClusterPort, namespaces: string[]): Promise<ObservedJob[]> {
  const perNamespace = await Promise.all([...new Set(namespaces)].map((ns) => cluster.listJobs(ns)));
  return perNamespace.flat();
}

/** DNS is read only when the runbook shifts traffic and the environment names record groups. */
async function observeDns(loaded: LoadedRunbook, ports: Ports): Promise<Record<string, WeightedRecord[]> | undefined> {
  const groups = loaded.environment.dns?.records ?? [];
  const shifts = loaded.runbook.steps.some((step) => step.kind === 'shiftTraffic');
  if (!shifts || groups.length === 0 || !ports.dns) return undefined;
  const dns = ports.dns;
  // The DNS port throttles its own calls, so asking for every group at once is safe.
  const reads = await Promise.all(groups.map(async (g) => [groupKey(g.name, g.type), await dns.readGroup(g.name, g.type)] as const));
  return Object.fromEntries(reads);
}
