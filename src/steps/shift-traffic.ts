// `shiftTraffic: {percent, soak}`: one atomic Route 53 change batch per step that sends `percent` % of the
// source+target traffic of every configured weighted group to the target cluster, then three waits, each
// with an absolute deadline that survives a resume: the change reaching INSYNC, the record's TTL (resolvers
// keep answering the old weights until their cache expires), and the soak.
//
// Idempotent: the weights before and after are persisted before the write; a resumed step reads the
// group first and writes only when it still has the weights from before.
import { formatDuration } from '../core/duration.js';
import { HaltError, InputError } from '../core/errors.js';
import type { DnsPort, WeightedRecord } from '../core/ports.js';
import type { DnsRecordGroup, Environment, ShiftTrafficStep } from '../config/types.js';
import { assertWritableWeights, effectiveShares, groupKey, planShift, recordKey } from '../plan/weights.js';
import { pauseBefore, pollPauseMs, sleepUntil } from './gates/poll.js';
import type { JsonValue, RunContext, StepExecutor, StepRuntime } from './types.js';

/** Route 53 usually reports INSYNC within a minute; ten is a generous bound before a human looks. */
export const INSYNC_TIMEOUT_MS = 10 * 60_000;
/** An alias record has no TTL of its own; Route 53 answers it with the alias target's (60 s for load balancers). */
export const ALIAS_TTL_MS = 60_000;

/** Weights by SetIdentifier, per weighted group (`name|type`). */
export type GroupWeights = Record<string, Record<string, number>>;

type DnsSettings = NonNullable<Environment['dns']>;
type RunPart = Pick<RunContext, 'runId' | 'loaded' | 'ports' | 'clock' | 'journal' | 'reporter'>;

interface Shift {
  before: GroupWeights;
  after: GroupWeights;
}

interface GroupRead {
  group: DnsRecordGroup;
  key: string;
  records: WeightedRecord[];
}

export const shiftTraffic: StepExecutor<ShiftTrafficStep> = async (rt) => {
  const { dns, settings } = dnsOf(rt.run);
  const groups = await readGroups(dns, settings.records);
  const shift = storedShift(rt.progress.data, rt.step.percent) ?? (await planAndRecord(rt, groups));
  const changeId = await writeIfNeeded(rt, dns, groups, shift);
  if (changeId) await waitInSync(rt, dns, changeId, 'dns-insync');
  await waitForResolvers(rt, groups, shift);
  await soak(rt);
  return {
    percent: rt.step.percent,
    before: shift.before,
    after: shift.after,
    shares: sharesOf(groups, shift.after),
    preRunWeights: rt.progress.data.preRunWeights ?? shift.before,
    ...(changeId ? { changeId } : {}),
  };
};

function dnsOf(run: RunPart): { dns: DnsPort; settings: DnsSettings } {
  const settings = run.loaded.environment.dns;
  if (!settings || settings.records.length === 0) {
    throw new InputError(`${run.loaded.environmentFile}: shiftTraffic needs a dns section with at least one record group`);
  }
  if (!run.ports.dns) throw new InputError('shiftTraffic needs Route 53 access, and this run has no DNS port');
  return { dns: run.ports.dns, settings };
}

async function readGroups(dns: DnsPort, groups: DnsRecordGroup[]): Promise<GroupRead[]> {
  const reads: GroupRead[] = [];
  // One group after the other: the calls share one rate limit anyway.
  for (const group of groups) reads.push({ group, key: groupKey(group.name, group.type), records: await dns.readGroup(group.name, group.type) });
  return reads;
}

const weightsOf = (records: WeightedRecord[]): Record<string, number> =>
  Object.fromEntries(records.map((r) => [r.setIdentifier, r.weight]));

