import { describe, expect, test } from 'bun:test';
import { batchedTriangulate, depthmapToPts3d, geotrf, Mast3rInputError, matchesToDepths } from '../../src/mast3r';
import { seededRandom, maxRelativeError } from '../helpers/random';
import { refDepthToPts, refGeotrf, refTriangulate } from './reference';

const rel = (a: ArrayLike<number>, b: ArrayLike<number>): number => maxRelativeError(a, b, 1e-3);
/** max |a − b| / max |b|: float32 sums of large terms cancel to small outputs, whose own relative error means nothing */
function normalised(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return worst / scale;
}

describe('depthmapToPts3d (MASt3R depthmap_to_pts3d)', () => {
  const r = seededRandom(3);
  const B = 3, H = 7, W = 11;
  // includes zero, negative and NaN depths: MASt3R still reports d·(u − cx)/fx there, valid = d > 0
  const depth = Float32Array.from({ length: B * H * W }, (_, i) => (i % 13 === 0 ? 0 : i % 17 === 0 ? -0.5 : 0.3 + 5 * r()));
  test('shared focal, default principal point', () => {
    const got = depthmapToPts3d({ data: depth, shape: [B, H, W] }, [480.5, 470.25]);
    const ref = refDepthToPts(depth, B, H, W, Array(B).fill([480.5, 470.25]), Array(B).fill([(W - 1) / 2, (H - 1) / 2]));
    expect(got.pts.shape).toEqual([B, H, W, 3]);
    expect(rel(got.pts.data, ref)).toBeLessThan(1e-5);
    expect(Array.from(got.valid)).toEqual(Array.from(depth, (d) => (d > 0 ? 1 : 0)));
  });
  test('per-image focal [B] and principal point [B, 2]', () => {
    const f = Float32Array.of(300, 400, 500);
    const pp = Float32Array.of(5, 3, 4.5, 2.5, 6, 4);
    const got = depthmapToPts3d({ data: depth, shape: [B, H, W] }, { data: f, shape: [B] }, { data: pp, shape: [B, 2] });
    const ref = refDepthToPts(depth, B, H, W, [[300, 300], [400, 400], [500, 500]], [[5, 3], [4.5, 2.5], [6, 4]]);
    expect(rel(got.pts.data, ref)).toBeLessThan(1e-5);
  });
  test('single [H, W] map gives [H, W, 3]', () => {
    const got = depthmapToPts3d({ data: depth.subarray(0, H * W), shape: [H, W] }, 200, [1, 2]);
    expect(got.pts.shape).toEqual([H, W, 3]);
    expect(rel(got.pts.data, refDepthToPts(depth.subarray(0, H * W), 1, H, W, [[200, 200]], [[1, 2]]))).toBeLessThan(1e-5);
  });
  test('bad input', () => {
    expect(() => depthmapToPts3d({ data: depth, shape: [B * H * W] }, 1)).toThrow(Mast3rInputError);
    expect(() => depthmapToPts3d({ data: depth, shape: [B, H, W] }, 0)).toThrow(/non-zero/);
    expect(() => depthmapToPts3d({ data: depth, shape: [B, H, W] }, { data: Float32Array.of(1, 2), shape: [2] })).toThrow(/expected \[3\] or \[3, 2\]/);
  });
});

/** MASt3R's float32 arithmetic: depth * (grid − c) / f, each operation rounded to float32 */
function float32DepthToPts(depth: Float32Array, B: number, H: number, W: number, k: number[][]): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(B * H * W * 3);
  for (let i = 0; i < B * H * W; i++) {
    const [fx, fy, cx, cy] = k[Math.floor(i / (H * W))]!.map(f) as [number, number, number, number];
    const d = depth[i]!, u = i % W, v = Math.floor(i / W) % H;
    out.set([f(f(d * f(u - cx)) / fx), f(f(d * f(v - cy)) / fy), d], 3 * i);
  }
  return out;
}

