// Pure builders of the fence's Kubernetes objects: the admission policy and binding of a runbook, the
// ownership record of a namespace (a FenceRecord, cutover's own custom resource) and its definition. Sent by
// fence.ts; reasoning in docs/fence.md.
import { InputError } from '../../core/errors.js';
import { parseRequirement, selectorTerms } from '../../core/label-selector.js';
import { FENCE_RECORD, type FenceMode, type FenceRecord, type FenceScope, type Ownership } from '../../core/fence.js';

export { FENCE_RECORD };
export const RECORD_GROUP = 'cutover.dev';
export const RECORD_VERSION = 'v1';
export const RECORD_KIND = 'FenceRecord';
export const RECORD_PLURAL = 'fencerecords';
export const RECORD_CRD = `${RECORD_PLURAL}.${RECORD_GROUP}`;
/** A CronJob name the fence always keeps fenced: `cutover fence` proves the policy in force with it. */
export const PROBE_NAME = 'cutover-fence-probe';
/** The field manager of every fence write, so managedFields show who owns the record. */
export const FENCE_FIELD_MANAGER = 'cutover';
export const FENCE_LABELS = { 'app.kubernetes.io/managed-by': 'cutover', 'app.kubernetes.io/component': 'fence' };
export const RUNBOOK_LABEL = 'cutover.dev/runbook';

const ADMISSION_V1 = 'admissionregistration.k8s.io/v1';
const ADMISSION_V1BETA1 = 'admissionregistration.k8s.io/v1beta1';

/** A cluster-scoped object name for the runbook's policy: DNS subdomain, at most 253 characters. */
export function fencePolicyName(runbook: string): string {
  const safe = runbook
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `cutover-fence-${safe || 'runbook'}`.slice(0, 253);
}

// The ownership of the CronJob being admitted, from its namespace's record (params): its own entry, else
// the record's default; a record without either fences everything.
const OWNER =
  `!has(params.spec) ? 'fenced' : ((has(params.spec.cronJobs) && object.metadata.name in params.spec.cronJobs) ? ` +
  `params.spec.cronJobs[object.metadata.name] : (has(params.spec.default) ? params.spec.default : 'fenced'))`;
const PARAM_KIND = { apiVersion: `${RECORD_GROUP}/${RECORD_VERSION}`, kind: RECORD_KIND };
const SUSPENDED = 'has(object.spec.suspend) && object.spec.suspend == true';

const cel = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function matchConditions(scope: FenceScope): { name: string; expression: string }[] {
  if (scope.exclude.length === 0) return [];
  const list = scope.exclude.map(cel).join(', ');
  return [{ name: 'not-excluded', expression: `!((object.metadata.namespace + '/' + object.metadata.name) in [${list}])` }];
}

const matchConstraints = {
  resourceRules: [{ apiGroups: ['batch'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['cronjobs'] }],
};

const metadata = (scope: FenceScope) => ({
  name: fencePolicyName(scope.runbook),
  labels: { ...FENCE_LABELS, [RUNBOOK_LABEL]: fencePolicyName(scope.runbook).slice('cutover-fence-'.length).slice(0, 63) },
});

export function validatingPolicy(scope: FenceScope): Record<string, unknown> {
  return {
    apiVersion: ADMISSION_V1,
    kind: 'ValidatingAdmissionPolicy',
    metadata: metadata(scope),
    spec: {
      failurePolicy: 'Fail',
      paramKind: PARAM_KIND,
      matchConstraints,
      matchConditions: matchConditions(scope),
      variables: [{ name: 'owner', expression: OWNER }],
      validations: [
        {
          expression: `(${SUSPENDED}) || variables.owner == 'owned'`,
          reason: 'Forbidden',
          messageExpression:
            `'cutover fence: CronJob ' + object.metadata.namespace + '/' + object.metadata.name + ` +
            `' is not owned by this cluster, so it may only be created or updated with spec.suspend: true; ` +
            `\`cutover execute\` hands it over (see ${FENCE_RECORD} in its namespace)'`,
        },
      ],
    },
  };
}

/** The binding: where the policy applies, with which record, and whether it refuses or only warns. */
export function validatingBinding(scope: FenceScope, mode: Exclude<FenceMode, 'Mutate'>): Record<string, unknown> {
  return {
    apiVersion: ADMISSION_V1,
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: metadata(scope),
    spec: {
      policyName: fencePolicyName(scope.runbook),
      validationActions: mode === 'Deny' ? ['Deny'] : ['Warn', 'Audit'],
      ...bindingTarget(scope),
    },
  };
}

function bindingTarget(scope: FenceScope): Record<string, unknown> {
  const objectSelector = scope.selector ? labelSelector(scope.selector) : undefined;
  return {
    // No namespace: the record is looked up in the namespace of the CronJob being admitted. A fenced
    // namespace without its record refuses every CronJob write there (fail closed).
    paramRef: { name: FENCE_RECORD, parameterNotFoundAction: 'Deny' },
    matchResources: {
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...scope.namespaces].sort() }] },
      ...(objectSelector ? { objectSelector } : {}),
    },
  };
}