/** Computes the target weights from the group as read now (refusing the traps) and persists them before any write. */
async function planAndRecord(rt: StepRuntime<ShiftTrafficStep>, groups: GroupRead[]): Promise<Shift> {
  const { from, to } = rt.run.loaded.runbook;
  const shift: Shift = { before: {}, after: {} };
  for (const read of groups) {
    const result = planShift(read.records, read.group, from, to, rt.step.percent);
    for (const note of [result.rounding, ...result.notes]) {
      if (!note) continue;
      rt.run.reporter.warn(note);
      await rt.run.journal.append({ type: 'warning', step: rt.index, message: note });
    }
    shift.before[read.key] = weightsOf(read.records);
    shift.after[read.key] = { ...weightsOf(read.records), ...result.weights };
  }
  // Kept from an earlier attempt of this step if there was one: by now the group may already be shifted.
  const preRunWeights = preRunWeightsFrom([rt.progress.data, ...Object.values(rt.run.outputs)]) ?? shift.before;
  await rt.update({ percent: rt.step.percent, before: shift.before, after: shift.after, preRunWeights });
  return shift;
}

/** The weights an earlier attempt of this step computed, unless the runbook's percent has changed since. */
function storedShift(data: Record<string, JsonValue>, percent: number): Shift | undefined {
  if (data.percent !== undefined && data.percent !== percent) return undefined;
  const before = asGroupWeights(data.before);
  const after = asGroupWeights(data.after);
  return before && after ? { before, after } : undefined;
}

function asGroupWeights(value: JsonValue | undefined): GroupWeights | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: GroupWeights = {};
  for (const [key, group] of Object.entries(value)) {
    if (typeof group !== 'object' || group === null || Array.isArray(group)) return undefined;
    out[key] = {};
    for (const [id, weight] of Object.entries(group)) {
      if (typeof weight !== 'number') return undefined;
      out[key][id] = weight;
    }
  }
  return out;
}

/** The weights recorded before the first shift of the run: in the outputs (or progress data) of shift steps. */
export function preRunWeightsFrom(sources: (Record<string, JsonValue> | undefined)[]): GroupWeights | undefined {
  for (const source of sources) {
    const weights = asGroupWeights(source?.preRunWeights);
    if (weights) return weights;
  }
  return undefined;
}

const sameWeights = (records: WeightedRecord[], wanted: Record<string, number> | undefined): boolean =>
  wanted !== undefined && records.every((r) => wanted[r.setIdentifier] === undefined || wanted[r.setIdentifier] === r.weight);

/** Writes the batch unless the group already has the target weights; returns the change to wait for. */
async function writeIfNeeded(rt: StepRuntime<ShiftTrafficStep>, dns: DnsPort, groups: GroupRead[], shift: Shift): Promise<string | undefined> {
  const stored = typeof rt.progress.data.changeId === 'string' ? rt.progress.data.changeId : undefined;
  if (groups.every((g) => sameWeights(g.records, shift.after[g.key]))) {
    await rt.run.journal.append({
      type: 'write',
      step: rt.index,
      message: stored ? `weights already at the target (change ${stored}); not writing again` : 'weights already at the target; nothing to write',
    });
    return stored;
  }
  const drifted = groups.filter((g) => !sameWeights(g.records, shift.after[g.key]) && !sameWeights(g.records, shift.before[g.key]));
  if (drifted.length > 0) throw driftError(drifted, shift);
  const { records, weights } = changesOf(groups, shift.after);
  const comment = `cutover run ${rt.run.runId} step ${rt.index + 1} (${rt.label}): ${rt.step.percent}% to ${rt.run.loaded.runbook.to}`;
  const change = await dns.setWeights(records, weights, comment);
  await rt.update({ changeId: change.id, submittedAt: change.submittedAt });
  await rt.run.journal.append({
    type: 'write',
    step: rt.index,
    message: `Route 53 change ${change.id}: ${describeWeights(shift.after)}`,
    data: { changeId: change.id, submittedAt: change.submittedAt, status: change.status, before: shift.before, after: shift.after },
  });
  rt.run.reporter.info(`weights written (change ${change.id}): ${describeWeights(shift.after)}`);
  return change.id;
}

/** The records whose weight changes, each group checked again right before the write. */
function changesOf(groups: GroupRead[], after: GroupWeights): { records: WeightedRecord[]; weights: Record<string, number> } {
  const records: WeightedRecord[] = [];
  const weights: Record<string, number> = {};
  for (const g of groups) {
    const wanted = after[g.key] ?? {};
    const where = `DNS record ${g.group.name} ${g.group.type}`;
    for (const r of g.records) {
      if (r.setIdentifier === '' || Number.isNaN(r.weight)) throw new InputError(`${where}: a record of the group is not weighted; nothing was written`);
    }
    assertWritableWeights(g.records.map((r) => ({ setIdentifier: r.setIdentifier, weight: wanted[r.setIdentifier] ?? r.weight })), where);
    for (const r of g.records) {
      const weight = wanted[r.setIdentifier];
      if (weight === undefined || weight === r.weight) continue;
      records.push(r);
      weights[recordKey(r)] = weight;
    }
  }
  return { records, weights };
}

