// zod schemas of the two user files. Their INPUT side is what users write (and what the editor JSON
// Schemas in schemas/ describe); their OUTPUT side is exactly the types in ./types.ts. Every object is
// strict: a misspelt field must be reported, never silently ignored.
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { DNS_LABEL, HOSTED_ZONE_ID, LABEL_VALUE, selectorProblem } from './k8s-names.js';
import type {
  ApproveStep,
  ClusterConfig,
  Environment,
  GateSpec,
  GateStep,
  Runbook,
  StateConfig,
  Step,
} from './types.js';

export const API_VERSION = 'cutover.dev/v1';

const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h|d))+$/;
/** Cluster names become state keys and Route 53 SetIdentifier map keys: keep them DNS-label shaped. */
const CLUSTER_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

const quote = (value: unknown): string => JSON.stringify(value);

/**
 * A schema's own message for a wrong value; a missing value falls through to the shared error map, which
 * says "required field is missing".
 */
const whenPresent =
  (message: (input: unknown) => string) =>
  (iss: { input?: unknown }): string | undefined =>
    iss.input === undefined ? undefined : message(iss.input);

/**
 * A Go-style duration ("90s", "5m", "1h30m") parsed to milliseconds. The default is given as text so the
 * editor schema shows what a user would write.
 */
