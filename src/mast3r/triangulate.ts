import type { NativeBuffer } from '../native/buffer';
import { Mast3rInputError } from './errors';
import { contextOf, type KernelOptions } from './native';
import { shapeString, sizeOf, type NdArray } from './ndarray';
import { CallBuffers, requireDistinct, tensorShape, type OutputOptions, type TensorInput } from './tensor';
import { floatData } from './validate';

export type TriangulateOptions = KernelOptions & OutputOptions;

/**
 * MASt3R's batched_triangulate: pts2d [B, Nc, Np, 2], P [B, Nc, 3, 4] →
 * [B, Np, 3], the least-squares solution of the stacked rows P0 − x·P2,
 * P1 − y·P2 (w = 1, unweighted). NaN for non-finite or rank-deficient points.
 * Inputs may be NativeTensors (read in place); with `out` the result is a
 * view of that buffer, else a fresh array (the kernel's output copied once).
 */
export function batchedTriangulate(pts2d: TensorInput, P: TensorInput, opts: TriangulateOptions = {}): NdArray<Float32Array> {
  const ps = tensorShape('pts2d', pts2d);
  const ms = tensorShape('P', P);
  if (ps.length !== 4) throw new Mast3rInputError(`pts2d: expected pts2d [B, Ncams, Npts, 2], got shape ${shapeString(ps)}`);
  if (ms.length !== 4) throw new Mast3rInputError(`P: expected P [B, Ncams, 3, 4], got shape ${shapeString(ms)}`);
  if (sizeOf(ps) === 0) throw new Mast3rInputError(`pts2d: is empty (shape ${shapeString(ps)})`);
  const [B, Nc, Np, two] = ps as [number, number, number, number];
  if (two !== 2) throw new Mast3rInputError(`pts2d: last dimension must be 2, got ${shapeString(ps)}`);
  if (ms[0] !== B || ms[1] !== Nc || ms[2] !== 3 || ms[3] !== 4) {
    throw new Mast3rInputError(`P: expected [${B}, ${Nc}, 3, 4] to match pts2d ${shapeString(ps)}, got ${shapeString(ms)}`);
  }
  if (Nc > 64) throw new Mast3rInputError(`pts2d: at most 64 cameras per point, got ${Nc}`);
  requireDistinct('out', opts.out, { pts2d, P });
  const bufs = new CallBuffers(contextOf(opts));
  try {
    const out = bufs.output('out', opts.out, B * Np * 12);
    bufs.ctx.call('ss_mast3r_triangulate', { batch: B, cams: Nc, points: Np }, { pts2d: bufs.input(pts2d), proj: bufs.input(P), out });
    return { data: bufs.f32(out, B * Np * 3), shape: [B, Np, 3] };
  } finally {
    bufs.release();
  }
}

export interface MatchesToDepthsOptions extends KernelOptions, OutputOptions {
  /** a pixel needs more than ⌊ratio·Nv⌋ valid views (MASt3R: `<= min_num_valids` → NaN); default 0.3 */
  minValidRatio?: number;
  /** the depths' buffer (≥ 4 bytes a pixel); `out` takes the points (≥ 12 bytes a pixel) */
  depthsOut?: NativeBuffer;
  /** the confidence sums' buffer (≥ 4 bytes a pixel) */
  confsOut?: NativeBuffer;
}

export interface MatchDepths {
  /** [B, H, W, 3] confidence-weighted world points (NaN where too few views) */
  points: NdArray<Float32Array>;
  /** [B, H, W] z in the reference camera */
  depths: NdArray<Float32Array>;
  /** [B, H, W] sum of the confidences of the valid views */
  confs: NdArray<Float32Array>;
}

function cameraMatrices(name: string, arr: NdArray, B: number, cams: number, rows: number[], cols: number): Float32Array {
  const ok = arr.shape.length === 4 && arr.shape[0] === B && arr.shape[1] === cams && rows.includes(arr.shape[2] as number) &&
    arr.shape[3] === cols;
  if (!ok) {
    throw new Mast3rInputError(`${name}: expected [${B}, ${cams}, ${rows.join(' or ')}, ${cols}], got ${shapeString(arr.shape)}`);
  }
  return floatData(name, arr);
}

