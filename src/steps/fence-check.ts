// Preflight's look at the fences (docs/fence.md): each cluster's fence state is reported, every place a copy
// could be enabled on a cluster that does not own it is warned about and journaled, and where a cluster
// keeps ownership records the run must be allowed to move them (read and patch the namespace's FenceRecord):
// a handoff that could suspend the source but not record the move would stop with both copies suspended.
import type { PreflightStep } from '../config/types.js';
import { HaltError } from '../core/errors.js';
import { FENCE_RECORD } from '../core/fence.js';
import type { AccessCheck, ClusterPort } from '../core/ports.js';
import type { ObservedCronJob } from '../core/types.js';
import { describeFence, fenceScope, fenceWarnings, type ClusterFence, type CopySighting } from '../plan/fence.js';
import type { JsonValue, StepRuntime } from './types.js';

export async function checkFences(
  rt: StepRuntime<PreflightStep>,
  source: ClusterPort,
  target: ClusterPort,
  sightings: { source?: ObservedCronJob; target?: ObservedCronJob }[],
): Promise<Record<string, JsonValue>> {
  const scope = fenceScope(rt.run.loaded.runbook);
  const fences: ClusterFence[] = await Promise.all(
    [
      { port: source, role: 'source' as const },
      { port: target, role: 'target' as const },
    ].map(async ({ port, role }) => (port.fence ? { cluster: port.name, role, state: await port.fence.state(scope) } : { cluster: port.name, role })),
  );
  const copies: CopySighting[] = sightings.flatMap(({ source: s, target: t }) => [
    ...(s ? [{ ref: s, cluster: source.name, enabled: !s.suspend }] : []),
    ...(t ? [{ ref: t, cluster: target.name, enabled: !t.suspend }] : []),
  ]);
  for (const fence of fences) rt.run.reporter.info(`fence: ${describeFence(fence)}`);
  for (const warning of fenceWarnings(fences, copies)) {
    rt.run.reporter.warn(`fence: ${warning}`);
    await rt.run.journal.append({ type: 'warning', step: rt.index, message: `fence: ${warning}` });
  }
  await checkRecordAccess([source, target], fences);
  return Object.fromEntries(fences.map((f) => [f.cluster, f.state?.mode ?? 'none']));
}

async function checkRecordAccess(ports: ClusterPort[], fences: ClusterFence[]): Promise<void> {
  const denied: string[] = [];
  await Promise.all(
    ports.map(async (port) => {
      const records = fences.find((f) => f.cluster === port.name)?.state?.records ?? {};
      const checks: AccessCheck[] = Object.entries(records)
        .filter(([, record]) => record !== undefined)
        .flatMap(([namespace]) => ['get', 'patch'].map((verb) => ({ verb, group: 'cutover.dev', resource: 'fencerecords', namespace })));
      if (checks.length === 0) return;
      const verdicts = await port.canI(checks);
      checks.forEach((check, i) => {
        if (!verdicts[i]?.allowed) denied.push(`  ${port.name}: ${check.verb} fencerecords.cutover.dev/${FENCE_RECORD} in ${check.namespace}`);
      });
    }),
  );
  if (denied.length === 0) return;
  throw new HaltError(
    `The run's credentials may not move CronJob ownership in the fence records; nothing has been changed. Refused:\n${denied.join('\n')}`,
    'Grant them (deploy/rbac/cutover-operator.clusterrole.yaml), then re-run `cutover execute` to resume.',
  );
}
