// Route 53 behind DnsPort and HealthChecksPort. Every call of a run goes through one token bucket (the
// API limit is per account), the SDK's adaptive retries, and a throttling backoff on top. The change-batch
// builder and the record reader are pure functions, apart from the calls that send them.
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHealthCheckStatusCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type Change,
  type ChangeBatch,
  type ChangeInfo,
  type ListResourceRecordSetsCommandOutput,
  type ResourceRecordSet,
  type Route53ClientConfig,
  type RRType,
} from '@aws-sdk/client-route-53';
import { systemClock, type Clock } from '../../core/clock.js';
import { ApiError, CutoverError, InputError } from '../../core/errors.js';
import type { DnsChange, DnsPort, HealthChecksPort, WeightedRecord } from '../../core/ports.js';
import type { Environment } from '../../config/types.js';
import { MAX_WEIGHT, normalizeName, recordKey } from '../../plan/weights.js';
import { TokenBucket, retryThrottled, type BackoffOptions } from './throttle.js';
import { awsClientBase } from './http.js';

export const DEFAULT_MAX_REQUESTS_PER_SECOND = 2;
/** Route 53 rejects a change comment longer than this. */
const MAX_COMMENT = 256;
/** A weighted group has at most 100 records; more pages than this means the paging does not advance. */
const MAX_PAGES = 1_000;

export interface Route53Deps {
  /** A ready client (tests add middleware to count calls); otherwise one is built from the environment. */
  client?: Route53Client;
  /** Shared rate limit; otherwise one per environment, built from `dns.maxRequestsPerSecond`. */
  throttle?: TokenBucket;
  clock?: Clock;
  /** MaxItems of ListResourceRecordSets; Route 53's default (300) unless a test needs small pages. */
  pageSize?: number;
  backoff?: BackoffOptions;
}

/**
 * SDK client settings for Route 53: the environment's endpoint (moto in the lab), and no SDK retries: the
 * run's own policy (token bucket, backoff, abort) is the only one. An UPSERT batch with the same values is
 * idempotent, so a change batch whose answer was lost is sent again as it was: if it had applied, the
 * second send changes nothing and returns a change id to wait for.
 */
export function route53ClientConfig(env: Environment): Route53ClientConfig {
  // Route 53 is a global service: the SDK reaches its one endpoint whatever region the client is given.
  return { ...awsClientBase(env), retryMode: 'standard', maxAttempts: 1 };
}

interface Route53Context {
  client: Route53Client;
  throttle: TokenBucket;
  clock: Clock;
  backoff: BackoffOptions;
  zoneId: string;
  pageSize?: number;
}

// One client and one bucket per environment object, so the DNS and the health-check ports of a run share
// the account's budget however the wiring code calls the factories.
const contexts = new WeakMap<Environment, Route53Context>();

function contextFor(env: Environment, deps?: Route53Deps, signal?: AbortSignal): Route53Context {
  if (deps) return buildContext(env, deps);
  let shared = contexts.get(env);
  if (!shared) {
    shared = buildContext(env, {});
    contexts.set(env, shared);
  }
  // The run's signal ends any backoff pause at once (Ctrl-C, a lost lock).
  if (signal) shared.backoff = { ...shared.backoff, signal };
  return shared;
}

function buildContext(env: Environment, deps: Route53Deps): Route53Context {
  const clock = deps.clock ?? systemClock;
  const rate = env.dns?.maxRequestsPerSecond ?? DEFAULT_MAX_REQUESTS_PER_SECOND;
  return {
    client: deps.client ?? new Route53Client(route53ClientConfig(env)),
    throttle: deps.throttle ?? new TokenBucket(rate, clock),
    clock,
    backoff: { clock, ...deps.backoff },
    zoneId: env.dns?.hostedZoneId ?? '',
    ...(deps.pageSize !== undefined ? { pageSize: deps.pageSize } : {}),
  };
}

/** Sends one Route 53 request: a token from the bucket per attempt, backoff while throttled, typed errors. */
async function call<T>(ctx: Route53Context, operation: string, resource: string, send: (client: Route53Client) => Promise<T>): Promise<T> {
  try {
    return await retryThrottled(async () => {
      await ctx.throttle.take();
      return send(ctx.client);
    }, ctx.backoff);
  } catch (error) {
    throw toCutoverError(`Route 53 ${operation} ${resource}`, error);
  }
}

