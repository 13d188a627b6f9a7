import { abiConstants } from '../native/abi.generated';
import type { NativeBuffer } from '../native/buffer';
import { Mast3rInputError } from './errors';
import { contextOf, FLAG_PORTABLE, type KernelOptions } from './native';
import { shapeString, sizeOf, type NdArray } from './ndarray';
import { CallBuffers, requireDistinct, tensorShape, type OutputOptions, type TensorInput } from './tensor';
import { floatData } from './validate';

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

export interface DepthmapOptions extends KernelOptions, OutputOptions {
  /** the valid mask's buffer (≥ 1 byte a pixel) instead of a fresh array; `out` takes the points (≥ 12 bytes a pixel) */
  validOut?: NativeBuffer;
  /** 'mast3r' (default): every pixel as MASt3R computes it, d ≤ 0 included; 'nan': NaN where d is not > 0 (the fusion convention) */
  invalid?: 'mast3r' | 'nan';
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
 * validity mask d > 0, both computed by one native call for the whole batch.
 * depth: [H, W] or [B, H, W], float32 (a NativeTensor is read in place).
 * With `out` / `validOut` the results are views of those buffers; without,
 * fresh arrays (the native output copied once).
 */
export function depthmapToPts3d(depth: TensorInput, focal: Focal, pp?: PrincipalPoint, opts: DepthmapOptions = {}): PointMap {
  const shape = tensorShape('depth', depth);
  if (shape.length !== 2 && shape.length !== 3) {
    throw new Mast3rInputError(`depth: expected a [H, W] or [B, H, W] depth map, got shape ${shapeString(shape)}`);
  }
  if (sizeOf(shape) === 0) throw new Mast3rInputError(`depth: is empty (shape ${shapeString(shape)})`);
  const single = shape.length === 2;
  const [B, H, W] = (single ? [1, ...shape] : shape) as [number, number, number];
  const f = perBatch('focal', focal, B, false);
  const c = pp === undefined ? f.map(() => [(W - 1) / 2, (H - 1) / 2] as [number, number]) : perBatch('pp', pp, B, true);
  const intrinsics = new Float32Array(4 * B);
  for (let b = 0; b < B; b++) {
    const [fx, fy] = f[b] as [number, number];
    if (!Number.isFinite(fx) || !Number.isFinite(fy) || fx === 0 || fy === 0) {
      throw new Mast3rInputError(`focal: must be finite and non-zero, got (${fx}, ${fy})`);
    }
    intrinsics.set([fx, fy, (c[b] as [number, number])[0], (c[b] as [number, number])[1]], 4 * b);
  }
  const invalid = opts.invalid ?? 'mast3r';
  if (invalid !== 'mast3r' && invalid !== 'nan') throw new Mast3rInputError(`invalid must be 'mast3r' or 'nan', got '${String(invalid)}'`);
  requireDistinct('out', opts.out, { depth });
  requireDistinct('validOut', opts.validOut, { depth });
  if (opts.out !== undefined && opts.out === opts.validOut) throw new Mast3rInputError('validOut: is also out\'s buffer');
  const n = B * H * W;
  const bufs = new CallBuffers(contextOf(opts));
  try {
    const points = bufs.output('out', opts.out, 12 * n);
    const valid = bufs.output('validOut', opts.validOut, n);
    const flags = (invalid === 'mast3r' ? abiConstants.SS_FLAG_POINTS_KEEP_INVALID : 0) | (opts.portable ? FLAG_PORTABLE : 0);
    bufs.ctx.call('ss_mast3r_depthmap_to_pts3d', { width: W, height: H, batch: B, flags },
      { depth: bufs.input(depth), intrinsics: bufs.params(intrinsics), points, valid });
    return { pts: { data: bufs.f32(points, 3 * n), shape: single ? [H, W, 3] : [B, H, W, 3] }, valid: bufs.u8(valid, n) };
  } finally {
    bufs.release();
  }
}

export interface GeotrfOptions extends KernelOptions, OutputOptions {
  /** MASt3R's norm: divide by the last coordinate of the product (w for a (d+1)×(d+1) T, the d-th for d×d), then scale by norm when != 1 */
  norm?: number | boolean;
}

/** T as the kernel's (dim+1)×(dim+1) row-major matrix (a d×d T gets the last row and column of the identity). */
function homogeneous(t: Float32Array, at: number, n: number, dim: number): Float32Array {
  const h = new Float32Array((dim + 1) * (dim + 1));
  for (let r = 0; r <= dim; r++) {
    for (let c = 0; c <= dim; c++) {
      if (n === dim + 1) h[r * (dim + 1) + c] = t[at + r * n + c] as number;
      else h[r * (dim + 1) + c] = r < dim && c < dim ? (t[at + r * n + c] as number) : r === c ? 1 : 0;
    }
  }
  return h;
}

/**
 * MASt3R's geotrf: T (d+1)×(d+1) → pts @ R.T + t; T d×d → pts @ T.T; with
 * norm, divided by the last coordinate of the product and scaled, all in the
 * kernel. T: [n, n] for every point, or [B, n, n] with pts [B, ..., d]: one
 * native call per transform over its slice of the same buffer. pts may be a
 * NativeTensor (read in place); `out` may be pts's own buffer (in place).
 */
export function geotrf(T: NdArray, pts: TensorInput, opts: GeotrfOptions = {}): NdArray<Float32Array> {
  if (T.shape.length !== 2 && T.shape.length !== 3) {
    throw new Mast3rInputError(`T: expected a [n, n] or [B, n, n] transform, got shape ${shapeString(T.shape)}`);
  }
  const shape = tensorShape('pts', pts);
  if (shape.length < 1 || shape.length > 5) throw new Mast3rInputError(`pts: expected points [..., d], got shape ${shapeString(shape)}`);
  const t = floatData('T', T);
  const dim = shape[shape.length - 1] as number;
  if (dim !== 2 && dim !== 3) throw new Mast3rInputError(`pts: last dimension must be 2 or 3, got ${shapeString(shape)}`);
  const n = T.shape[T.shape.length - 1] as number;
  if (T.shape[T.shape.length - 2] !== n || (n !== dim && n !== dim + 1)) {
    throw new Mast3rInputError(`T: expected [${dim + 1}, ${dim + 1}] or [${dim}, ${dim}] for ${dim}-d points, got ${shapeString(T.shape)}`);
  }
  const batched = T.shape.length === 3;
  const B = batched ? (T.shape[0] as number) : 1;
  if (batched && (shape.length < 2 || shape[0] !== B)) {
    throw new Mast3rInputError(`pts: batch of ${shapeString(shape)} does not match T ${shapeString(T.shape)}`);
  }
  const norm = opts.norm === true ? 1 : opts.norm === false || opts.norm === undefined ? 0 : opts.norm;
  if (typeof norm !== 'number' || !Number.isFinite(norm)) throw new Mast3rInputError(`norm must be a boolean or a finite number, got ${String(opts.norm)}`);
  const count = sizeOf(shape) / dim;
  const per = count / B;
  if (per > 0xffffffff || count > 0xffffffff) throw new Mast3rInputError(`pts: ${count} points is too many for one call`);
  const bufs = new CallBuffers(contextOf(opts));
  try {
    const out = bufs.output('out', opts.out, Math.max(1, 4 * count * dim));
    if (count === 0) return { data: bufs.f32(out, 0), shape: [...shape] };
    const src = bufs.input(pts);
    // MASt3R divides by w = T[d]·(p, 1) for a (d+1)×(d+1) T and by the last coordinate of pts @ T.T for d×d
    const normalize = norm === 0 ? abiConstants.SS_GEOTRF_NO_DIVIDE : n === dim + 1 ? abiConstants.SS_GEOTRF_DIVIDE_W : abiConstants.SS_GEOTRF_DIVIDE_LAST;
    const tt = new Float32Array(16);
    for (let b = 0; b < B; b++) {
      tt.set(homogeneous(t, b * n * n, n, dim));
      bufs.ctx.call('ss_geotrf', {
        count: per, dim, normalize, first: b * per, t: tt, scale: norm === 0 ? 1 : norm, flags: opts.portable ? FLAG_PORTABLE : 0,
      }, { in: src, out });
    }
    return { data: bufs.f32(out, count * dim), shape: [...shape] };
  } finally {
    bufs.release();
  }
}
