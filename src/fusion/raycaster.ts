/**
 * Renders a volume's zero level set from a camera (depth, normals, colour)
 * into output buffers kept between calls and grown with the image.
 */
import type { Intrinsics } from '../geometry/intrinsics';
import { rigidPoseProblem, top3x4, type Pose } from '../geometry/se3';
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';

export interface RaycastResult {
  /** z depth in metres, 0 = no surface */
  depth: Float32Array;
  /** world-frame unit normals, NaN on miss */
  normals: Float32Array;
  color: Uint8Array;
}

/** The model a ray-cast reads: the voxel pool and block hash, and the volume's geometry. */
export interface RaycastModel {
  pool: NativeBuffer;
  hash: NativeBuffer;
  hashMask: number;
  voxelSize: number;
  sdfTrunc: number;
  minDepth: number;
  maxDepth: number;
}

export class Raycaster {
  private readonly ctx: NativeContext;
  private out: { depth: NativeBuffer; normals: NativeBuffer; color: NativeBuffer; pixels: number } | null = null;

  constructor(ctx: NativeContext) {
    this.ctx = ctx;
  }

  raycast(model: RaycastModel, K: Intrinsics, camToWorld: Pose): RaycastResult {
    const problem = rigidPoseProblem(camToWorld);
    if (problem) throw new RangeError(`raycast: camera pose is not a rigid transform (${problem})`);
    const pixels = K.width * K.height;
    if (!this.out || this.out.pixels < pixels) {
      this.destroy();
      this.out = { depth: this.ctx.buffer(pixels * 4), normals: this.ctx.buffer(pixels * 12), color: this.ctx.buffer(pixels * 3), pixels };
    }
    const o = this.out;
    this.ctx.call('ss_tsdf_raycast', {
      width: K.width, height: K.height, hash_mask: model.hashMask, fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy,
      cam_to_world: top3x4(camToWorld), voxel_size: model.voxelSize, sdf_trunc: model.sdfTrunc,
      min_depth: model.minDepth, max_depth: model.maxDepth,
    }, { pool: model.pool, hash: model.hash, depth: o.depth, normals: o.normals, color: o.color });
    o.depth.download(0, pixels * 4);
    o.normals.download(0, pixels * 12);
    o.color.download(0, pixels * 3);
    return { depth: o.depth.f32(0, pixels).slice(), normals: o.normals.f32(0, pixels * 3).slice(), color: o.color.u8(0, pixels * 3).slice() };
  }

  destroy(): void {
    this.out?.depth.destroy();
    this.out?.normals.destroy();
    this.out?.color.destroy();
    this.out = null;
  }
}
