/**
 * Bad inputs raise Mast3rInputError (a ValueError) naming the argument, before any
 * native call: with the CLI's (the TypeScript API's) message where the check is the
 * same, the argument named as in MASt3R's signature; Unsupported (a
 * Mast3rInputError) for what scanstream does not serve, so patch() can call MASt3R's own.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import {
  batchedTriangulate, depthmapToPts3d, fastReciprocalNN, geotrf, infoNCELoss, matchesToDepths, reciprocalNN, refineDepthsTSDF,
  similarities, type NdArray,
} from '../../src/mast3r';
import { randomUnitRows } from '../../src/mast3r/synthetic';
import { Job, pythonStatus, thrown, type Variant } from './harness';

const py = pythonStatus();
const D = 24;

function nd(data: Float32Array | Int32Array | Float64Array, shape: number[]): NdArray {
  return { data, shape };
}

/** the TypeScript API's message with its argument names replaced by MASt3R's */
function renamed(message: string, names: Record<string, string>): string {
  let out = message;
  for (const [ts, pyName] of Object.entries(names)) out = out.replace(new RegExp(`\\b${ts}\\b`, 'g'), pyName);
  return out;
}

interface Case {
  name: string;
  fn: string;
  args: unknown[];
  kwargs?: Record<string, unknown>;
  /** the TypeScript API's message for the same input, or a pattern the Python message must match */
  want: string | RegExp;
  /** the argument the message must start with */
  arg: string;
  unsupported?: boolean;
  variants?: Variant[];
}