describe('depthmapToPts3d: the native kernel alone gives MASt3R\'s values and mask', () => {
  const r = seededRandom(8);
  // 37 columns: two 16-pixel SIMD steps and a 5-pixel tail per row
  const B = 3, H = 5, W = 37;
  const special = [0, -0.5, NaN, Infinity, -0];
  const depth = Float32Array.from({ length: B * H * W }, (_, i) => (i % 11 === 0 ? special[(i / 11) % 5]! : 0.2 + 4 * r()));
  const K = [[480.5, 470.25, 18.5, 2], [300, 300, 10.25, 3.5], [512, 256, 0, 0]];
  const focal = { data: Float32Array.from(K.flatMap((k) => k.slice(0, 2))), shape: [B, 2] };
  const pp = { data: Float32Array.from(K.flatMap((k) => k.slice(2))), shape: [B, 2] };
  test('bit for bit the float32 formula at every pixel (d ≤ 0, NaN and ∞ included); valid = d > 0', () => {
    const got = depthmapToPts3d({ data: depth, shape: [B, H, W] }, focal, pp);
    expect(new Uint32Array(got.pts.data.buffer)).toEqual(new Uint32Array(float32DepthToPts(depth, B, H, W, K).buffer));
    expect(Array.from(got.valid)).toEqual(Array.from(depth, (d) => (d > 0 ? 1 : 0)));
  });
  test('the portable body and the SIMD path agree bit for bit, in both invalid modes', () => {
    for (const invalid of ['mast3r', 'nan'] as const) {
      const fast = depthmapToPts3d({ data: depth, shape: [B, H, W] }, focal, pp, { invalid });
      const slow = depthmapToPts3d({ data: depth, shape: [B, H, W] }, focal, pp, { invalid, portable: true });
      expect(new Uint32Array(fast.pts.data.buffer)).toEqual(new Uint32Array(slow.pts.data.buffer));
      expect(fast.valid).toEqual(slow.valid);
    }
  });
  test("invalid: 'nan' puts NaN where d is not > 0 and MASt3R's values elsewhere", () => {
    const mast3r = depthmapToPts3d({ data: depth, shape: [B, H, W] }, focal, pp).pts.data;
    const nan = depthmapToPts3d({ data: depth, shape: [B, H, W] }, focal, pp, { invalid: 'nan' }).pts.data;
    let invalid = 0;
    for (let i = 0; i < depth.length; i++) {
      const ok = depth[i]! > 0;
      if (!ok) invalid++;
      for (let c = 0; c < 3; c++) expect(Object.is(nan[3 * i + c], ok ? mast3r[3 * i + c] : NaN)).toBe(true);
    }
    expect(invalid).toBeGreaterThan(10);
  });
});

