/**
 * scanstream.mast3r (python/) equals the TypeScript API on random inputs: every
 * function, numpy and torch inputs, block-boundary sizes, ties (lowest index
 * wins), pixel_tol > 0; integer outputs identical, float outputs identical too
 * (the same kernels, host arithmetic in the same order) unless a tolerance says
 * otherwise. Inputs other than C-contiguous float32 cost exactly one copy.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  batchedTriangulate, depthmapToPts3d, fastReciprocalNN, geotrf, infoNCELoss, matchesToDepths, mergeCorrespondences,
  reciprocalNN, refineDepthsTSDF, similarities, type NdArray,
} from '../../src/mast3r';
import { randomUnitRows, syntheticDescriptorPair } from '../../src/mast3r/synthetic';
import { seededRandom } from '../helpers/random';
import { Job, numbers, pythonStatus, relError, type Variant } from './harness';

const py = pythonStatus();
const D = 24;

function f32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

function nd(data: Float32Array | Int32Array, shape: number[]): NdArray {
  return { data, shape };
}

const both: Variant[] = ['numpy', 'torch'];
const copies: Variant[] = ['numpy', 'torch', 'float64', 'strided'];

describe.skipIf(py.missing !== null)(`scanstream.mast3r equals the TypeScript API${py.missing ? ` (skipped: ${py.missing})` : ''}`, () => {
  const job = new Job();
  /** expected outputs per call id, compared per variant */
  const checks: { id: string; variants: Variant[]; check: (v: Variant) => void; name: string }[] = [];
  const add = (name: string, id: string, fn: string, args: unknown[], kwargs: Record<string, unknown>, variants: Variant[],
    check: (v: Variant) => void): void => {
    job.add({ id, fn, args, kwargs, variants });
    checks.push({ id, variants, check, name });
  };
  const intsEqual = (id: string, v: Variant, want: ArrayLike<number>[], kind = 'ndarray'): void => {
    const { arrays, info } = job.outputs(id, v);
    expect(arrays.length).toBe(want.length);
    want.forEach((w, i) => {
      expect(info[i]?.kind).toBe(kind);
      expect(numbers(arrays[i] as NdArray)).toEqual(Array.from(w));
    });
  };
  const floatsEqual = (id: string, v: Variant, want: ArrayLike<number>[], tol = 0, kind?: string): void => {
    const { arrays, info } = job.outputs(id, v);
    expect(arrays.length).toBe(want.length);
    want.forEach((w, i) => {
      if (kind) expect(info[i]?.kind).toBe(kind);
      expect(relError(numbers(arrays[i] as NdArray), w)).toBeLessThanOrEqual(tol);
    });
  };

  // ---- bruteforce_reciprocal_nns: sizes straddling the native tiles (4-row groups, 16-column panels, 1024-column blocks)
  const sizes: [number, number, number][] = [[1, 1, 3], [3, 5, 24], [15, 17, 24], [16, 32, 24], [33, 31, 7], [130, 1025, 24], [517, 300, 24], [64, 2049, 5]];
  for (const dist of ['dot', 'l2'] as const) {
    sizes.forEach(([n, m, d], k) => {
      const a = nd(randomUnitRows(n, d, n * 31 + m), [n, d]);
      const b = nd(randomUnitRows(m, d, m * 17 + n + 1), [m, d]);
      const want = reciprocalNN(a, b, { dist });
      // MASt3R's calls pass block_size=2**13; results never depend on it
      const kwargs = k % 2 ? { device: 'cpu', dist, block_size: 8192 } : { device: 'cpu', dist };
      add(`bruteforce_reciprocal_nns ${dist} ${n}×${m}×${d}`, `bf-${dist}-${n}-${m}`, 'bruteforce_reciprocal_nns', [job.arr(a), job.arr(b)],
        kwargs, both, (v) => intsEqual(`bf-${dist}-${n}-${m}`, v, [want.nnA, want.nnB]));
    });
  }
  {
    // every best has an exact twin further on: the lowest index wins in both directions
    const a = randomUnitRows(40, D, 9);
    const b = randomUnitRows(70, D, 10);
    b.copyWithin(35 * D, 0, 35 * D);
    a.copyWithin(20 * D, 0, 20 * D);
    for (const dist of ['dot', 'l2'] as const) {
      const want = reciprocalNN(nd(a, [40, D]), nd(b, [70, D]), { dist });
      expect(Math.max(...want.nnA)).toBeLessThan(35);
      add(`bruteforce_reciprocal_nns ties (${dist}): lowest index wins`, `bf-ties-${dist}`, 'bruteforce_reciprocal_nns',
        [job.arr(nd(a, [40, D])), job.arr(nd(b, [70, D]))], { dist }, both, (v) => intsEqual(`bf-ties-${dist}`, v, [want.nnA, want.nnB]));
    }
    const want = reciprocalNN(nd(a, [40, D]), nd(b, [70, D]), { dist: 'l2' });
    add("bruteforce_reciprocal_nns default dist is 'l2'", 'bf-default', 'bruteforce_reciprocal_nns', [job.arr(nd(a, [40, D])), job.arr(nd(b, [70, D]))],
      {}, copies, (v) => intsEqual('bf-default', v, [want.nnA, want.nnB]));
  }

  // ---- fast_reciprocal_NNs on coherent descriptor maps (what MASt3R's heads produce)
  const fastCases: [number, number, number, number, number][] = [[48, 64, 48, 64, 8], [37, 53, 41, 50, 8], [64, 64, 64, 64, 4], [33, 65, 31, 66, 7]];
  fastCases.forEach(([h1, w1, h2, w2, S], k) => {
    const [m1] = syntheticDescriptorPair(h1, w1, D, 100 + k);
    const [, m2] = syntheticDescriptorPair(h2, w2, D, 100 + k);
    for (const dist of ['dot', 'l2'] as const) {
      const want = fastReciprocalNN(m1, m2, { subsample: S, dist });
      expect(want.count).toBeGreaterThan(0);
      const id = `fast-${dist}-${h1}x${w1}-${S}`;
      // MASt3R's matching passes dist='dot', block_size=2**13; without dist its matchers are Euclidean
      const kwargs = dist === 'dot' ? { device: 'cpu', dist: 'dot', block_size: 8192 } : { device: 'cpu' };
      add(`fast_reciprocal_NNs ${dist} ${h1}×${w1} vs ${h2}×${w2}, subsample ${S}`, id, 'fast_reciprocal_NNs',
        [job.arr(m1), job.arr(m2), S], kwargs, both, (v) => intsEqual(id, v, [want.xy1, want.xy2]));
      if (k === 0) {
        add(`fast_reciprocal_NNs ${dist} ret_xy=False: flat int32 indices`, `${id}-flat`, 'fast_reciprocal_NNs', [job.arr(m1), job.arr(m2), S],
          { ...kwargs, ret_xy: false }, ['numpy'], (v) => intsEqual(`${id}-flat`, v, [want.idx1, want.idx2]));
      }
    }
    // localisation mode: seeds at given pixels, one iteration, pixel_tol > 0
    const r = seededRandom(7 + k);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let y = 0; y < h1; y++) for (let x = 0; x < w1; x++) if (r() < 0.3) { xs.push(x); ys.push(y); }
    for (const tol of [0, 3]) {
      const want = fastReciprocalNN(m1, m2, { seeds: { x: xs, y: ys }, maxIter: 1, pixelTol: tol, dist: 'dot' });
      const id = `fast-seeds-${k}-tol${tol}`;
      const seeds = { tuple: [job.arr(nd(Int32Array.from(xs), [xs.length])), job.arr(nd(Int32Array.from(ys), [ys.length]))] };
      add(`fast_reciprocal_NNs seeds (x, y), pixel_tol=${tol}, ${h1}×${w1}`, id, 'fast_reciprocal_NNs', [job.arr(m1), job.arr(m2), seeds],
        { pixel_tol: tol, device: 'cpu', dist: 'dot', block_size: 8192 }, both, (v) => intsEqual(id, v, [want.xy1, want.xy2]));
    }
  });
  {
    // ties: map 2's second half repeats its first half, so every nearest neighbour has an exact twin further on
    const [m1] = syntheticDescriptorPair(32, 40, D, 7);
    const [, m2] = syntheticDescriptorPair(32, 40, D, 7);
    const half = 16 * 40 * D;
    (m2.data as Float32Array).copyWithin(half, 0, half);
    const want = fastReciprocalNN(m1, m2, { subsample: 4, dist: 'dot' });
    for (let i = 0; i < want.count; i++) expect(want.xy2[2 * i + 1]).toBeLessThan(16);
    add('fast_reciprocal_NNs ties: lowest index wins', 'fast-ties', 'fast_reciprocal_NNs', [job.arr(m1), job.arr(m2), 4], { dist: 'dot' }, copies,
      (v) => intsEqual('fast-ties', v, [want.xy1, want.xy2]));
  }

  // ---- merge_corres
  {
    const r = seededRandom(3);
    const n = 300;
    const i1 = Int32Array.from({ length: n }, () => Math.floor(r() * 56));
    const i2 = Int32Array.from({ length: n }, () => Math.floor(r() * 54));
    const want = mergeCorrespondences(i1, i2, 7, 6);
    const a = [job.arr(nd(i1, [n])), job.arr(nd(i2, [n]))];
    const shapes = [{ tuple: [8, 7] }, { tuple: [9, 6] }];
    add('merge_corres ret_xy: unique pairs sorted by idx1 then idx2, (x, y)', 'merge-xy', 'merge_corres', [...a, ...shapes], {}, both,
      (v) => intsEqual('merge-xy', v, [want.xy1, want.xy2]));
    add('merge_corres ret_index: first occurrences', 'merge-index', 'merge_corres', [...a, ...shapes], { ret_index: true }, ['numpy'],
      (v) => intsEqual('merge-index', v, [want.xy1, want.xy2, want.index]));
    add('merge_corres ret_xy=False: int32 flat indices', 'merge-flat', 'merge_corres', a, { ret_xy: false }, ['numpy'], (v) => {
      intsEqual('merge-flat', v, [want.idx1, want.idx2]);
      expect(job.outputs('merge-flat', v).info.map((o) => o.dtype)).toEqual(['int32', 'int32']);
    });
    const ys = (xy: Int32Array): number[] => Array.from({ length: xy.length / 2 }, (_, k) => xy[2 * k + 1] as number);
    const xs = (xy: Int32Array): number[] => Array.from({ length: xy.length / 2 }, (_, k) => xy[2 * k] as number);
    add("merge_corres ret_xy='y_x': (y, x) per side", 'merge-yx', 'merge_corres', [...a, ...shapes], { ret_xy: 'y_x' }, ['numpy'],
      (v) => intsEqual('merge-yx', v, [ys(want.xy1), xs(want.xy1), ys(want.xy2), xs(want.xy2)]));
  }

  // ---- depthmap_to_pts3d: every form of focal and principal point
  {
    const [B, H, W] = [2, 6, 9];
    const depth = nd(f32(B * H * W, 11, -0.5, 3), [B, H, W]);
    const perPixel = (vals: number[][], ch: number): NdArray => {
      const out = new Float32Array(B * ch * H * W);
      for (let b = 0; b < B; b++) for (let c = 0; c < ch; c++) out.fill((vals[b] as number[])[c] as number, ((b * ch) + c) * H * W, ((b * ch) + c + 1) * H * W);
      return nd(out, ch === 1 ? [B, H, W] : [B, ch, H, W]);
    };
    const fb = nd(Float32Array.of(480, 520), [2]);
    const fb2 = nd(Float32Array.of(480, 500, 520, 540), [2, 2]);
    const pp = nd(Float32Array.of(4.5, 2.25, 3, 3.5), [2, 2]);
    const forms: [string, unknown, Parameters<typeof depthmapToPts3d>[1], unknown, NdArray | undefined][] = [
      ['a number', 500, 500, null, undefined],
      ['(fx, fy)', { tuple: [500, 510] }, [500, 510], null, undefined],
      ['[B]', job.arr(fb), fb, null, undefined],
      ['[B, 2] and pp [B, 2]', job.arr(fb2), fb2, job.arr(pp), pp],
      ["dust3r's per-pixel [B, H, W]", job.arr(perPixel([[480], [520]], 1)), fb, null, undefined],
      ["dust3r's per-pixel [B, 2, H, W]", job.arr(perPixel([[480, 500], [520, 540]], 2)), fb2, job.arr(pp), pp],
    ];
    forms.forEach(([name, pyFocal, tsFocal, pyPp, tsPp], k) => {
      const want = depthmapToPts3d(depth, tsFocal, tsPp);
      const args = pyPp === null ? [job.arr(depth), pyFocal] : [job.arr(depth), pyFocal, pyPp];
      add(`depthmap_to_pts3d, focal ${name}`, `depth-${k}`, 'depthmap_to_pts3d', args, {}, k === 0 ? ['numpy', 'torch', 'torch64', 'strided'] : both,
        (v) => {
          floatsEqual(`depth-${k}`, v, [want.pts.data as Float32Array], 0, v.startsWith('torch') ? 'Tensor' : 'ndarray');
          // dust3r's point maps are float32 whatever the depth's dtype
          expect(job.outputs(`depth-${k}`, v).info[0]?.dtype).toBe('float32');
        });
    });
    const single = nd((depth.data as Float32Array).slice(0, H * W), [H, W]);
    const want = depthmapToPts3d(single, [500, 510]);
    add('depthmap_to_pts3d of one [H, W] map', 'depth-single', 'depthmap_to_pts3d', [job.arr(single), { tuple: [500, 510] }], {}, both,
      (v) => floatsEqual('depth-single', v, [want.pts.data as Float32Array]));
  }

  // ---- geotrf
  {
    const pts3 = nd(f32(2 * 5 * 6 * 3, 21, -2, 2), [2, 5, 6, 3]);
    const pts2 = nd(f32(40 * 2, 22, -2, 2), [40, 2]);
    const T4 = nd(f32(16, 23), [4, 4]);
    const T3 = nd(f32(9, 24), [3, 3]);
    const TB = nd(f32(32, 25), [2, 4, 4]);
    const cases: [string, NdArray, NdArray, boolean | number][] = [
      ['4×4 on 3-d points', T4, pts3, false], ['4×4, norm', T4, pts3, true], ['4×4, norm=2.5', T4, pts3, 2.5],
      ['3×3 on 3-d points (linear)', T3, pts3, false], ['3×3 linear, norm', T3, pts3, true],
      ['3×3 on 2-d points (homography), norm', T3, pts2, true], ['[B, 4, 4] with [B, H, W, 3]', TB, pts3, false],
    ];
    cases.forEach(([name, T, p, norm], k) => {
      const want = geotrf(T, p, { norm });
      add(`geotrf ${name}`, `geotrf-${k}`, 'geotrf', [job.arr(T), job.arr(p)], { norm }, k === 1 ? copies : both,
        (v) => floatsEqual(`geotrf-${k}`, v, [want.data]));
    });
    const want = geotrf(T4, pts3);
    const two = Array.from({ length: want.data.length / 3 * 2 }, (_, i) => want.data[Math.floor(i / 2) * 3 + (i % 2)] as number);
    add('geotrf ncol=2 keeps the first two columns', 'geotrf-ncol', 'geotrf', [job.arr(T4), job.arr(pts3)], { ncol: 2 }, ['numpy'],
      (v) => floatsEqual('geotrf-ncol', v, [two]));
  }

  // ---- batched_triangulate and matches_to_depths
  {
    const pts2d = nd(f32(3 * 4 * 50 * 2, 31, -1, 1), [3, 4, 50, 2]);
    const P = nd(f32(3 * 4 * 12, 32), [3, 4, 3, 4]);
    (pts2d.data as Float32Array)[7] = NaN;
    const want = batchedTriangulate(pts2d, P);
    add('batched_triangulate (a NaN input gives a NaN point)', 'tri', 'batched_triangulate', [job.arr(pts2d), job.arr(P)], {}, copies,
      (v) => floatsEqual('tri', v, [want.data]));

    const [B, Nv, H, W] = [2, 3, 5, 6];
    const K = new Float32Array(B * (Nv + 1) * 9);
    const r = seededRandom(33);
    for (let c = 0; c < B * (Nv + 1); c++) K.set([40 + 10 * r(), 0, 3 + r(), 0, 40 + 10 * r(), 2.5 + r(), 0, 0, 1], c * 9);
    const E = nd(f32(B * (Nv + 1) * 12, 34), [B, Nv + 1, 3, 4]);
    const matches = f32(B * Nv * H * W * 5, 35, 0, 6);
    for (let i = 4; i < matches.length; i += 5) matches[i] = 0.5 + r();
    // some views of some pixels fail (NaN), enough that a few pixels fall under ⌊0.3·Nv⌋ + 1 valid views
    for (let i = 0; i < B * Nv * H * W; i++) if (r() < 0.35) matches[5 * i] = NaN;
    const m = nd(matches, [B, Nv, H, W, 5]);
    const Kn = nd(K, [B, Nv + 1, 3, 3]);
    const wantD = matchesToDepths(Kn, E, m);
    expect(Array.from(wantD.depths.data).some((d) => Number.isNaN(d))).toBe(true);
    add('matches_to_depths (NaN views ignored, too few views → NaN)', 'm2d', 'matches_to_depths', [job.arr(Kn), job.arr(E), job.arr(m)], {}, both,
      (v) => floatsEqual('m2d', v, [wantD.points.data, wantD.depths.data, wantD.confs.data]));
  }

  // ---- get_similarities and the InfoNCE loss
  {
    const d1 = nd(randomUnitRows(2 * 33, D, 41), [2, 33, D]);
    const d2 = nd(randomUnitRows(2 * 17, D, 42), [2, 17, D]);
    for (const euc of [false, true]) {
      const want = similarities(d1, d2, { euc });
      add(`get_similarities euc=${euc}`, `sim-${euc}`, 'get_similarities', [job.arr(d1), job.arr(d2)], { euc }, ['numpy', 'torch', 'torch64'], (v) => {
        floatsEqual(`sim-${euc}`, v, [want.data], 0, v === 'numpy' ? 'ndarray' : 'Tensor');
        expect(job.outputs(`sim-${euc}`, v).info[0]?.dtype).toBe(v === 'torch64' ? 'float64' : 'float32');
      });
    }
    const a2 = nd(randomUnitRows(20, D, 43), [20, D]);
    const b2 = nd(randomUnitRows(9, D, 44), [9, D]);
    const want2 = similarities(a2, b2);
    add('get_similarities of [N, D] inputs gives [N, M]', 'sim-2d', 'get_similarities', [job.arr(a2), job.arr(b2)], {}, ['numpy'],
      (v) => floatsEqual('sim-2d', v, [want2.data]));

    const e1 = nd(randomUnitRows(2 * 40, D, 45), [2, 40, D]);
    const e2 = nd(randomUnitRows(2 * 40, D, 46), [2, 40, D]);
    for (const t of [0.05, 0.07]) {
      const want = infoNCELoss(e1, e2, { temperature: t });
      add(`infonce_loss per pair (temperature ${t})`, `nce-none-${t}`, 'infonce_loss', [job.arr(e1), job.arr(e2)], { temperature: t, reduction: 'none' },
        both, (v) => floatsEqual(`nce-none-${t}`, v, [want.perPair.data]));
      add(`infonce_loss mean (temperature ${t})`, `nce-mean-${t}`, 'infonce_loss', [job.arr(e1), job.arr(e2)], { temperature: t }, both,
        (v) => floatsEqual(`nce-mean-${t}`, v, [[want.loss]], 1e-6));
    }
    const want = infoNCELoss(e1, e2);
    expect(want.loss).toBeGreaterThan(0);
    const mask = Int32Array.from({ length: 80 }, (_, i) => (i % 3 ? 1 : 0));
    const picked = Array.from(want.perPair.data).filter((_, i) => mask[i] === 1);
    add("infonce_loss's default temperature is InfoNCE's 0.07; valid_matches picks pairs", 'nce-mask', 'infonce_loss',
      [job.arr(e1), job.arr(e2), job.arr(nd(mask, [2, 40]), { keep: true, astype: 'bool' })], { reduction: 'none', temperature: 0.05 }, both,
      (v) => floatsEqual('nce-mask', v, [picked]));
  }

  // ---- TSDF depth refinement
  {
    const [N, H, W] = [3, 8, 10];
    const r = seededRandom(51);
    const depths = nd(Float32Array.from({ length: N * H * W }, () => 1.5 + 0.2 * r()), [N, H, W]);
    const confs = nd(Float32Array.from({ length: N * H * W }, () => r()), [N, H, W]);
    const poses = new Float32Array(N * 16);
    for (let i = 0; i < N; i++) poses.set([1, 0, 0, 0.05 * i, 0, 1, 0, -0.03 * i, 0, 0, 1, 0.02 * i, 0, 0, 0, 1], 16 * i);
    const K = new Float32Array(N * 9);
    for (let i = 0; i < N; i++) K.set([10, 0, 4.5, 0, 11, 3.5, 0, 0, 1], 9 * i);
    const P = nd(poses, [N, 4, 4]);
    const Kn = nd(K, [N, 3, 3]);
    const want = refineDepthsTSDF(depths, confs, P, Kn, { tau: 0.05, samples: 20, seed: 99 });
    expect(relError(want.data, depths.data as Float32Array)).toBeGreaterThan(0);
    add('refine_depths_tsdf (seed 99, 20 samples)', 'tsdf', 'refine_depths_tsdf', [job.arr(depths), job.arr(confs), job.arr(P), job.arr(Kn), 0.05],
      { nsamples: 20, seed: 99 }, both, (v) => floatsEqual('tsdf', v, [want.data]));
  }

  beforeAll(() => job.run());
  afterAll(() => job.cleanup());

  for (const c of checks) {
    for (const v of c.variants) {
      if (v.startsWith('torch') && !py.torch) {
        test.skip(`${c.name} [${v}] (torch is not installed: apt-get install python3-torch)`, () => {});
        continue;
      }
      test(`${c.name} [${v}]`, () => {
        expect(job.result(c.id, v).skipped).toBeUndefined();
        c.check(v);
      });
    }
  }

  test.skipIf(!py.torch)('matchers return numpy arrays as MASt3R does, for tensors too', () => {
    for (const id of ['bf-l2-3-5', 'fast-dot-48x64-8', 'merge-xy']) {
      const r = job.result(id, 'torch');
      expect(r.outputs?.map((o) => [o.kind, o.dtype])).toEqual([['ndarray', 'int64'], ['ndarray', 'int64']]);
    }
  });

  test('C-contiguous float32 inputs are read in place and results written in place; other inputs cost one copy each', () => {
    const backend = job.backend;
    if (!backend) throw new Error('no backend info');
    // [call id, its kernel, its float32 inputs, arrays bound: inputs + outputs]
    const cases: [string, string, number, number][] = [
      ['bf-default', 'ss_mast3r_reciprocal_nn', (40 + 70) * D * 4, 4],
      ['tri', 'ss_mast3r_triangulate', (3 * 4 * 50 * 2 + 3 * 4 * 12) * 4, 3],
      ['geotrf-1', 'ss_geotrf', (16 + 2 * 5 * 6 * 3) * 4, 2],
    ];
    for (const [id, kernel, bytes, bound] of cases) {
      const inPlace = backend.unified_memory || backend.cpu_fallback_kernels.includes(kernel);
      const s = job.result(id, 'numpy').stats;
      expect(s?.converted_bytes).toBe(0);
      if (inPlace) {
        expect(s?.copied_bytes).toBe(0);
        expect(s?.wrapped).toBeGreaterThanOrEqual(bound);
      }
      for (const v of ['float64', 'strided'] as Variant[]) {
        // the transform is tiny and its bytes count too: exactly one float32 copy per input
        expect(job.result(id, v).stats?.converted_bytes).toBe(bytes);
        if (inPlace) expect(job.result(id, v).stats?.copied_bytes).toBe(0);
      }
    }
  });
});