describe.skipIf(py.missing !== null)(`scanstream.mast3r refuses bad input${py.missing ? ` (skipped: ${py.missing})` : ''}`, () => {
  const job = new Job();
  const a = nd(randomUnitRows(4, D, 1), [4, D]);
  const nanA = nd(Float32Array.from(a.data as Float32Array, (v, i) => (i === 5 ? NaN : v)), [4, D]);
  const infB = nd(Float32Array.from(a.data as Float32Array, (v, i) => (i === 30 ? Infinity : v)), [4, D]);
  const empty = nd(new Float32Array(0), [0, D]);
  const ints = nd(new Int32Array(4 * D), [4, D]);
  const d5 = nd(new Float32Array(20).fill(0.5), [4, 5]);
  const map = nd(randomUnitRows(6 * 7, D, 2), [6, 7, D]);
  const mapInts = nd(new Int32Array(6 * 7 * D), [6, 7, D]);
  const mapNaN = nd(Float32Array.from(map.data as Float32Array, (v, i) => (i === 3 * D + 1 ? NaN : v)), [6, 7, D]);
  const depth = nd(new Float32Array(2 * 5 * 6).fill(1), [2, 5, 6]);
  const T4 = nd(new Float32Array(16).fill(0.5), [4, 4]);
  const pts = nd(new Float32Array(30).fill(1), [10, 3]);
  const p2d = nd(new Float32Array(2 * 3 * 4 * 2).fill(1), [2, 3, 4, 2]);
  const P = nd(new Float32Array(2 * 3 * 12).fill(1), [2, 3, 3, 4]);
  const tsdfD = nd(new Float32Array(2 * 4 * 5).fill(1), [2, 4, 5]);
  const poses = nd(Float32Array.from({ length: 32 }, (_, i) => (i % 5 === 0 ? 1 : 0)), [2, 4, 4]);
  const K = nd(Float32Array.of(10, 0, 2, 0, 10, 2, 0, 0, 1, 10, 0, 2, 0, 10, 2, 0, 0, 1), [2, 3, 3]);
  const Kbad = nd(Float32Array.of(10, 1, 2, 0, 10, 2, 0, 0, 1, 10, 0, 2, 0, 10, 2, 0, 0, 1), [2, 3, 3]);
  const desc = nd(randomUnitRows(2 * 5, D, 3), [2, 5, D]);
  const matches = nd(new Float32Array(1 * 2 * 3 * 4 * 5).fill(1), [1, 2, 3, 4, 5]);
  const Km = nd(new Float32Array(1 * 3 * 9).fill(1), [1, 3, 3, 3]);
  const Em = nd(new Float32Array(1 * 3 * 12).fill(1), [1, 3, 3, 4]);

  const opts = { tau: 0.05, samples: 4 };
  const cases: Case[] = [
    // bruteforce_reciprocal_nns: the CLI's reciprocal-nn checks
    { name: 'NaN in A', fn: 'bruteforce_reciprocal_nns', args: [job.arr(nanA), job.arr(a)], want: thrown(() => reciprocalNN(nanA, a)), arg: 'A' },
    { name: 'Inf in B', fn: 'bruteforce_reciprocal_nns', args: [job.arr(a), job.arr(infB)], want: thrown(() => reciprocalNN(a, infB)), arg: 'B' },
    { name: 'empty A', fn: 'bruteforce_reciprocal_nns', args: [job.arr(empty), job.arr(a)], want: thrown(() => reciprocalNN(empty, a)), arg: 'A' },
    { name: 'integer A', fn: 'bruteforce_reciprocal_nns', args: [job.arr(ints), job.arr(a)], want: thrown(() => reciprocalNN(ints, a)), arg: 'A' },
    { name: 'rank-3 A', fn: 'bruteforce_reciprocal_nns', args: [job.arr(map), job.arr(a)], want: thrown(() => reciprocalNN(map, a)), arg: 'A' },
    { name: 'mismatched D', fn: 'bruteforce_reciprocal_nns', args: [job.arr(a), job.arr(d5)], want: thrown(() => reciprocalNN(a, d5)), arg: 'A' },
    { name: 'unknown dist', fn: 'bruteforce_reciprocal_nns', args: [job.arr(a), job.arr(a)], kwargs: { dist: 'cos' },
      want: thrown(() => reciprocalNN(a, a, { dist: 'cos' as 'dot' })), arg: 'dist' },
    { name: 'block_size 0', fn: 'bruteforce_reciprocal_nns', args: [job.arr(a), job.arr(a)], kwargs: { block_size: 0 }, want: /^block_size must be an integer >= 1/, arg: 'block_size' },
    // fast_reciprocal_NNs: the CLI's fast-reciprocal-nn checks, map1/map2 named pts1/pts2 as in MASt3R
    { name: 'rank-2 pts1', fn: 'fast_reciprocal_NNs', args: [job.arr(a), job.arr(map)], want: renamed(thrown(() => fastReciprocalNN(a, map)), { map1: 'pts1' }), arg: 'pts1' },
    { name: 'NaN in pts1', fn: 'fast_reciprocal_NNs', args: [job.arr(mapNaN), job.arr(map)], want: renamed(thrown(() => fastReciprocalNN(mapNaN, map)), { map1: 'pts1' }), arg: 'pts1' },
    { name: 'integer pts2', fn: 'fast_reciprocal_NNs', args: [job.arr(map), job.arr(mapInts)], want: renamed(thrown(() => fastReciprocalNN(map, mapInts)), { map2: 'pts2' }), arg: 'pts2' },
    { name: 'empty pts2', fn: 'fast_reciprocal_NNs', args: [job.arr(map), job.arr(nd(new Float32Array(0), [0, 7, D]))],
      want: renamed(thrown(() => fastReciprocalNN(map, nd(new Float32Array(0), [0, 7, D]))), { map2: 'pts2' }), arg: 'pts2' },
    { name: 'mismatched D of maps', fn: 'fast_reciprocal_NNs', args: [job.arr(map), job.arr(nd(new Float32Array(6 * 7 * 5), [6, 7, 5]))],
      want: renamed(thrown(() => fastReciprocalNN(map, nd(new Float32Array(6 * 7 * 5), [6, 7, 5]))), { map1: 'pts1', map2: 'pts2' }), arg: 'pts1' },
    { name: 'seed outside map 1', fn: 'fast_reciprocal_NNs', args: [job.arr(map), job.arr(map), { tuple: [[1, 7], [0, 0]] }], kwargs: { pixel_tol: 2 },
      want: /^subsample_or_initxy1: \(7, 0\) at 1 is not a pixel of the 7x6 map pts1$/, arg: 'subsample_or_initxy1' },
    { name: 'pixel_tol > 0 with a subsample', fn: 'fast_reciprocal_NNs', args: [job.arr(map), job.arr(map), 8], kwargs: { pixel_tol: 2 },
      want: /^subsample_or_initxy1: pixel_tol > 0 needs seeds \(x, y\)/, arg: 'subsample_or_initxy1' },
    { name: 'subsample 0', fn: 'fast_reciprocal_NNs', args: [job.arr(map), job.arr(map), 0], want: /^subsample_or_initxy1 must be an integer >= 1/, arg: 'subsample_or_initxy1' },
    { name: 'negative pixel_tol', fn: 'fast_reciprocal_NNs', args: [job.arr(map), job.arr(map), { tuple: [[1], [1]] }], kwargs: { pixel_tol: -1 },
      want: /^pixel_tol must be a number >= 0/, arg: 'pixel_tol' },
    { name: 'a KD-tree option scanstream lacks (eps)', fn: 'fast_reciprocal_NNs', args: [job.arr(map), job.arr(map)], kwargs: { eps: 0.1 },
      want: /^eps: matcher option eps=0\.1 is not supported/, arg: 'eps', unsupported: true },
    // merge_corres
    { name: 'int64 indices', fn: 'merge_corres', args: [job.arr(nd(new Int32Array(3), [3]), { astype: 'int64' }), job.arr(nd(new Int32Array(3), [3]))],
      want: /^idx1: dtype int64 is not supported here, expected int32$/, arg: 'idx1' },
    { name: 'indices of different lengths', fn: 'merge_corres', args: [job.arr(nd(new Int32Array(3), [3])), job.arr(nd(new Int32Array(2), [2]))],
      kwargs: { ret_xy: false }, want: /^idx1 and idx2 must have the same length/, arg: 'idx1' },
    { name: 'index outside the image', fn: 'merge_corres', args: [job.arr(nd(Int32Array.of(0, 12), [2])), job.arr(nd(Int32Array.of(0, 1), [2])), { tuple: [3, 4] }, { tuple: [3, 4] }],
      want: /^idx1: index 12 at 1 is outside the 4x3 image$/, arg: 'idx1' },
    { name: 'ret_xy without shapes', fn: 'merge_corres', args: [job.arr(nd(new Int32Array(2), [2])), job.arr(nd(new Int32Array(2), [2]))],
      want: /^shape1 and shape2: /, arg: 'shape1' },
    // depthmap_to_pts3d
    { name: 'rank-1 depth', fn: 'depthmap_to_pts3d', args: [job.arr(nd(new Float32Array(5), [5])), 500], want: thrown(() => depthmapToPts3d(nd(new Float32Array(5), [5]), 500)), arg: 'depth' },
    { name: 'empty depth', fn: 'depthmap_to_pts3d', args: [job.arr(nd(new Float32Array(0), [1, 0, 4])), 500], want: thrown(() => depthmapToPts3d(nd(new Float32Array(0), [1, 0, 4]), 500)), arg: 'depth' },
    { name: 'integer depth', fn: 'depthmap_to_pts3d', args: [job.arr(nd(new Int32Array(30), [1, 5, 6])), 500], want: /^depth: dtype int32 is not supported here, expected float32 or float64$/, arg: 'depth' },
    { name: 'zero focal', fn: 'depthmap_to_pts3d', args: [job.arr(depth), 0], want: /^pseudo_focal: must be finite and non-zero, got \(0, 0\)$/, arg: 'pseudo_focal' },
    { name: 'focal of the wrong shape', fn: 'depthmap_to_pts3d', args: [job.arr(depth), job.arr(nd(new Float32Array(3), [3]))], want: /^pseudo_focal: expected a number, \(fx, fy\), \[2\]/, arg: 'pseudo_focal' },
    { name: 'pp of the wrong shape', fn: 'depthmap_to_pts3d', args: [job.arr(depth), 500, job.arr(nd(new Float32Array(3), [3]))], want: /^pp: expected \(cx, cy\) or \[2, 2\], got \[3\]$/, arg: 'pp' },
    { name: 'a focal that varies within an image', fn: 'depthmap_to_pts3d', args: [job.arr(depth), job.arr(nd(Float32Array.from({ length: 60 }, (_, i) => 400 + i), [2, 5, 6]))],
      want: /^pseudo_focal: varies within an image/, arg: 'pseudo_focal', unsupported: true },
    { name: 'a depth stack [B, H, W, n]', fn: 'depthmap_to_pts3d', args: [job.arr(nd(new Float32Array(60), [1, 5, 6, 2])), 500], want: /^depth: \[B, H, W, n\]/, arg: 'depth', unsupported: true },
    // geotrf
    { name: 'rank-1 Trf', fn: 'geotrf', args: [job.arr(nd(new Float32Array(4), [4])), job.arr(pts)], want: renamed(thrown(() => geotrf(nd(new Float32Array(4), [4]), pts)), { T: 'Trf' }), arg: 'Trf' },
    { name: 'integer Trf', fn: 'geotrf', args: [job.arr(nd(new Int32Array(16), [4, 4])), job.arr(pts)], want: /^Trf: dtype int32 is not supported here, expected float32 or float64$/, arg: 'Trf' },
    { name: 'batch of pts and Trf differ', fn: 'geotrf', args: [job.arr(nd(new Float32Array(32), [2, 4, 4])), job.arr(nd(new Float32Array(9), [3, 3]))],
      want: renamed(thrown(() => geotrf(nd(new Float32Array(32), [2, 4, 4]), nd(new Float32Array(9), [3, 3]))), { T: 'Trf' }), arg: 'pts' },
    { name: '4-d points', fn: 'geotrf', args: [job.arr(nd(new Float32Array(25), [5, 5])), job.arr(nd(new Float32Array(8), [2, 4]))],
      want: thrown(() => geotrf(nd(new Float32Array(25), [5, 5]), nd(new Float32Array(8), [2, 4]))), arg: 'pts', unsupported: true },
    { name: 'Trf of the wrong size', fn: 'geotrf', args: [job.arr(nd(new Float32Array(25), [5, 5])), job.arr(pts)],
      want: renamed(thrown(() => geotrf(nd(new Float32Array(25), [5, 5]), pts)), { T: 'Trf' }), arg: 'Trf', unsupported: true },
    // batched_triangulate: P named proj_mats as in MASt3R
    { name: 'rank-3 pts2d', fn: 'batched_triangulate', args: [job.arr(nd(new Float32Array(24), [3, 4, 2])), job.arr(P)],
      want: thrown(() => batchedTriangulate(nd(new Float32Array(24), [3, 4, 2]), P)), arg: 'pts2d' },
    { name: 'pts2d of 3 coordinates', fn: 'batched_triangulate', args: [job.arr(nd(new Float32Array(2 * 3 * 4 * 3), [2, 3, 4, 3])), job.arr(P)],
      want: thrown(() => batchedTriangulate(nd(new Float32Array(2 * 3 * 4 * 3), [2, 3, 4, 3]), P)), arg: 'pts2d' },
    { name: 'proj_mats not matching', fn: 'batched_triangulate', args: [job.arr(p2d), job.arr(nd(new Float32Array(2 * 2 * 12), [2, 2, 3, 4]))],
      want: renamed(thrown(() => batchedTriangulate(p2d, nd(new Float32Array(2 * 2 * 12), [2, 2, 3, 4]))), { P: 'proj_mats' }), arg: 'proj_mats' },
    { name: 'empty pts2d', fn: 'batched_triangulate', args: [job.arr(nd(new Float32Array(0), [2, 3, 0, 2])), job.arr(P)],
      want: thrown(() => batchedTriangulate(nd(new Float32Array(0), [2, 3, 0, 2]), P)), arg: 'pts2d' },
    // matches_to_depths: K and E named intrinsics and extrinsics as in MASt3R
    { name: 'matches of 4 values', fn: 'matches_to_depths', args: [job.arr(Km), job.arr(Em), job.arr(nd(new Float32Array(1 * 2 * 3 * 4 * 4), [1, 2, 3, 4, 4]))],
      want: thrown(() => matchesToDepths(Km, Em, nd(new Float32Array(1 * 2 * 3 * 4 * 4), [1, 2, 3, 4, 4]))), arg: 'matches' },
    { name: 'intrinsics for too few cameras', fn: 'matches_to_depths', args: [job.arr(nd(new Float32Array(18), [1, 2, 3, 3])), job.arr(Em), job.arr(matches)],
      want: renamed(thrown(() => matchesToDepths(nd(new Float32Array(18), [1, 2, 3, 3]), Em, matches)), { K: 'intrinsics' }), arg: 'intrinsics' },
    { name: 'extrinsics 2×4', fn: 'matches_to_depths', args: [job.arr(Km), job.arr(nd(new Float32Array(24), [1, 3, 2, 4])), job.arr(matches)],
      want: renamed(thrown(() => matchesToDepths(Km, nd(new Float32Array(24), [1, 3, 2, 4]), matches)), { E: 'extrinsics' }), arg: 'extrinsics' },
    // get_similarities and the loss
    { name: 'rank-4 desc1', fn: 'get_similarities', args: [job.arr(nd(new Float32Array(48), [1, 2, 1, D])), job.arr(desc)],
      want: thrown(() => similarities(nd(new Float32Array(48), [1, 2, 1, D]), desc)), arg: 'desc1' },
    { name: 'desc2 of another D', fn: 'get_similarities', args: [job.arr(desc), job.arr(nd(new Float32Array(20), [2, 2, 5]))],
      want: thrown(() => similarities(desc, nd(new Float32Array(20), [2, 2, 5]))), arg: 'desc1' },
    { name: 'empty desc2', fn: 'get_similarities', args: [job.arr(desc), job.arr(nd(new Float32Array(0), [2, 0, D]))],
      want: thrown(() => similarities(desc, nd(new Float32Array(0), [2, 0, D]))), arg: 'desc2' },
    { name: 'integer desc1', fn: 'get_similarities', args: [job.arr(nd(new Int32Array(2 * 5 * D), [2, 5, D])), job.arr(desc)],
      want: /^desc1: dtype int32 is not supported here, expected float32 or float64$/, arg: 'desc1' },
    { name: 'a tensor that requires grad', fn: 'get_similarities', args: [job.arr(desc), job.arr(desc)], want: /^desc1: requires grad/, arg: 'desc1',
      unsupported: true, variants: ['torch_grad'] },
    { name: 'loss of unpaired descriptors', fn: 'infonce_loss', args: [job.arr(desc), job.arr(nd(new Float32Array(2 * 4 * D), [2, 4, D]))],
      want: thrown(() => infoNCELoss(desc, nd(new Float32Array(2 * 4 * D), [2, 4, D]))), arg: 'desc1' },
    { name: 'temperature 0', fn: 'infonce_loss', args: [job.arr(desc), job.arr(desc)], kwargs: { temperature: 0 }, want: /^temperature must be > 0, got 0$/, arg: 'temperature' },
    { name: 'eps 0', fn: 'infonce_loss', args: [job.arr(desc), job.arr(desc)], kwargs: { eps: 0 }, want: /^eps must be > 0, got 0$/, arg: 'eps' },
    { name: 'valid_matches of another shape', fn: 'infonce_loss', args: [job.arr(desc), job.arr(desc), job.arr(nd(new Int32Array(3), [3]), { keep: true, astype: 'bool' })],
      want: /^valid_matches: expected a bool mask \[2, 5\]/, arg: 'valid_matches' },
    // refine_depths_tsdf: poses named cam2w, tau TSDF_filtering_thresh, samples nsamples as in MASt3R
    { name: 'rank-2 depths', fn: 'refine_depths_tsdf', args: [job.arr(nd(new Float32Array(20), [4, 5])), job.arr(tsdfD), job.arr(poses), job.arr(K), 0.05],
      want: thrown(() => refineDepthsTSDF(nd(new Float32Array(20), [4, 5]), tsdfD, poses, K, opts)), arg: 'depths' },
    { name: 'confs unlike depths', fn: 'refine_depths_tsdf', args: [job.arr(tsdfD), job.arr(nd(new Float32Array(20), [1, 4, 5])), job.arr(poses), job.arr(K), 0.05],
      want: thrown(() => refineDepthsTSDF(tsdfD, nd(new Float32Array(20), [1, 4, 5]), poses, K, opts)), arg: 'confs' },
    { name: 'cam2w of the wrong shape', fn: 'refine_depths_tsdf', args: [job.arr(tsdfD), job.arr(tsdfD), job.arr(nd(new Float32Array(18), [2, 3, 3])), job.arr(K), 0.05],
      want: renamed(thrown(() => refineDepthsTSDF(tsdfD, tsdfD, nd(new Float32Array(18), [2, 3, 3]), K, opts)), { poses: 'cam2w' }), arg: 'cam2w' },
    { name: 'K with skew', fn: 'refine_depths_tsdf', args: [job.arr(tsdfD), job.arr(tsdfD), job.arr(poses), job.arr(Kbad), 0.05],
      want: thrown(() => refineDepthsTSDF(tsdfD, tsdfD, poses, Kbad, opts)), arg: 'K[0]' },
    { name: 'TSDF_filtering_thresh 0', fn: 'refine_depths_tsdf', args: [job.arr(tsdfD), job.arr(tsdfD), job.arr(poses), job.arr(K), 0],
      want: /^TSDF_filtering_thresh must be a finite number > 0, got 0$/, arg: 'TSDF_filtering_thresh' },
    { name: 'nsamples 0', fn: 'refine_depths_tsdf', args: [job.arr(tsdfD), job.arr(tsdfD), job.arr(poses), job.arr(K), 0.05], kwargs: { nsamples: 0 },
      want: renamed(thrown(() => refineDepthsTSDF(tsdfD, tsdfD, poses, K, { tau: 0.05, samples: 0 })), { samples: 'nsamples' }), arg: 'nsamples' },
  ];
  cases.forEach((c, i) => job.add({ id: `e${i}`, fn: c.fn, args: c.args, kwargs: c.kwargs ?? {}, variants: c.variants ?? (py.torch ? ['numpy', 'torch'] : ['numpy']) }));

  beforeAll(() => job.run());
  afterAll(() => job.cleanup());

  cases.forEach((c, i) => {
    for (const v of c.variants ?? (py.torch ? (['numpy', 'torch'] as Variant[]) : (['numpy'] as Variant[]))) {
      test(`${c.fn}: ${c.name} [${v}]`, () => {
        const r = job.result(`e${i}`, v);
        expect(r.outputs).toBeUndefined();
        expect(r.error?.input_error).toBe(true);
        expect(r.error?.unsupported).toBe(c.unsupported ?? false);
        const message = r.error?.message ?? '';
        expect(message.startsWith(c.arg)).toBe(true);
        if (typeof c.want === 'string') expect(message).toBe(c.want);
        else expect(message).toMatch(c.want);
      });
    }
  });
});
