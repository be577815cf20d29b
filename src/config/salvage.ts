// What of a file that failed its schema can still be checked against the other file. Each field is parsed
// on its own; a field that fails is replaced by a stand-in that no cross-file rule blames (the schema
// already reported it), so "every problem at once" holds for cross-file problems too.
import type { z } from 'zod';
import { environmentSchema, runbookSchema, STEP_KINDS } from './schema.js';
import type { ClusterConfig, DnsRecordGroup, Environment, Runbook, Step } from './types.js';

type Data = Record<string, unknown>;

const isMap = (value: unknown): value is Data => typeof value === 'object' && value !== null && !Array.isArray(value);

function parsed<T>(schema: z.ZodType<T>, value: unknown, fallback: T): T {
  const result = schema.safeParse(value);
  return result.success ? result.data : fallback;
}

const text = (value: unknown, fallback = ''): string => (typeof value === 'string' ? value : fallback);
const texts = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

/** A step that failed its schema, standing in with only the kind the rules order by. */
function standInStep(item: unknown): Step {
  const kinds = isMap(item) ? STEP_KINDS.filter((kind) => kind in item) : [];
  if (kinds.length === 1 && kinds[0] === 'moveCronJobs') return { kind: 'moveCronJobs' };
  return { kind: 'preflight' };
}

export function salvageRunbook(data: unknown): Runbook | undefined {
  if (!isMap(data)) return undefined;
  const shape = runbookSchema.shape;
  const stepSchema = shape.steps.element;
  const cronjobs = isMap(data.cronjobs) ? data.cronjobs : {};
  return {
    name: text(data.name, 'runbook'),
    environment: text(data.environment),
    from: parsed(shape.from, data.from, ''),
    to: parsed(shape.to, data.to, ''),
    onFailure: 'halt',
    cronjobs: parsed(shape.cronjobs, data.cronjobs, {
      namespaces: texts(cronjobs.namespaces),
      exclude: [],
      running: 'wait',
      drainTimeoutMs: 0,
      missedRuns: 'skip',
      missedRunsLimit: 10,
      concurrency: 1,
    }),
    steps: Array.isArray(data.steps) ? data.steps.map((item) => parsed(stepSchema, item, standInStep(item))) : [],
  } as Runbook;
}

function salvageClusters(value: unknown): Record<string, ClusterConfig> | undefined {
  if (!isMap(value)) return undefined;
  // A misspelt cluster name is reported as such; checking the runbook against it would only echo that.
  if (!Object.keys(value).every((name) => environmentSchema.shape.clusters.keyType.safeParse(name).success)) return undefined;
  const clusterSchema = environmentSchema.shape.clusters.valueType;
  return Object.fromEntries(
    Object.entries(value).map(([name, config]) => [
      name,
      parsed(clusterSchema, config, isMap(config) && 'sandbox' in config ? { sandbox: {} } : { kubeconfig: { context: '' } }),
    ]),
  );
}

function salvageRecord(value: unknown): DnsRecordGroup {
  const record = isMap(value) ? value : {};
  const ids = isMap(record.setIdentifiers) ? record.setIdentifiers : {};
  return {
    name: text(record.name),
    type: text(record.type),
    setIdentifiers: Object.fromEntries(Object.entries(ids).filter(([, id]) => typeof id === 'string')) as Record<string, string>,
  };
}

function salvageDns(data: unknown): Environment['dns'] {
  const dns = isMap(data) ? data : {};
  return parsed(environmentSchema.shape.dns, data, {
    hostedZoneId: text(dns.hostedZoneId),
    records: Array.isArray(dns.records) ? dns.records.map(salvageRecord) : [],
    maxRequestsPerSecond: 1,
  });
}

function salvageSlack(data: unknown): Environment['slack'] {
  const slack = isMap(data) ? data : {};
  // Unknown approvers stand in as a user group (S…): uncountable, so no approval count is blamed on them.
  const approvers = Array.isArray(slack.approvers) ? texts(slack.approvers) : ['S?'];
  return parsed(environmentSchema.shape.slack, data, { channel: '', approvers, botTokenEnv: '', appTokenEnv: '', allowSelfApproval: false });
}

export function salvageEnvironment(data: unknown): Environment | undefined {
  // Without its clusters every runbook cluster would look unknown: nothing to check across the files.
  const clusters = isMap(data) ? salvageClusters(data.clusters) : undefined;
  if (!isMap(data) || !clusters) return undefined;
  const shape = environmentSchema.shape;
  const env: Environment = {
    name: text(data.name, 'environment'),
    clusters,
    allowNonInteractiveApproval: false,
  } as Environment;
  if (data.dns !== undefined) env.dns = salvageDns(data.dns);
  if (data.slack !== undefined) env.slack = salvageSlack(data.slack);
  const state = parsed(shape.state, data.state, undefined);
  if (state) env.state = state;
  if (isMap(data.sandbox)) env.sandbox = data.sandbox;
  return env;
}
