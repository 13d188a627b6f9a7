/**
 * Frame-to-model dense tracking (KinectFusion): the TSDF model is ray-cast
 * from the last tracked pose, guided by that frame's own depth, into a
 * reference pyramid, and the current frame's pyramid is ICP-aligned to it.
 * The tracker owns two pyramids and swaps them as frames are accepted.
 */
import type { TrackingOptions } from '../config';
import type { TsdfVolume } from '../fusion/tsdfVolume';
import type { Intrinsics } from '../geometry/intrinsics';
import { invertRigid, multiply, type Pose, poseDelta, top3x4 } from '../geometry/se3';
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { raycastGuided } from '../native/kernels/tracking';
import { IcpSolver, type IcpParams, type IcpResult } from './icp';
import { FrameStaging, RgbdPyramid, type PyramidLevel, type PyramidOptions } from './pyramid';

export interface DenseTrackerOptions {
  pyramid: PyramidOptions;
  icp: IcpParams;
  /** half-width of the ray-cast search band around the prior depth, metres */
  raycastBand: number;
  /** gates: below/above these the frame is 'lost' */
  minInlierFraction: number;
  maxRmse: number;
  maxPhotoRmse: number;
  minValidFraction: number;
  /** largest believable motion between consecutive frames (metres, degrees) */
  maxTranslation: number;
  maxRotationDeg: number;
  /** predict the next pose by repeating the last motion */
  constantVelocity: boolean;
  /** what the photometric term compares with: the reference frame's image or the model's colours */
  photometricReference: 'frame' | 'model';
  /** the tracked frame becomes the new reference past these (0: every frame, frame-to-model as KinectFusion) */
  referenceTranslation: number;
  referenceRotationDeg: number;
  referenceMinInliers: number;
  /** reference normals from the TSDF gradient (smoother, 6 more samples per ray) or from the ray-cast depth */
  referenceNormals: 'tsdf' | 'depth';
}

export type LostReason = 'no-depth' | 'too-few-points' | 'blank-image' | 'icp-diverged' | 'too-few-inliers' | 'high-residual' | 'jump' | 'no-model';

export interface DenseTrackResult {
  ok: boolean;
  /** camera-to-world estimate (also when not ok: ICP's answer, for diagnostics) */
  pose: Pose;
  icp: IcpResult | null;
  reason?: LostReason;
}

/** Where TsdfVolume keeps the voxel pool and hash the ray-cast reads. */
export interface VolumeBuffers {
  pool: NativeBuffer;
  hash: NativeBuffer;
  hashMask: number;
}

/** The model's pool and hash, read by the guided ray-cast (a tracking kernel over the volume's buffers). */
export function volumeBuffers(volume: TsdfVolume): VolumeBuffers {
  return volume.modelBuffers();
}

export class DenseTracker {
  readonly frameK: Intrinsics;
  private readonly ctx: NativeContext;
  private readonly volume: TsdfVolume;
  private readonly options: DenseTrackerOptions;
  private readonly icp: IcpSolver;
  private readonly staging: FrameStaging;
  private current: RgbdPyramid;
  /** the last accepted frame's pyramid: its level-0 depth is the next ray-cast's prior */
  private previous: RgbdPyramid;
  private readonly reference: RgbdPyramid;
  private hasPrevious = false;
  private refPose: Pose | null = null;
  private refStale = true;
  private refreshes = 0;
  private lastInlierFraction = 1;
  private lastPose: Pose | null = null;
  private lastMotion: Pose | null = null;
  /** resetMotion() was called: the next accepted pose starts a new motion model (no motion across the gap) */
  private motionGap = false;
  private destroyed = false;

  constructor(ctx: NativeContext, volume: TsdfVolume, frameK: Intrinsics, options: DenseTrackerOptions) {
    this.ctx = ctx;
    this.volume = volume;
    this.frameK = frameK;
    this.options = options;
    this.icp = new IcpSolver(ctx);
    // the two frame pyramids take turns and share their staging; the reference is built from a ray-cast only
    this.staging = new FrameStaging(ctx, frameK, options.pyramid.downsample);
    this.current = new RgbdPyramid(ctx, frameK, options.pyramid, this.staging);
    this.previous = new RgbdPyramid(ctx, frameK, options.pyramid, this.staging);
    this.reference = new RgbdPyramid(ctx, frameK, options.pyramid, null);
  }

  /** The pyramid the next frame is built into (also read by feature extraction). */
  get currentPyramid(): RgbdPyramid {
    return this.current;
  }

