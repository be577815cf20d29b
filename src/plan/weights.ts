// Route 53 weight math. Weights are relative: a record's share is its weight over the sum of the group's
// weights, and a group whose weights are ALL zero is split equally. "Weight 5" on both the source and the
// target record is therefore 50%, not 5% — so cutover never writes a weight the operator typed; it writes
// the weights that give the asked share of the source+target traffic and shows the effective share of
// every record of the group, before and after. Pure: no SDK, no I/O.
import { InputError } from '../core/errors.js';
import type { WeightedRecord } from '../core/ports.js';
import type { DnsRecordGroup } from '../config/types.js';
import type { RecordShare } from './types.js';

export const MAX_WEIGHT = 255;

/** Key of a weighted group, as in `Observation.dns`: `name|type`. */
export const groupKey = (name: string, type: string): string => `${normalizeName(name)}|${type.toUpperCase()}`;

/** Key of one record across groups: `name|type|setIdentifier`. */
export const recordKey = (record: { name: string; type: string; setIdentifier: string }): string =>
  `${groupKey(record.name, record.type)}|${record.setIdentifier}`;

/** Route 53 answers names fully qualified and lower case; config may omit the final dot. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/** Shares rounded to 1/100 of a percent: precise enough to see a rounding, stable in plan files. */
const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Effective share of every record of a group, after Route 53's rule that all-zero means an equal split. */
export function effectiveShares(records: { setIdentifier: string; weight: number }[]): RecordShare[] {
  const total = records.reduce((sum, r) => sum + r.weight, 0);
  return records.map((r) => ({
    setIdentifier: r.setIdentifier,
    weight: r.weight,
    percent: round2(total === 0 ? 100 / records.length : (r.weight / total) * 100),
  }));
}

export interface ShiftResult {
  /** New weights of the source and target records, keyed by SetIdentifier. Other records keep theirs. */
  weights: Record<string, number>;
  before: RecordShare[];
  after: RecordShare[];
  /** Share of the source+target traffic the target really gets with these integer weights, 0..100. */
  achievedPercent: number;
  /** Set when integer weights cannot give exactly the asked percent; says what is achieved instead. */
  rounding?: string;
  /** Other things the operator should see in the plan (a canary whose share changes with the new total). */
  notes: string[];
  /** What the operator must not miss: another record of the group losing all the traffic it had. */
  warnings: string[];
}

/**
 * Weights that send `percent` % of the source+target traffic of `group` to the target cluster `to`.
 * Throws InputError on the traps: a record that is not weighted, a weight outside 0..255, a missing
 * SetIdentifier, a group whose weights would all be 0.
 */
export function planShift(
  records: WeightedRecord[],
  group: DnsRecordGroup,
  from: string,
  to: string,
  percent: number,
): ShiftResult {
  const where = `DNS record ${group.name} ${group.type}`;
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new InputError(`${where}: shiftTraffic percent must be between 0 and 100, got ${percent}`);
  }
  assertWeightedGroup(records, where);
  const { fromId, toId, source, target } = shiftPair(records, group, { from, to }, where);
  const currentPair = source.weight + target.weight;
  const { total, targetWeight } = chooseWeights(percent, currentPair > 0 ? currentPair : 100);
  const weights = { [fromId]: total - targetWeight, [toId]: targetWeight };
  const afterRecords = records.map((r) => ({ setIdentifier: r.setIdentifier, weight: weights[r.setIdentifier] ?? r.weight }));
  assertNotAllZero(afterRecords, where);
  const achievedPercent = round2((targetWeight / total) * 100);
  const result: ShiftResult = {
    weights,
    before: effectiveShares(records),
    after: effectiveShares(afterRecords),
    achievedPercent,
    notes: [],
    warnings: [],
  };
  if (!sameShare(targetWeight, total, percent)) {
    result.rounding =
      `${where}: ${percent}% cannot be written exactly with weights 0..${MAX_WEIGHT}; ` +
      `${to} gets ${achievedPercent}% of the ${from}+${to} traffic (weights ${total - targetWeight}/${targetWeight})`;
  }
  const others = records.filter((r) => r !== source && r !== target);
  const split = `${from}=${total - targetWeight}/${to}=${targetWeight}`;
  const allZeroBefore = currentPair === 0 && others.every((r) => r.weight === 0);
  result.warnings.push(...others.flatMap((other) => lostShareWarning(result, other, { where, split, allZeroBefore })));
  if (others.some((r) => r.weight > 0) && total !== currentPair) {
    result.notes.push(
      `${where}: the ${from}+${to} weight total changes from ${currentPair} to ${total}, so the share of ` +
        `${others.map((r) => r.setIdentifier).join(', ')} changes too (their weights are left as they are)`,
    );
  }
  return result;
}

/** The records of the two clusters the step moves traffic between; they must be two different records. */
function shiftPair(
  records: WeightedRecord[],
  group: DnsRecordGroup,
  { from, to }: { from: string; to: string },
  where: string,
): { fromId: string; toId: string; source: WeightedRecord; target: WeightedRecord } {
  const fromId = setIdentifierOf(group, from, where);
  const toId = setIdentifierOf(group, to, where);
  if (fromId === toId) {
    throw new InputError(`${where}: clusters ${from} and ${to} have the same SetIdentifier "${fromId}"`);
  }
  return { fromId, toId, source: findRecord(records, fromId, from, where), target: findRecord(records, toId, to, where) };
}

