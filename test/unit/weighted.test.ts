import { describe, it, expect } from 'vitest';
import { mulberry32 } from '../../src/util/prng.ts';
import { WeightedPicker } from '../../src/util/weighted.ts';

/** The obvious implementation: walk the weights until the running sum passes r * total. */
function referencePick<T>(entries: ReadonlyArray<{ item: T; weight: number }>, r: number): T {
  const total = entries.reduce((s, e) => s + e.weight, 0);
  const x = r * total;
  let sum = 0;
  for (const e of entries) {
    sum += e.weight;
    if (x < sum) return e.item;
  }
  return entries[entries.length - 1]!.item;
}

function countPicks<T>(picker: WeightedPicker<T>, draws: number, rand: () => number): Map<T, number> {
  const counts = new Map<T, number>();
  for (let i = 0; i < draws; i++) {
    const v = picker.pick(rand());
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

const DRAWS = 100_000;

describe('WeightedPicker distribution', () => {
  it('splits 80/20 within 1 percentage point over 100k seeded draws', () => {
    const picker = new WeightedPicker([
      { item: 'a', weight: 80 },
      { item: 'b', weight: 20 },
    ]);
    const counts = countPicks(picker, DRAWS, mulberry32(1));
    expect((counts.get('a') ?? 0) / DRAWS).toBeCloseTo(0.8, 2);
    expect(Math.abs((counts.get('b') ?? 0) / DRAWS - 0.2)).toBeLessThan(0.01);
  });

  it('splits 1/2/7 within 1 percentage point over 100k seeded draws', () => {
    const picker = new WeightedPicker([
      { item: 'x', weight: 1 },
      { item: 'y', weight: 2 },
      { item: 'z', weight: 7 },
    ]);
    const counts = countPicks(picker, DRAWS, mulberry32(42));
    for (const [item, share] of [['x', 0.1], ['y', 0.2], ['z', 0.7]] as const) {
      expect(Math.abs((counts.get(item) ?? 0) / DRAWS - share)).toBeLessThan(0.01);
    }
    expect([...counts.keys()].sort()).toEqual(['x', 'y', 'z']);
  });

  it('treats fractional weights proportionally', () => {
    const picker = new WeightedPicker([
      { item: 'a', weight: 0.25 },
      { item: 'b', weight: 0.75 },
    ]);
    const counts = countPicks(picker, DRAWS, mulberry32(7));
    expect(Math.abs((counts.get('a') ?? 0) / DRAWS - 0.25)).toBeLessThan(0.01);
  });

  it('uses Math.random() when no r is passed and still honours weights', () => {
    const picker = new WeightedPicker([
      { item: 'a', weight: 3 },
      { item: 'b', weight: 1 },
    ]);
    let a = 0;
    for (let i = 0; i < 20_000; i++) if (picker.pick() === 'a') a++;
    expect(Math.abs(a / 20_000 - 0.75)).toBeLessThan(0.03);
  });
});

describe('WeightedPicker boundaries (linear scan)', () => {
  const picker = new WeightedPicker([
    { item: 'a', weight: 1 },
    { item: 'b', weight: 1 },
    { item: 'c', weight: 2 },
  ]);

  it('maps r to the bucket whose cumulative range contains r * total', () => {
    expect(picker.pick(0)).toBe('a');
    expect(picker.pick(0.2499)).toBe('a');
    expect(picker.pick(0.25)).toBe('b');
    expect(picker.pick(0.4999)).toBe('b');
    expect(picker.pick(0.5)).toBe('c');
    expect(picker.pick(0.999999)).toBe('c');
  });

  it('falls back to the last item when r * total reaches the total', () => {
    expect(picker.pick(1)).toBe('c');
  });

  it('exposes items, weights, total and size', () => {
    expect(picker.items).toEqual(['a', 'b', 'c']);
    expect(picker.weights).toEqual([1, 1, 2]);
    expect(picker.total).toBe(4);
    expect(picker.size).toBe(3);
  });
});

describe('WeightedPicker with more than 16 entries (binary search)', () => {
  const rand = mulberry32(2024);
  const entries = Array.from({ length: 37 }, (_, i) => ({ item: i, weight: 1 + Math.floor(rand() * 50) + (i % 3 === 0 ? rand() : 0) }));
  const picker = new WeightedPicker(entries);

  it('agrees with the reference implementation at the edges', () => {
    for (const r of [0, 1e-12, 0.5, 0.999999, 1 - Number.EPSILON]) {
      expect(picker.pick(r), `r=${r}`).toBe(referencePick(entries, r));
    }
    expect(picker.pick(0)).toBe(0);
    expect(picker.pick(0.999999)).toBe(36);
  });

  it('agrees with the reference implementation exactly on every cumulative boundary', () => {
    const total = entries.reduce((s, e) => s + e.weight, 0);
    let sum = 0;
    for (const e of entries) {
      sum += e.weight;
      for (const x of [sum, Math.max(0, sum - 1e-9)]) {
        const r = x / total;
        if (r >= 1) continue;
        expect(picker.pick(r), `r=${r}`).toBe(referencePick(entries, r));
      }
    }
  });

  it('agrees with the reference implementation for 50k seeded r values', () => {
    const r2 = mulberry32(99);
    for (let i = 0; i < 50_000; i++) {
      const r = r2();
      const got = picker.pick(r);
      const want = referencePick(entries, r);
      if (got !== want) expect(got, `r=${r}`).toBe(want);
    }
  });

  it('hits every item with a share close to its weight', () => {
    const counts = countPicks(picker, DRAWS, mulberry32(5));
    const total = picker.total;
    for (const e of entries) {
      const share = (counts.get(e.item) ?? 0) / DRAWS;
      expect(Math.abs(share - e.weight / total), `item ${e.item}`).toBeLessThan(0.005);
    }
  });

  it('handles exactly 16 and 17 equal entries alike', () => {
    for (const n of [16, 17]) {
      const p = new WeightedPicker(Array.from({ length: n }, (_, i) => ({ item: i, weight: 1 })));
      for (let i = 0; i < n; i++) {
        expect(p.pick(i / n)).toBe(i);
        expect(p.pick((i + 0.999) / n)).toBe(i);
      }
    }
  });
});

describe('WeightedPicker construction', () => {
  it('always returns the single item of a one-entry list', () => {
    const picker = new WeightedPicker([{ item: 'only', weight: 5 }]);
    for (const r of [0, 0.3, 0.999999]) expect(picker.pick(r)).toBe('only');
    expect(picker.pick()).toBe('only');
  });

  it('rejects an empty list', () => {
    expect(() => new WeightedPicker([])).toThrow(/at least one/);
  });

  it.each([0, -1, -0.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects weight %s', (w) => {
    expect(() => new WeightedPicker([{ item: 'a', weight: 1 }, { item: 'b', weight: w }])).toThrow(/positive/);
  });

  it('does not share state with the entries array it was built from', () => {
    const entries = [{ item: 'a', weight: 1 }, { item: 'b', weight: 1 }];
    const picker = new WeightedPicker(entries);
    entries[0]!.weight = 1000;
    entries.push({ item: 'c', weight: 1000 });
    expect(picker.pick(0.75)).toBe('b');
    expect(picker.size).toBe(2);
  });
});