describe('geotrf', () => {
  const r = seededRandom(5);
  const pts = Float32Array.from({ length: 4 * 50 * 3 }, () => 4 * r() - 2);
  const c = Math.cos(0.7), s = Math.sin(0.7);
  const T4 = [c, -s, 0, 0.5, s, c, 0, -1, 0, 0, 1, 2, 0, 0, 0, 1];
  test('4×4 rigid on [N, 3]', () => {
    const got = geotrf({ data: Float32Array.from(T4), shape: [4, 4] }, { data: pts, shape: [200, 3] });
    expect(rel(got.data, refGeotrf(T4, 4, pts, 3, false))).toBeLessThan(1e-5);
  });
  test('3×3 (pts @ T.T) with norm: divide by the last coordinate', () => {
    const K = [500, 0, 320, 0, 510, 240, 0, 0, 1];
    const z = Float32Array.from(pts, (v, i) => (i % 3 === 2 ? 2 + Math.abs(v) : v));
    const got = geotrf({ data: Float32Array.from(K), shape: [3, 3] }, { data: z, shape: [200, 3] }, { norm: true });
    expect(normalised(got.data, refGeotrf(K, 3, z, 3, true))).toBeLessThan(1e-6);
  });
  test('4×4 projective with norm divides by w (MASt3R), batched [B, N, 3]', () => {
    const Ts = [T4, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.1, 0.2, 0.3, 1.5], T4, [2, 0, 0, 1, 0, 2, 0, 1, 0, 0, 2, 1, 0, 0, 0, 1]];
    const got = geotrf({ data: Float32Array.from(Ts.flat()), shape: [4, 4, 4] }, { data: pts, shape: [4, 50, 3] }, { norm: true });
    const ref = new Float64Array(pts.length);
    for (let b = 0; b < 4; b++) {
      const pb = pts.subarray(b * 150, b * 150 + 150);
      const rb = refGeotrf(Ts[b]!, 4, pb, 3, false);
      for (let i = 0; i < 50; i++) {
        const T = Ts[b]!;
        const w = T[12]! * pb[3 * i]! + T[13]! * pb[3 * i + 1]! + T[14]! * pb[3 * i + 2]! + T[15]!;
        for (let k = 0; k < 3; k++) ref[b * 150 + 3 * i + k] = rb[3 * i + k]! / w;
      }
    }
    expect(got.shape).toEqual([4, 50, 3]);
    expect(rel(got.data, ref)).toBeLessThan(1e-5);
  });
  test('2-d points with a 3×3 homogeneous transform', () => {
    const H3 = [0.9, -0.1, 3, 0.2, 1.1, -2, 0, 0, 1];
    const p2 = pts.subarray(0, 100);
    expect(rel(geotrf({ data: Float32Array.from(H3), shape: [3, 3] }, { data: p2, shape: [50, 2] }).data, refGeotrf(H3, 3, p2, 2, false))).toBeLessThan(1e-5);
  });
  test('norm scales after the divide (MASt3R: pts / pts[..., -1:] * norm)', () => {
    const K = [500, 0, 320, 0, 510, 240, 0, 0, 1];
    const z = Float32Array.from(pts, (v, i) => (i % 3 === 2 ? 2 + Math.abs(v) : v));
    const got = geotrf({ data: Float32Array.from(K), shape: [3, 3] }, { data: z, shape: [200, 3] }, { norm: 0.5 });
    expect(normalised(got.data, refGeotrf(K, 3, z, 3, true).map((v) => v * 0.5))).toBeLessThan(1e-6);
  });
  test('the SIMD path equals the portable body bit for bit: every divide mode, batched slices, a ragged tail', () => {
    // 3 batches of 37 points: the slices start mid-register and end in a tail
    const P = pts.subarray(0, 3 * 37 * 3);
    const Ts = [T4, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0.1, 0.2, 0.3, 1.5], [2, 0, 0, 1, 0, 2, 0, 1, 0, 0, 2, 1, 0, 0, 0, 1]];
    const K3 = [500, 0, 320, 0, 510, 240, 0, 0, 1];
    const cases: [number[], number[], number | boolean][] = [[Ts.flat(), [3, 4, 4], false], [Ts.flat(), [3, 4, 4], true], [[...K3, ...K3, ...K3], [3, 3, 3], 2]];
    for (const [T, tshape, norm] of cases) {
      const args = [{ data: Float32Array.from(T), shape: tshape }, { data: P, shape: [3, 37, 3] }] as const;
      const fast = geotrf(...args, { norm });
      const slow = geotrf(...args, { norm, portable: true });
      expect(new Uint32Array(fast.data.buffer)).toEqual(new Uint32Array(slow.data.buffer));
    }
  });
  test('bad input', () => {
    expect(() => geotrf({ data: new Float32Array(25), shape: [5, 5] }, { data: pts, shape: [200, 3] })).toThrow(/expected \[4, 4\] or \[3, 3\]/);
    expect(() => geotrf({ data: new Float32Array(32), shape: [2, 4, 4] }, { data: pts, shape: [4, 50, 3] })).toThrow(/batch/);
  });
});