function driftError(drifted: GroupRead[], shift: Shift): HaltError {
  const found = drifted.map((g) => `${g.group.name} ${g.group.type}: ${describe(weightsOf(g.records))}`).join('; ');
  return new HaltError(
    `Route 53 weights changed outside this run: found ${found}; expected the weights before this step (${describeWeights(pick(shift.before, drifted))}) or after it (${describeWeights(pick(shift.after, drifted))})`,
    'Nothing was written. Find out who changed the weights, set them back, then resume the run.',
  );
}

const pick = (weights: GroupWeights, groups: GroupRead[]): GroupWeights =>
  Object.fromEntries(groups.map((g) => [g.key, weights[g.key] ?? {}]));

const describe = (weights: Record<string, number>): string =>
  Object.entries(weights)
    .map(([id, w]) => `${id}=${w}`)
    .join(' ');

export const describeWeights = (weights: GroupWeights): string =>
  Object.entries(weights)
    .map(([key, group]) => `${key.replace('|', ' ')} ${describe(group)}`)
    .join('; ');

function sharesOf(groups: GroupRead[], after: GroupWeights): JsonValue {
  return Object.fromEntries(
    groups.map((g) => [
      g.key,
      effectiveShares(g.records.map((r) => ({ setIdentifier: r.setIdentifier, weight: after[g.key]?.[r.setIdentifier] ?? r.weight }))).map((s) => ({ ...s })),
    ]),
  );
}

interface WaitRuntime {
  run: RunPart;
  index?: number;
  deadline(name: string, ms: number): Promise<Date>;
  update?(data: Record<string, JsonValue>): Promise<void>;
  progress?: { data: Record<string, JsonValue> };
  signal: AbortSignal;
}

/** Polls GetChange until INSYNC, with growing pauses, until an absolute deadline. */
export async function waitInSync(rt: WaitRuntime, dns: DnsPort, changeId: string, deadlineName: string): Promise<string> {
  const { clock, reporter, journal } = rt.run;
  const halts = typeof rt.progress?.data.insyncHalts === 'number' ? rt.progress.data.insyncHalts : 0;
  const until = await rt.deadline(halts === 0 ? deadlineName : `${deadlineName}-${halts + 1}`, INSYNC_TIMEOUT_MS);
  const awaited = `Route 53 change ${changeId} to be INSYNC`;
  reporter.waiting(awaited, until);
  for (let attempt = 1; ; attempt++) {
    const change = await dns.getChange(changeId);
    if (change.status === 'INSYNC') {
      const insyncAt = clock.now().toISOString();
      reporter.waitOver?.(awaited, `INSYNC after ${attempt} poll(s)`);
      await rt.update?.({ insyncAt });
      await journal.append({ type: 'wait', ...stepOf(rt), message: `change ${changeId} INSYNC`, data: { changeId, submittedAt: change.submittedAt, insyncAt, polls: attempt } });
      return insyncAt;
    }
    if (!(await pauseBefore(clock, pollPauseMs(attempt), until, rt.signal))) {
      await rt.update?.({ insyncHalts: halts + 1 });
      throw new HaltError(
        `Route 53 change ${changeId} is still PENDING at its deadline ${until.toISOString()}; the new weights are written but not yet served by every Route 53 server`,
        `Check it with: aws route53 get-change --id ${changeId}. Resuming the run polls the same change; nothing is written again.`,
      );
    }
  }
}

const stepOf = (rt: { index?: number }): { step?: number } => (rt.index === undefined ? {} : { step: rt.index });

/** How long resolvers may still answer the old weights: the longest TTL among the records that changed. */
export function resolverCacheMs(groups: { key: string; records: WeightedRecord[] }[], shift: Shift): number {
  let longest = 0;
  for (const g of groups) {
    for (const r of g.records) {
      if (shift.before[g.key]?.[r.setIdentifier] === shift.after[g.key]?.[r.setIdentifier]) continue;
      longest = Math.max(longest, r.ttl !== undefined ? r.ttl * 1000 : ALIAS_TTL_MS);
    }
  }
  return longest;
}

