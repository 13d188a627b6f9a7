import { depthToPoints, geotrf as geotrfKernel } from '../native/kernels/pointmaps';
import { Mast3rInputError } from './errors';
import { contextOf, type KernelOptions } from './native';
import { shapeString, sizeOf, type NdArray } from './ndarray';
import { floatData, requireNonEmpty, requireRank } from './validate';

/** A focal length: one value, (fx, fy), or per batch element [B] / [B, 2]. */
export type Focal = number | readonly [number, number] | NdArray;
/** A principal point: (cx, cy) or per batch element [B, 2]; default ((W−1)/2, (H−1)/2). */
export type PrincipalPoint = readonly [number, number] | NdArray;

export interface PointMap {
  /** [B, H, W, 3] (or [H, W, 3] for a single depth map) */
  pts: NdArray<Float32Array>;
  /** 1 where d > 0 */
  valid: Uint8Array;
}

function perBatch(name: string, v: Focal | PrincipalPoint, batch: number, pair: boolean): Array<[number, number]> {
  if (typeof v === 'number') return Array.from({ length: batch }, () => [v, v] as [number, number]);
  if (Array.isArray(v)) {
    const t = v as readonly number[];
    if (t.length !== 2) throw new Mast3rInputError(`${name}: expected 2 values (x, y), got ${t.length}`);
    return Array.from({ length: batch }, () => [t[0] as number, t[1] as number] as [number, number]);
  }
  const arr = v as NdArray;
  const data = floatData(name, arr);
  const ok1 = !pair && arr.shape.length === 1 && arr.shape[0] === batch;
  const ok2 = arr.shape.length === 2 && arr.shape[0] === batch && arr.shape[1] === 2;
  if (!ok1 && !ok2) {
    throw new Mast3rInputError(`${name}: expected ${pair ? '' : `[${batch}] or `}[${batch}, 2], got ${shapeString(arr.shape)}`);
  }
  return Array.from({ length: batch }, (_, b) =>
    ok1 ? [data[b] as number, data[b] as number] : [data[2 * b] as number, data[2 * b + 1] as number]);
}

/**
 * MASt3R's depthmap_to_pts3d: X = d·(u − cx)/fx, Y = d·(v − cy)/fy, Z = d for
 * every pixel (as MASt3R computes them, invalid ones included) and the
 * validity mask d > 0. depth: [H, W] or [B, H, W].
 */
export function depthmapToPts3d(depth: NdArray, focal: Focal, pp?: PrincipalPoint, opts: KernelOptions = {}): PointMap {
  requireRank('depth', depth, [2, 3], 'a [H, W] or [B, H, W] depth map');
  requireNonEmpty('depth', depth);
  const d = floatData('depth', depth);
  const single = depth.shape.length === 2;
  const [B, H, W] = (single ? [1, ...depth.shape] : depth.shape) as [number, number, number];
  const f = perBatch('focal', focal, B, false);
  const c = pp === undefined ? f.map(() => [(W - 1) / 2, (H - 1) / 2] as [number, number]) : perBatch('pp', pp, B, true);
  for (const [fx, fy] of f) {
    if (!Number.isFinite(fx) || !Number.isFinite(fy) || fx === 0 || fy === 0) {
      throw new Mast3rInputError(`focal: must be finite and non-zero, got (${fx}, ${fy})`);
    }
  }
  const hw = H * W;
  const out = new Float32Array(B * hw * 3);
  const valid = new Uint8Array(B * hw);
  const ctx = contextOf(opts);
  const same = f.every(([x, y], b) => x === f[0]?.[0] && y === f[0]?.[1] && c[b]?.[0] === c[0]?.[0] && c[b]?.[1] === c[0]?.[1]);
  const group = same ? B : 1;
  const src = ctx.buffer(group * hw * 4);
  const dst = ctx.buffer(group * hw * 12);
  try {
    for (let b0 = 0; b0 < B; b0 += group) {
      const [fx, fy] = f[b0] as [number, number];
      const [cx, cy] = c[b0] as [number, number];
      src.write(d.subarray(b0 * hw, (b0 + group) * hw));
      // MASt3R reports d·(u − cx)/fx for invalid depths too: the kernel computes every pixel
      depthToPoints(ctx, { width: W, height: H, fx, fy, cx, cy }, src, dst, { batch: group, keepInvalid: true });
      out.set(dst.download().f32(0, group * hw * 3), b0 * hw * 3);
    }
  } finally {
    src.destroy();
    dst.destroy();
  }
  for (let i = 0; i < B * hw; i++) valid[i] = (d[i] as number) > 0 ? 1 : 0;
  return { pts: { data: out, shape: single ? [H, W, 3] : [B, H, W, 3] }, valid };
}

