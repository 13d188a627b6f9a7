import { describe, expect, test } from 'bun:test';
import { dropBorderMatches, fastReciprocalNN, gridSeeds, Mast3rInputError, mergeCorrespondences } from '../../src/mast3r';
import { randomUnitRows, syntheticDescriptorPair } from '../../src/mast3r/synthetic';
import { refFastNN, refMerge, type Dist } from './reference';

const D = 24;

function expectMatches(got: { idx1: Int32Array; idx2: Int32Array; xy1: Int32Array; xy2: Int32Array; count: number }, ref: { idx1: number[]; idx2: number[] },
  w1: number, w2: number): void {
  expect(got.count).toBe(ref.idx1.length);
  expect(Array.from(got.idx1)).toEqual(ref.idx1);
  expect(Array.from(got.idx2)).toEqual(ref.idx2);
  for (let k = 0; k < got.count; k++) {
    expect([got.xy1[2 * k], got.xy1[2 * k + 1]]).toEqual([ref.idx1[k]! % w1, Math.floor(ref.idx1[k]! / w1)]);
    expect([got.xy2[2 * k], got.xy2[2 * k + 1]]).toEqual([ref.idx2[k]! % w2, Math.floor(ref.idx2[k]! / w2)]);
  }
}

describe('fastReciprocalNN equals the spec reference (same matches)', () => {
  const cases: { name: string; h1: number; w1: number; h2: number; w2: number; smooth: boolean; sub: number; dist: Dist }[] = [
    { name: 'random maps 40×56 vs 36×60, S=4, dot', h1: 40, w1: 56, h2: 36, w2: 60, smooth: false, sub: 4, dist: 'dot' },
    { name: 'smooth pair 48×64, S=8, dot', h1: 48, w1: 64, h2: 48, w2: 64, smooth: true, sub: 8, dist: 'dot' },
    { name: 'smooth pair 37×45 (partial tiles), S=3, l2', h1: 37, w1: 45, h2: 37, w2: 45, smooth: true, sub: 3, dist: 'l2' },
    { name: 'random 33×70 vs 70×33, S=5, l2', h1: 33, w1: 70, h2: 70, w2: 33, smooth: false, sub: 5, dist: 'l2' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      let m1: Float32Array, m2: Float32Array;
      if (c.smooth) {
        const [a, b] = syntheticDescriptorPair(c.h1, c.w1, D, c.h1 + c.w1, { noise: 0.1 });
        m1 = a.data;
        m2 = b.data;
      } else {
        m1 = randomUnitRows(c.h1 * c.w1, D, c.h1);
        m2 = randomUnitRows(c.h2 * c.w2, D, c.w2);
      }
      const ref = refFastNN(m1, c.h1, c.w1, m2, c.h2, c.w2, D, { subsample: c.sub, dist: c.dist });
      expect(ref.idx1.length).toBeGreaterThan(0);
      for (const portable of [false, true]) {
        const r = fastReciprocalNN({ data: m1, shape: [c.h1, c.w1, D] }, { data: m2, shape: [c.h2, c.w2, D] },
          { subsample: c.sub, dist: c.dist, portable });
        expectMatches(r, ref, c.w1, c.w2);
      }
    });
  }

  test('maxIter bounds the walk (maxIter 1 keeps only seeds that return at once)', () => {
    const m1 = randomUnitRows(30 * 30, D, 3), m2 = randomUnitRows(30 * 30, D, 4);
    const ref = refFastNN(m1, 30, 30, m2, 30, 30, D, { subsample: 2, maxIter: 1 });
    const r = fastReciprocalNN({ data: m1, shape: [30, 30, D] }, { data: m2, shape: [30, 30, D] }, { subsample: 2, maxIter: 1 });
    expectMatches(r, ref, 30, 30);
    expect(r.iterations).toBe(1);
  });

  test('pixelTol > 0: seeds whose walk ends within the tolerance, reported at the seed', () => {
    const [a, b] = syntheticDescriptorPair(40, 48, D, 77, { noise: 0.2 });
    const seeds: number[] = [];
    for (let y = 0; y < 40; y += 3) for (let x = 1; x < 48; x += 3) seeds.push(y * 48 + x);
    for (const tol of [1.5, 4]) {
      const ref = refFastNN(a.data, 40, 48, b.data, 40, 48, D, { pixelTol: tol, maxIter: 1, seeds });
      const r = fastReciprocalNN(a, b, {
        pixelTol: tol, maxIter: 1, seeds: { x: seeds.map((s) => s % 48), y: seeds.map((s) => Math.floor(s / 48)) },
      });
      expectMatches(r, ref, 48, 48);
      for (const i of r.idx1) expect(seeds).toContain(i);
    }
    // grid seeds when none are given
    const ref = refFastNN(a.data, 40, 48, b.data, 40, 48, D, { pixelTol: 2, subsample: 4 });
    expectMatches(fastReciprocalNN(a, b, { pixelTol: 2, subsample: 4 }), ref, 48, 48);
  });

  // The CPU's default query prunes by ball bounds and falls back to a full
  // int8 scan where they keep most of the map; the portable query is the
  // plain exact scan. Maps big enough (48 super-tiles) for the pruning to
  // bite, descriptors from coherent to structureless, and exact ties.
  describe('pruned search equals the plain exact scan (192×256 maps, S=8)', () => {
    const h = 192, w = 256;
    const tied = (): [Float32Array, Float32Array] => {
      // map 2's right half repeats its left half: every match there has an
      // exact twin, and the lower index (left half) must win
      const [a, b] = syntheticDescriptorPair(h, w, D, 31, { noise: 0.1 });
      const m2 = Float32Array.from(b.data);
      for (let y = 0; y < h; y++) m2.copyWithin((y * w + w / 2) * D, y * w * D, (y * w + w / 2) * D);
      return [a.data, m2];
    };
    const pairs: [string, () => [Float32Array, Float32Array]][] = [
      ['smooth', () => { const [a, b] = syntheticDescriptorPair(h, w, D, 11); return [a.data, b.data]; }],
      ['noisy (noise 0.6)', () => { const [a, b] = syntheticDescriptorPair(h, w, D, 12, { noise: 0.6 }); return [a.data, b.data]; }],
      ['iid', () => [randomUnitRows(h * w, D, 13), randomUnitRows(h * w, D, 14)]],
      ['exact ties', tied],
    ];
    for (const [name, make] of pairs) {
      for (const dist of ['dot', 'l2'] as const) {
        test(`${name}, ${dist}`, () => {
          const [m1, m2] = make();
          const a = { data: m1, shape: [h, w, D] }, b = { data: m2, shape: [h, w, D] };
          const fast = fastReciprocalNN(a, b, { subsample: 8, dist });
          const plain = fastReciprocalNN(a, b, { subsample: 8, dist, portable: true });
          expect(fast.count).toBeGreaterThan(150);
          expect(fast.queries).toEqual(plain.queries);
          expect(Array.from(fast.idx1)).toEqual(Array.from(plain.idx1));
          expect(Array.from(fast.idx2)).toEqual(Array.from(plain.idx2));
          if (name === 'exact ties') for (const j of fast.idx2) expect(j % w).toBeLessThan(w / 2);
        });
      }
    }
  });

  test('identical maps: every seed is its own mutual nearest neighbour', () => {
    const m = randomUnitRows(24 * 32, D, 8);
    const r = fastReciprocalNN({ data: m, shape: [24, 32, D] }, { data: m, shape: [24, 32, D] }, { subsample: 8 });
    expect(Array.from(r.idx1)).toEqual(Array.from(gridSeeds(24, 32, 8)));
    expect(Array.from(r.idx2)).toEqual(Array.from(gridSeeds(24, 32, 8)));
  });
});

