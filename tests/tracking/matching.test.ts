import { afterAll, describe, expect, test } from 'bun:test';
import { SeededRandom } from '../../src/geometry/random';
import { NativeContext } from '../../src/native';
import { DescriptorError, ReciprocalMatcher } from '../../src/tracking/matching';

const ctx = NativeContext.create({ backend: 'cpu' });
const matcher = new ReciprocalMatcher(ctx);
afterAll(() => {
  matcher.destroy();
  ctx.destroy();
});

function popcount8(v: number): number {
  let c = 0;
  for (; v; v &= v - 1) c++;
  return c;
}

/** plain brute force: ties → lowest index, as MASt3R's bruteforce_reciprocal_nns */
function referenceBinary(a: Uint8Array, b: Uint8Array, bytes: number, maxDistance: number, ratio: number) {
  const n = a.length / bytes, m = b.length / bytes;
  const d = (i: number, j: number): number => {
    let s = 0;
    for (let k = 0; k < bytes; k++) s += popcount8(a[i * bytes + k]! ^ b[j * bytes + k]!);
    return s;
  };
  const nnA = new Int32Array(n), best = new Int32Array(n), second = new Float64Array(n), nnB = new Int32Array(m);
  const colBest = new Int32Array(m).fill(1 << 30);
  for (let i = 0; i < n; i++) {
    let b1 = 1 << 30, b2 = Infinity, k1 = -1;
    for (let j = 0; j < m; j++) {
      const x = d(i, j);
      if (x < b1) {
        b2 = b1;
        b1 = x;
        k1 = j;
      } else if (x < b2) b2 = x;
      if (x < colBest[j]!) {
        colBest[j] = x;
        nnB[j] = i;
      }
    }
    nnA[i] = k1;
    best[i] = b1;
    second[i] = b2 === 1 << 30 ? Infinity : b2;
  }
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let ok = nnB[nnA[i]!] === i && best[i]! <= maxDistance;
    if (ok && ratio < 1 && Number.isFinite(second[i]!)) ok = best[i]! < ratio * second[i]!;
    mask[i] = ok ? 1 : 0;
  }
  return { nnA, nnB, best, second, mask };
}

function referenceFloat(a: Float32Array, b: Float32Array, dim: number, metric: 'l2' | 'dot') {
  const n = a.length / dim, m = b.length / dim;
  const score = (i: number, j: number): number => {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      if (metric === 'dot') s += a[i * dim + k]! * b[j * dim + k]!;
      else s += (a[i * dim + k]! - b[j * dim + k]!) ** 2;
    }
    return s;
  };
  const better = (x: number, y: number): boolean => (metric === 'dot' ? x > y : x < y);
  const nnA = new Int32Array(n), nnB = new Int32Array(m);
  const col = new Float64Array(m).fill(metric === 'dot' ? -Infinity : Infinity);
  for (let i = 0; i < n; i++) {
    let b1 = metric === 'dot' ? -Infinity : Infinity, k1 = -1;
    for (let j = 0; j < m; j++) {
      const s = score(i, j);
      if (better(s, b1)) {
        b1 = s;
        k1 = j;
      }
      if (better(s, col[j]!)) {
        col[j] = s;
        nnB[j] = i;
      }
    }
    nnA[i] = k1;
  }
  return { nnA, nnB };
}