const INPUT_ERRORS = new Set(['NoSuchHostedZone', 'NoSuchHealthCheck', 'InvalidInput']);

/** SDK errors become ApiError (or InputError for a zone/health check the environment names wrongly). */
export function toCutoverError(what: string, error: unknown): CutoverError {
  if (error instanceof CutoverError) return error;
  const { name, message, $metadata } = (error ?? {}) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const text = `${what} failed: ${name ?? 'Error'}: ${message ?? String(error)}`;
  if (name && INPUT_ERRORS.has(name)) return new InputError(`${text}; check dns in the environment file`);
  return new ApiError(text, $metadata?.httpStatusCode, error);
}

export function createDnsPort(env: Environment, deps?: Route53Deps, signal?: AbortSignal): DnsPort {
  const ctx = contextFor(env, deps, signal);
  return {
    readGroup: (name, type) => readGroup(ctx, name, type),
    setWeights: (records, weights, comment) => setWeights(ctx, records, weights, comment),
    getChange: (id) => getChange(ctx, id),
  };
}

export function createHealthChecksPort(env: Environment, deps?: Route53Deps, signal?: AbortSignal): HealthChecksPort {
  const ctx = contextFor(env, deps, signal);
  return {
    async healthCheckStatus(id) {
      const out = await call(ctx, 'GetHealthCheckStatus', `health check ${id}`, (c) => c.send(new GetHealthCheckStatusCommand({ HealthCheckId: id })));
      return countHealthy(out.HealthCheckObservations ?? []);
    },
  };
}

/** Each Route 53 checker reports a status text starting with "Success" or "Failure". */
export function countHealthy(observations: { StatusReport?: { Status?: string } }[]): { healthy: number; total: number } {
  const healthy = observations.filter((o) => o.StatusReport?.Status?.startsWith('Success') === true).length;
  return { healthy, total: observations.length };
}

// ---- reading a weighted group -----------------------------------------------------------------------

interface PageStart {
  StartRecordName: string;
  StartRecordType: RRType;
  StartRecordIdentifier?: string;
}

async function readGroup(ctx: Route53Context, name: string, type: string): Promise<WeightedRecord[]> {
  const found: ResourceRecordSet[] = [];
  await pageGroup(name, type, (start) =>
    call(ctx, 'ListResourceRecordSets', `${name} ${type} in zone ${ctx.zoneId}`, (c) =>
      c.send(new ListResourceRecordSetsCommand({ HostedZoneId: ctx.zoneId, ...start, ...(ctx.pageSize ? { MaxItems: ctx.pageSize } : {}) })),
    ), found);
  return found.map(toWeightedRecord);
}

/**
 * Reads every page of the records named `name` with type `type` into `into`. Pages are sorted by name,
 * type, then SetIdentifier; a weighted group can span pages, and the next page starts at
 * NextRecordName + NextRecordType + NextRecordIdentifier. Without the identifier Route 53 starts again at
 * the group's first record, which loops forever — so a page that would not advance is an error.
 */
export async function pageGroup(
  name: string,
  type: string,
  list: (start: PageStart) => Promise<Pick<ListResourceRecordSetsCommandOutput, 'ResourceRecordSets' | 'IsTruncated' | 'NextRecordName' | 'NextRecordType' | 'NextRecordIdentifier'>>,
  into: ResourceRecordSet[],
): Promise<void> {
  const wantName = normalizeName(name);
  const wantType = type.toUpperCase() as RRType;
  let start: PageStart = { StartRecordName: wantName, StartRecordType: wantType };
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await list(start);
    for (const rrs of out.ResourceRecordSets ?? []) {
      if (decodeName(rrs.Name ?? '') !== wantName || rrs.Type !== wantType) return;
      into.push(rrs);
    }
    if (!out.IsTruncated) return;
    const next = nextStart(out, start);
    if (sameStart(next, start)) {
      throw new ApiError(`Route 53 ListResourceRecordSets ${wantName} ${wantType}: the next page starts where this one did (${describeStart(next)}); refusing to loop`);
    }
    start = next;
  }
  throw new ApiError(`Route 53 ListResourceRecordSets ${wantName} ${wantType}: more than ${MAX_PAGES} pages`);
}

function nextStart(
  out: Pick<ListResourceRecordSetsCommandOutput, 'NextRecordName' | 'NextRecordType' | 'NextRecordIdentifier'>,
  current: PageStart,
): PageStart {
  const next: PageStart = {
    StartRecordName: out.NextRecordName ?? current.StartRecordName,
    StartRecordType: out.NextRecordType ?? current.StartRecordType,
  };
  if (out.NextRecordIdentifier !== undefined) next.StartRecordIdentifier = out.NextRecordIdentifier;
  return next;
}