describe('mergeCorrespondences (merge_corres)', () => {
  test('dedups, sorts by idx1 then idx2, reports first occurrences', () => {
    const i1 = Int32Array.of(9, 3, 9, 3, 0, 9);
    const i2 = Int32Array.of(1, 5, 0, 5, 7, 1);
    const r = mergeCorrespondences(i1, i2, 4, 3);
    const ref = refMerge(Array.from(i1), Array.from(i2));
    expect(Array.from(r.idx1)).toEqual(ref.idx1);
    expect(Array.from(r.idx2)).toEqual(ref.idx2);
    expect(Array.from(r.index)).toEqual([4, 1, 2, 0]);
    expect(Array.from(r.xy1)).toEqual([0, 0, 3, 0, 1, 2, 1, 2]);
    expect(Array.from(r.xy2)).toEqual([1, 2, 2, 1, 0, 0, 1, 0]);
  });
  test('dropBorderMatches keeps matches ≥ 3 px inside both images', () => {
    const c = mergeCorrespondences(Int32Array.of(0, 3 * 10 + 3, 6 * 10 + 6), Int32Array.of(44, 44, 0), 10, 10);
    const kept = dropBorderMatches(c, { width: 10, height: 10 }, { width: 10, height: 10 });
    expect(Array.from(kept.idx1)).toEqual([33]);
  });
});

describe('fastReciprocalNN refuses bad input', () => {
  const m = { data: randomUnitRows(8 * 8, D, 1), shape: [8, 8, D] };
  const cases: [string, () => unknown, RegExp][] = [
    ['rank', () => fastReciprocalNN({ data: m.data, shape: [64, D] }, m), /\[H, W, D\] descriptor map/],
    ['mismatched D', () => fastReciprocalNN(m, { data: new Float32Array(64 * 4), shape: [8, 8, 4] }), /same descriptor size D/],
    ['NaN', () => fastReciprocalNN(m, { data: Float32Array.from(m.data, (v, i) => (i === 100 ? NaN : v)), shape: [8, 8, D] }), /map2: NaN at \[0, 4, 4\]/],
    ['empty', () => fastReciprocalNN({ data: new Float32Array(0), shape: [0, 8, D] }, m), /map1: is empty/],
    ['subsample', () => fastReciprocalNN(m, m, { subsample: 0 }), /subsample must be an integer >= 1/],
    ['seed outside', () => fastReciprocalNN(m, m, { pixelTol: 1, seeds: { x: [8], y: [0] } }), /not a pixel/],
  ];
  for (const [name, fn, msg] of cases) {
    test(name, () => {
      expect(fn).toThrow(Mast3rInputError);
      expect(fn).toThrow(msg);
    });
  }
});