/** a camera looking down +z from (tx, ty, 0) with a small rotation */
function camera(K: number[], rz: number, t: [number, number, number]): number[] {
  const c = Math.cos(rz), s = Math.sin(rz);
  const E = [c, -s, 0, t[0], s, c, 0, t[1], 0, 0, 1, t[2]];
  const P: number[] = [];
  for (let r = 0; r < 3; r++) for (let col = 0; col < 4; col++) P.push(K[r * 3]! * E[col]! + K[r * 3 + 1]! * E[4 + col]! + K[r * 3 + 2]! * E[8 + col]!);
  return P;
}

describe('batchedTriangulate (MASt3R batched_triangulate)', () => {
  const K = [500, 0, 256, 0, 500, 192, 0, 0, 1];
  test('noisy projections of random points, 3 cameras, 2 batches: equals the least-squares reference', () => {
    const r = seededRandom(11);
    const B = 2, Nc = 3, Np = 64;
    const P = new Float32Array(B * Nc * 12);
    for (let b = 0; b < B; b++) for (let c = 0; c < Nc; c++) P.set(camera(K, 0.05 * c - 0.02 * b, [0.3 * c - 0.3, 0.1 * b, 0.05 * c]), (b * Nc + c) * 12);
    const pts2d = new Float32Array(B * Nc * Np * 2);
    const truth = new Float64Array(B * Np * 3);
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < Np; p++) {
        const X = [2 * r() - 1, 2 * r() - 1, 3 + 3 * r()];
        truth.set(X, (b * Np + p) * 3);
        for (let c = 0; c < Nc; c++) {
          const M = P.subarray((b * Nc + c) * 12, (b * Nc + c) * 12 + 12);
          const h = [0, 1, 2].map((row) => M[row * 4]! * X[0]! + M[row * 4 + 1]! * X[1]! + M[row * 4 + 2]! * X[2]! + M[row * 4 + 3]!);
          pts2d[((b * Nc + c) * Np + p) * 2] = h[0]! / h[2]! + 0.5 * (r() - 0.5);
          pts2d[((b * Nc + c) * Np + p) * 2 + 1] = h[1]! / h[2]! + 0.5 * (r() - 0.5);
        }
      }
    }
    const got = batchedTriangulate({ data: pts2d, shape: [B, Nc, Np, 2] }, { data: P, shape: [B, Nc, 3, 4] });
    expect(got.shape).toEqual([B, Np, 3]);
    expect(rel(got.data, refTriangulate(pts2d, P, B, Nc, Np))).toBeLessThan(1e-5);
    expect(maxRelativeError(got.data, truth, 1)).toBeLessThan(0.05);
  });
  test('NaN for non-finite input and for a single camera (rank 2)', () => {
    const P = Float32Array.from([...camera(K, 0, [0, 0, 0]), ...camera(K, 0.1, [0.5, 0, 0])]);
    const pts = Float32Array.of(100, 100, NaN, 50, 120, 110, 130, 60);
    const got = batchedTriangulate({ data: pts, shape: [1, 2, 2, 2] }, { data: P, shape: [1, 2, 3, 4] });
    expect(Number.isNaN(got.data[3])).toBe(true);
    expect(Number.isFinite(got.data[0])).toBe(true);
    const one = batchedTriangulate({ data: Float32Array.of(100, 100), shape: [1, 1, 1, 2] }, { data: P.subarray(0, 12), shape: [1, 1, 3, 4] });
    expect(Array.from(one.data).every(Number.isNaN)).toBe(true);
  });
  test('bad shapes', () => {
    expect(() => batchedTriangulate({ data: new Float32Array(8), shape: [1, 2, 2, 2] }, { data: new Float32Array(12), shape: [1, 1, 3, 4] })).toThrow(/expected \[1, 2, 3, 4\]/);
    expect(() => batchedTriangulate({ data: new Float32Array(12), shape: [1, 2, 2, 3] }, { data: new Float32Array(24), shape: [1, 2, 3, 4] })).toThrow(/last dimension must be 2/);
  });
});

