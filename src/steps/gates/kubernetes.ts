// `gate: kubernetes`: every Deployment and StatefulSet in the namespaces (or matching the selector) of a
// cluster fully available — typically the target cluster before traffic moves to it.
import type { GateSpec } from '../../config/types.js';
import { InputError } from '../../core/errors.js';
import type { WorkloadsPort } from '../../core/ports.js';
import { API_POLL_MS, pass, wait, type GateCheck, type Verdict } from './types.js';

type KubernetesSpec = Extract<GateSpec, { type: 'kubernetes' }>;
type Workload = Awaited<ReturnType<WorkloadsPort['workloads']>>[number];

export function judgeWorkloads(spec: KubernetesSpec, workloads: Workload[]): Verdict {
  const evidence = {
    cluster: spec.cluster,
    workloads: Object.fromEntries(workloads.map((w) => [`${w.kind}/${w.namespace}/${w.name}`, `${w.available}/${w.desired} available`])),
  };
  // None found is more likely a rollout not applied yet (or a wrong namespace) than success: keep looking.
  if (workloads.length === 0) return wait(`no Deployment or StatefulSet found on ${spec.cluster} in ${spec.namespaces.join(', ')}${spec.selector ? ` with ${spec.selector}` : ''}`, evidence);
  const short = workloads.filter((w) => w.available < w.desired);
  if (short.length === 0) return pass(`${workloads.length} workload(s) fully available on ${spec.cluster}`, evidence);
  return wait(`not fully available on ${spec.cluster}: ${short.map((w) => `${w.kind}/${w.namespace}/${w.name} ${w.available}/${w.desired}`).join(', ')}`, evidence);
}

export function kubernetesCheck(spec: KubernetesSpec, ports: Record<string, WorkloadsPort>): GateCheck {
  const port = ports[spec.cluster];
  if (!port) throw new InputError(`gate kubernetes: cluster "${spec.cluster}" is not in the environment (has: ${Object.keys(ports).join(', ')})`);
  return {
    intervalMs: API_POLL_MS,
    check: async () => judgeWorkloads(spec, await port.workloads(spec.namespaces, spec.selector)),
  };
}