  /** The last accepted frame's pyramid (its full-resolution gray feeds keyframe features). */
  get lastPyramid(): RgbdPyramid {
    return this.previous;
  }

  get lastTrackedPose(): Pose | null {
    return this.lastPose;
  }

  /**
   * Builds the current pyramid from a frame. Returns the fraction of level-0
   * pixels with depth, and of pixels with image texture (a gradient of more
   * than 8 gray levels): blank or over-exposed frames have almost none.
   */
  prepare(depth: Float32Array, rgb: Uint8Array): { validFraction: number; textureFraction: number } {
    this.check();
    this.current.buildFromFrame(depth, rgb);
    const l0 = this.current.levels[0] as PyramidLevel;
    const n = l0.width * l0.height;
    // the kernels wrote them: bring them to the host view (a no-op where memory is shared)
    const d = l0.depth.download(0, n * 4).f32(0, n);
    // option lookups hoisted: the loops run over every level-0 pixel, the first frames before the JIT has optimised them
    const minDepth = this.options.pyramid.minDepth, maxDepth = this.options.pyramid.maxDepth;
    let valid = 0;
    for (let i = 0; i < n; i++) {
      const z = d[i] as number;
      if (z >= minDepth && z <= maxDepth) valid++;
    }
    const g = l0.gray.download(0, n).u8(0, n);
    const w = l0.width, h = l0.height;
    let textured = 0;
    for (let y = 1; y < h - 1; y += 2) {
      for (let x = 1; x < w - 1; x += 2) {
        const i = y * w + x;
        if (Math.abs((g[i + 1] as number) - (g[i - 1] as number)) + Math.abs((g[i + w] as number) - (g[i - w] as number)) > 8) textured++;
      }
    }
    return { validFraction: valid / n, textureFraction: textured / Math.max(1, Math.floor((l0.height - 2) / 2) * Math.floor((w - 2) / 2)) };
  }

  /** The pose the motion model predicts for the next frame. */
  predict(): Pose | null {
    if (!this.lastPose) return null;
    if (this.options.constantVelocity && this.lastMotion) return multiply(this.lastPose, this.lastMotion);
    return this.lastPose;
  }

  /**
   * Tracks the prepared current frame against the model, starting from
   * `guess` (camera-to-world; default: the motion model's prediction).
   * The reference is the model ray-cast at the reference pose (the last frame
   * that refreshed it, see accept()), guided by that frame's depth, with that
   * frame's own image for the photometric term. With `renderAtGuess`
   * (relocalisation: the reference may be far away) the model is rendered at
   * the guess instead, guided by the current frame's depth. Does not accept
   * the frame: call accept().
   */
  track(guess?: Pose, renderAtGuess = false): DenseTrackResult {
    this.check();
    const o = this.options;
    if (!this.lastPose || !this.hasPrevious) {
      return { ok: false, pose: guess ?? new Float64Array(16), icp: null, reason: 'no-model' };
    }
    const start = guess ?? this.predict() ?? this.lastPose;
    if (renderAtGuess) {
      this.renderReference(start, this.current);
      this.refPose = start;
      this.refStale = true;
    } else if (this.refStale || !this.refPose) {
      this.renderReference(this.lastPose, this.previous);
      // photometric reference: the frame's own image (sharp, seen from exactly
      // the ray-cast pose) rather than the model's voxel colours (blurred by fusion)
      if (o.photometricReference === 'frame') {
        for (let l = 0; l < this.reference.levels.length; l++) {
          const dst = this.reference.levels[l] as PyramidLevel;
          dst.gray.u8().set((this.previous.levels[l] as PyramidLevel).gray.download().u8());
          dst.gray.upload();
        }
      }
      this.refPose = this.lastPose;
      this.refStale = false;
      this.refreshes++;
    }
    const refPose = this.refPose as Pose;
    const initial = multiply(invertRigid(refPose), start);
    const icp = this.icp.align(this.current, this.reference, initial, o.icp);
    const pose = multiply(refPose, icp.curToRef);
    this.lastInlierFraction = icp.inlierFraction;
    let reason: LostReason | undefined;
    const jump = poseDelta(multiply(invertRigid(renderAtGuess ? start : this.lastPose), pose));
    if (icp.singular || !Number.isFinite(icp.rmse)) reason = 'icp-diverged';
    else if (icp.inlierFraction < o.minInlierFraction) reason = 'too-few-inliers';
    else if (icp.rmse > o.maxRmse || icp.photoRmse > o.maxPhotoRmse) reason = 'high-residual';
    else if (jump.distance > o.maxTranslation || (jump.angle * 180) / Math.PI > o.maxRotationDeg) reason = 'jump';
    return reason ? { ok: false, pose, icp, reason } : { ok: true, pose, icp };
  }

