import { describe, it, expect } from 'vitest';
import { mulberry32 } from '../../src/util/prng.ts';
import { WeightedPicker } from '../../src/util/weighted.ts';

const JUST_BELOW_ONE = 1 - Number.EPSILON / 2;
const DRAWS = 100_000;

const picker = new WeightedPicker([
  { item: 'a', weight: 5 },
  { item: 'b', weight: 1 },
  { item: 'c', weight: 3 },
  { item: 'd', weight: 1 },
]);

function counts<T>(draw: () => T | null, n: number): Map<T | null, number> {
  const m = new Map<T | null, number>();
  for (let i = 0; i < n; i++) {
    const v = draw();
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  return m;
}

describe('WeightedPicker.pickWhere', () => {
  it('never returns an excluded item, for any r', () => {
    const rand = mulberry32(1);
    const excluded = new Set(['a', 'c']);
    for (let i = 0; i < 10_000; i++) {
      const r = i % 100 === 0 ? (i % 200 === 0 ? 0 : JUST_BELOW_ONE) : rand();
      const v = picker.pickWhere((x) => !excluded.has(x), r);
      expect(v === 'b' || v === 'd', `${r} → ${v}`).toBe(true);
    }
  });

  it('never returns an excluded item whatever the subset (all 15 non-empty subsets)', () => {
    const rand = mulberry32(2);
    const items = picker.items;
    for (let mask = 1; mask < 1 << items.length; mask++) {
      const allowed = new Set(items.filter((_, i) => (mask >> i) & 1));
      for (let i = 0; i < 2_000; i++) {
        const r = i === 0 ? 0 : i === 1 ? JUST_BELOW_ONE : rand();
        const v = picker.pickWhere((x) => allowed.has(x), r);
        expect(v !== null && allowed.has(v), `mask ${mask}, r ${r} → ${v}`).toBe(true);
      }
    }
  });

  it('returns null when nothing is allowed', () => {
    expect(picker.pickWhere(() => false, 0)).toBeNull();
    expect(picker.pickWhere(() => false, 0.5)).toBeNull();
    expect(picker.pickWhere(() => false, JUST_BELOW_ONE)).toBeNull();
    expect(picker.pickWhere(() => false)).toBeNull();
    const one = new WeightedPicker([{ item: 1, weight: 2 }]);
    expect(one.pickWhere((x) => x !== 1, 0.3)).toBeNull();
  });

  it('returns the one allowed item whatever r', () => {
    for (const r of [0, 0.1, 0.5, 0.999, JUST_BELOW_ONE]) {
      expect(picker.pickWhere((x) => x === 'b', r)).toBe('b');
      expect(picker.pickWhere((x) => x === 'd', r)).toBe('d');
    }
  });

  it('splits by weight among the allowed items (100k seeded draws)', () => {
    const rand = mulberry32(0xbeef);
    // Without 'a': c, b, d weigh 3:1:1 → 60 %, 20 %, 20 %.
    const m = counts(() => picker.pickWhere((x) => x !== 'a', rand()), DRAWS);
    expect(m.get('a')).toBeUndefined();
    expect(m.get(null)).toBeUndefined();
    // Binomial sd at p = 0.6, n = 1e5 is ~0.15 %: 1 point is ~6 σ.
    expect(Math.abs(m.get('c')! / DRAWS - 0.6)).toBeLessThan(0.01);
    expect(Math.abs(m.get('b')! / DRAWS - 0.2)).toBeLessThan(0.01);
    expect(Math.abs(m.get('d')! / DRAWS - 0.2)).toBeLessThan(0.01);
  });

  it('splits by weight when the allowed items are not adjacent (a and d: 5:1)', () => {
    const rand = mulberry32(0xcafe);
    const m = counts(() => picker.pickWhere((x) => x === 'a' || x === 'd', rand()), DRAWS);
    expect(m.size).toBe(2);
    expect(Math.abs(m.get('a')! / DRAWS - 5 / 6)).toBeLessThan(0.01);
    expect(Math.abs(m.get('d')! / DRAWS - 1 / 6)).toBeLessThan(0.01);
  });

  it('splits by weight with fractional weights and a long list', () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ item: i, weight: 0.1 + (i % 4) * 0.7 }));
    const p = new WeightedPicker(entries);
    const allowed = (i: number) => i % 3 !== 0;
    const total = entries.filter((e) => allowed(e.item)).reduce((s, e) => s + e.weight, 0);
    const rand = mulberry32(99);
    const m = counts(() => p.pickWhere(allowed, rand()), DRAWS);
    for (const e of entries) {
      const share = (m.get(e.item) ?? 0) / DRAWS;
      if (!allowed(e.item)) expect(share, String(e.item)).toBe(0);
      else expect(Math.abs(share - e.weight / total), String(e.item)).toBeLessThan(0.005);
    }
  });

  it('maps r onto the allowed weights in order (exact boundaries)', () => {
    // Allowed b, c, d with weights 1, 3, 1: total 5. [0, 0.2) → b, [0.2, 0.8) → c, [0.8, 1) → d.
    const allowed = (x: string) => x !== 'a';
    expect(picker.pickWhere(allowed, 0)).toBe('b');
    expect(picker.pickWhere(allowed, 0.19)).toBe('b');
    expect(picker.pickWhere(allowed, 0.2)).toBe('c');
    expect(picker.pickWhere(allowed, 0.79)).toBe('c');
    expect(picker.pickWhere(allowed, 0.8)).toBe('d');
    expect(picker.pickWhere(allowed, JUST_BELOW_ONE)).toBe('d');
  });

  it('equals pick(r) when everything is allowed (same r)', () => {
    const rand = mulberry32(5);
    for (let i = 0; i < 20_000; i++) {
      const r = rand();
      expect(picker.pickWhere(() => true, r)).toBe(picker.pick(r));
    }
    for (const r of [0, 0.5, 0.6, 0.9, JUST_BELOW_ONE]) expect(picker.pickWhere(() => true, r)).toBe(picker.pick(r));
  });

  it('equals pick(r) when everything is allowed, fractional weights and boundary values of r', () => {
    // Fractional weights make running sums inexact; pickWhere must draw the same lines as pick.
    const rand = mulberry32(6);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rand() * 24); // both pick's linear scan (≤ 16) and its binary search
      const entries = Array.from({ length: n }, (_, i) => ({ item: i, weight: [0.1, 0.2, 0.3, 0.7, 1 / 3, 1e-3, 2.5][Math.floor(rand() * 7)]! }));
      const p = new WeightedPicker(entries);
      // r values that land exactly on (or one ulp around) a cumulative boundary, plus random ones.
      const rs: number[] = [0, JUST_BELOW_ONE];
      let sum = 0;
      for (const e of entries) {
        sum += e.weight;
        const b = sum / p.total;
        if (b < 1) rs.push(b, b * (1 - Number.EPSILON), Math.min(JUST_BELOW_ONE, b * (1 + Number.EPSILON)));
      }
      for (let i = 0; i < 50; i++) rs.push(rand());
      for (const r of rs) expect(p.pickWhere(() => true, r), `weights ${entries.map((e) => e.weight).join(',')} r ${r}`).toBe(p.pick(r));
    }
  });

  it('uses Math.random by default and stays among the allowed', () => {
    for (let i = 0; i < 1_000; i++) {
      const v = picker.pickWhere((x) => x === 'b' || x === 'c');
      expect(v === 'b' || v === 'c').toBe(true);
    }
  });
});
