/**
 * RGB-D image pyramids in native buffers for dense tracking: per level depth,
 * camera-frame points and normals, and 8-bit gray. Built either from a frame
 * (the current view) or from a model ray-cast written into level 0 (the
 * reference view). Buffers are allocated once and reused frame after frame.
 */
import type { Intrinsics } from '../geometry/intrinsics';
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { depthPyramidDown, depthToPoints, imagePyramidDown, pointsToNormals } from '../native/kernels/pointmaps';
import { rgbToGray } from '../native/kernels/tracking';

export interface PyramidLevel {
  width: number;
  height: number;
  K: Intrinsics;
  /** float32 metres, 0 = none */
  depth: NativeBuffer;
  /** float32 xyz, camera frame, NaN = none */
  points: NativeBuffer;
  normals: NativeBuffer;
  gray: NativeBuffer;
}

/** Intrinsics of a 2× box-downsampled image: pixel centres move, cx' = (cx − 0.5) / 2. */
export function halveIntrinsics(K: Intrinsics): Intrinsics {
  return {
    fx: K.fx / 2, fy: K.fy / 2, cx: (K.cx - 0.5) / 2, cy: (K.cy - 0.5) / 2,
    width: Math.floor(K.width / 2), height: Math.floor(K.height / 2),
  };
}

export interface PyramidOptions {
  /** pyramid levels (level 0 finest) */
  levels: number;
  /** level 0 is the frame downsampled this many times (0 = full resolution) */
  downsample: number;
  minDepth: number;
  maxDepth: number;
  /** normals are not estimated across depth steps larger than this at level 0 (doubles per level) */
  normalMaxJump: number;
  /** depth averaging in downsampling stops at steps larger than this (metres) */
  depthMaxDiff: number;
}

/**
 * What building a pyramid from a frame reads only while it runs: the frame's
 * depth and colour at full resolution and the halvings between it and level
 * 0. A tracker's frame pyramids share one (fewer and smaller native
 * allocations: pinned host memory on CUDA, first-touch page faults on the CPU).
 */
export class FrameStaging {
  readonly depth: NativeBuffer;
  readonly rgb: NativeBuffer;
  readonly pre: { K: Intrinsics; depth: NativeBuffer; gray: NativeBuffer }[] = [];

  constructor(ctx: NativeContext, frameK: Intrinsics, downsample: number) {
    const n = frameK.width * frameK.height;
    this.depth = ctx.buffer(n * 4);
    this.rgb = ctx.buffer(n * 3);
    let K = frameK;
    for (let d = 0; d < downsample - 1; d++) {
      K = halveIntrinsics(K);
      this.pre.push({ K, depth: ctx.buffer(K.width * K.height * 4), gray: ctx.buffer(K.width * K.height) });
    }
  }

  destroy(): void {
    this.depth.destroy();
    this.rgb.destroy();
    for (const p of this.pre) {
      p.depth.destroy();
      p.gray.destroy();
    }
  }
}

export class RgbdPyramid {
  readonly levels: PyramidLevel[];
  /** full-resolution intrinsics of the frames this pyramid takes */
  readonly frameK: Intrinsics;
  private readonly ctx: NativeContext;
  private readonly options: PyramidOptions;
  /** the frame's staging (null: a pyramid only ever built from level 0, e.g. a ray-cast reference) */
  private readonly staging: FrameStaging | null;
  private readonly ownsStaging: boolean;
  /** full-resolution gray of the last frame built (kept: keyframe features read it after the frame was tracked) */
  private readonly gray: NativeBuffer | null;
  private destroyed = false;

  /**
   * `staging`: shared with other pyramids of the same camera, or null for a
   * pyramid that takes no frames (buildFromLevel0 only); by default its own.
   */
  constructor(ctx: NativeContext, frameK: Intrinsics, options: PyramidOptions, staging?: FrameStaging | null) {
    if (options.levels < 1) throw new RangeError(`pyramid levels must be ≥ 1, got ${options.levels}`);
    this.ctx = ctx;
    this.frameK = frameK;
    this.options = options;
    this.ownsStaging = staging === undefined;
    this.staging = staging === undefined ? new FrameStaging(ctx, frameK, options.downsample) : staging;
    this.gray = this.staging ? ctx.buffer(frameK.width * frameK.height) : null;
    let K = frameK;
    for (let d = 0; d < options.downsample; d++) K = halveIntrinsics(K);
    this.levels = [];
    for (let l = 0; l < options.levels; l++) {
      if (l > 0) K = halveIntrinsics(K);
      if (K.width < 8 || K.height < 8) throw new RangeError(`pyramid level ${l} would be ${K.width}×${K.height}: too many levels for ${frameK.width}×${frameK.height}`);
      const m = K.width * K.height;
      this.levels.push({
        width: K.width, height: K.height, K,
        depth: ctx.buffer(m * 4), points: ctx.buffer(m * 12), normals: ctx.buffer(m * 12), gray: ctx.buffer(m),
      });
    }
  }