function duration(description: string, options: { positive?: boolean; max?: number } = {}) {
  return z
    .string({
      error: (iss) =>
        typeof iss.input === 'number'
          ? `expected a duration with a unit like "90s", "5m" or "1h30m", found the number ${iss.input}; write "${iss.input}s" for seconds`
          : undefined,
    })
    .regex(DURATION_PATTERN, {
      error: (iss) =>
        `expected a duration like "90s", "5m" or "1h30m" (units ms, s, m, h, d), found ${quote(iss.input)}`,
    })
    .transform((text, ctx) => {
      const ms = parseDuration(text) ?? Number.NaN;
      if (options.positive && !(ms > 0)) {
        ctx.issues.push({ code: 'custom', input: text, message: `expected a duration longer than 0, found ${quote(text)}` });
        return z.NEVER;
      }
      if (options.max !== undefined && ms > options.max) {
        ctx.issues.push({
          code: 'custom',
          input: text,
          message: `expected a duration of at most ${formatLimit(options.max)}, found ${quote(text)}; a longer wait is better split into steps or runs`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description: options.max !== undefined ? `${description} At most ${formatLimit(options.max)}.` : description });
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Upper bounds of user durations: far above any sensible cutover, far below what a timer can hold. */
export const DURATION_LIMITS = {
  soak: 7 * DAY_MS,
  gateTimeout: 7 * DAY_MS,
  approvalTimeout: 7 * DAY_MS,
  drainTimeout: DAY_MS,
  commandTimeout: DAY_MS,
  interval: HOUR_MS,
} as const;

function formatLimit(ms: number): string {
  return ms % DAY_MS === 0 ? `${ms / DAY_MS}d` : `${ms / HOUR_MS}h`;
}

const nonEmpty = (description?: string) => {
  const s = z.string().min(1);
  return description ? s.meta({ description }) : s;
};

const clusterName = z.string().regex(CLUSTER_NAME_PATTERN, {
  error: whenPresent(
    (input) => `expected a cluster name of lowercase letters, digits and "-" (like "blue" or "prod-green"), found ${quote(input)}`,
  ),
});

const region = z.string().regex(REGION_PATTERN, {
  error: whenPresent((input) => `expected an AWS region like "us-east-1", found ${quote(input)}`),
});

const httpUrl = z.url({
  protocol: /^https?$/,
  error: whenPresent((input) => `expected an http:// or https:// URL, found ${quote(input)}`),
});

const namespaceName = (description: string) =>
  z
    .string()
    .regex(DNS_LABEL, {
      error: whenPresent(
        (input) =>
          `expected a Kubernetes namespace (lowercase letters, digits and "-", at most 63, starting and ending with a letter or digit), found ${quote(input)}`,
      ),
    })
    .meta({ description });

const labelSelector = (description: string) =>
  nonEmpty(description).superRefine((selector, ctx) => {
    const problem = selectorProblem(selector);
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        input: selector,
        message: `expected a Kubernetes label selector like "team=billing,tier in (a,b)", found ${quote(selector)}: ${problem}`,
      });
    }
  });

/** Characters a shell would interpret; the gate runs its command without one, so they would be taken literally. */
const SHELL_METACHARACTERS = /[\s|&;<>()$`*?[\]{}~'"!#]/;

const stepName = nonEmpty('Label shown in the plan, the journal and approval messages.').optional();

/** Checks that exactly one of `keys` is set on an object whose fields are all optional. */
function pickOne<K extends string>(
  value: Partial<Record<K, unknown>>,
  keys: readonly K[],
  what: string,
  ctx: z.RefinementCtx,
): K | undefined {
  const present = keys.filter((key) => value[key] !== undefined);
  if (present.length === 1) return present[0];
  // A misspelt kind was already reported as an unknown field; "found none" would only repeat it.
  if (present.length === 0 && ctx.issues.length > 0) return undefined;
  const expected = `${keys.slice(0, -1).join(', ')} or ${keys[keys.length - 1]}`;
  const found = present.length === 0 ? 'none' : present.join(' and ');
  const hint = present.length > 1 && what === 'step kind' ? ' — put each on its own list item (starting with "-")' : '';
  ctx.issues.push({ code: 'custom', input: value, message: `expected exactly one ${what} (${expected}), found ${found}${hint}` });
  return undefined;
}

/** Makes editors flag "none" and "two of them" as well. */
const ONE_KEY = { minProperties: 1, maxProperties: 1 } as const;

// ---------------------------------------------------------------------------------------------- environment

const CLUSTER_KINDS = ['kubeconfig', 'eks', 'sandbox'] as const;
const clusterSchema = z
  .strictObject({
    kubeconfig: z
      .strictObject({
        context: nonEmpty('Context name in the kubeconfig file.'),
        path: nonEmpty('Kubeconfig file, relative to the environment file; default: $KUBECONFIG or ~/.kube/config.').optional(),
      })
      .optional(),
    eks: z
      .strictObject({
        name: nonEmpty('EKS cluster name (DescribeCluster, and the x-k8s-aws-id of the token).'),
        region,
      })
      .optional(),
    sandbox: z
      .strictObject({})
      .optional()
      .meta({ description: 'A simulated cluster, described in the `sandbox:` section of the environment.' }),
  })
  .meta({ ...ONE_KEY, description: 'How to reach the cluster: `kubeconfig`, `eks` or `sandbox`.' })
  .transform((value, ctx): ClusterConfig => {
    const kind = pickOne(value, CLUSTER_KINDS, 'cluster access', ctx);
    if (kind === 'kubeconfig' && value.kubeconfig) return { kubeconfig: value.kubeconfig };
    if (kind === 'eks' && value.eks) return { eks: value.eks };
    if (kind === 'sandbox' && value.sandbox) return { sandbox: {} };
    return z.NEVER;
  });

const RECORD_TYPES = ['A', 'AAAA', 'CAA', 'CNAME', 'DS', 'HTTPS', 'MX', 'NAPTR', 'NS', 'PTR', 'SPF', 'SRV', 'SSHFP', 'SVCB', 'TLSA', 'TXT'] as const;

const dnsRecordSchema = z.strictObject({
  name: nonEmpty('Record name, e.g. `api.example.com.`; a missing final dot is added.').transform((name) =>
    name.endsWith('.') ? name : `${name}.`,
  ),
  type: z.enum(RECORD_TYPES),
  setIdentifiers: z
    .record(clusterName, nonEmpty().max(128))
    .meta({ description: 'SetIdentifier of each cluster in this weighted group, e.g. `{blue: blue, green: green}`.' }),
});

const dnsSchema = z.strictObject({
  hostedZoneId: z
    .string()
    .regex(HOSTED_ZONE_ID, {
      error: whenPresent(
        (input) => `expected a Route 53 hosted zone id like "Z0123456789ABCDEFGHIJ" (capital letters and digits, "/hostedzone/" allowed before it), found ${quote(input)}`,
      ),
    })
    .meta({ description: 'Route 53 hosted zone id, e.g. Z123ABC.' }),
  records: z.array(dnsRecordSchema).min(1),
  maxRequestsPerSecond: z
    .number()
    .gt(0)
    .max(100)
    .default(2)
    .meta({ description: 'Client-side cap on Route 53 requests per second for the whole run.' }),
});

const slackSchema = z.strictObject({
  channel: nonEmpty('Channel id where approval requests are posted, e.g. C0123.'),
  approvers: z
    .array(nonEmpty())
    .min(1)
    .meta({ description: 'Slack user ids (U…) or user group ids (S…) allowed to approve.' }),
  botTokenEnv: nonEmpty('Environment variable holding the bot token (xoxb-…).').default('SLACK_BOT_TOKEN'),
  appTokenEnv: nonEmpty('Environment variable holding the app-level token (xapp-…) for Socket Mode.').default(
    'SLACK_APP_TOKEN',
  ),
  allowSelfApproval: z.boolean().default(false).meta({ description: 'May the operator who started the run approve?' }),
  apiUrl: httpUrl.optional().meta({ description: 'Base URL of the Slack Web API (tests only).' }),
});

const STATE_KINDS = ['local', 'kubernetes'] as const;
const stateSchema = z
  .strictObject({
    local: z.strictObject({ dir: nonEmpty('Folder for run state, relative to the environment file.').default('.cutover') }).optional(),
    kubernetes: z
      .strictObject({
        cluster: clusterName
          .optional()
          .meta({ description: 'Environment cluster holding the state; omitted: the cluster cutover runs in, through its pod\'s ServiceAccount.' }),
        namespace: namespaceName('Namespace holding the run state and lock.'),
      })
      .optional(),
  })
  .meta({ ...ONE_KEY, description: 'Where runs are persisted: `local` or `kubernetes`.' })
  .transform((value, ctx): StateConfig => {
    const kind = pickOne(value, STATE_KINDS, 'state store', ctx);
    if (kind === 'local' && value.local) return { local: value.local };
    if (kind === 'kubernetes' && value.kubernetes) return { kubernetes: value.kubernetes };
    return z.NEVER;
  });

export const environmentSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal('Environment'),
    name: nonEmpty('Name of the environment, shown in plans and messages.'),
    aws: z
      .strictObject({
        region,
        accountId: z
          .string()
          .regex(/^\d{12}$/, { error: (iss) => `expected a 12-digit AWS account id, found ${quote(iss.input)}` })
          .optional(),
        endpoint: httpUrl.optional().meta({ description: 'Endpoint override for every AWS client (tests, moto).' }),
      })
      .optional(),
    clusters: z.record(clusterName, clusterSchema).meta({ description: 'The clusters, by name (e.g. blue, green).' }),
    dns: dnsSchema.optional(),
    slack: slackSchema.optional(),
    state: stateSchema.optional(),
    allowNonInteractiveApproval: z
      .boolean()
      .default(false)
      .meta({ description: 'Allows `execute --approve` to answer approvals without a human (rehearsals, CI).' }),
    sandbox: z.record(z.string(), z.unknown()).optional().meta({ description: 'Simulated environment settings.' }),
  })
  .meta({ title: 'cutover Environment', description: 'Clusters, DNS, Slack and state of one cutover environment.' })
  .refine((env) => Object.keys(env.clusters).length > 0, {
    path: ['clusters'],
    message: 'expected at least one cluster, found none',
  }) satisfies z.ZodType<Environment, unknown>;

// ---------------------------------------------------------------------------------------------- runbook

const emptyStepBody = z
  .strictObject({ name: stepName })
  .nullable()
  .transform((body) => body ?? {});

const shiftTrafficBody = z.strictObject({
  name: stepName,
  percent: z.number().min(0).max(100).meta({ description: 'Share of the from+to traffic sent to the target, 0..100.' }),
  soak: duration('How long to hold the new split before the next step.', { max: DURATION_LIMITS.soak }).prefault('0s'),
});

const httpGate = z.strictObject({
  url: httpUrl,
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  expectStatus: z.int().min(100).max(599).default(200),
  bodyPattern: z
    .string()
    .refine(isRegExp, { error: (iss) => `expected a JavaScript regular expression, found ${quote(iss.input)}` })
    .optional()
    .meta({ description: 'Regular expression the response body must match.' }),
  successes: z.int().min(1).max(1000).default(3).meta({ description: 'Consecutive successes needed.' }),
  interval: duration('Pause between probes.', { positive: true, max: DURATION_LIMITS.interval }).prefault('5s'),
});

const alarmsGate = z
  .strictObject({
    names: z.array(nonEmpty()).default([]),
    prefix: nonEmpty('Every alarm whose name starts with this.').optional(),
    insufficientData: z
      .enum(['ok', 'fail', 'wait'])
      .default('wait')
      .meta({ description: 'How to treat INSUFFICIENT_DATA: as OK, as a failure, or keep waiting.' }),
  })
  .refine((gate) => gate.names.length > 0 || gate.prefix !== undefined, {
    message: 'expected `names` or `prefix` (or both), found neither',
  });

const commandGate = z.strictObject({
  command: nonEmpty('Program to run; passes when it exits 0.').refine((command) => !SHELL_METACHARACTERS.test(command), {
    error: (iss) =>
      `expected a program name or path, found ${quote(iss.input)}: it is run without a shell, so spaces, pipes, quotes and $ would be taken literally; put the arguments in \`args\`, or write command: sh with args: ["-c", "..."]`,
  }),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  timeout: duration('Limit for one run of the command; default: the gate timeout.', { positive: true, max: DURATION_LIMITS.commandTimeout }).optional(),
});

