// FencePort over client-node: the runbook's admission policy and binding (server-side applied, cutover's
// field manager), the per-namespace ownership records, and the dry run that asks the server whether it
// would admit a resume. Objects come from the pure builders in fence-spec.ts.
import {
  AdmissionregistrationV1Api,
  AdmissionregistrationV1beta1Api,
  ApiException,
  ApiextensionsV1Api,
  BatchV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { ApiError, HaltError } from '../../core/errors.js';
import type { FenceMode, FencePort, FenceRecord, FenceScope, FenceState, Ownership } from '../../core/fence.js';
import type { CronJobRef } from '../../core/types.js';
import { makeApiClient, type ClusterConnection } from './client.js';
import type { Operation } from './errors.js';
import { serverMessage } from './errors.js';
import {
  FENCE_FIELD_MANAGER,
  FENCE_RECORD,
  fencePolicyName,
  labelSelector,
  mutatingBinding,
  mutatingPolicy,
  ownershipPatch,
  PROBE_NAME,
  RECORD_CRD,
  RECORD_GROUP,
  RECORD_PLURAL,
  RECORD_VERSION,
  recordDefinition,
  recordObject,
  recordOf,
  validatingBinding,
  validatingPolicy,
} from './fence-spec.js';
import { suspendPatch } from './patches.js';
import { callOptions, defaultRequestPolicy, read, write, type RequestPolicy } from './request.js';

interface Apis {
  server: string;
  admission: AdmissionregistrationV1Api;
  admissionBeta: AdmissionregistrationV1beta1Api;
  custom: CustomObjectsApi;
  extensions: ApiextensionsV1Api;
  batch: BatchV1Api;
}

const ADMISSION = 'admissionregistration.k8s.io';
const applyType = () => setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const merge = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const RECORD_SEEN_MS = 60_000;

/** A suspended CronJob for dry runs only: never stored. */
const probeCronJob = (labels: Record<string, string>, suspend: boolean) => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name: PROBE_NAME, labels },
  spec: {
    schedule: '0 0 1 1 *',
    suspend,
    jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'probe', image: 'probe' }] } } } },
  },
});

/** Labels that the runbook's selector selects, so the probe is judged by the fence like its CronJobs. */
function probeLabels(selector: string | undefined): Record<string, string> {
  if (!selector) return {};
  const parsed = labelSelector(selector);
  const labels: Record<string, string> = { ...parsed.matchLabels };
  for (const e of parsed.matchExpressions ?? []) {
    if (e.operator === 'In') labels[e.key] = e.values?.[0] ?? '';
    if (e.operator === 'Exists') labels[e.key] = 'probe';
  }
  return labels;
}

const notFound = (error: unknown): boolean => error instanceof ApiException && error.code === 404;

/** Resolves to undefined where the server answers 404. */
async function orMissing<T>(send: () => Promise<T>): Promise<T | undefined> {
  try {
    return await send();
  } catch (error) {
    if (notFound(error)) return undefined;
    throw error;
  }
}

export class KubernetesFence implements FencePort {
  private clients: { from: ClusterConnection; apis: Apis } | undefined;

  constructor(
    readonly name: string,
    private readonly connection: () => Promise<ClusterConnection>,
    private readonly policy: RequestPolicy = defaultRequestPolicy,
  ) {}

  private async apis(): Promise<Apis> {
    const connection = await this.connection();
    if (this.clients?.from !== connection) {
      const { kubeConfig, server } = connection;
      this.clients = {
        from: connection,
        apis: {
          server,
          admission: makeApiClient(kubeConfig, AdmissionregistrationV1Api),
          admissionBeta: makeApiClient(kubeConfig, AdmissionregistrationV1beta1Api),
          custom: makeApiClient(kubeConfig, CustomObjectsApi),
          extensions: makeApiClient(kubeConfig, ApiextensionsV1Api),
          batch: makeApiClient(kubeConfig, BatchV1Api),
        },
      };
    }
    return this.clients.apis;
  }

  private op(server: string, verb: string, resource: string, group: string, ref?: Partial<CronJobRef>): Operation {
    return { cluster: this.name, server, verb, resource, group, ...ref };
  }

  async servesMutatingPolicies(): Promise<boolean> {
    const { server, admissionBeta } = await this.apis();
    const op = this.op(server, 'get', `/apis/${ADMISSION}/v1beta1`, ADMISSION);
    const list = await read(op, this.policy, () => orMissing(() => admissionBeta.getAPIResources(callOptions(this.policy))));
    return (list?.resources ?? []).some((r) => r.name === 'mutatingadmissionpolicies');
  }

