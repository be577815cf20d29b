// What `plan`, `preflight` and `cutover fence` say about the fences: each cluster's fence state, and a
// warning wherever a copy could be enabled on a cluster that does not own it. Pure: the states are read by
// the caller through the clusters' FencePorts.
import type { Runbook } from '../config/types.js';
import { ownershipOf, type FenceScope, type FenceState } from '../core/fence.js';
import type { CronJobRef } from '../core/types.js';
import { refKey } from '../core/types.js';

/** The runbook's CronJob selection, as the fence enforces it. */
export function fenceScope(runbook: Runbook): FenceScope {
  const base = runbook.name.replace(/-rollback$/, '');
  return {
    runbook: base,
    namespaces: [...runbook.cronjobs.namespaces],
    ...(runbook.cronjobs.selector ? { selector: runbook.cronjobs.selector } : {}),
    exclude: [...runbook.cronjobs.exclude],
  };
}

export interface ClusterFence {
  cluster: string;
  role: 'source' | 'target';
  /** Undefined where the cluster has no fence port (the sandbox). */
  state?: FenceState;
}

/** One copy as observed: whether it is enabled on `cluster`. */
export interface CopySighting {
  ref: CronJobRef;
  cluster: string;
  enabled: boolean;
}

export function describeFence(fence: ClusterFence): string {
  const { state } = fence;
  if (!state) return `${fence.cluster} (${fence.role}): no fence (not a Kubernetes cluster)`;
  const records = Object.entries(state.records);
  const recorded = records
    .map(([ns, record]) => {
      if (!record) return `${ns}: no record`;
      const owned = Object.values(record.cronJobs).filter((o) => o === 'owned').length;
      const fenced = Object.values(record.cronJobs).filter((o) => o === 'fenced').length;
      return `${ns}: default ${record.default}, ${owned} owned, ${fenced} fenced`;
    })
    .join('; ');
  const mode = state.unreadable ? 'fence unknown (the policy cannot be read)' : state.mode ? `fenced (mode ${state.mode})` : 'not fenced';
  return `${fence.cluster} (${fence.role}): ${mode}${recorded ? ` — ${recorded}` : ''}`;
}

/** Where a copy could run on a cluster that does not own it, or the fence would stop the run. */
export function fenceWarnings(fences: ClusterFence[], copies: CopySighting[]): string[] {
  return [...fences.flatMap(clusterFenceWarnings), ...copies.flatMap((copy) => unownedCopyWarnings(fences, copy))];
}

function clusterFenceWarnings(fence: ClusterFence): string[] {
  const { state } = fence;
  if (!state) return [];
  if (state.unreadable) return [`cannot tell whether ${fence.cluster} is fenced: ${state.unreadable}`];
  if (!state.mode) {
    return [
      `${fence.cluster} has no fence: a deploy there (helm, Argo CD, Flux, kubectl apply) can enable a copy it does not own; ` +
        `\`cutover fence -f RUNBOOK --on ${fence.cluster}\` installs one`,
    ];
  }
  const warnings: string[] = [];
  if (state.mode === 'Warn') warnings.push(`${fence.cluster}'s fence is in mode Warn: it reports copies enabled where not owned but lets them through`);
  for (const [ns, record] of Object.entries(state.records)) {
    if (!record) warnings.push(`${fence.cluster} is fenced but namespace ${ns} has no ownership record: every CronJob write there is refused; run \`cutover fence\` again`);
  }
  return warnings;
}

function unownedCopyWarnings(fences: ClusterFence[], copy: CopySighting): string[] {
  const state = fences.find((f) => f.cluster === copy.cluster)?.state;
  const record = state?.records[copy.ref.namespace];
  if (!copy.enabled || !state?.mode || !record || ownershipOf(record, copy.ref.name) !== 'fenced') return [];
  return [`${refKey(copy.ref)} is enabled on ${copy.cluster}, which does not own it (it was enabled before the fence); the fence refuses its next update unless it is suspended`];
}
