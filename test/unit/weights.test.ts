import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import type { WeightedRecord } from '../../src/core/ports.js';
import type { DnsRecordGroup } from '../../src/config/types.js';
import { applyWeights, assertWritableWeights, chooseWeights, effectiveShares, planShift } from '../../src/plan/weights.js';

const group: DnsRecordGroup = { name: 'api.example.com.', type: 'A', setIdentifiers: { blue: 'blue-id', green: 'green-id' } };

function rec(setIdentifier: string, weight: number): WeightedRecord {
  return { name: 'api.example.com.', type: 'A', setIdentifier, weight, ttl: 60, raw: { SetIdentifier: setIdentifier, Weight: weight } };
}

const percentOf = (shares: { setIdentifier: string; percent: number }[], id: string): number | undefined =>
  shares.find((s) => s.setIdentifier === id)?.percent;

describe('effective shares', () => {
  it('are weight over the sum of the group', () => {
    expect(effectiveShares([rec('a', 30), rec('b', 10)]).map((s) => s.percent)).toEqual([75, 25]);
  });

  it('split equally when every weight is 0, as Route 53 does', () => {
    expect(effectiveShares([rec('a', 0), rec('b', 0), rec('c', 0)]).map((s) => s.percent)).toEqual([33.33, 33.33, 33.33]);
  });

  it('show the 5+5 trap: weight 5 on both records is 50%, not 5%', () => {
    expect(effectiveShares([rec('blue-id', 5), rec('green-id', 5)]).map((s) => s.percent)).toEqual([50, 50]);
  });
});

