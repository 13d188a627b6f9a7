import { Mast3rInputError } from './errors';
import { contextOf, type KernelOptions } from './native';
import { shapeString, sizeOf, type NdArray } from './ndarray';
import { CallBuffers, requireDistinct, tensorShape, type OutputOptions, type TensorInput } from './tensor';
import { floatData, requireNonEmpty, requireRank } from './validate';

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

export interface MatchesToDepthsOptions extends KernelOptions {
  /** a pixel needs more than ⌊ratio·Nv⌋ valid views (MASt3R: `<= min_num_valids` → NaN); default 0.3 */
  minValidRatio?: number;
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

/**
 * MASt3R's matches_to_depths: K [B, Nv+1, 3, 3], world→camera E
 * [B, Nv+1, 3 or 4, 4] (camera 0 is the reference), matches
 * [B, Nv, H, W, 5] = (x1, y1, x2, y2, conf) of reference pixel ↔ view v.
 * Triangulates each pair, averages the views weighted by confidence
 * ignoring NaN (normaliser ≤ 1e-5 → 1), NaN where the valid views number
 * ≤ ⌊0.3·Nv⌋, and returns depth z in the reference camera.
 */
export function matchesToDepths(K: NdArray, E: NdArray, matches: NdArray, opts: MatchesToDepthsOptions = {}): MatchDepths {
  requireRank('matches', matches, [5], 'matches [B, Nv, H, W, 5]');
  requireNonEmpty('matches', matches);
  const [B, Nv, H, W, five] = matches.shape as [number, number, number, number, number];
  if (five !== 5) throw new Mast3rInputError(`matches: last dimension must be 5 (x1, y1, x2, y2, conf), got ${shapeString(matches.shape)}`);
  const k = cameraMatrices('K', K, B, Nv + 1, [3], 3);
  const e = cameraMatrices('E', E, B, Nv + 1, [3, 4], 4);
  const eRows = E.shape[2] as number;
  const mt = floatData('matches', matches);
  const ratio = opts.minValidRatio ?? 0.3;
  const minValid = Math.floor(Nv * ratio);
  const hw = H * W;

  // P = K·E[:3] per camera; pair (b, v) triangulates camera 0 with camera v + 1
  const proj = new Float32Array(B * (Nv + 1) * 12);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c <= Nv; c++) {
      const kb = (b * (Nv + 1) + c) * 9;
      const eb = (b * (Nv + 1) + c) * eRows * 4;
      for (let r = 0; r < 3; r++) {
        for (let col = 0; col < 4; col++) {
          let s = 0;
          for (let t = 0; t < 3; t++) s += (k[kb + r * 3 + t] as number) * (e[eb + t * 4 + col] as number);
          proj[(b * (Nv + 1) + c) * 12 + r * 4 + col] = s;
        }
      }
    }
  }
  const pts2d = new Float32Array(B * Nv * 2 * hw * 2);
  const P = new Float32Array(B * Nv * 2 * 12);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < Nv; v++) {
      const pair = b * Nv + v;
      P.set(proj.subarray(b * (Nv + 1) * 12, b * (Nv + 1) * 12 + 12), pair * 24);
      P.set(proj.subarray((b * (Nv + 1) + v + 1) * 12, (b * (Nv + 1) + v + 2) * 12), pair * 24 + 12);
      const mbase = pair * hw * 5;
      const o1 = pair * 2 * hw * 2;
      const o2 = o1 + hw * 2;
      for (let i = 0; i < hw; i++) {
        pts2d[o1 + 2 * i] = mt[mbase + 5 * i] as number;
        pts2d[o1 + 2 * i + 1] = mt[mbase + 5 * i + 1] as number;
        pts2d[o2 + 2 * i] = mt[mbase + 5 * i + 2] as number;
        pts2d[o2 + 2 * i + 1] = mt[mbase + 5 * i + 3] as number;
      }
    }
  }
  const X = batchedTriangulate({ data: pts2d, shape: [B * Nv, 2, hw, 2] }, { data: P, shape: [B * Nv, 2, 3, 4] }, opts).data;

  const points = new Float32Array(B * hw * 3);
  const depths = new Float32Array(B * hw);
  const confs = new Float32Array(B * hw);
  for (let b = 0; b < B; b++) {
    const eb = b * (Nv + 1) * eRows * 4;
    for (let i = 0; i < hw; i++) {
      let norm = 0;
      let valid = 0;
      for (let v = 0; v < Nv; v++) {
        const at = ((b * Nv + v) * hw + i) * 3;
        if (Number.isFinite(X[at] as number) && Number.isFinite(X[at + 1] as number) && Number.isFinite(X[at + 2] as number)) {
          norm += mt[((b * Nv + v) * hw + i) * 5 + 4] as number;
          valid++;
        }
      }
      confs[b * hw + i] = norm;
      if (norm <= 1e-5) norm = 1;
      let sx = 0;
      let sy = 0;
      let sz = 0;
      for (let v = 0; v < Nv; v++) {
        const at = ((b * Nv + v) * hw + i) * 3;
        const x = X[at] as number;
        const y = X[at + 1] as number;
        const z = X[at + 2] as number;
        if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) continue;
        const c = (mt[((b * Nv + v) * hw + i) * 5 + 4] as number) / norm;
        sx += x * c;
        sy += y * c;
        sz += z * c;
      }
      const o = (b * hw + i) * 3;
      if (valid <= minValid) {
        points[o] = points[o + 1] = points[o + 2] = NaN;
        depths[b * hw + i] = NaN;
        continue;
      }
      points[o] = sx;
      points[o + 1] = sy;
      points[o + 2] = sz;
      depths[b * hw + i] = (e[eb + 8] as number) * sx + (e[eb + 9] as number) * sy + (e[eb + 10] as number) * sz + (e[eb + 11] as number);
    }
  }
  return {
    points: { data: points, shape: [B, H, W, 3] },
    depths: { data: depths, shape: [B, H, W] },
    confs: { data: confs, shape: [B, H, W] },
  };
}
