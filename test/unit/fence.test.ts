// The fence (issue 13): the policy, binding and record builders, what plan and preflight warn about, and the
// handoff's ownership move — source fenced, then target owned, then the resume only once the server admits it.
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/adapters/sandbox/clock.js';
import { labelSelector, mutatingPolicy, ownershipPatch, recordOf, validatingBinding, validatingPolicy } from '../../src/adapters/k8s/fence-spec.js';
import { HaltError, InputError } from '../../src/core/errors.js';
import type { FenceMode, FencePort, FenceRecord, FenceScope, Ownership } from '../../src/core/fence.js';
import { ownershipOf } from '../../src/core/fence.js';
import type { ClusterPort } from '../../src/core/ports.js';
import type { CronJobRef } from '../../src/core/types.js';
import { window } from '../../src/cli/ledger/action.js';
import { fenceScope, fenceWarnings } from '../../src/plan/fence.js';
import type { HandoffContext } from '../../src/steps/handoff/context.js';
import { DEFAULT_TIMING } from '../../src/steps/handoff/context.js';
import { fenceSource, ownTarget } from '../../src/steps/handoff/fence.js';
import { loadedRunbook } from '../support/builders.js';

const scope: FenceScope = { runbook: 'billing', namespaces: ['billing', 'ops'], selector: 'team=billing,tier!=dev', exclude: ['billing/keep-here'] };

describe('fence objects', () => {
  it('refuses a selected CronJob with suspend not true unless the record says the cluster owns it', () => {
    const policy = validatingPolicy(scope) as { spec: Record<string, unknown> };
    const spec = policy.spec as { paramKind: unknown; validations: { expression: string }[]; matchConditions: { expression: string }[] };
    expect(spec.paramKind).toEqual({ apiVersion: 'cutover.dev/v1', kind: 'FenceRecord' });
    expect(spec.validations[0]?.expression).toContain("variables.owner == 'owned'");
    expect(spec.validations[0]?.expression).toContain('object.spec.suspend == true');
    expect(spec.matchConditions[0]?.expression).toContain("'billing/keep-here'");
  });

  it('binds in the runbook namespaces with its selector, the record from the CronJob namespace, failing closed', () => {
    const deny = validatingBinding(scope, 'Deny') as { spec: Record<string, unknown> };
    expect(deny.spec['validationActions']).toEqual(['Deny']);
    expect(deny.spec['paramRef']).toEqual({ name: 'cutover-fence', parameterNotFoundAction: 'Deny' });
    expect(deny.spec['matchResources']).toEqual({
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['billing', 'ops'] }] },
      objectSelector: { matchLabels: { team: 'billing' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['dev'] }] },
    });
    const warn = validatingBinding(scope, 'Warn') as { spec: Record<string, unknown> };
    expect(warn.spec['validationActions']).toEqual(['Warn', 'Audit']);
  });

  it('in mode Mutate forces suspend: true instead of refusing', () => {
    const policy = mutatingPolicy(scope) as { apiVersion: string; spec: { mutations: { applyConfiguration: { expression: string } }[] } };
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1beta1');
    expect(policy.spec.mutations[0]?.applyConfiguration.expression).toContain('Object.spec{suspend: true}');
  });

  it('reads every label selector form a LIST takes, and refuses one it cannot', () => {
    expect(labelSelector('a=b, c==d, e in (x, y), f notin (z), g, !h')).toEqual({
      matchLabels: { a: 'b', c: 'd' },
      matchExpressions: [
        { key: 'e', operator: 'In', values: ['x', 'y'] },
        { key: 'f', operator: 'NotIn', values: ['z'] },
        { key: 'g', operator: 'Exists' },
        { key: 'h', operator: 'DoesNotExist' },
      ],
    });
    expect(() => labelSelector('a=b,(c')).toThrow(InputError);
  });

  it('keeps a record per namespace: entries per CronJob, a default, anything unknown read as fenced', () => {
    const record = recordOf({ default: 'owned', cronJobs: { invoices: 'fenced', odd: 'yes', 'cutover-fence-probe': 'fenced' } });
    expect(record).toEqual({ default: 'owned', cronJobs: { invoices: 'fenced', odd: 'fenced' } });
    expect(ownershipOf(record, 'other')).toBe('owned');
    expect(recordOf(undefined).default).toBe('fenced');
    expect(ownershipPatch('invoices', 'owned')).toEqual({ spec: { cronJobs: { invoices: 'owned' } } });
  });

  it('is the same fence for a runbook and its rollback', () => {
    const loaded = loadedRunbook();
    expect(fenceScope({ ...loaded.runbook, name: `${loaded.runbook.name}-rollback` }).runbook).toBe(fenceScope(loaded.runbook).runbook);
  });
});

