import { abiConstants } from '../abi.generated';
import type { NativeBuffer } from '../buffer';
import type { NativeContext } from '../context';
import type { PinholeParams } from './pointmaps';

/** SS_FLAG_RAYCAST_FULL_FALLBACK: march the whole depth range where the prior is missing */
export const RAYCAST_FULL_FALLBACK = abiConstants.SS_FLAG_RAYCAST_FULL_FALLBACK;
/** SS_FLAG_RAYCAST_NO_NORMALS: skip the TSDF gradient (normals left NaN) */
export const RAYCAST_NO_NORMALS = abiConstants.SS_FLAG_RAYCAST_NO_NORMALS;

/** uint8 RGB → uint8 luma (BT.601, 8.8 fixed point). One native call. */
export function rgbToGray(ctx: NativeContext, width: number, height: number, rgb: NativeBuffer, gray: NativeBuffer): void {
  ctx.call('ss_rgb_to_gray', { width, height }, { rgb, gray });
}

export interface GuidedRaycastParams {
  camToWorld: Float32Array;
  hashMask: number;
  voxelSize: number;
  sdfTrunc: number;
  minDepth: number;
  maxDepth: number;
  /** half-width of the search band around the prior, metres */
  band: number;
  fullFallback: boolean;
  /** leave normals NaN (the caller derives them from the depth) */
  noNormals?: boolean;
}

/** Model ray-cast around a depth prior; outputs camera-frame depth, normals and gray. */
export function raycastGuided(ctx: NativeContext, cam: PinholeParams, p: GuidedRaycastParams,
  bufs: { pool: NativeBuffer; hash: NativeBuffer; prior: NativeBuffer; depth: NativeBuffer; normals: NativeBuffer; gray: NativeBuffer }): void {
  ctx.call('ss_tsdf_raycast_guided', {
    width: cam.width, height: cam.height, hash_mask: p.hashMask, flags: (p.fullFallback ? RAYCAST_FULL_FALLBACK : 0) | (p.noNormals ? RAYCAST_NO_NORMALS : 0),
    fx: cam.fx, fy: cam.fy, cx: cam.cx, cy: cam.cy, cam_to_world: p.camToWorld,
    voxel_size: p.voxelSize, sdf_trunc: p.sdfTrunc, min_depth: p.minDepth, max_depth: p.maxDepth, band: p.band,
  }, { pool: bufs.pool, hash: bufs.hash, prior: bufs.prior, depth: bufs.depth, normals: bufs.normals, gray: bufs.gray });
}

export interface IcpReduceParams {
  curToRef: Float32Array;
  maxDist: number;
  minNormalCos: number;
  huberDelta: number;
  useColor: boolean;
  colorWeight: number;
  colorHuberDelta: number;
}

/** Offsets into the float64[32] the ICP reduction writes. */
export const ICP_OUT = { JTJ: 0, JTR: 21, GEO_SQ: 27, GEO_COUNT: 28, PHOTO_SQ: 29, PHOTO_COUNT: 30, VALID: 31 } as const;

/** One ICP normal-equation reduction; out: a ≥ 256-byte buffer read back as float64[32]. */
export function icpReduce(ctx: NativeContext, cam: PinholeParams, p: IcpReduceParams,
  bufs: { curPoints: NativeBuffer; curNormals: NativeBuffer; curGray: NativeBuffer; refPoints: NativeBuffer; refNormals: NativeBuffer;
    refGray: NativeBuffer; out: NativeBuffer }): Float64Array {
  ctx.call('ss_icp_reduce', {
    width: cam.width, height: cam.height, use_color: p.useColor ? 1 : 0,
    fx: cam.fx, fy: cam.fy, cx: cam.cx, cy: cam.cy, cur_to_ref: p.curToRef,
    max_dist: p.maxDist, min_normal_cos: p.minNormalCos, huber_delta: p.huberDelta, color_weight: p.colorWeight,
    color_huber_delta: p.colorHuberDelta,
  }, { cur_points: bufs.curPoints, cur_normals: bufs.curNormals, cur_gray: bufs.curGray, ref_points: bufs.refPoints, ref_normals: bufs.refNormals, ref_gray: bufs.refGray, out: bufs.out });
  bufs.out.download(0, 256);
  return bufs.out.f64(0, 32);
}
