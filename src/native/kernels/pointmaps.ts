import { defineArgs } from '../args';
import type { NativeBuffer } from '../buffer';
import type { NativeContext } from '../context';

export const depthToPointsArgs = defineArgs('depth_to_points', {
  width: 'u32', height: 'u32', depth_u16: 'u32', batch: 'u32',
  fx: 'f32', fy: 'f32', cx: 'f32', cy: 'f32',
  depth_scale: 'f32', min_depth: 'f32', max_depth: 'f32', pad0: 'f32',
});
export const pointsToNormalsArgs = defineArgs('points_to_normals', {
  width: 'u32', height: 'u32', max_jump: 'f32', pad0: 'f32',
});
export const pyramidDownArgs = defineArgs('pyramid_down', {
  src_width: 'u32', src_height: 'u32', channels: 'u32', pad0: 'u32',
  max_diff: 'f32', pad1: 'f32', pad2: 'f32', pad3: 'f32',
});
export const geotrfArgs = defineArgs('geotrf', {
  count: 'u32', dim: 'u32', normalize: 'u32', pad0: 'u32', t: ['f32', 16],
});

export interface PinholeParams {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
}

export interface DepthToPointsOptions {
  /** uint16 depth in raw units (depthScale per metre) instead of float32 metres */
  u16?: boolean;
  depthScale?: number;
  minDepth?: number;
  maxDepth?: number;
  /** number of depth maps stacked in the buffer */
  batch?: number;
}

/** depth buffer → xyz float32 per pixel (NaN where invalid). One native call. */
export function depthToPoints(ctx: NativeContext, cam: PinholeParams, depth: NativeBuffer, points: NativeBuffer,
  opts: DepthToPointsOptions = {}): void {
  ctx.call('ss_depth_to_points', depthToPointsArgs, {
    width: cam.width, height: cam.height, depth_u16: opts.u16 ? 1 : 0, batch: opts.batch ?? 1,
    fx: cam.fx, fy: cam.fy, cx: cam.cx, cy: cam.cy,
    depth_scale: opts.depthScale ?? 5000, min_depth: opts.minDepth ?? 0, max_depth: opts.maxDepth ?? Infinity,
  }, [depth, points]);
}

/** organised points → unit normals facing the camera (NaN at borders, holes and jumps > maxJump) */
export function pointsToNormals(ctx: NativeContext, width: number, height: number, points: NativeBuffer,
  normals: NativeBuffer, maxJump = 0.1): void {
  ctx.call('ss_points_to_normals', pointsToNormalsArgs, { width, height, max_jump: maxJump }, [points, normals]);
}

/** float32 depth → half-size depth, averaging only within maxDiff of the nearest depth of each 2×2 cell */
export function depthPyramidDown(ctx: NativeContext, width: number, height: number, src: NativeBuffer,
  dst: NativeBuffer, maxDiff = 0.05): void {
  ctx.call('ss_depth_pyramid_down', pyramidDownArgs, { src_width: width, src_height: height, channels: 1, max_diff: maxDiff }, [src, dst]);
}

/** uint8 image (1–4 channels) → half size, rounded 2×2 box mean */
export function imagePyramidDown(ctx: NativeContext, width: number, height: number, channels: number,
  src: NativeBuffer, dst: NativeBuffer): void {
  ctx.call('ss_image_pyramid_down', pyramidDownArgs, { src_width: width, src_height: height, channels }, [src, dst]);
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
  ctx.call('ss_geotrf', geotrfArgs, { count, dim, normalize: normalize ? 1 : 0, t }, [src, dst]);
}