  async state(scope: FenceScope): Promise<FenceState> {
    const [mode, records] = await Promise.all([
      this.mode(scope.runbook).catch((error: unknown) => {
        // A run's credentials need not read cluster-scoped policies (deploy/rbac/cutover-fence is optional).
        if (error instanceof ApiError && error.status === 403) return { unreadable: error.message.split('\n')[0] ?? 'forbidden' };
        throw error;
      }),
      this.records(scope.namespaces),
    ]);
    if (typeof mode === 'object') return { records, ...mode };
    return { ...(mode ? { mode } : {}), records };
  }

  private async mode(runbook: string): Promise<FenceMode | undefined> {
    const { server, admission, admissionBeta } = await this.apis();
    const name = fencePolicyName(runbook);
    const op = this.op(server, 'get', 'validatingadmissionpolicybindings', ADMISSION, { name });
    const binding = await read(op, this.policy, () =>
      orMissing(() => admission.readValidatingAdmissionPolicyBinding({ name }, callOptions(this.policy))),
    );
    if (binding) return binding.spec?.validationActions?.includes('Deny') ? 'Deny' : 'Warn';
    if (!(await this.servesMutatingPolicies())) return undefined;
    const mop = this.op(server, 'get', 'mutatingadmissionpolicybindings', ADMISSION, { name });
    const mutating = await read(mop, this.policy, () =>
      orMissing(() => admissionBeta.readMutatingAdmissionPolicyBinding({ name }, callOptions(this.policy))),
    );
    return mutating ? 'Mutate' : undefined;
  }

  private async records(namespaces: string[]): Promise<Record<string, FenceRecord | undefined>> {
    const entries = await Promise.all(namespaces.map(async (ns) => [ns, await this.record(ns)] as const));
    return Object.fromEntries(entries);
  }

  async record(namespace: string): Promise<FenceRecord | undefined> {
    const { server, custom } = await this.apis();
    const op = this.op(server, 'get', RECORD_PLURAL, RECORD_GROUP, { namespace, name: FENCE_RECORD });
    const found = (await read(op, this.policy, () =>
      orMissing(() =>
        custom.getNamespacedCustomObject(
          { group: RECORD_GROUP, version: RECORD_VERSION, namespace, plural: RECORD_PLURAL, name: FENCE_RECORD },
          callOptions(this.policy),
        ),
      ),
    )) as { spec?: Parameters<typeof recordOf>[0] } | undefined;
    // Not served (no definition yet) reads as no record.
    return found ? recordOf(found.spec) : undefined;
  }

  /** The FenceRecord definition, applied when missing; waits until the server serves it. */
  private async ensureDefinition(): Promise<void> {
    const { server, extensions } = await this.apis();
    const op = this.op(server, 'get', 'customresourcedefinitions', 'apiextensions.k8s.io', { name: RECORD_CRD });
    const established = async () => {
      const crd = await read(op, this.policy, () => orMissing(() => extensions.readCustomResourceDefinition({ name: RECORD_CRD }, callOptions(this.policy))));
      return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    };
    if (await established()) return;
    const apply = this.op(server, 'patch', 'customresourcedefinitions', 'apiextensions.k8s.io', { name: RECORD_CRD });
    await write(apply, () =>
      extensions.patchCustomResourceDefinition(
        { name: RECORD_CRD, body: recordDefinition(), fieldManager: FENCE_FIELD_MANAGER, force: true },
        callOptions(this.policy, applyType()),
      ),
    );
    const deadline = this.policy.clock.now().getTime() + RECORD_SEEN_MS;
    while (!(await established())) {
      if (this.policy.clock.now().getTime() > deadline) {
        throw new HaltError(`cluster ${this.name} did not establish the ${RECORD_CRD} definition in ${RECORD_SEEN_MS / 1000} s.`, 'Check the apiserver, then run `cutover fence` again.');
      }
      await this.policy.clock.sleep(250);
    }
  }