/** Mode Mutate: a copy the cluster does not own is stored with `suspend: true`, whatever was sent. */
export function mutatingPolicy(scope: FenceScope): Record<string, unknown> {
  return {
    apiVersion: ADMISSION_V1BETA1,
    kind: 'MutatingAdmissionPolicy',
    metadata: metadata(scope),
    spec: {
      failurePolicy: 'Fail',
      paramKind: PARAM_KIND,
      matchConstraints,
      matchConditions: matchConditions(scope),
      variables: [{ name: 'owner', expression: OWNER }],
      reinvocationPolicy: 'IfNeeded',
      mutations: [
        {
          patchType: 'ApplyConfiguration',
          applyConfiguration: {
            expression: `variables.owner == 'owned' || (${SUSPENDED}) ? Object{} : Object{spec: Object.spec{suspend: true}}`,
          },
        },
      ],
    },
  };
}

export function mutatingBinding(scope: FenceScope): Record<string, unknown> {
  return {
    apiVersion: ADMISSION_V1BETA1,
    kind: 'MutatingAdmissionPolicyBinding',
    metadata: metadata(scope),
    spec: { policyName: fencePolicyName(scope.runbook), ...bindingTarget(scope) },
  };
}

const OWNERSHIP = { type: 'string', enum: ['owned', 'fenced'] };

/**
 * The FenceRecord resource. A custom resource rather than a ConfigMap: kube-apiserver 1.34 watches a
 * built-in param kind through its shared informer, which stops for good once the last policy using that
 * kind is deleted (docs/domain-facts.md); a custom resource gets an informer of its own each time.
 */
export function recordDefinition(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: RECORD_CRD, labels: FENCE_LABELS },
    spec: {
      group: RECORD_GROUP,
      scope: 'Namespaced',
      names: { plural: RECORD_PLURAL, singular: 'fencerecord', kind: RECORD_KIND },
      versions: [
        {
          name: RECORD_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: "cutover's record of which CronJobs of this namespace the cluster owns (docs/fence.md).",
              properties: {
                spec: {
                  type: 'object',
                  properties: { default: OWNERSHIP, cronJobs: { type: 'object', additionalProperties: OWNERSHIP } },
                },
              },
            },
          },
        },
      ],
    },
  };
}

/** A new namespace record: every CronJob there has the default ownership until one is handed over. */
export function recordObject(namespace: string, defaultOwnership: Ownership): Record<string, unknown> {
  return {
    apiVersion: `${RECORD_GROUP}/${RECORD_VERSION}`,
    kind: RECORD_KIND,
    metadata: { name: FENCE_RECORD, namespace, labels: FENCE_LABELS },
    spec: { default: defaultOwnership, cronJobs: { [PROBE_NAME]: 'fenced' } },
  };
}

const isOwnership = (value: unknown): value is Ownership => value === 'owned' || value === 'fenced';

/** The record a FenceRecord's spec holds; unknown values read as fenced, as the policy treats them. */
export function recordOf(spec: { default?: unknown; cronJobs?: Record<string, unknown> } | undefined): FenceRecord {
  const cronJobs: Record<string, Ownership> = {};
  for (const [key, value] of Object.entries(spec?.cronJobs ?? {})) {
    if (key !== PROBE_NAME) cronJobs[key] = isOwnership(value) ? value : 'fenced';
  }
  return { default: isOwnership(spec?.default) ? spec.default : 'fenced', cronJobs };
}

/** Merge patch of one CronJob's entry: other entries, written by other handoffs meanwhile, stay. */
export function ownershipPatch(name: string, ownership: Ownership): { spec: { cronJobs: Record<string, Ownership> } } {
  return { spec: { cronJobs: { [name]: ownership } } };
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** One requirement as a structured selector says it: key=value is a matchLabels entry, the rest expressions. */
function structuredRequirement(
  requirement: NonNullable<ReturnType<typeof parseRequirement>>,
): { label: string } | NonNullable<LabelSelector['matchExpressions']>[number] {
  const { key } = requirement;
  if (!('values' in requirement)) return { key, operator: requirement.op === 'exists' ? 'Exists' : 'DoesNotExist' };
  if (requirement.equality && requirement.op === 'in') return { label: requirement.values[0]! };
  return { key, operator: requirement.op === 'in' ? 'In' : 'NotIn', values: requirement.values };
}

/**
 * A Kubernetes label selector string (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) as the structured selector
 * a binding takes, so the fence selects exactly the CronJobs the runbook's LIST selects.
 */
export function labelSelector(text: string): LabelSelector {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: NonNullable<LabelSelector['matchExpressions']> = [];
  const refuse = (what: string): InputError =>
    new InputError(`cronjobs.selector: cannot read ${what} of "${text}" as a label selector term (key=value, key!=value, key in (a,b), key notin (a,b), key, !key)`);
  const terms = selectorTerms(text);
  if (terms === undefined) throw refuse('its parentheses');
  for (const term of terms.filter((t) => t !== '')) {
    const requirement = parseRequirement(term);
    if (requirement === undefined) throw refuse(`"${term}"`);
    const structured = structuredRequirement(requirement);
    if ('label' in structured) matchLabels[requirement.key] = structured.label;
    else matchExpressions.push(structured);
  }
  return {
    ...(Object.keys(matchLabels).length > 0 ? { matchLabels } : {}),
    ...(matchExpressions.length > 0 ? { matchExpressions } : {}),
  };
}