describe('fence warnings', () => {
  const record = (def: Ownership, cronJobs: Record<string, Ownership> = {}): FenceRecord => ({ default: def, cronJobs });
  it('warns about a cluster without a fence, one in mode Warn, a namespace without record, a copy enabled where not owned', () => {
    const warnings = fenceWarnings(
      [
        { cluster: 'blue', role: 'source', state: { records: {} } },
        { cluster: 'green', role: 'target', state: { mode: 'Warn', records: { billing: record('fenced'), ops: undefined } } },
      ],
      [
        { ref: { namespace: 'billing', name: 'invoices' }, cluster: 'green', enabled: true },
        { ref: { namespace: 'billing', name: 'report' }, cluster: 'green', enabled: false },
      ],
    );
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(/^blue has no fence/);
    expect(warnings[1]).toMatch(/mode Warn/);
    expect(warnings[2]).toMatch(/namespace ops has no ownership record/);
    expect(warnings[3]).toMatch(/^billing\/invoices is enabled on green, which does not own it/);
  });

  it('says nothing where both clusters are fenced and every enabled copy is owned', () => {
    const warnings = fenceWarnings(
      [
        { cluster: 'blue', role: 'source', state: { mode: 'Deny', records: { billing: record('owned', { invoices: 'fenced' }) } } },
        { cluster: 'green', role: 'target', state: { mode: 'Deny', records: { billing: record('fenced', { invoices: 'owned' }) } } },
      ],
      [
        { ref: { namespace: 'billing', name: 'invoices' }, cluster: 'green', enabled: true },
        { ref: { namespace: 'billing', name: 'invoices' }, cluster: 'blue', enabled: false },
        { ref: { namespace: 'billing', name: 'report' }, cluster: 'blue', enabled: true },
      ],
    );
    expect(warnings).toEqual([]);
  });
});

