import { describe, expect, test } from 'bun:test';
import { Mast3rInputError, reciprocalMask, reciprocalNN } from '../../src/mast3r';
import { randomUnitRows } from '../../src/mast3r/synthetic';
import { refReciprocalNN, type Dist } from './reference';

const D = 24;

function same(a: Int32Array, b: Int32Array): number {
  let diff = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
  return diff;
}

describe('reciprocalNN equals the float64 reference (integer outputs identical)', () => {
  // sizes straddle the native tiles: 4-row groups, 16-column panels, 32-column pairs, 1024-column blocks
  const sizes: [number, number, number][] = [[1, 1, 3], [3, 5, 24], [15, 17, 24], [16, 32, 24], [33, 31, 7], [130, 1025, 24], [517, 300, 24], [64, 2049, 5]];
  for (const dist of ['dot', 'l2'] as Dist[]) {
    for (const [n, m, d] of sizes) {
      test(`${dist} ${n}×${m}×${d}`, () => {
        const a = randomUnitRows(n, d, n * 31 + m);
        const b = randomUnitRows(m, d, m * 17 + n + 1);
        const ref = refReciprocalNN(a, b, n, m, d, dist);
        for (const portable of [false, true]) {
          const r = reciprocalNN({ data: a, shape: [n, d] }, { data: b, shape: [m, d] }, { dist, portable });
          expect(same(r.nnA, ref.nnA)).toBe(0);
          expect(same(r.nnB, ref.nnB)).toBe(0);
        }
      });
    }
  }

  test('non-unit inputs (norms 0.1–10) and a block size that does not divide N', () => {
    const n = 300, m = 200;
    const a = randomUnitRows(n, D, 5).map((v, i) => v * (0.1 + (Math.floor(i / D) % 7) * 1.6));
    const b = randomUnitRows(m, D, 6).map((v, i) => v * (0.3 + (Math.floor(i / D) % 5) * 2.1));
    for (const dist of ['dot', 'l2'] as Dist[]) {
      const ref = refReciprocalNN(a, b, n, m, D, dist);
      const r = reciprocalNN({ data: a, shape: [n, D] }, { data: b, shape: [m, D] }, { dist, blockSize: 48 });
      expect(same(r.nnA, ref.nnA)).toBe(0);
      expect(same(r.nnB, ref.nnB)).toBe(0);
    }
  });

  test('ties: duplicated rows → the lowest index wins, in both directions', () => {
    const n = 40, m = 70;
    const a = randomUnitRows(n, D, 9);
    const b = randomUnitRows(m, D, 10);
    // b[j + 35] = b[j] and a[i + 20] = a[i]: every best has an exact twin further on
    b.copyWithin(35 * D, 0, 35 * D);
    a.copyWithin(20 * D, 0, 20 * D);
    for (const dist of ['dot', 'l2'] as Dist[]) {
      const ref = refReciprocalNN(a, b, n, m, D, dist);
      for (const portable of [false, true]) {
        const r = reciprocalNN({ data: a, shape: [n, D] }, { data: b, shape: [m, D] }, { dist, portable });
        expect(same(r.nnA, ref.nnA)).toBe(0);
        expect(same(r.nnB, ref.nnB)).toBe(0);
        for (const j of r.nnA) expect(j).toBeLessThan(35);
        for (const i of r.nnB) expect(i).toBeLessThan(20);
      }
    }
  });

  test('near-ties closer than float32 resolution are settled in float64', () => {
    // b1 = b0 nudged by one ulp in one component: float32 scores tie, float64 ones do not
    const a = randomUnitRows(8, D, 12);
    const b = randomUnitRows(4, D, 13);
    b.set(a.subarray(0, D), 0);
    b.set(a.subarray(0, D), D);
    b[D + 3] = Math.fround((b[D + 3] as number) * (1 + 2 ** -22));
    const ref = refReciprocalNN(a, b, 8, 4, D, 'dot');
    const r = reciprocalNN({ data: a, shape: [8, D] }, { data: b, shape: [4, D] }, { dist: 'dot' });
    expect(same(r.nnA, ref.nnA)).toBe(0);
    expect(same(r.nnB, ref.nnB)).toBe(0);
  });

  test('reciprocalMask marks i with nnB[nnA[i]] == i', () => {
    expect(Array.from(reciprocalMask(Int32Array.of(1, 0, 0), Int32Array.of(1, 0)))).toEqual([1, 1, 0]);
  });
});

describe('reciprocalNN refuses bad input before any native call', () => {
  const ok = { data: randomUnitRows(4, D, 1), shape: [4, D] };
  const cases: [string, () => unknown, RegExp][] = [
    ['NaN in A', () => reciprocalNN({ data: Float32Array.from(ok.data, (v, i) => (i === 5 ? NaN : v)), shape: [4, D] }, ok), /A: NaN at \[0, 5\]/],
    ['Inf in B', () => reciprocalNN(ok, { data: Float32Array.from(ok.data, (v, i) => (i === 30 ? Infinity : v)), shape: [4, D] }), /B: Infinity at \[1, 6\]/],
    ['empty', () => reciprocalNN({ data: new Float32Array(0), shape: [0, D] }, ok), /A: is empty/],
    ['mismatched D', () => reciprocalNN(ok, { data: new Float32Array(8), shape: [4, 2] }), /same descriptor size D/],
    ['wrong rank', () => reciprocalNN({ data: ok.data, shape: [2, 2, D] }, ok), /\[N, D\] descriptor matrix/],
    ['integer dtype', () => reciprocalNN({ data: new Int32Array(4 * D), shape: [4, D] }, ok), /int32 is not supported/],
    ['shape/data mismatch', () => reciprocalNN({ data: ok.data, shape: [5, D] }, ok), /do not fill shape/],
    ['bad dist', () => reciprocalNN(ok, ok, { dist: 'cos' as Dist }), /dist must be/],
  ];
  for (const [name, fn, msg] of cases) {
    test(name, () => {
      expect(fn).toThrow(Mast3rInputError);
      expect(fn).toThrow(msg);
    });
  }
  test('float64 input is accepted (narrowed to float32)', () => {
    const r = reciprocalNN({ data: Float64Array.from(ok.data), shape: [4, D] }, ok, { dist: 'dot' });
    expect(Array.from(r.nnA)).toEqual([0, 1, 2, 3]);
  });
});