const GATE_TYPES = ['http', 'cloudwatchAlarms', 'route53HealthChecks', 'kubernetes', 'command', 'cronjobFirstRun'] as const;

const gateBody = z
  .strictObject({
    name: stepName,
    timeout: duration('Deadline for the gate to pass.', { positive: true, max: DURATION_LIMITS.gateTimeout }),
    http: httpGate.optional(),
    cloudwatchAlarms: alarmsGate.optional(),
    route53HealthChecks: z.strictObject({ ids: z.array(nonEmpty()).min(1) }).optional(),
    kubernetes: z
      .strictObject({
        cluster: clusterName,
        namespaces: z.array(namespaceName('Namespace of the workloads.')).min(1),
        selector: labelSelector('Label selector for the Deployments and StatefulSets.').optional(),
      })
      .optional(),
    command: commandGate.optional(),
    cronjobFirstRun: z.strictObject({}).nullable().optional(),
  })
  .transform((body, ctx): Omit<GateStep, 'kind'> => {
    const type = pickOne(body, GATE_TYPES, 'gate type', ctx);
    const gate = type ? gateSpec(type, body) : undefined;
    if (!gate) return z.NEVER;
    const step: Omit<GateStep, 'kind'> = { gate, timeoutMs: body.timeout };
    if (body.name !== undefined) step.name = body.name;
    return step;
  });