  /** full-resolution gray of the last buildFromFrame (native, for feature extraction) */
  get fullGray(): NativeBuffer {
    if (!this.gray) throw new Error('RgbdPyramid: this pyramid takes no frames (no full-resolution gray)');
    return this.gray;
  }

  private check(): void {
    if (this.destroyed) throw new Error('RgbdPyramid was used after destroy()');
  }

  /** Current view: depth (metres) and RGB at frame resolution → every level. */
  buildFromFrame(depth: Float32Array, rgb: Uint8Array): void {
    this.check();
    const staging = this.staging, gray = this.gray;
    if (!staging || !gray) throw new Error('RgbdPyramid: this pyramid takes no frames (built with no staging)');
    const { width: W, height: H } = this.frameK;
    staging.depth.write(depth);
    staging.rgb.write(rgb);
    rgbToGray(this.ctx, W, H, staging.rgb, gray);
    const l0 = this.levels[0] as PyramidLevel;
    if (this.options.downsample === 0) {
      l0.depth.write(staging.depth.u8(0, W * H * 4));
      l0.gray.write(gray.download(0, W * H).u8(0, W * H));
    } else {
      let srcD = staging.depth, srcG = gray, w = W, h = H;
      for (let d = 0; d < this.options.downsample; d++) {
        const last = d === this.options.downsample - 1;
        const dst = last ? { depth: l0.depth, gray: l0.gray } : (staging.pre[d] as { depth: NativeBuffer; gray: NativeBuffer });
        depthPyramidDown(this.ctx, w, h, srcD, dst.depth, this.options.depthMaxDiff);
        imagePyramidDown(this.ctx, w, h, 1, srcG, dst.gray);
        srcD = dst.depth;
        srcG = dst.gray;
        w = Math.floor(w / 2);
        h = Math.floor(h / 2);
      }
    }
    this.finishLevel0(true);
    this.buildCoarser(true);
  }

  /**
   * Reference view: level 0 depth and gray already written (by the ray-cast),
   * and normals too unless `normalsFromDepth` → points (+ normals) + coarser levels.
   */
  buildFromLevel0(normalsFromDepth = false): void {
    this.check();
    this.finishLevel0(normalsFromDepth);
    this.buildCoarser(true);
  }

  private finishLevel0(withNormals: boolean): void {
    const l0 = this.levels[0] as PyramidLevel;
    depthToPoints(this.ctx, l0.K, l0.depth, l0.points, { minDepth: this.options.minDepth, maxDepth: this.options.maxDepth });
    if (withNormals) pointsToNormals(this.ctx, l0.width, l0.height, l0.points, l0.normals, this.options.normalMaxJump);
  }

  private buildCoarser(withNormals: boolean): void {
    for (let l = 1; l < this.levels.length; l++) {
      const src = this.levels[l - 1] as PyramidLevel;
      const dst = this.levels[l] as PyramidLevel;
      depthPyramidDown(this.ctx, src.width, src.height, src.depth, dst.depth, this.options.depthMaxDiff);
      imagePyramidDown(this.ctx, src.width, src.height, 1, src.gray, dst.gray);
      depthToPoints(this.ctx, dst.K, dst.depth, dst.points, { minDepth: this.options.minDepth, maxDepth: this.options.maxDepth });
      if (withNormals) pointsToNormals(this.ctx, dst.width, dst.height, dst.points, dst.normals, this.options.normalMaxJump * 2 ** l);
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.ownsStaging) this.staging?.destroy();
    this.gray?.destroy();
    for (const l of this.levels) for (const b of [l.depth, l.points, l.normals, l.gray]) b.destroy();
  }
}