describe('reciprocal Hamming matching equals a brute-force TS reference', () => {
  const rng = new SeededRandom(99);
  const sizes: [number, number][] = [[1, 1], [3, 1], [7, 13], [64, 64], [65, 130], [257, 511], [1000, 1000]];
  for (const [n, m] of sizes) {
    test(`${n} × ${m} random 256-bit descriptors (+ low-entropy ones with many ties), ratio 0.8, max distance 90`, () => {
      for (const sparse of [false, true]) {
        const gen = (count: number): Uint8Array => Uint8Array.from({ length: count * 32 }, () => (sparse ? (rng.next() < 0.05 ? 1 << rng.int(8) : 0) : rng.int(256)));
        const a = gen(n), b = gen(m);
        const ref = referenceBinary(a, b, 32, 90, 0.8);
        const got = matcher.matchBinary(a, b, { maxDistance: 90, ratio: 0.8 });
        expect(Array.from(got.nnA)).toEqual(Array.from(ref.nnA));
        expect(Array.from(got.nnB)).toEqual(Array.from(ref.nnB));
        expect(Array.from(got.bestA)).toEqual(Array.from(ref.best));
        expect(Array.from(got.secondA)).toEqual(Array.from(ref.second));
        expect(Array.from(got.mask)).toEqual(Array.from(ref.mask));
      }
    });
  }

  test('other descriptor widths (16 and 64 bytes) take the portable path and agree too', () => {
    for (const bytes of [16, 64]) {
      const a = Uint8Array.from({ length: 37 * bytes }, () => rng.int(256));
      const b = Uint8Array.from({ length: 91 * bytes }, () => rng.int(256));
      const ref = referenceBinary(a, b, bytes, bytes * 8, 1);
      const got = matcher.matchBinary(a, b, { bytes });
      expect(Array.from(got.nnA)).toEqual(Array.from(ref.nnA));
      expect(Array.from(got.nnB)).toEqual(Array.from(ref.nnB));
      expect(Array.from(got.mask)).toEqual(Array.from(ref.mask));
    }
  });

  test('a set matched with a shuffled copy of itself recovers the permutation exactly', () => {
    const n = 500;
    const a = Uint8Array.from({ length: n * 32 }, () => rng.int(256));
    const perm = Array.from({ length: n }, (_, i) => i).sort(() => rng.next() - 0.5);
    const b = new Uint8Array(n * 32);
    perm.forEach((src, dst) => b.set(a.subarray(src * 32, src * 32 + 32), dst * 32));
    const got = matcher.matchBinary(a, b, { maxDistance: 0 });
    expect(got.pairs.length / 2).toBe(n);
    for (let k = 0; k < n; k++) expect(perm[got.pairs[2 * k + 1]!]).toBe(got.pairs[2 * k]!);
  });
});

describe('reciprocal float matching equals a brute-force TS reference', () => {
  const rng = new SeededRandom(5);
  for (const [n, m, dim] of [[1, 1, 24], [33, 70, 24], [129, 300, 24], [50, 257, 7]] as const) {
    test(`${n} × ${m} × ${dim}: L2 and dot (unit vectors, as MASt3R's descriptors)`, () => {
      const unit = (count: number): Float32Array => {
        const v = Float32Array.from({ length: count * dim }, () => rng.gaussian());
        for (let i = 0; i < count; i++) {
          let s = 0;
          for (let k = 0; k < dim; k++) s += v[i * dim + k]! ** 2;
          for (let k = 0; k < dim; k++) v[i * dim + k] = v[i * dim + k]! / Math.sqrt(s);
        }
        return v;
      };
      const a = unit(n), b = unit(m);
      for (const metric of ['l2', 'dot'] as const) {
        const ref = referenceFloat(a, b, dim, metric);
        const got = matcher.matchFloat(a, b, { dim, metric });
        expect(Array.from(got.nnA)).toEqual(Array.from(ref.nnA));
        expect(Array.from(got.nnB)).toEqual(Array.from(ref.nnB));
        for (let i = 0; i < n; i++) expect(got.mask[i]).toBe(ref.nnB[ref.nnA[i]!] === i ? 1 : 0);
      }
    });
  }

  test('L2 threshold and ratio gates', () => {
    const a = new Float32Array([0, 0, 10, 10, 5, 5]);
    const b = new Float32Array([0, 0.1, 10, 11, 5.2, 5]);
    const all = matcher.matchFloat(a, b, { dim: 2 });
    expect(Array.from(all.mask)).toEqual([1, 1, 1]);
    const tight = matcher.matchFloat(a, b, { dim: 2, threshold: 0.5 });
    expect(Array.from(tight.mask)).toEqual([1, 0, 1]);
  });
});

describe('bad descriptor input is rejected before any native call', () => {
  test('wrong types, partial descriptors and bad dimensions throw DescriptorError naming the problem', () => {
    expect(() => matcher.matchBinary(new Uint8Array(31), new Uint8Array(32))).toThrow(DescriptorError);
    expect(() => matcher.matchBinary(new Uint8Array(32), new Uint8Array(32), { bytes: 6 })).toThrow(/multiple of 4/);
    expect(() => matcher.matchBinary(new Float32Array(8) as unknown as Uint8Array, new Uint8Array(32))).toThrow(/Uint8Array/);
    expect(() => matcher.matchFloat(new Float32Array(48), new Float32Array(50), { dim: 24 })).toThrow(/24-dimensional/);
    expect(() => matcher.matchFloat(new Float64Array(24) as unknown as Float32Array, new Float32Array(24), { dim: 24 })).toThrow(/Float32Array/);
    const empty = matcher.matchBinary(new Uint8Array(0), new Uint8Array(64));
    expect(empty.pairs.length).toBe(0);
  });
});
