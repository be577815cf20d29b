// Step `preflight`: checks, without writing anything, that the run can do what the plan says:
//   - both clusters answer (their version) with the run's credentials;
//   - the plan has no blocked CronJob (each is refused with its reason);
//   - every CronJob of the plan is still there on both clusters; one recreated since the plan, or whose
//     suspend state changed, is journaled as drift (the handoff reads both copies again anyway).
//   - when the runbook asks Slack for approvals, the Slack app, channel and approvers are usable (the
//     approval port's own preflight), so a run does not move CronJobs and then stop at an approval that
//     could never be given.
//   - the credentials may do every read and write of the handoff, in every namespace it moves CronJobs in
//     (SelfSubjectAccessReview on each cluster): a target that refused the baseline would otherwise leave
//     a CronJob suspended on both clusters. Listing the CronJobs proves `list`.
// The AWS account pin (environment aws.accountId) is checked where the ports are created, since steps
// never talk to AWS directly.
import type { ApproveStep, PreflightStep } from '../config/types.js';
import { ApiError, HaltError } from '../core/errors.js';
import type { AccessCheck, ClusterPort } from '../core/ports.js';
import { refKey, type ObservedCronJob } from '../core/types.js';
import type { CronJobPlanEntry, CronJobSide } from '../plan/types.js';
import { checkFences } from './fence-check.js';
import { clusterPort, movableEntries, refuseBlocked } from './handoff/plan.js';
import type { JsonValue, StepExecutor, StepRuntime } from './types.js';

interface Sighting {
  entry: CronJobPlanEntry;
  source?: ObservedCronJob;
  target?: ObservedCronJob;
}

export const preflight: StepExecutor<PreflightStep> = async (rt) => {
  const { plan, ports, reporter } = rt.run;
  refuseBlocked(plan);
  const source = clusterPort(ports, plan.from, 'source');
  const target = clusterPort(ports, plan.to, 'target');
  const [sourceVersion, targetVersion] = await Promise.all([source.version(), target.version()]);
  reporter.info(`${source.name} answers (${sourceVersion}), ${target.name} answers (${targetVersion})`);
  const entries = movableEntries(plan);
  const namespaces = [...new Set(entries.map((e) => e.ref.namespace))];
  const sightings = await sight(source, target, entries, namespaces);
  refuseMissing(source, target, sightings);
  const permissions = await checkPermissions(rt, source, target, namespaces);
  const fence = await checkFences(rt, source, target, sightings);
  const drifted = await journalDrift(rt, sightings);
  reporter.info(`${entries.length} CronJob(s) present on both clusters${drifted > 0 ? `, ${drifted} changed since the plan` : ''}`);
  await checkSlackApprovals(rt);
  return { sourceVersion, targetVersion, cronJobs: entries.length, drifted, permissions, fence } satisfies Record<string, JsonValue>;
};

/**
 * What the handoff does in each namespace: on the source, suspend and drain; on the target, baseline, resume,
 * verify, and (missedRuns latest or all) start the Jobs of missed ticks and list them in status.active.
 */
function accessNeeded(namespace: string, side: 'source' | 'target', catchUp: boolean): AccessCheck[] {
  const batch = (verb: string, resource: string, subresource?: string): AccessCheck => ({
    verb,
    group: 'batch',
    resource,
    namespace,
    ...(subresource ? { subresource } : {}),
  });
  const checks = [batch('get', 'cronjobs'), batch('patch', 'cronjobs'), batch('list', 'jobs')];
  if (side === 'source') return checks;
  const startsJobs = catchUp ? [batch('create', 'jobs'), batch('get', 'jobs')] : [];
  return [...checks, batch('patch', 'cronjobs', 'status'), ...startsJobs];
}

const describeCheck = (c: AccessCheck): string =>
  `${c.verb} ${c.resource}${c.subresource ? `/${c.subresource}` : ''} in ${c.namespace}`;

/**
 * Asks both clusters whether the run may do what the handoff does, and halts before any write when not.
 * Returns how many permissions were checked ('unchecked' when a cluster does not let its users ask).
 */