/** Another record of the group that had traffic and has none after the step. */
function lostShareWarning(
  result: ShiftResult,
  other: WeightedRecord,
  { where, split, allZeroBefore }: { where: string; split: string; allZeroBefore: boolean },
): string[] {
  const shareIn = (shares: RecordShare[]): number => shares.find((s) => s.setIdentifier === other.setIdentifier)?.percent ?? 0;
  const before = shareIn(result.before);
  if (before === 0 || shareIn(result.after) !== 0) return [];
  // An all-zero group is split equally: its records at weight 0 get traffic until a shift writes any weight.
  return [
    `${where}: ${other.setIdentifier} loses all its traffic (${before}% → 0%): its weight stays ${other.weight}, but ` +
      `${split} leaves it nothing${allZeroBefore ? ' (until now every weight of the group was 0, which Route 53 answers as an equal split)' : ''}`,
  ];
}

/**
 * Refuses weights Route 53 would misread or reject: all zero (an equal split, whatever was meant), outside
 * 0..255, not an integer. Used by the planner and again right before a change batch is sent.
 */
export function assertWritableWeights(records: { setIdentifier: string; weight: number }[], where: string): void {
  for (const r of records) {
    if (!Number.isInteger(r.weight) || r.weight < 0 || r.weight > MAX_WEIGHT) {
      throw new InputError(`${where}: weight of SetIdentifier "${r.setIdentifier}" would be ${r.weight}; Route 53 weights are integers 0..${MAX_WEIGHT}`);
    }
  }
  assertNotAllZero(records, where);
}

function assertNotAllZero(records: { weight: number }[], where: string): void {
  if (records.length > 0 && records.every((r) => r.weight === 0)) {
    throw new InputError(
      `${where}: every weight of the group would be 0, and Route 53 then splits traffic EQUALLY between all records; ` +
        'give at least one record a weight above 0',
    );
  }
}

function assertWeightedGroup(records: WeightedRecord[], where: string): void {
  if (records.length === 0) throw new InputError(`${where}: no such record in the hosted zone`);
  for (const r of records) {
    // Adapters report a record without SetIdentifier/Weight with setIdentifier '' and a NaN weight.
    if (r.setIdentifier === '' || Number.isNaN(r.weight)) {
      throw new InputError(`${where}: the record${r.setIdentifier ? ` "${r.setIdentifier}"` : ''} is not a weighted record (no SetIdentifier/Weight); cutover only shifts weighted groups`);
    }
    if (!Number.isInteger(r.weight) || r.weight < 0 || r.weight > MAX_WEIGHT) {
      throw new InputError(`${where}: SetIdentifier "${r.setIdentifier}" has weight ${r.weight}, outside 0..${MAX_WEIGHT}`);
    }
  }
}

function setIdentifierOf(group: DnsRecordGroup, cluster: string, where: string): string {
  const id = group.setIdentifiers[cluster];
  if (id === undefined || id === '') {
    throw new InputError(`${where}: setIdentifiers has no entry for cluster "${cluster}" (has: ${Object.keys(group.setIdentifiers).join(', ') || 'none'})`);
  }
  return id;
}

function findRecord(records: WeightedRecord[], setIdentifier: string, cluster: string, where: string): WeightedRecord {
  const found = records.find((r) => r.setIdentifier === setIdentifier);
  if (!found) {
    throw new InputError(
      `${where}: no record with SetIdentifier "${setIdentifier}" (cluster ${cluster}); found: ${records.map((r) => r.setIdentifier).join(', ')}`,
    );
  }
  return found;
}

const EPSILON = 1e-9;

function sameShare(targetWeight: number, total: number, percent: number): boolean {
  return Math.abs((targetWeight / total) * 100 - percent) < EPSILON;
}

/**
 * Picks the source+target total T (1..255) and the target weight. Exact shares first; among them the total
 * closest to the current one, so records outside the pair (a canary) keep their share when they can.
 * Without an exact total, the one with the smallest rounding error. T >= 1, so the pair never goes all-zero.
 */
export function chooseWeights(percent: number, preferredTotal: number): { total: number; targetWeight: number } {
  let best: { total: number; targetWeight: number; error: number; distance: number } | undefined;
  for (let total = 1; total <= MAX_WEIGHT; total++) {
    const targetWeight = Math.round((total * percent) / 100);
    const error = Math.abs((targetWeight / total) * 100 - percent);
    const distance = Math.abs(total - preferredTotal);
    if (!best || better(error, distance, total, best)) best = { total, targetWeight, error, distance };
  }
  // The loop always runs; the fallback only satisfies the type checker.
  return best ? { total: best.total, targetWeight: best.targetWeight } : { total: 100, targetWeight: Math.round(percent) };
}

function better(error: number, distance: number, total: number, best: { error: number; distance: number; total: number }): boolean {
  const exact = error < EPSILON;
  const bestExact = best.error < EPSILON;
  if (exact !== bestExact) return exact;
  if (!exact && Math.abs(error - best.error) >= EPSILON) return error < best.error;
  if (distance !== best.distance) return distance < best.distance;
  return total > best.total;
}

/**
 * The group as it will be after a shift: the planner feeds step N's result into step N+1, so each step's
 * "before" is what the previous step leaves, not what was observed.
 */
export function applyWeights<R extends { setIdentifier: string; weight: number }>(records: R[], weights: Record<string, number>): R[] {
  return records.map((r) => (weights[r.setIdentifier] === undefined ? r : { ...r, weight: weights[r.setIdentifier] as number }));
}