type GateBody = {
  timeout: number;
  http?: z.output<typeof httpGate>;
  cloudwatchAlarms?: z.output<typeof alarmsGate>;
  route53HealthChecks?: { ids: string[] };
  kubernetes?: { cluster: string; namespaces: string[]; selector?: string };
  command?: z.output<typeof commandGate>;
  cronjobFirstRun?: Record<string, never> | null;
};

function gateSpec(type: (typeof GATE_TYPES)[number], body: GateBody): GateSpec | undefined {
  switch (type) {
    case 'http': {
      const { interval, ...http } = body.http!;
      return { type, ...http, intervalMs: interval };
    }
    case 'cloudwatchAlarms':
      return { type, ...body.cloudwatchAlarms! };
    case 'route53HealthChecks':
      return { type, ...body.route53HealthChecks! };
    case 'kubernetes':
      return { type, ...body.kubernetes! };
    case 'command': {
      const { timeout, ...command } = body.command!;
      return { type, ...command, timeoutMs: timeout ?? body.timeout };
    }
    case 'cronjobFirstRun':
      return { type };
  }
}

const approveBody = z
  .strictObject({
    name: stepName,
    via: z.enum(['slack', 'terminal']),
    message: nonEmpty('Question shown to the approvers.').optional(),
    approvers: z
      .array(nonEmpty())
      .min(1)
      .optional()
      .meta({ description: 'Who may approve this step; default: the environment slack.approvers.' }),
    required: z.int().min(1).max(50).default(1).meta({ description: 'Distinct approvals needed.' }),
    timeout: duration('Deadline for the decision.', { positive: true, max: DURATION_LIMITS.approvalTimeout }).prefault('30m'),
  })
  .transform(({ timeout, ...rest }): Omit<ApproveStep, 'kind'> => ({ ...rest, timeoutMs: timeout }));

export const STEP_KINDS = ['preflight', 'moveCronJobs', 'shiftTraffic', 'gate', 'approve'] as const;