describe('matchesToDepths (MASt3R matches_to_depths)', () => {
  test('confidence-weighted average over views, NaN below the view quota, depth in the reference camera', () => {
    const r = seededRandom(21);
    const Kf = [400, 0, 8, 0, 400, 6, 0, 0, 1];
    const B = 1, Nv = 4, H = 4, W = 5;
    const Es = [0, 1, 2, 3, 4].map((c) => {
      const cz = Math.cos(0.03 * c), sz = Math.sin(0.03 * c);
      return [cz, -sz, 0, 0.2 * c, sz, cz, 0, 0.05 * c, 0, 0, 1, 0.1, 0, 0, 0, 1];
    });
    const proj = Es.map((E) => camera(Kf, 0, [0, 0, 0]).map((_, i) => {
      const row = Math.floor(i / 4), col = i % 4;
      return Kf[row * 3]! * E[col]! + Kf[row * 3 + 1]! * E[4 + col]! + Kf[row * 3 + 2]! * E[8 + col]!;
    }));
    const matches = new Float32Array(B * Nv * H * W * 5);
    const truth: number[][] = [];
    for (let i = 0; i < H * W; i++) truth.push([0.5 * r() - 0.25, 0.5 * r() - 0.25, 2 + r()]);
    const project = (P: number[], X: number[]): [number, number] => {
      const h = [0, 1, 2].map((row) => P[row * 4]! * X[0]! + P[row * 4 + 1]! * X[1]! + P[row * 4 + 2]! * X[2]! + P[row * 4 + 3]!);
      return [h[0]! / h[2]!, h[1]! / h[2]!];
    };
    for (let v = 0; v < Nv; v++) {
      for (let i = 0; i < H * W; i++) {
        const [x1, y1] = project(proj[0]!, truth[i]!);
        const [x2, y2] = project(proj[v + 1]!, truth[i]!);
        const at = (v * H * W + i) * 5;
        matches.set([x1 + 0.3 * (r() - 0.5), y1, x2, y2 + 0.3 * (r() - 0.5), 0.5 + r()], at);
        // pixel 3 valid in one view only (≤ ⌊0.3·4⌋ = 1 → NaN); pixel 7 in two views (kept)
        if ((i === 3 && v > 0) || (i === 7 && v > 1)) matches[at] = NaN;
      }
    }
    const K: number[] = [], E: number[] = [];
    for (let c = 0; c <= Nv; c++) {
      K.push(...Kf);
      E.push(...Es[c]!);
    }
    const got = matchesToDepths({ data: Float32Array.from(K), shape: [B, Nv + 1, 3, 3] }, { data: Float32Array.from(E), shape: [B, Nv + 1, 4, 4] },
      { data: matches, shape: [B, Nv, H, W, 5] });
    // reference: triangulate each pair (normal equations), weight by conf, ≤ quota → NaN
    const expected = new Float64Array(H * W);
    for (let i = 0; i < H * W; i++) {
      let sx = 0, sy = 0, sz = 0, cs = 0, n = 0;
      for (let v = 0; v < Nv; v++) {
        const at = (v * H * W + i) * 5;
        const p2 = Float32Array.of(matches[at]!, matches[at + 1]!, matches[at + 2]!, matches[at + 3]!);
        const X = refTriangulate(p2, Float32Array.from([...proj[0]!, ...proj[v + 1]!]), 1, 2, 1);
        if (!X.every(Number.isFinite)) continue;
        const c = matches[at + 4]!;
        sx += c * X[0]!;
        sy += c * X[1]!;
        sz += c * X[2]!;
        cs += c;
        n++;
      }
      const E0 = Es[0]!;
      expected[i] = n <= Math.floor(0.3 * Nv) ? NaN : (E0[8]! * sx + E0[9]! * sy + E0[10]! * sz) / cs + E0[11]!;
    }
    expect(Number.isNaN(got.depths.data[3])).toBe(true);
    expect(Number.isFinite(got.depths.data[7])).toBe(true);
    expect(rel(got.depths.data, expected)).toBeLessThan(1e-5);
    expect(got.points.shape).toEqual([B, H, W, 3]);
  });
});