export interface GeotrfOptions extends KernelOptions {
  /** MASt3R's norm: divide by the last coordinate of the product (w for a (d+1)×(d+1) T, the d-th for d×d), then scale by norm when != 1 */
  norm?: number | boolean;
}

/**
 * MASt3R's geotrf: T (d+1)×(d+1) → pts @ R.T + t; T d×d → pts @ T.T.
 * T: [n, n] for every point, or [B, n, n] with pts [B, ..., d].
 */
export function geotrf(T: NdArray, pts: NdArray, opts: GeotrfOptions = {}): NdArray<Float32Array> {
  requireRank('T', T, [2, 3], 'a [n, n] or [B, n, n] transform');
  requireRank('pts', pts, [1, 2, 3, 4, 5], 'points [..., d]');
  const t = floatData('T', T);
  const p = floatData('pts', pts);
  const dim = pts.shape[pts.shape.length - 1] as number;
  if (dim !== 2 && dim !== 3) throw new Mast3rInputError(`pts: last dimension must be 2 or 3, got ${shapeString(pts.shape)}`);
  const n = T.shape[T.shape.length - 1] as number;
  if (T.shape[T.shape.length - 2] !== n || (n !== dim && n !== dim + 1)) {
    throw new Mast3rInputError(`T: expected [${dim + 1}, ${dim + 1}] or [${dim}, ${dim}] for ${dim}-d points, got ${shapeString(T.shape)}`);
  }
  const batched = T.shape.length === 3;
  const B = batched ? (T.shape[0] as number) : 1;
  if (batched && (pts.shape.length < 2 || pts.shape[0] !== B)) {
    throw new Mast3rInputError(`pts: batch of ${shapeString(pts.shape)} does not match T ${shapeString(T.shape)}`);
  }
  const per = sizeOf(pts.shape) / dim / B;
  const out = new Float32Array(p.length);
  if (per === 0) return { data: out, shape: [...pts.shape] };
  const norm = opts.norm === true ? 1 : opts.norm === false || opts.norm === undefined ? 0 : opts.norm;
  const ctx = contextOf(opts);
  const src = ctx.buffer(per * dim * 4);
  const dst = ctx.buffer(per * dim * 4);
  try {
    for (let b = 0; b < B; b++) {
      const h = new Float32Array((dim + 1) * (dim + 1));
      for (let r = 0; r < dim + 1; r++) {
        for (let c = 0; c < dim + 1; c++) {
          let v: number;
          if (n === dim + 1) v = t[b * n * n + r * n + c] as number;
          else v = r < dim && c < dim ? (t[b * n * n + r * n + c] as number) : r === c ? 1 : 0;
          h[r * (dim + 1) + c] = v;
        }
      }
      const pb = p.subarray(b * per * dim, (b + 1) * per * dim);
      src.write(pb);
      // d×d: the kernel's divide by the last coordinate is MASt3R's; (d+1)×(d+1):
      // MASt3R divides by the homogeneous w = T[d]·(p, 1), done here
      const homog = n === dim + 1;
      geotrfKernel(ctx, h, dim as 2 | 3, per, src, dst, norm !== 0 && !homog);
      const ob = out.subarray(b * per * dim, (b + 1) * per * dim);
      ob.set(dst.download().f32(0, per * dim));
      if (norm !== 0 && homog) {
        const last = h.subarray(dim * (dim + 1));
        for (let i = 0; i < per; i++) {
          let w = last[dim] as number;
          for (let k = 0; k < dim; k++) w += (last[k] as number) * (pb[i * dim + k] as number);
          for (let k = 0; k < dim; k++) ob[i * dim + k] = (ob[i * dim + k] as number) / w;
        }
      }
    }
  } finally {
    src.destroy();
    dst.destroy();
  }
  if (norm !== 0 && norm !== 1) for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) * norm;
  return { data: out, shape: [...pts.shape] };
}