async function checkPermissions(
  rt: StepRuntime<PreflightStep>,
  source: ClusterPort,
  target: ClusterPort,
  namespaces: string[],
): Promise<number | 'unchecked'> {
  const catchUp = rt.run.loaded.runbook.cronjobs.missedRuns !== 'skip';
  const sides = [
    { port: source, checks: namespaces.flatMap((ns) => accessNeeded(ns, 'source', catchUp)) },
    { port: target, checks: namespaces.flatMap((ns) => accessNeeded(ns, 'target', catchUp)) },
  ];
  let verdicts;
  try {
    verdicts = await Promise.all(sides.map(({ port, checks }) => (checks.length > 0 ? port.canI(checks) : Promise.resolve([]))));
  } catch (error) {
    // Creating SelfSubjectAccessReviews is granted to every authenticated user by default; a cluster
    // that took it away leaves the first write of each kind to find out.
    if (error instanceof ApiError && error.status === 403) {
      rt.run.reporter.warn(`could not check permissions up front (${error.message}); the handoff's writes will tell`);
      return 'unchecked';
    }
    throw error;
  }
  const denied = sides.flatMap(({ port, checks }, i) =>
    checks.flatMap((check, j) => {
      const verdict = verdicts[i]?.[j];
      if (verdict?.allowed) return [];
      return [`  ${port.name}: ${describeCheck(check)}${verdict?.reason ? ` (${verdict.reason})` : ''}`];
    }),
  );
  if (denied.length > 0) {
    throw new HaltError(
      `The run's credentials may not do everything the handoff needs; nothing has been changed. Refused:\n${denied.join('\n')}`,
      'Grant them (deploy/rbac/cutover-operator.clusterrole.yaml, bound in each namespace), then re-run `cutover execute` to resume.',
    );
  }
  const count = sides.reduce((n, side) => n + side.checks.length, 0);
  rt.run.reporter.info(`permissions: all ${count} checked allowed (get and patch cronjobs, patch cronjobs/status, list jobs)`);
  return count;
}

/** Halts before anything changes when the runbook's Slack approvals could not be asked for or given. */
async function checkSlackApprovals(rt: StepRuntime<PreflightStep>): Promise<void> {
  const { loaded, ports, autoApprove, startedBy, reporter } = rt.run;
  const steps = loaded.runbook.steps.filter((s): s is ApproveStep => s.kind === 'approve' && s.via === 'slack');
  const check = ports.approvals.slack?.preflight;
  if (steps.length === 0 || autoApprove || !check) return;
  const approvers = [...new Set(steps.flatMap((s) => s.approvers ?? loaded.environment.slack?.approvers ?? []))];
  const problems = await check.call(ports.approvals.slack, { startedBy, approvers });
  if (problems.length > 0) {
    throw new HaltError(
      `Slack is not ready for the approvals of this runbook:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      'Fix the Slack app, channel or approvers (docs/approvals.md), then re-run `cutover execute` to resume.',
    );
  }
  reporter.info(`Slack ready for approvals by ${approvers.join(', ')}`);
}

/**
 * Every CronJob of the plan as both clusters have it now: one list per namespace and cluster (without the
 * runbook's label selector, so a copy whose labels changed is still found), not a read per CronJob.
 */
async function sight(source: ClusterPort, target: ClusterPort, entries: CronJobPlanEntry[], namespaces: string[]): Promise<Sighting[]> {
  const byKey = async (port: ClusterPort) =>
    new Map((namespaces.length > 0 ? await port.listCronJobs({ namespaces }) : []).map((cj) => [refKey(cj), cj]));
  const [onSource, onTarget] = await Promise.all([byKey(source), byKey(target)]);
  return entries.map((entry) => {
    const s = onSource.get(refKey(entry.ref));
    const t = onTarget.get(refKey(entry.ref));
    return { entry, ...(s ? { source: s } : {}), ...(t ? { target: t } : {}) };
  });
}

function refuseMissing(source: ClusterPort, target: ClusterPort, sightings: Sighting[]): void {
  const missing: string[] = [];
  for (const { entry, source: s, target: t } of sightings) {
    if (!s) missing.push(`  ${refKey(entry.ref)}: gone from the source cluster ${source.name}`);
    if (!t) missing.push(`  ${refKey(entry.ref)}: gone from the target cluster ${target.name}`);
  }
  if (missing.length === 0) return;
  throw new HaltError(
    `${missing.length} CronJob copy(ies) of the plan no longer exist:\n${missing.join('\n')}`,
    'Recreate them (suspended on the target) or exclude them, then run `cutover plan` again and execute the new plan.',
  );
}

/** What changed on a copy since the plan observed it, in words; empty when nothing that matters did. */
export function sideDrift(planned: CronJobSide, observed: ObservedCronJob): string[] {
  const changes: string[] = [];
  if (planned.uid !== undefined && planned.uid !== observed.uid) changes.push(`recreated (uid ${planned.uid} -> ${observed.uid})`);
  if (planned.suspend !== undefined && planned.suspend !== observed.suspend) {
    changes.push(`suspend ${String(planned.suspend)} -> ${String(observed.suspend)}`);
  }
  return changes;
}

async function journalDrift(rt: StepRuntime<PreflightStep>, sightings: Sighting[]): Promise<number> {
  let drifted = 0;
  for (const { entry, source, target } of sightings) {
    const changes = [
      ...(source ? sideDrift(entry.source, source).map((c) => `source ${c}`) : []),
      ...(target ? sideDrift(entry.target, target).map((c) => `target ${c}`) : []),
    ];
    if (changes.length === 0) continue;
    drifted += 1;
    const message = `${refKey(entry.ref)} changed since the plan: ${changes.join(', ')}`;
    rt.run.reporter.warn(`${message}; the handoff acts on what it reads then`);
    await rt.run.journal.append({ type: 'drift', step: rt.index, message, data: { ref: refKey(entry.ref), changes } });
  }
  return drifted;
}
