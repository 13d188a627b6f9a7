import type { Intrinsics } from '../../geometry/intrinsics';
import { abiConstants } from '../abi.generated';
import type { NativeBuffer } from '../buffer';
import type { NativeContext } from '../context';

/** the kernels' camera: the project's one intrinsics type */
export type PinholeParams = Intrinsics;

export interface DepthToPointsOptions {
  /** uint16 depth in raw units (depthScale per metre) instead of float32 metres */
  u16?: boolean;
  depthScale?: number;
  minDepth?: number;
  maxDepth?: number;
  /** number of depth maps stacked in the buffer */
  batch?: number;
  /** compute every pixel as MASt3R does (d·(u − cx)/fx, … whatever d is) instead of NaN where the depth is invalid */
  keepInvalid?: boolean;
}

/** depth buffer → xyz float32 per pixel (NaN where invalid). One native call. */
export function depthToPoints(ctx: NativeContext, cam: PinholeParams, depth: NativeBuffer, points: NativeBuffer,
  opts: DepthToPointsOptions = {}): void {
  ctx.call('ss_depth_to_points', {
    width: cam.width, height: cam.height, depth_u16: opts.u16 ? 1 : 0, batch: opts.batch ?? 1,
    fx: cam.fx, fy: cam.fy, cx: cam.cx, cy: cam.cy,
    depth_scale: opts.depthScale ?? 5000, min_depth: opts.minDepth ?? 0, max_depth: opts.maxDepth ?? Infinity,
    flags: opts.keepInvalid ? abiConstants.SS_FLAG_POINTS_KEEP_INVALID : 0,
  }, { depth, points });
}

/** organised points → unit normals facing the camera (NaN at borders, holes and jumps > maxJump) */
export function pointsToNormals(ctx: NativeContext, width: number, height: number, points: NativeBuffer,
  normals: NativeBuffer, maxJump = 0.1): void {
  ctx.call('ss_points_to_normals', { width, height, max_jump: maxJump }, { points, normals });
}

/** float32 depth → half-size depth, averaging only within maxDiff of the nearest depth of each 2×2 cell */
export function depthPyramidDown(ctx: NativeContext, width: number, height: number, src: NativeBuffer,
  dst: NativeBuffer, maxDiff = 0.05): void {
  ctx.call('ss_depth_pyramid_down', { src_width: width, src_height: height, max_diff: maxDiff }, { src, dst });
}

/** uint8 image (1–4 channels) → half size, rounded 2×2 box mean */
export function imagePyramidDown(ctx: NativeContext, width: number, height: number, channels: number,
  src: NativeBuffer, dst: NativeBuffer): void {
  ctx.call('ss_image_pyramid_down', { src_width: width, src_height: height, channels }, { src, dst });
}

/**
 * MASt3R geotrf over `count` points of `dim` (2 or 3) coordinates:
 * out = in @ R^T + t with T given as a (dim+1)×(dim+1) row-major matrix.
 */
export function geotrf(ctx: NativeContext, T: ArrayLike<number>, dim: 2 | 3, count: number, src: NativeBuffer,
  dst: NativeBuffer, normalize = false): void {
  const n = (dim + 1) * (dim + 1);
  if (T.length !== n) throw new TypeError(`geotrf: T must have ${n} entries for dim ${dim}, got ${T.length}`);
  const t = new Float32Array(16);
  for (let i = 0; i < n; i++) t[i] = T[i] as number;
  ctx.call('ss_geotrf', { count, dim, normalize: normalize ? 1 : 0, t }, { in: src, out: dst });
}
