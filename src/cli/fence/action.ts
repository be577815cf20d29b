// `cutover fence`: installs (or updates) the runbook's fence on one cluster, then shows its state and every
// copy that is enabled there although the cluster does not own it.
import { loadRunbook } from '../../config/load.js';
import type { LoadedRunbook } from '../../config/types.js';
import { InputError } from '../../core/errors.js';
import type { FencePort, Ownership } from '../../core/fence.js';
import type { ClusterPort, Ports } from '../../core/ports.js';
import type { Plan } from '../../plan/types.js';
import { describeFence, fenceScope, fenceWarnings, type ClusterFence } from '../../plan/fence.js';
import type { CliContext, RunbookOptions } from '../context.js';
import { paint } from '../io.js';
import { connect } from '../planning.js';
import type { FenceOptions } from './command.js';

export async function fence(options: FenceOptions, context: CliContext): Promise<void> {
  const loaded = await loadRunbook(options.file, options.env !== undefined ? { environment: options.env } : {});
  const ownership = defaultOwnership(loaded, options.on, options.default);
  const { port, fence: fencePort } = await fenceOf(loaded, options.on);
  const scope = fenceScope(loaded.runbook);
  await fencePort.install(scope, options.mode, ownership);
  context.io.stdout.write(`fenced ${port.name} for runbook ${scope.runbook} (mode ${options.mode})\n`);
  await showFence(context, loaded, port, fencePort);
}

function defaultOwnership(loaded: LoadedRunbook, cluster: string, asked: Ownership | undefined): Ownership {
  if (asked) return asked;
  const { from, to } = loaded.runbook;
  if (cluster === from) return 'owned';
  if (cluster === to) return 'fenced';
  throw new InputError(`--on ${cluster} is neither the runbook's source (${from}) nor its target (${to}): say which CronJobs it owns with --default owned|fenced`);
}

/** The cluster's ports, refused with a clear message for an unknown cluster or the sandbox. */
export async function fenceOf(loaded: LoadedRunbook, cluster: string, options: Pick<RunbookOptions, 'file'> = { file: loaded.runbookFile }): Promise<{ port: ClusterPort; fence: FencePort }> {
  const known = Object.keys(loaded.environment.clusters);
  if (!known.includes(cluster)) {
    throw new InputError(`--on: cluster "${cluster}" is not in ${loaded.environmentFile} (clusters there: ${known.join(', ') || 'none'})`);
  }
  if (loaded.environment.sandbox !== undefined) {
    throw new InputError(`${loaded.environmentFile}: the sandbox has no admission control to fence; fence a real cluster (${options.file})`);
  }
  const ports = await connect(loaded);
  const port = ports.clusters[cluster]!;
  if (!port.fence) throw new InputError(`cluster "${cluster}" cannot be fenced: it is not a Kubernetes cluster`);
  return { port, fence: port.fence };
}

export async function showFence(context: CliContext, loaded: LoadedRunbook, port: ClusterPort, fencePort: FencePort): Promise<void> {
  const scope = fenceScope(loaded.runbook);
  const state = await fencePort.state(scope);
  const role = port.name === loaded.runbook.from ? 'source' : 'target';
  const entry: ClusterFence = { cluster: port.name, role, state };
  const excluded = new Set(scope.exclude);
  const copies = (await port.listCronJobs({ namespaces: scope.namespaces, ...(scope.selector ? { labelSelector: scope.selector } : {}) }))
    .filter((c) => !excluded.has(`${c.namespace}/${c.name}`))
    .map((c) => ({ ref: { namespace: c.namespace, name: c.name }, cluster: port.name, enabled: !c.suspend }));
  context.io.stdout.write(`${describeFence(entry)}\n`);
  const yellow = paint(context.color(context.io.stderr)).yellow;
  for (const warning of fenceWarnings([entry], copies)) context.io.stderr.write(`${yellow('warning:')} ${warning}\n`);
}

/**
 * The fence section of `cutover plan`: each cluster's fence state, and warnings where a copy could be
 * enabled on the cluster that does not own it: the section on stdout, the warnings on stderr.
 */
export async function showPlanFences(context: CliContext, loaded: LoadedRunbook, ports: Ports, plan: Plan): Promise<void> {
  const scope = fenceScope(loaded.runbook);
  const roles = [
    { cluster: plan.from, role: 'source' as const },
    { cluster: plan.to, role: 'target' as const },
  ];
  const fences: ClusterFence[] = await Promise.all(
    roles.map(async ({ cluster, role }) => {
      const fencePort = ports.clusters[cluster]?.fence;
      return fencePort ? { cluster, role, state: await fencePort.state(scope) } : { cluster, role };
    }),
  );
  const copies = plan.cronJobs.flatMap((entry) => [
    ...(entry.source.present ? [{ ref: entry.ref, cluster: plan.from, enabled: entry.source.suspend === false }] : []),
    ...(entry.target.present ? [{ ref: entry.ref, cluster: plan.to, enabled: entry.target.suspend === false }] : []),
  ]);
  context.io.stdout.write(`\nfence\n${fences.map((f) => `  ${describeFence(f)}`).join('\n')}\n`);
  const yellow = paint(context.color(context.io.stderr)).yellow;
  for (const warning of fenceWarnings(fences, copies)) context.io.stderr.write(`${yellow('warning:')} fence: ${warning}\n`);
}