/** Per batch element: P = K·E[:3] of the reference camera and each view, then the reference camera's E row 2 (ss_mast3r_matches_to_depths's cams). */
function packProjections(k: Float32Array, e: Float32Array, eRows: number, B: number, Nv: number): Float32Array {
  const per = (Nv + 1) * 12 + 4;
  const out = new Float32Array(B * per);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c <= Nv; c++) {
      const kb = (b * (Nv + 1) + c) * 9;
      const eb = (b * (Nv + 1) + c) * eRows * 4;
      for (let r = 0; r < 3; r++) {
        for (let col = 0; col < 4; col++) {
          let s = 0;
          for (let t = 0; t < 3; t++) s += (k[kb + r * 3 + t] as number) * (e[eb + t * 4 + col] as number);
          out[b * per + c * 12 + r * 4 + col] = s;
        }
      }
    }
    const e0 = b * (Nv + 1) * eRows * 4;
    out.set(e.subarray(e0 + 8, e0 + 12), b * per + (Nv + 1) * 12);
  }
  return out;
}

/**
 * MASt3R's matches_to_depths: K [B, Nv+1, 3, 3], world→camera E
 * [B, Nv+1, 3 or 4, 4] (camera 0 is the reference), matches
 * [B, Nv, H, W, 5] = (x1, y1, x2, y2, conf) of reference pixel ↔ view v
 * (a NativeTensor is read in place). One native call triangulates each pair,
 * averages the views weighted by confidence ignoring NaN (normaliser ≤ 1e-5
 * → 1), puts NaN where the valid views number ≤ ⌊0.3·Nv⌋, and returns depth
 * z in the reference camera. With out / depthsOut / confsOut the results are
 * views of those buffers, else fresh arrays (copied once).
 */
export function matchesToDepths(K: NdArray, E: NdArray, matches: TensorInput, opts: MatchesToDepthsOptions = {}): MatchDepths {
  const ms = tensorShape('matches', matches);
  if (ms.length !== 5) throw new Mast3rInputError(`matches: expected matches [B, Nv, H, W, 5], got shape ${shapeString(ms)}`);
  if (sizeOf(ms) === 0) throw new Mast3rInputError(`matches: is empty (shape ${shapeString(ms)})`);
  const [B, Nv, H, W, five] = ms as [number, number, number, number, number];
  if (five !== 5) throw new Mast3rInputError(`matches: last dimension must be 5 (x1, y1, x2, y2, conf), got ${shapeString(ms)}`);
  if (Nv > 64) throw new Mast3rInputError(`matches: at most 64 views, got ${Nv}`);
  const k = cameraMatrices('K', K, B, Nv + 1, [3], 3);
  const e = cameraMatrices('E', E, B, Nv + 1, [3, 4], 4);
  const ratio = opts.minValidRatio ?? 0.3;
  if (!Number.isFinite(ratio) || ratio < 0) throw new Mast3rInputError(`minValidRatio must be a finite number >= 0, got ${ratio}`);
  const outs = { out: opts.out, depthsOut: opts.depthsOut, confsOut: opts.confsOut };
  for (const [name, buf] of Object.entries(outs)) {
    requireDistinct(name, buf, { matches });
    for (const [other, b2] of Object.entries(outs)) {
      if (name < other && buf !== undefined && buf === b2) throw new Mast3rInputError(`${name}: is also ${other}'s buffer`);
    }
  }
  const n = B * H * W;
  const bufs = new CallBuffers(contextOf(opts));
  try {
    const points = bufs.output('out', opts.out, 12 * n);
    const depths = bufs.output('depthsOut', opts.depthsOut, 4 * n);
    const confs = bufs.output('confsOut', opts.confsOut, 4 * n);
    bufs.ctx.call('ss_mast3r_matches_to_depths', { batch: B, views: Nv, width: W, height: H, min_valid: Math.floor(Nv * ratio) }, {
      matches: bufs.input(matches), cams: bufs.params(packProjections(k, e, E.shape[2] as number, B, Nv)), points, depths, confs,
    });
    return {
      points: { data: bufs.f32(points, 3 * n), shape: [B, H, W, 3] },
      depths: { data: bufs.f32(depths, n), shape: [B, H, W] },
      confs: { data: bufs.f32(confs, n), shape: [B, H, W] },
    };
  } finally {
    bufs.release();
  }
}