  async install(scope: FenceScope, mode: FenceMode, defaultOwnership: Ownership): Promise<void> {
    if (mode === 'Mutate' && !(await this.servesMutatingPolicies())) {
      throw new HaltError(
        `cluster ${this.name} does not serve ${ADMISSION}/v1beta1 MutatingAdmissionPolicy, which --mode Mutate needs.`,
        'Use --mode Deny (or Warn), or enable the API on the apiserver (--runtime-config and the MutatingAdmissionPolicy feature gate).',
      );
    }
    // Records first: once the binding exists, a fenced namespace without its record refuses every write.
    await this.ensureDefinition();
    await Promise.all(scope.namespaces.map((ns) => this.ensureRecord(ns, defaultOwnership)));
    // Records written before the probe existed get its entry too.
    await Promise.all(scope.namespaces.map((ns) => this.setOwnership({ namespace: ns, name: PROBE_NAME }, 'fenced')));
    if (mode === 'Mutate') {
      await this.applyObject('mutatingadmissionpolicies', mutatingPolicy(scope));
      await this.applyObject('mutatingadmissionpolicybindings', mutatingBinding(scope));
      await this.removeValidating(scope.runbook);
    } else {
      await this.applyObject('validatingadmissionpolicies', validatingPolicy(scope));
      await this.applyObject('validatingadmissionpolicybindings', validatingBinding(scope, mode));
      if (await this.servesMutatingPolicies()) await this.removeMutating(scope.runbook);
    }
    const labels = probeLabels(scope.selector);
    await Promise.all(scope.namespaces.map((ns) => this.awaitInForce(ns, labels, mode)));
  }

  /**
   * The apiserver reads the records through an informer it starts for a new binding, and a new policy or
   * binding takes effect through another: for a moment after install, writes are judged by the old state
   * (or refused as if the record were missing). Dry-run creates of a probe CronJob, which every record keeps
   * fenced, tell when the fence is in force: in mode Deny an enabled probe is refused with the fence's own
   * message and a suspended one admitted; in the other modes the suspended one is admitted.
   */
  private async awaitInForce(namespace: string, labels: Record<string, string>, mode: FenceMode): Promise<void> {
    const deadline = this.policy.clock.now().getTime() + RECORD_SEEN_MS;
    for (;;) {
      const suspended = await this.probe(namespace, labels, true);
      const enabled = mode === 'Deny' ? await this.probe(namespace, labels, false) : 'cutover fence:';
      if (suspended === undefined && enabled?.includes('cutover fence:')) return;
      // Without `create` on cronjobs the probe cannot ask; the fence is installed all the same.
      if ([suspended, enabled].some((said) => said !== undefined && /forbidden: User/.test(said))) return;
      const last = suspended ?? enabled ?? 'the enabled probe was admitted';
      if (this.policy.clock.now().getTime() > deadline) {
        throw new HaltError(
          `cluster ${this.name} has the fence installed, but after ${RECORD_SEEN_MS / 1000} s its apiserver still does not enforce it in ${namespace}: ${last}`,
          'Run `cutover fence` again in a moment; if it persists, check the apiserver (`cutover plan` shows the fence).',
        );
      }
      await this.policy.clock.sleep(500);
    }
  }