  /** Ray-casts the model from a pose into the reference pyramid, guided by `priorFrom`'s level-0 depth. */
  renderReference(camToWorld: Pose, priorFrom: RgbdPyramid = this.previous): RgbdPyramid {
    const vb = volumeBuffers(this.volume);
    const l0 = this.reference.levels[0] as PyramidLevel;
    const prior = (priorFrom.levels[0] as PyramidLevel).depth;
    raycastGuided(this.ctx, l0.K, {
      camToWorld: top3x4(camToWorld), hashMask: vb.hashMask, voxelSize: this.volume.voxelSize, sdfTrunc: this.volume.sdfTrunc,
      minDepth: this.options.pyramid.minDepth, maxDepth: this.options.pyramid.maxDepth, band: this.options.raycastBand,
      fullFallback: false, noNormals: this.options.referenceNormals === 'depth',
    }, { pool: vb.pool, hash: vb.hash, prior, depth: l0.depth, normals: l0.normals, gray: l0.gray });
    this.reference.buildFromLevel0(this.options.referenceNormals === 'depth');
    return this.reference;
  }

  /**
   * The current frame is tracked at `pose`. It becomes the next reference
   * (re-rendered lazily, after fusion has integrated it) when the camera has
   * moved or turned past the reference thresholds since the last reference,
   * or the overlap (ICP inlier fraction) fell below referenceMinInliers: frame-
   * to-reference tracking drifts only when the reference changes (DVO-SLAM's
   * keyframe odometry), and the ray-cast is paid once per reference.
   */
  accept(pose: Pose): void {
    this.check();
    // after a gap (resetMotion) the last pose is frames ago: its difference is no per-frame motion
    this.lastMotion = this.lastPose && !this.motionGap ? multiply(invertRigid(this.lastPose), pose) : null;
    this.motionGap = false;
    this.lastPose = pose;
    [this.previous, this.current] = [this.current, this.previous];
    this.hasPrevious = true;
    const o = this.options;
    if (!this.refPose) {
      this.refStale = true;
      return;
    }
    const d = poseDelta(multiply(invertRigid(this.refPose), pose));
    if (d.distance >= o.referenceTranslation || (d.angle * 180) / Math.PI >= o.referenceRotationDeg ||
      this.lastInlierFraction < o.referenceMinInliers) this.refStale = true;
  }

  /** how many times the reference was re-rendered */
  get referenceRefreshes(): number {
    return this.refreshes;
  }

  /** After a relocalisation: forget the motion model (the gap is unknown). */
  resetMotion(): void {
    this.lastMotion = null;
    this.motionGap = true;
  }

  private check(): void {
    if (this.destroyed) throw new Error('DenseTracker was used after destroy()');
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.icp.destroy();
    this.current.destroy();
    this.previous.destroy();
    this.reference.destroy();
    this.staging.destroy();
  }
}

/** DenseTracker settings from the validated tracking options (src/config.ts). */
export function denseTrackerOptions(o: TrackingOptions): DenseTrackerOptions {
  return {
    pyramid: {
      levels: o.pyramidLevels, downsample: o.downsample, minDepth: o.minDepth, maxDepth: o.maxDepth,
      normalMaxJump: 0.05, depthMaxDiff: 0.05,
    },
    icp: {
      iterations: o.icpIterations, maxDist: o.icpMaxDist, minNormalCos: Math.cos((o.icpMaxNormalAngleDeg * Math.PI) / 180),
      huberDelta: o.icpHuberDelta, useColor: o.useColor, colorWeight: o.colorWeight, colorHuberDelta: o.colorHuberDelta,
      epsilon: o.icpEpsilon,
    },
    raycastBand: o.raycastBand,
    minInlierFraction: o.minInlierFraction, maxRmse: o.maxRmse, maxPhotoRmse: o.maxPhotoRmse, minValidFraction: o.minValidFraction,
    maxTranslation: o.maxTranslation, maxRotationDeg: o.maxRotationDeg, constantVelocity: o.constantVelocity,
    photometricReference: o.photometricReference,
    referenceTranslation: o.referenceTranslation, referenceRotationDeg: o.referenceRotationDeg,
    referenceMinInliers: o.referenceMinInliers, referenceNormals: o.referenceNormals,
  };
}
