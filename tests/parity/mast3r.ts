/**
 * Parity cases for the MASt3R kernels (src/mast3r). The nearest-neighbour
 * kernels are exact, so every backend must give the CPU's indices bit for bit.
 * Sizes are what the emulated Metal (metal-emu) runs in well under a second
 * per seed, while still crossing tile edges and leaving remainders.
 */
import type { ParityCase } from './kernels';
import {
  batchedTriangulate, depthmapToPts3d, fastReciprocalNN, geotrf, infoNCELoss, matchesToDepths, reciprocalNN, refineDepthsTSDF,
  similarities,
} from '../../src/mast3r';
import { randomUnitRows, syntheticDescriptorPair } from '../../src/mast3r/synthetic';
import { seededRandom } from '../helpers/random';

const D = 24;

export const mast3rParityCases: ParityCase[] = [
  {
    // 700 × 530 straddles every backend's tiles (CUDA 128 × 128, Metal 32 × 64); exact twins (ties → the
    // lowest index, through each GPU's exact re-scan) and a one-ulp near-tie (settled in float64)
    symbols: ['ss_mast3r_reciprocal_nn'], name: 'MASt3R brute-force reciprocal NN (dot and l2, exact; ties and near-ties)', tolerance: 0,
    run: (ctx, seed) => {
      const n = 700, m = 530;
      const a = randomUnitRows(n, D, seed), b = randomUnitRows(m, D, seed + 100);
      b.copyWithin(430 * D, 0, 100 * D);
      a.copyWithin(550 * D, 0, 150 * D);
      a.set(b.subarray(300 * D, 301 * D), 200 * D);
      b.set(b.subarray(300 * D, 301 * D), 301 * D);
      b[301 * D + 3] = Math.fround((b[301 * D + 3] as number) * (1 + 2 ** -22));
      const A = { data: a, shape: [n, D] }, B = { data: b, shape: [m, D] };
      const dot = reciprocalNN(A, B, { dist: 'dot', ctx });
      const l2 = reciprocalNN(A, B, { dist: 'l2', ctx });
      return { dotA: dot.nnA, dotB: dot.nnB, l2A: l2.nnA, l2B: l2.nnB };
    },
  },
  {
    // small enough for the emulated Metal (a 1960-pixel db map: 30 full column tiles and a partial one; 120 and
    // 56 seeds: partial row tiles), with a copied patch in each map so that walks meet exact ties
    symbols: ['ss_mast3r_desc_index', 'ss_mast3r_nn_query'], name: 'MASt3R fast reciprocal NN on 40×49 maps (exact; tied patches)', tolerance: 0,
    run: (ctx, seed) => {
      const [m1, m2] = syntheticDescriptorPair(40, 49, D, seed);
      const d1 = m1.data as Float32Array, d2 = m2.data as Float32Array;
      d2.copyWithin(1500 * D, 200 * D, 400 * D);
      d1.copyWithin(1200 * D, 600 * D, 700 * D);
      const r = fastReciprocalNN(m1, m2, { subsample: 4, ctx });
      const l2 = fastReciprocalNN(m1, m2, { subsample: 6, dist: 'l2', ctx });
      return { idx1: r.idx1, idx2: r.idx2, l2idx1: l2.idx1, l2idx2: l2.idx2 };
    },
  },
  {
    symbols: ['ss_mast3r_depthmap_to_pts3d'], name: 'MASt3R depthmap_to_pts3d (per-image cameras, invalid depths, both modes)', tolerance: 1e-6,
    run: (ctx, seed) => {
      const r = seededRandom(seed);
      const B = 3, H = 24, W = 37;
      const depth = Float32Array.from({ length: B * H * W }, (_, i) => (i % 7 === 0 ? 0 : i % 11 === 0 ? -1 : 0.3 + 4 * r()));
      const focal = { data: Float32Array.from({ length: 2 * B }, () => 200 + 300 * r()), shape: [B, 2] };
      const pp = { data: Float32Array.from({ length: 2 * B }, () => 10 + 10 * r()), shape: [B, 2] };
      const m = depthmapToPts3d({ data: depth, shape: [B, H, W] }, focal, pp, { ctx });
      const nan = depthmapToPts3d({ data: depth, shape: [B, H, W] }, focal, pp, { ctx, invalid: 'nan' });
      return { pts: m.pts.data, valid: m.valid, ptsNan: nan.pts.data };
    },
  },
  {
    symbols: ['ss_geotrf'], name: 'MASt3R geotrf: batched transforms over one buffer, divide by w and by the last coordinate, scaled', tolerance: 1e-6,
    run: (ctx, seed) => {
      const r = seededRandom(seed);
      const B = 3, N = 1001;
      const pts = { data: Float32Array.from({ length: B * N * 3 }, () => 4 * r() - 2).map((v, i) => (i % 3 === 2 ? 3 + v : v)), shape: [B, N, 3] };
      const T = { data: Float32Array.from({ length: B * 16 }, (_, i) => (i % 16 === 15 ? 1 : i % 5 === 0 ? 1 + 0.1 * r() : 0.1 * r())), shape: [B, 4, 4] };
      const K = { data: Float32Array.from([500, 0, 320, 0, 510, 240, 0, 0, 1]), shape: [3, 3] };
      return {
        rigid: geotrf(T, pts, { ctx }).data,
        byW: geotrf(T, pts, { ctx, norm: true }).data,
        byZ: geotrf(K, pts, { ctx, norm: 0.5 }).data,
      };
    },
  },
  {
    symbols: ['ss_mast3r_triangulate'], name: 'MASt3R batched triangulation', tolerance: 1e-5,
    run: (ctx, seed) => {
      const r = seededRandom(seed);
      const B = 2, Nc = 3, Np = 500;
      const P = new Float32Array(B * Nc * 12);
      for (let i = 0; i < B * Nc; i++) P.set([500, 0, 256, 0.3 * (i % Nc), 0, 500, 192, 0.1 * r(), 0, 0, 1, 0.05 * r()], i * 12);
      const pts = Float32Array.from({ length: B * Nc * Np * 2 }, () => 512 * r());
      return { X: batchedTriangulate({ data: pts, shape: [B, Nc, Np, 2] }, { data: P, shape: [B, Nc, 3, 4] }, { ctx }).data };
    },
  },
  {
    symbols: ['ss_mast3r_matches_to_depths'], name: 'MASt3R matches_to_depths (4 views, invalid matches, the view quota)', tolerance: 1e-5,
    run: (ctx, seed) => {
      const r = seededRandom(seed);
      const B = 2, Nv = 4, H = 12, W = 17;
      const K: number[] = [], E: number[] = [];
      for (let c = 0; c < B * (Nv + 1); c++) {
        K.push(400 + 10 * r(), 0, 8, 0, 400, 6, 0, 0, 1);
        E.push(1, 0.01 * r(), 0, 0.2 * (c % (Nv + 1)), 0, 1, 0, 0.05 * r(), 0, 0, 1, 0.1, 0, 0, 0, 1);
      }
      const matches = Float32Array.from({ length: B * Nv * H * W * 5 }, (_, i) => (i % 5 === 4 ? 0.5 + r() : i % 37 === 0 ? NaN : 16 * r()));
      const out = matchesToDepths({ data: Float32Array.from(K), shape: [B, Nv + 1, 3, 3] }, { data: Float32Array.from(E), shape: [B, Nv + 1, 4, 4] },
        { data: matches, shape: [B, Nv, H, W, 5] }, { ctx });
      return { points: out.points.data, depths: out.depths.data, confs: out.confs.data };
    },
  },
  {
    symbols: ['ss_mast3r_similarity', 'ss_mast3r_infonce'], name: 'MASt3R similarities and InfoNCE', tolerance: 1e-5,
    run: (ctx, seed) => {
      const a = { data: randomUnitRows(2 * 300, D, seed), shape: [2, 300, D] };
      const b = { data: randomUnitRows(2 * 300, D, seed + 1), shape: [2, 300, D] };
      return {
        sim: similarities(a, b, { ctx }).data,
        euc: similarities(a, b, { euc: true, ctx }).data,
        loss: infoNCELoss(a, b, { temperature: 0.05, ctx }).perPair.data,
      };
    },
  },
  {
    symbols: ['ss_mast3r_refine_depths_tsdf'], name: 'MASt3R TSDF depth refinement (3 views of 20×16, 32 samples)', tolerance: 1e-5,
    run: (ctx, seed) => {
      const r = seededRandom(seed);
      const N = 3, H = 16, W = 20;
      const depths = Float32Array.from({ length: N * H * W }, () => 2 + 0.05 * r());
      const confs = Float32Array.from({ length: N * H * W }, () => 1 + 3 * r());
      const poses = new Float32Array(N * 16);
      const K = new Float32Array(N * 9);
      for (let i = 0; i < N; i++) {
        poses.set([1, 0, 0, 0.05 * i, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], i * 16);
        K.set([25, 0, (W - 1) / 2, 0, 25, (H - 1) / 2, 0, 0, 1], i * 9);
      }
      const out = refineDepthsTSDF({ data: depths, shape: [N, H, W] }, { data: confs, shape: [N, H, W] },
        { data: poses, shape: [N, 4, 4] }, { data: K, shape: [N, 3, 3] }, { tau: 0.03, samples: 32, seed, ctx });
      return { depths: out.data };
    },
  },
];