describe('planShift', () => {
  it('sends exactly the asked share of blue+green to the target, from the 5+5 trap', () => {
    const result = planShift([rec('blue-id', 5), rec('green-id', 5)], group, 'blue', 'green', 5);
    expect(percentOf(result.before, 'green-id')).toBe(50);
    expect(percentOf(result.after, 'green-id')).toBe(5);
    expect(result.achievedPercent).toBe(5);
    expect(result.rounding).toBeUndefined();
    const w = result.weights;
    expect(w['green-id']! / (w['blue-id']! + w['green-id']!)).toBeCloseTo(0.05, 12);
  });

  it('keeps the blue+green total so a third record keeps its real share', () => {
    const records = [rec('blue-id', 100), rec('green-id', 0), rec('canary', 10)];
    const result = planShift(records, group, 'blue', 'green', 10);
    expect(result.weights).toEqual({ 'blue-id': 90, 'green-id': 10 });
    expect(result.after).toEqual([
      { setIdentifier: 'blue-id', weight: 90, percent: 81.82 },
      { setIdentifier: 'green-id', weight: 10, percent: 9.09 },
      { setIdentifier: 'canary', weight: 10, percent: 9.09 },
    ]);
    expect(percentOf(result.before, 'canary')).toBe(percentOf(result.after, 'canary'));
    expect(result.notes).toEqual([]);
  });

  it('moves everything at 100% and nothing at 0%', () => {
    const records = [rec('blue-id', 100), rec('green-id', 0)];
    expect(planShift(records, group, 'blue', 'green', 100).weights).toEqual({ 'blue-id': 0, 'green-id': 100 });
    expect(planShift(records, group, 'blue', 'green', 0).weights).toEqual({ 'blue-id': 100, 'green-id': 0 });
  });

  it('rescales when the current total cannot express the share, and says the canary share changes', () => {
    const records = [rec('blue-id', 1), rec('green-id', 0), rec('canary', 1)];
    const result = planShift(records, group, 'blue', 'green', 10);
    expect(result.achievedPercent).toBe(10);
    expect(result.weights['green-id']! * 10).toBe(result.weights['blue-id']! + result.weights['green-id']!);
    expect(result.notes.join()).toMatch(/share of canary changes/);
  });

  it('reports rounding when no integer weights give the share exactly', () => {
    const result = planShift([rec('blue-id', 100), rec('green-id', 0)], group, 'blue', 'green', 33.3333);
    expect(result.rounding).toMatch(/cannot be written exactly/);
    expect(Math.abs(result.achievedPercent - 33.3333)).toBeLessThan(0.5);
    expect(result.weights['blue-id']! + result.weights['green-id']!).toBeLessThanOrEqual(255);
  });

  it('expresses fractional shares exactly when some total up to 255 can', () => {
    const result = planShift([rec('blue-id', 100), rec('green-id', 0)], group, 'blue', 'green', 12.5);
    expect(result.rounding).toBeUndefined();
    expect(result.achievedPercent).toBe(12.5);
  });

  it('warns when another record loses all its traffic: a 0/0/0 group moving to 10% leaves the canary nothing (issue 18)', () => {
    const result = planShift([rec('blue-id', 0), rec('green-id', 0), rec('canary', 0)], group, 'blue', 'green', 10);
    expect(percentOf(result.before, 'canary')).toBeCloseTo(33.33, 1);
    expect(percentOf(result.after, 'canary')).toBe(0);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^DNS record api\.example\.com\. A: canary loses all its traffic \(33\.33% → 0%\): its weight stays 0, but blue=90\/green=10 leaves it nothing \(until now every weight of the group was 0/),
    ]);
    // A canary with a weight of its own keeps a share: no warning.
    expect(planShift([rec('blue-id', 100), rec('green-id', 0), rec('canary', 10)], group, 'blue', 'green', 10).warnings).toEqual([]);
  });

  it('never gives the pair a zero total, so the group cannot go all-zero', () => {
    const result = planShift([rec('blue-id', 0), rec('green-id', 0)], group, 'blue', 'green', 0);
    expect(result.weights['blue-id']).toBeGreaterThan(0);
    expect(result.weights['green-id']).toBe(0);
  });

  it('is stable: planning again from its own result writes nothing new', () => {
    const first = planShift([rec('blue-id', 3), rec('green-id', 4), rec('canary', 9)], group, 'blue', 'green', 33.3333);
    const again = planShift(applyWeights([rec('blue-id', 3), rec('green-id', 4), rec('canary', 9)], first.weights), group, 'blue', 'green', 33.3333);
    expect(again.weights).toEqual(first.weights);
  });

  it.each([
    ['a record that is not weighted', [rec('blue-id', 100), { ...rec('', Number.NaN) }], /not a weighted record/],
    ['a weight outside 0..255', [rec('blue-id', 300), rec('green-id', 0)], /outside 0\.\.255/],
    ['a missing SetIdentifier of the target', [rec('blue-id', 100), rec('other', 0)], /no record with SetIdentifier "green-id"/],
    ['an empty group', [], /no such record/],
  ])('refuses %s with an InputError naming the record', (_, records, message) => {
    const call = () => planShift(records as WeightedRecord[], group, 'blue', 'green', 10);
    expect(call).toThrow(InputError);
    expect(call).toThrow(message);
    expect(call).toThrow(/api\.example\.com\. A/);
  });

  it('refuses a cluster without SetIdentifier in the environment', () => {
    expect(() => planShift([rec('blue-id', 1), rec('green-id', 1)], group, 'blue', 'purple', 10)).toThrow(/no entry for cluster "purple"/);
  });

  it('refuses a percent outside 0..100', () => {
    expect(() => planShift([rec('blue-id', 1), rec('green-id', 1)], group, 'blue', 'green', 150)).toThrow(InputError);
  });
});

describe('assertWritableWeights', () => {
  it('refuses all-zero weights because Route 53 would split equally', () => {
    expect(() => assertWritableWeights([rec('a', 0), rec('b', 0)], 'DNS record x A')).toThrow(/splits traffic EQUALLY/);
  });

  it('refuses weights outside 0..255 and non-integers', () => {
    expect(() => assertWritableWeights([rec('a', 256), rec('b', 1)], 'x')).toThrow(/0\.\.255/);
    expect(() => assertWritableWeights([rec('a', -1), rec('b', 1)], 'x')).toThrow(/0\.\.255/);
    expect(() => assertWritableWeights([rec('a', 1.5), rec('b', 1)], 'x')).toThrow(/0\.\.255/);
  });

  it('accepts a group with one non-zero weight', () => {
    expect(() => assertWritableWeights([rec('a', 0), rec('b', 1)], 'x')).not.toThrow();
  });
});

describe('chooseWeights', () => {
  it('prefers the exact total closest to the current one', () => {
    expect(chooseWeights(50, 10)).toEqual({ total: 10, targetWeight: 5 });
    expect(chooseWeights(10, 255)).toEqual({ total: 250, targetWeight: 25 });
  });
});