const sameStart = (a: PageStart, b: PageStart): boolean =>
  a.StartRecordName === b.StartRecordName && a.StartRecordType === b.StartRecordType && a.StartRecordIdentifier === b.StartRecordIdentifier;

const describeStart = (s: PageStart): string => `${s.StartRecordName} ${s.StartRecordType} ${s.StartRecordIdentifier ?? '(no identifier)'}`;

/** Route 53 writes some characters of names as `\ooo` octal escapes (`*` is `\052`). */
export function decodeName(name: string): string {
  return normalizeName(name.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

/** A record as read; one without SetIdentifier/Weight is reported with setIdentifier '' and a NaN weight. */
export function toWeightedRecord(rrs: ResourceRecordSet): WeightedRecord {
  const record: WeightedRecord = {
    name: decodeName(rrs.Name ?? ''),
    type: rrs.Type ?? '',
    setIdentifier: rrs.SetIdentifier ?? '',
    weight: rrs.Weight ?? Number.NaN,
    raw: rrs,
  };
  if (rrs.TTL !== undefined) record.ttl = rrs.TTL;
  return record;
}

// ---- writing weights --------------------------------------------------------------------------------

/** The new weight of `record`: `weights` is keyed by recordKey (name|type|setIdentifier) or SetIdentifier. */
export function weightFor(record: WeightedRecord, weights: Record<string, number>): number | undefined {
  return weights[recordKey(record)] ?? weights[record.setIdentifier];
}

/**
 * One atomic change batch: an UPSERT per record whose weight changes, each a copy of the record as read
 * (TTL, values or AliasTarget, HealthCheckId, EvaluateTargetHealth...) with only Weight replaced. UPSERT
 * replaces the whole record, so anything not copied would be deleted.
 */
export function buildWeightChangeBatch(records: WeightedRecord[], weights: Record<string, number>, comment: string): ChangeBatch {
  const changes: Change[] = [];
  for (const record of records) {
    const weight = weightFor(record, weights);
    if (weight === undefined || weight === record.weight) continue;
    assertWritable(record, weight);
    const current = record.raw as ResourceRecordSet;
    changes.push({ Action: 'UPSERT', ResourceRecordSet: { ...current, Weight: weight } });
  }
  return { Comment: comment.slice(0, MAX_COMMENT), Changes: changes };
}

function assertWritable(record: WeightedRecord, weight: number): void {
  const where = `DNS record ${record.name} ${record.type} SetIdentifier "${record.setIdentifier}"`;
  if (record.setIdentifier === '' || Number.isNaN(record.weight)) {
    throw new InputError(`${where}: not a weighted record; refusing to add a Weight to it`);
  }
  if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
    throw new InputError(`${where}: weight ${weight} is outside 0..${MAX_WEIGHT}`);
  }
  if (typeof record.raw !== 'object' || record.raw === null) {
    throw new InputError(`${where}: the record as read is missing; read the group again before writing`);
  }
}

async function setWeights(ctx: Route53Context, records: WeightedRecord[], weights: Record<string, number>, comment: string): Promise<DnsChange> {
  const batch = buildWeightChangeBatch(records, weights, comment);
  if (batch.Changes?.length === 0) throw new InputError('setWeights: no record weight changes; nothing to write');
  const out = await call(ctx, 'ChangeResourceRecordSets', `zone ${ctx.zoneId}`, (c) =>
    c.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: ctx.zoneId, ChangeBatch: batch })),
  );
  return toDnsChange(out.ChangeInfo);
}

async function getChange(ctx: Route53Context, id: string): Promise<DnsChange> {
  const out = await call(ctx, 'GetChange', `change ${id}`, (c) => c.send(new GetChangeCommand({ Id: id })));
  return toDnsChange(out.ChangeInfo);
}

export function toDnsChange(info: ChangeInfo | undefined): DnsChange {
  if (!info?.Id) throw new ApiError('Route 53 answered a change without ChangeInfo.Id');
  return {
    id: info.Id.replace(/^\/change\//, ''),
    status: info.Status === 'INSYNC' ? 'INSYNC' : 'PENDING',
    submittedAt: (info.SubmittedAt ?? new Date(0)).toISOString(),
  };
}
