// A simulated Route 53 hosted zone: weighted groups, change batches that stay PENDING for a while before
// they are INSYNC, and a request budget that answers `Throttling` when exceeded, as the real service does.
// It takes the same arguments as the real adapter (weights keyed by `name|type|setIdentifier` or by
// SetIdentifier, records as read) and refuses what Route 53 refuses (a weight outside 0..255).
import type { Clock } from '../../core/clock.js';
import { InputError } from '../../core/errors.js';
import type { DnsChange, DnsPort, WeightedRecord } from '../../core/ports.js';
import { MAX_WEIGHT, groupKey, normalizeName, recordKey } from '../../plan/weights.js';
import { TokenBucket, retryThrottled } from '../aws/throttle.js';
import type { VirtualClock } from './clock.js';

export interface SimRecord {
  name: string;
  type: string;
  setIdentifier: string;
  weight: number;
  ttl: number;
  values: string[];
}

/** One change batch as the zone applied it. */
export interface WeightChange {
  at: string;
  changeId: string;
  comment: string;
  /** The weights the batch wrote, per group (`name|type`) and SetIdentifier. */
  written: Record<string, Record<string, number>>;
  /** Every weight of the changed groups after the batch: what resolvers are answered from then on. */
  groups: Record<string, Record<string, number>>;
}

export class SimThrottlingError extends Error {
  override readonly name = 'Throttling';
  constructor() {
    super('Rate exceeded');
  }
}

export class SimulatedZone implements DnsPort {
  private readonly records: SimRecord[];
  private readonly changes = new Map<string, { submittedAt: number }>();
  private requestTimes: number[] = [];
  readonly timeline: WeightChange[] = [];
  readonly calls: Record<string, number> = {};

  constructor(
    private readonly clock: VirtualClock,
    records: SimRecord[],
    private readonly options: { insyncAfterMs: number; maxRequestsPerSecond: number },
  ) {
    this.records = records.map((r) => ({ ...r, name: normalizeName(r.name), type: r.type.toUpperCase() }));
  }

  async readGroup(name: string, type: string): Promise<WeightedRecord[]> {
    this.request('ListResourceRecordSets');
    const key = groupKey(name, type);
    // Route 53 lists a group sorted by SetIdentifier.
    return this.records
      .filter((r) => groupKey(r.name, r.type) === key)
      .sort((a, b) => a.setIdentifier.localeCompare(b.setIdentifier))
      .map((r) => ({ name: r.name, type: r.type, setIdentifier: r.setIdentifier, weight: r.weight, ttl: r.ttl, raw: { ...r, values: [...r.values] } }));
  }

  async setWeights(records: WeightedRecord[], weights: Record<string, number>, comment: string): Promise<DnsChange> {
    this.request('ChangeResourceRecordSets');
    const upserts = this.upsertsOf(records, weights);
    if (upserts.length === 0) throw new InputError('setWeights: no record weight changes; nothing to write');
    // The batch is atomic: everything was checked above, now everything is applied.
    const written: WeightChange['written'] = {};
    for (const { record, weight } of upserts) {
      this.upsert(record, weight);
      const key = groupKey(record.name, record.type);
      written[key] = { ...written[key], [record.setIdentifier]: weight };
    }
    const id = `C${String(this.changes.size + 1).padStart(8, '0')}SANDBOX`;
    const now = this.clock.now().getTime();
    this.changes.set(id, { submittedAt: now });
    this.timeline.push({ at: iso(now), changeId: id, comment, written, groups: this.groupWeights(Object.keys(written)) });
    return { id, status: 'PENDING', submittedAt: iso(now) };
  }

  async getChange(id: string): Promise<DnsChange> {
    this.request('GetChange');
    const change = this.changes.get(id.replace(/^\/change\//, ''));
    if (!change) throw new InputError(`NoSuchChange: change ${id} does not exist in the sandbox zone`);
    const insync = this.clock.now().getTime() - change.submittedAt >= this.options.insyncAfterMs;
    return { id, status: insync ? 'INSYNC' : 'PENDING', submittedAt: iso(change.submittedAt) };
  }

  /** Every record of the zone as it is now. */
  snapshot(): SimRecord[] {
    return this.records.map((r) => ({ ...r, values: [...r.values] }));
  }

  private upsertsOf(records: WeightedRecord[], weights: Record<string, number>): { record: WeightedRecord; weight: number }[] {
    const upserts: { record: WeightedRecord; weight: number }[] = [];
    for (const record of records) {
      const weight = weights[recordKey(record)] ?? weights[record.setIdentifier];
      if (weight === undefined || weight === record.weight) continue;
      if (!Number.isInteger(weight) || weight < 0 || weight > MAX_WEIGHT) {
        throw new InputError(`InvalidInput: weight ${weight} of ${record.name} ${record.type} "${record.setIdentifier}" is outside 0..${MAX_WEIGHT}`);
      }
      upserts.push({ record, weight });
    }
    return upserts;
  }

  /** UPSERT replaces the whole record with the copy sent: here, the record as read with a new weight. */
  private upsert(record: WeightedRecord, weight: number): void {
    const key = recordKey(record);
    const existing = this.records.find((r) => recordKey(r) === key);
    if (existing) {
      existing.weight = weight;
      return;
    }
    const raw = record.raw as Partial<SimRecord> | undefined;
    this.records.push({
      name: normalizeName(record.name),
      type: record.type.toUpperCase(),
      setIdentifier: record.setIdentifier,
      weight,
      ttl: record.ttl ?? 60,
      values: raw?.values ?? [],
    });
  }

  private groupWeights(keys: string[]): WeightChange['groups'] {
    const groups: WeightChange['groups'] = {};
    for (const key of keys) {
      groups[key] = Object.fromEntries(this.records.filter((r) => groupKey(r.name, r.type) === key).map((r) => [r.setIdentifier, r.weight]));
    }
    return groups;
  }

  /** Counts the call and refuses it, like Route 53, once the per-second budget is spent. */
  private request(operation: string): void {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    const now = this.clock.now().getTime();
    this.requestTimes = this.requestTimes.filter((t) => now - t < 1000);
    if (this.requestTimes.length >= this.options.maxRequestsPerSecond) {
      this.calls.Throttled = (this.calls.Throttled ?? 0) + 1;
      throw new SimThrottlingError();
    }
    this.requestTimes.push(now);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The zone as a run sees it: every call first takes a token from the client-side bucket and is retried
 * with backoff when the zone answers `Throttling`, with the same helpers (and the same defaults) the real
 * Route 53 adapter uses, running on the virtual clock.
 */
export function throttledDnsPort(
  zone: DnsPort,
  clock: Clock,
  options: { maxRequestsPerSecond: number; random: () => number },
): DnsPort {
  const bucket = new TokenBucket(options.maxRequestsPerSecond, clock);
  const send = async <T>(call: () => Promise<T>): Promise<T> =>
    retryThrottled(
      async () => {
        await bucket.take();
        return call();
      },
      { clock, random: options.random },
    );
  return {
    readGroup: (name, type) => send(() => zone.readGroup(name, type)),
    setWeights: (records, weights, comment) => send(() => zone.setWeights(records, weights, comment)),
    getChange: (id) => send(() => zone.getChange(id)),
  };
}