const stepSchema = z
  .strictObject({
    preflight: emptyStepBody.optional(),
    moveCronJobs: emptyStepBody.optional(),
    shiftTraffic: shiftTrafficBody.optional(),
    gate: gateBody.optional(),
    approve: approveBody.optional(),
  })
  .meta({ ...ONE_KEY, description: 'One step: a map with a single key naming its kind.' })
  .transform((item, ctx): Step => {
    const kind = pickOne(item, STEP_KINDS, 'step kind', ctx);
    switch (kind) {
      case 'preflight':
        return { kind, ...item.preflight };
      case 'moveCronJobs':
        return { kind, ...item.moveCronJobs };
      case 'shiftTraffic': {
        const { soak, ...rest } = item.shiftTraffic!;
        return { kind, ...rest, soakMs: soak };
      }
      case 'gate':
        return { kind, ...item.gate! };
      case 'approve':
        return { kind, ...item.approve! };
      default:
        return z.NEVER;
    }
  });

const EXCLUDE_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

const cronjobsSchema = z
  .strictObject({
    namespaces: z.array(namespaceName('A namespace.')).min(1).meta({ description: 'Namespaces whose CronJobs move.' }),
    selector: labelSelector('Label selector, e.g. `team=billing`.').optional(),
    exclude: z
      .array(
        z.string().regex(EXCLUDE_PATTERN, {
          error: (iss) => `expected "namespace/name" of a CronJob, found ${quote(iss.input)}`,
        }),
      )
      .default([])
      .meta({ description: 'CronJobs left where they are, as `namespace/name`.' }),
    running: z
      .enum(['wait', 'ignore'])
      .default('wait')
      .meta({ description: 'Wait for Jobs still running on the source before enabling the target, or not.' }),
    drainTimeout: duration('Deadline for running Jobs to finish.', { positive: true, max: DURATION_LIMITS.drainTimeout }).prefault('10m'),
    missedRuns: z
      .enum(['skip', 'latest', 'all', 'run-once'])
      .default('skip')
      .transform((value) => (value === 'run-once' ? 'latest' : value))
      .meta({
        description:
          'Ticks missed during the handoff: skip them, run the latest one once on the target (`latest`; `run-once` is an alias), ' +
          'or run each of them once (`all`, up to missedRunsLimit). cutover creates those Jobs itself.',
      }),
    missedRunsLimit: z
      .int()
      .min(1)
      .max(100)
      .default(10)
      .meta({ description: 'With missedRuns: all, at most this many missed ticks of one CronJob run (the latest ones).' }),
    concurrency: z.int().min(1).max(100).default(5).meta({ description: 'CronJobs handed off at the same time.' }),
    onDrift: z
      .enum(['resuspend', 'halt'])
      .optional()
      .meta({ description: 'A moved CronJob found enabled on the source again later in the run: suspend it again (resuspend, the default), or suspend it again and halt.' }),
  })
  .transform(({ drainTimeout, ...rest }) => ({ ...rest, drainTimeoutMs: drainTimeout }));

export const runbookSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal('Runbook'),
    name: z
      .string()
      .regex(LABEL_VALUE, {
        error: whenPresent(
          (input) =>
            `expected a runbook name of letters, digits, "-", "_" and "." (at most 63, starting and ending with a letter or digit), found ${quote(input)}: it names the run's state folder and Kubernetes labels`,
        ),
      })
      .meta({ description: 'Name of the runbook; also names its persisted run.' }),
    environment: nonEmpty('Environment file, relative to this file; `--env` overrides it.'),
    from: clusterName.meta({ description: 'Source cluster (moving away from).' }),
    to: clusterName.meta({ description: 'Target cluster (moving to).' }),
    onFailure: z
      .enum(['halt', 'rollback'])
      .default('halt')
      .meta({ description: 'When a step fails: stop where it is, or move traffic and CronJobs back.' }),
    cronjobs: cronjobsSchema,
    steps: z.array(stepSchema).min(1),
  })
  .meta({ title: 'cutover Runbook', description: 'The steps of one blue/green cutover.' }) satisfies z.ZodType<
  Runbook,
  unknown
>;

export type EnvironmentInput = z.input<typeof environmentSchema>;
export type RunbookInput = z.input<typeof runbookSchema>;

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}
