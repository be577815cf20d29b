// Per-CronJob progress of the moveCronJobs step, persisted in the step's progress data under `cronjobs`
// so `cutover status` shows where each handoff is. It is a hint for the operator and for a resumed run's
// bookkeeping; the protocol always re-reads both clusters before it acts.
import { GroupCommit } from '../../core/group-commit.js';
import type { CronJobRef } from '../../core/types.js';
import { refKey } from '../../core/types.js';
import type { JsonValue } from '../types.js';
import type { TickRecord } from '../../plan/catch-up.js';

export const PHASES = [
  'pending',
  'target-suspended',
  'source-suspended',
  'drained',
  'baselined',
  'resumed',
  'verified',
] as const;

export type HandoffPhase = (typeof PHASES)[number];

export type DrainOutcome = 'none' | 'waited' | 'ignored';

export interface CronJobProgress {
  phase: HandoffPhase;
  /** When this handoff first read the clusters. */
  startedAt?: string;
  /**
   * The target copy's lastScheduleTime before this handoff wrote anything ('' when it had none). Target
   * Jobs for ticks at or before it predate the handoff, so verify does not blame the handoff for them.
   */
  targetLastBefore?: string;
  /** The first read found the source suspended and the target enabled: nothing was written. */
  foundMoved?: boolean;
  /** Both copies were enabled and the target was suspended first. */
  targetGuarded?: boolean;
  drain?: DrainOutcome;
  /** The lastScheduleTime the target was resumed with, and why that value. */
  baseline?: string;
  baselineReason?: string;
  /**
   * Ticks after this instant (exclusive) fell during the handoff: the latest tick at or before its start
   * when the source copy was enabled then (the source may not have started it yet), else its start.
   */
  missedFrom?: string;
  /** The tick the handoff waited for so it would run on the source first. */
  awaitedTick?: string;
  /** Every tick the handoff affected: run late on the target, skipped, or left to the source. */
  ticks?: TickRecord[];
  /** How often the source copy was found enabled again after it had been suspended. */
  reenabled?: number;
  finishedAt?: string;
}

const isPhase = (value: unknown): value is HandoffPhase => PHASES.includes(value as HandoffPhase);

const text = (value: JsonValue | undefined): string | undefined => (typeof value === 'string' ? value : undefined);

function parseOne(value: JsonValue | undefined): CronJobProgress {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { phase: 'pending' };
  const drain = text(value.drain);
  const progress: CronJobProgress = { phase: isPhase(value.phase) ? value.phase : 'pending' };
  assign(progress, 'startedAt', text(value.startedAt));
  assign(progress, 'targetLastBefore', text(value.targetLastBefore));
  assign(progress, 'foundMoved', value.foundMoved === true ? true : undefined);
  assign(progress, 'targetGuarded', value.targetGuarded === true ? true : undefined);
  assign(progress, 'drain', drain === 'none' || drain === 'waited' || drain === 'ignored' ? drain : undefined);
  assign(progress, 'baseline', text(value.baseline));
  assign(progress, 'baselineReason', text(value.baselineReason));
  assign(progress, 'missedFrom', text(value.missedFrom));
  assign(progress, 'awaitedTick', text(value.awaitedTick));
  assign(progress, 'ticks', parseTicks(value.ticks));
  assign(progress, 'reenabled', typeof value.reenabled === 'number' ? value.reenabled : undefined);
  assign(progress, 'finishedAt', text(value.finishedAt));
  return progress;
}

const OUTCOMES: readonly string[] = ['late', 'skipped', 'source'];

function parseTicks(value: JsonValue | undefined): TickRecord[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const records: TickRecord[] = [];
  for (const entry of value) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue;
    const tick = text(entry.tick);
    const outcome = text(entry.outcome);
    if (tick === undefined || outcome === undefined || !OUTCOMES.includes(outcome)) continue;
    const record: TickRecord = { tick, outcome: outcome as TickRecord['outcome'] };
    for (const key of ['cluster', 'job', 'reason'] as const) {
      const field = text(entry[key]);
      if (field !== undefined) record[key] = field;
    }
    records.push(record);
  }
  return records;
}

function assign<K extends keyof CronJobProgress>(target: CronJobProgress, key: K, value: CronJobProgress[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** Reads what an earlier attempt of the step persisted; anything malformed starts from `pending`. */
export function parseProgress(value: JsonValue | undefined): Record<string, CronJobProgress> {
  const result: Record<string, CronJobProgress> = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return result;
  for (const [key, entry] of Object.entries(value)) result[key] = parseOne(entry);
  return result;
}

export function progressToJson(progress: CronJobProgress): Record<string, JsonValue> {
  const json: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(progress)) if (value !== undefined) json[key] = value as unknown as JsonValue;
  return json;
}

/**
 * Keeps every CronJob's progress and persists the whole map on each change, by group commit: writes never
 * overlap, so a slower one never lands after a newer one and rolls a phase back, and each change resolves
 * once a write that holds it is stored.
 */
export class ProgressBook {
  private readonly entries: Record<string, CronJobProgress>;
  /** Each write stores the whole map as it is when the write starts. */
  private readonly commit = new GroupCommit(() => this.persist(this.toJson()));

  constructor(
    initial: JsonValue | undefined,
    private readonly persist: (cronjobs: Record<string, JsonValue>) => Promise<void>,
  ) {
    this.entries = parseProgress(initial);
  }

  get(ref: CronJobRef): CronJobProgress {
    return { ...(this.entries[refKey(ref)] ?? { phase: 'pending' }) };
  }

  all(): Record<string, CronJobProgress> {
    return Object.fromEntries(Object.entries(this.entries).map(([key, value]) => [key, { ...value }]));
  }

  record(ref: CronJobRef, patch: Partial<CronJobProgress>): Promise<void> {
    return this.recordMany([[ref, patch]]);
  }

  /** Several changes in one persisted write. */
  recordMany(changes: [CronJobRef, Partial<CronJobProgress>][]): Promise<void> {
    for (const [ref, patch] of changes) {
      const key = refKey(ref);
      this.entries[key] = { ...(this.entries[key] ?? { phase: 'pending' }), ...patch };
    }
    return this.commit.request();
  }

  private toJson(): Record<string, JsonValue> {
    return Object.fromEntries(Object.entries(this.entries).map(([key, value]) => [key, progressToJson(value)]));
  }
}