  /** Undefined when a dry-run create of the probe is admitted, else what the server said. */
  private async probe(namespace: string, labels: Record<string, string>, suspend: boolean): Promise<string | undefined> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'create', 'cronjobs', 'batch', { namespace, name: PROBE_NAME });
    try {
      await write(op, () =>
        batch.createNamespacedCronJob({ namespace, body: probeCronJob(labels, suspend), dryRun: 'All', fieldManager: FENCE_FIELD_MANAGER }, callOptions(this.policy)),
      );
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  private async ensureRecord(namespace: string, defaultOwnership: Ownership): Promise<void> {
    const { server, custom } = await this.apis();
    const existing = await this.record(namespace);
    if (existing) return;
    const op = this.op(server, 'create', RECORD_PLURAL, RECORD_GROUP, { namespace, name: FENCE_RECORD });
    try {
      await write(op, () =>
        custom.createNamespacedCustomObject(
          { group: RECORD_GROUP, version: RECORD_VERSION, namespace, plural: RECORD_PLURAL, body: recordObject(namespace, defaultOwnership), fieldManager: FENCE_FIELD_MANAGER },
          callOptions(this.policy),
        ),
      );
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof ApiException && cause.code === 409) return; // created meanwhile: keep it as it is
      if (cause instanceof ApiException && cause.code === 404) {
        throw new HaltError(
          `namespace ${namespace} does not exist on cluster ${this.name}, so its ownership record cannot be written.`,
          `Create the namespace first (\`kubectl create namespace ${namespace}\`), then run \`cutover fence\` again, before deploying CronJobs there.`,
        );
      }
      throw error;
    }
  }

  private async applyObject(resource: string, body: Record<string, unknown>): Promise<void> {
    const { server, admission, admissionBeta } = await this.apis();
    const name = (body['metadata'] as { name: string }).name;
    const op = this.op(server, 'patch', resource, ADMISSION, { name });
    const params = { name, body, fieldManager: FENCE_FIELD_MANAGER, force: true };
    const options = callOptions(this.policy, applyType());
    await write(op, async () => {
      switch (resource) {
        case 'validatingadmissionpolicies':
          return admission.patchValidatingAdmissionPolicy(params, options);
        case 'validatingadmissionpolicybindings':
          return admission.patchValidatingAdmissionPolicyBinding(params, options);
        case 'mutatingadmissionpolicies':
          return admissionBeta.patchMutatingAdmissionPolicy(params, options);
        default:
          return admissionBeta.patchMutatingAdmissionPolicyBinding(params, options);
      }
    });
  }

  async remove(runbook: string): Promise<{ removed: string[] }> {
    const removed = [...(await this.removeValidating(runbook))];
    if (await this.servesMutatingPolicies()) removed.push(...(await this.removeMutating(runbook)));
    return { removed };
  }

  /** Binding first: a policy without its binding enforces nothing, a binding without its policy fails. */
  private async removeValidating(runbook: string): Promise<string[]> {
    const { server, admission } = await this.apis();
    const name = fencePolicyName(runbook);
    const removed: string[] = [];
    const b = this.op(server, 'delete', 'validatingadmissionpolicybindings', ADMISSION, { name });
    if (await write(b, () => orMissing(() => admission.deleteValidatingAdmissionPolicyBinding({ name }, callOptions(this.policy))))) {
      removed.push(`ValidatingAdmissionPolicyBinding/${name}`);
    }
    const p = this.op(server, 'delete', 'validatingadmissionpolicies', ADMISSION, { name });
    if (await write(p, () => orMissing(() => admission.deleteValidatingAdmissionPolicy({ name }, callOptions(this.policy))))) {
      removed.push(`ValidatingAdmissionPolicy/${name}`);
    }
    return removed;
  }

  private async removeMutating(runbook: string): Promise<string[]> {
    const { server, admissionBeta } = await this.apis();
    const name = fencePolicyName(runbook);
    const removed: string[] = [];
    const b = this.op(server, 'delete', 'mutatingadmissionpolicybindings', ADMISSION, { name });
    if (await write(b, () => orMissing(() => admissionBeta.deleteMutatingAdmissionPolicyBinding({ name }, callOptions(this.policy))))) {
      removed.push(`MutatingAdmissionPolicyBinding/${name}`);
    }
    const p = this.op(server, 'delete', 'mutatingadmissionpolicies', ADMISSION, { name });
    if (await write(p, () => orMissing(() => admissionBeta.deleteMutatingAdmissionPolicy({ name }, callOptions(this.policy))))) {
      removed.push(`MutatingAdmissionPolicy/${name}`);
    }
    return removed;
  }

  async setOwnership(ref: CronJobRef, ownership: Ownership): Promise<FenceRecord> {
    const { server, custom } = await this.apis();
    const op = this.op(server, 'patch', RECORD_PLURAL, RECORD_GROUP, { namespace: ref.namespace, name: FENCE_RECORD });
    const stored = (await write(op, () =>
      custom.patchNamespacedCustomObject(
        {
          group: RECORD_GROUP,
          version: RECORD_VERSION,
          namespace: ref.namespace,
          plural: RECORD_PLURAL,
          name: FENCE_RECORD,
          body: ownershipPatch(ref.name, ownership),
          fieldManager: FENCE_FIELD_MANAGER,
        },
        callOptions(this.policy, merge()),
      ),
    )) as { spec?: Parameters<typeof recordOf>[0] };
    return recordOf(stored.spec);
  }

  async admitsResume(ref: CronJobRef): Promise<{ admitted: boolean; reason?: string }> {
    const { server, batch } = await this.apis();
    const op = this.op(server, 'patch', 'cronjobs', 'batch', ref);
    try {
      const stored = await write(op, () =>
        batch.patchNamespacedCronJob(
          { name: ref.name, namespace: ref.namespace, body: suspendPatch(false), dryRun: 'All', fieldManager: FENCE_FIELD_MANAGER },
          callOptions(this.policy, merge()),
        ),
      );
      // Mode Mutate admits the write but stores suspend: true.
      return stored.spec?.suspend === true ? { admitted: false, reason: 'the fence keeps it suspended (mode Mutate)' } : { admitted: true };
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      if (cause instanceof ApiException && (cause.code === 403 || cause.code === 422)) {
        return { admitted: false, reason: serverMessage(cause.body) ?? `HTTP ${cause.code}` };
      }
      throw error;
    }
  }
}