describe('ledger window', () => {
  const now = new Date('2026-12-03T12:00:00Z');
  it('ends now and reaches back 24h by default, or as --since or --from say', () => {
    expect(window({}, now).from.toISOString()).toBe('2026-12-02T12:00:00.000Z');
    expect(window({ since: '90m' }, now).from.toISOString()).toBe('2026-12-03T10:30:00.000Z');
    expect(window({ from: '2026-12-03T08:00:00Z', until: '2026-12-03T09:00:00Z' }, now)).toEqual({
      from: new Date('2026-12-03T08:00:00Z'),
      until: new Date('2026-12-03T09:00:00Z'),
    });
  });
  it('refuses a bad duration, a bad time and an empty window', () => {
    expect(() => window({ since: 'yesterday' }, now)).toThrow(/--since: expected a duration/);
    expect(() => window({ from: '3 Dec' }, now)).toThrow(/--from: expected an ISO-8601 time/);
    expect(() => window({ from: '2026-12-04T00:00:00Z' }, now)).toThrow(/the window is empty/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The ownership move, against an in-memory fence whose admission sees record writes a few polls late (the
// apiserver's policy reads its params from an informer cache).

class MemoryFence implements FencePort {
  readonly records = new Map<string, FenceRecord>();
  /** What admission sees: the records as of `lag` admission checks ago. */
  private seen = new Map<string, FenceRecord>();
  private pending = 0;
  admissionChecks = 0;

  constructor(
    readonly log: string[],
    readonly cluster: string,
    private readonly lag = 2,
  ) {}

  state = async (): Promise<{ records: Record<string, FenceRecord | undefined> }> => ({ records: Object.fromEntries(this.records) });
  install = async (_scope: FenceScope, _mode: FenceMode, _def: Ownership): Promise<void> => undefined;
  remove = async (): Promise<{ removed: string[] }> => ({ removed: [] });
  servesMutatingPolicies = async (): Promise<boolean> => false;

  async record(namespace: string): Promise<FenceRecord | undefined> {
    const found = this.records.get(namespace);
    return found ? structuredClone(found) : undefined;
  }

  async setOwnership(ref: CronJobRef, ownership: Ownership): Promise<FenceRecord> {
    // Admission keeps seeing the record as it was before this write for `lag` checks.
    if (this.pending === 0) this.seen = structuredClone(this.records);
    const record = this.records.get(ref.namespace)!;
    record.cronJobs[ref.name] = ownership;
    this.log.push(`${this.cluster} ${ref.name} ${ownership}`);
    this.pending = this.lag;
    return structuredClone(record);
  }

  async admitsResume(ref: CronJobRef): Promise<{ admitted: boolean; reason?: string }> {
    this.admissionChecks += 1;
    if (this.pending > 0) this.pending -= 1;
    else this.seen = structuredClone(this.records);
    const record = this.seen.get(ref.namespace);
    const admitted = !record || ownershipOf(record, ref.name) === 'owned';
    return admitted ? { admitted } : { admitted, reason: 'not owned' };
  }
}

function context(clock: VirtualClock, source: FencePort | undefined, target: FencePort | undefined, journal: string[]): HandoffContext {
  const port = (name: string, fence: FencePort | undefined): ClusterPort => ({ name, ...(fence ? { fence } : {}) }) as unknown as ClusterPort;
  return {
    source: port('blue', source),
    target: port('green', target),
    clock,
    signal: new AbortController().signal,
    policy: { running: 'wait', missedRuns: 'skip', missedRunsLimit: 10, drainTimeoutMs: 60_000 },
    timing: DEFAULT_TIMING,
    reporter: { info: () => undefined, warn: () => undefined, waiting: () => undefined } as unknown as HandoffContext['reporter'],
    journal: async (type, message) => {
      journal.push(`${type} ${message}`);
    },
    deadline: async (_name, ms) => new Date(clock.now().getTime() + ms),
    progress: () => ({ phase: 'pending' }),
    record: async () => undefined,
  };
}

describe('ownership move in the handoff', () => {
  const ref = { namespace: 'billing', name: 'invoices' };

  it('fences the source, then owns the target, then waits until the target admits the resume; journaled once', async () => {
    const clock = new VirtualClock(new Date('2026-12-03T10:00:00Z'));
    const log: string[] = [];
    const journal: string[] = [];
    const blue = new MemoryFence(log, 'blue');
    const green = new MemoryFence(log, 'green', 3);
    blue.records.set('billing', { default: 'owned', cronJobs: {} });
    green.records.set('billing', { default: 'fenced', cronJobs: {} });
    const ctx = context(clock, blue, green, journal);
    await fenceSource(ctx, ref);
    await ownTarget(ctx, ref);
    expect(log).toEqual(['blue invoices fenced', 'green invoices owned']);
    expect(green.admissionChecks).toBeGreaterThan(3);
    expect(journal).toEqual(['write blue: billing/invoices ownership owned -> fenced', 'write green: billing/invoices ownership fenced -> owned']);
    // A resumed run repeats both calls: nothing is written twice.
    await fenceSource(ctx, ref);
    await ownTarget(ctx, ref);
    expect(log).toHaveLength(2);
    expect(journal).toHaveLength(2);
  });

  it('writes nothing where a namespace has no record or a cluster no fence', async () => {
    const clock = new VirtualClock(new Date('2026-12-03T10:00:00Z'));
    const log: string[] = [];
    const journal: string[] = [];
    await ownTarget(context(clock, new MemoryFence(log, 'blue'), undefined, journal), ref);
    expect(log).toEqual([]);
    expect(journal).toEqual([]);
  });

  it('halts, target still suspended, when the target never admits the resume', async () => {
    const clock = new VirtualClock(new Date('2026-12-03T10:00:00Z'));
    const green = new MemoryFence([], 'green');
    green.records.set('billing', { default: 'fenced', cronJobs: {} });
    green.admitsResume = async () => ({ admitted: false, reason: 'denied by another policy' });
    await expect(ownTarget(context(clock, undefined, green, []), ref)).rejects.toThrow(HaltError);
    await expect(ownTarget(context(clock, undefined, green, []), ref)).rejects.toThrow(/denied by another policy/);
  });
});