async function waitForResolvers(rt: StepRuntime<ShiftTrafficStep>, groups: GroupRead[], shift: Shift): Promise<void> {
  const ttlMs = resolverCacheMs(groups, shift);
  if (ttlMs === 0) return;
  const until = await rt.deadline('dns-ttl', ttlMs);
  const awaited = `resolver caches to expire (TTL ${formatDuration(ttlMs)})`;
  rt.run.reporter.waiting(awaited, until);
  await sleepUntil(rt.run.clock, until, rt.signal);
  rt.run.reporter.waitOver?.(awaited, 'TTL passed');
  await rt.run.journal.append({ type: 'wait', step: rt.index, message: `TTL ${formatDuration(ttlMs)} waited`, data: { until: until.toISOString() } });
}

async function soak(rt: StepRuntime<ShiftTrafficStep>): Promise<void> {
  if (rt.step.soakMs <= 0) return;
  const until = await rt.deadline('soak', rt.step.soakMs);
  const awaited = `soak at ${rt.step.percent}% (${formatDuration(rt.step.soakMs)})`;
  rt.run.reporter.waiting(awaited, until);
  await sleepUntil(rt.run.clock, until, rt.signal);
  rt.run.reporter.waitOver?.(awaited, 'soak done');
  await rt.run.journal.append({ type: 'wait', step: rt.index, message: `soak ${formatDuration(rt.step.soakMs)} done`, data: { until: until.toISOString() } });
}

/**
 * Rollback (`onFailure: rollback`): writes back the weights recorded before the run's first shift, in one
 * batch, and waits for INSYNC. Reads first, so running it twice writes once. Records added since are left alone.
 */
export async function restoreWeights(rt: WaitRuntime, before: GroupWeights): Promise<Record<string, JsonValue>> {
  const { dns, settings } = dnsOf(rt.run);
  const groups = (await readGroups(dns, settings.records)).filter((g) => before[g.key] !== undefined);
  for (const g of groups) {
    const missing = Object.keys(before[g.key] ?? {}).filter((id) => !g.records.some((r) => r.setIdentifier === id));
    if (missing.length > 0) {
      throw new HaltError(`cannot restore ${g.group.name} ${g.group.type}: record(s) ${missing.join(', ')} no longer exist`, `Restore the weights by hand: ${describeWeights(before)}`);
    }
  }
  const { records, weights } = changesOf(groups, before);
  if (records.length === 0) {
    await rt.run.journal.append({ type: 'write', ...stepOf(rt), message: `rollback: weights already as before the run (${describeWeights(before)})` });
    return { restored: before };
  }
  const change = await dns.setWeights(records, weights, `cutover run ${rt.run.runId}: rollback to the weights before the run`);
  await rt.run.journal.append({ type: 'write', ...stepOf(rt), message: `rollback: Route 53 change ${change.id}: ${describeWeights(before)}`, data: { changeId: change.id, restored: before } });
  rt.run.reporter.info(`weights restored (change ${change.id}): ${describeWeights(before)}`);
  const insyncAt = await waitInSync(rt, dns, change.id, 'rollback-insync');
  return { restored: before, changeId: change.id, insyncAt };
}

/** What a halted run tells the operator about rolling traffic back by hand. */
export function rollbackHint(before: GroupWeights): string {
  return `Traffic was left as it is. To roll back, set the weights recorded before the run: ${describeWeights(before)} (or rerun with onFailure: rollback).`;
}

/**
 * The engine's side of `onFailure: rollback` for traffic: finds the pre-run weights in the progress of the
 * steps run so far (outputs of finished shift steps, data of the one that failed) and restores them.
 * Undefined when no shift step recorded any, i.e. traffic was never touched by this run.
 */
export async function rollbackTraffic(
  rt: WaitRuntime,
  progress: { output?: Record<string, JsonValue>; data: Record<string, JsonValue> }[],
): Promise<Record<string, JsonValue> | undefined> {
  const before = preRunWeightsFrom(progress.flatMap((p) => [p.output, p.data]));
  return before ? restoreWeights(rt, before) : undefined;
}
