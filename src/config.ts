/**
 * zod schemas for every option; one source of truth. Types are z.infer'd
 * from these and defaults live here only.
 */
import { z } from 'zod';

/**
 * A failed parse as one line a person can read, `path: message; …`; an issue
 * about the value as a whole is named `root` (e.g. '(options)', '(message)').
 * `separator` goes between path and message (' ' where messages read on from
 * the name: "depthPlanes must be ≥ 8").
 */
export function formatZodIssues(error: z.ZodError, root = '(root)', separator = ': '): string {
  return error.issues.map((i) => `${i.path.join('.') || root}${separator}${i.message}`).join('; ');
}

// ---- fusion ----------------------------------------------------------------

/** A TSDF volume (src/fusion/tsdfVolume.ts); fusion, SLAM and monocular pipelines make theirs from these. */
export const TsdfVolumeOptionsSchema = z.object({
  /** voxel edge, metres */
  voxelSize: z.number().positive(),
  /** truncation distance, metres (default: 4 voxels) */
  sdfTrunc: z.number().positive().optional(),
  /** weights are capped here so the model keeps adapting */
  maxWeight: z.number().min(1).default(128),
  /** block budget (8³ voxels each, 6 KiB) */
  maxBlocks: z.number().int().positive().default(131072),
  minDepth: z.number().nonnegative().default(0.1),
  maxDepth: z.number().positive().default(6),
  /** 'error' throws VolumeFullError when the budget is spent; 'drop' stops allocating and counts what it skipped */
  onFull: z.enum(['error', 'drop']).default('error'),
  /** sample every n-th pixel to find the blocks a frame touches */
  allocationStride: z.number().int().positive().default(4),
  /** voxels with less weight are not meshed */
  minMeshWeight: z.number().nonnegative().default(1),
});
export type TsdfVolumeOptions = z.infer<typeof TsdfVolumeOptionsSchema>;
export type TsdfVolumeOptionsInput = z.input<typeof TsdfVolumeOptionsSchema>;

const volume = TsdfVolumeOptionsSchema.shape;

export const FusionOptionsSchema = z.object({
  /** voxel edge, metres */
  voxelSize: volume.voxelSize.max(1).default(0.01),
  sdfTrunc: volume.sdfTrunc,
  maxWeight: volume.maxWeight,
  maxBlocks: volume.maxBlocks,
  minDepth: volume.minDepth,
  maxDepth: volume.maxDepth,
  onFull: volume.onFull,
  /** re-mesh dirty blocks every n frames (replay: deterministic); 0 = only at the end */
  meshEvery: z.number().int().nonnegative().default(6),
  /** where poses come from */
  poses: z.enum(['groundtruth', 'source']).default('groundtruth'),
});
export type FusionOptions = z.infer<typeof FusionOptionsSchema>;
export type FusionOptionsInput = z.input<typeof FusionOptionsSchema>;

// ---- tracking (RGB-D SLAM: src/tracking, src/pipeline/slam.ts) -------------

export const TrackingOptionsSchema = z.object({
  /** ICP pyramid levels (3: KinectFusion) */
  pyramidLevels: z.number().int().min(1).max(5).default(3),
  /** level 0 of the tracking pyramid is the frame halved this many times (1: 320×240 from VGA) */
  downsample: z.number().int().min(0).max(3).default(1),
  /** Gauss-Newton iterations per level, finest first */
  icpIterations: z.array(z.number().int().nonnegative()).min(1).default([6, 4, 3]),
  /** association distance gate per level, metres, finest first */
  icpMaxDist: z.array(z.number().positive()).min(1).default([0.05, 0.08, 0.12]),
  /** largest angle between associated normals, degrees */
  icpMaxNormalAngleDeg: z.number().positive().max(180).default(30),
  /** Huber threshold on point-to-plane residuals, metres (0 = plain least squares) */
  icpHuberDelta: z.number().nonnegative().default(0.01),
  /** hybrid ICP: add the photometric term. On TUM fr1_rpy geometry alone drifts (ATE 6.6 cm; depth
   * of fast rotations is distorted), colour-weighted hybrid tracking holds 1.2 cm (docs/tracking.md) */
  useColor: z.boolean().default(true),
  /** weight of an intensity residual (in [0, 1] units) relative to metres of point-to-plane */
  colorWeight: z.number().nonnegative().default(1),
  colorHuberDelta: z.number().nonnegative().default(0.1),
  /** the photometric term compares with the last tracked frame's image ('frame') or the model's voxel colours ('model') */
  photometricReference: z.enum(['frame', 'model']).default('frame'),
  /** the tracking reference (model ray-cast + image) is renewed after this much motion since it was taken … */
  referenceTranslation: z.number().nonnegative().default(0.05),
  referenceRotationDeg: z.number().nonnegative().default(5),
  /** … or when the ICP inlier fraction against it drops below this */
  referenceMinInliers: z.number().min(0).max(1).default(0),
  /** a level stops when the update is below this (radians + metres) */
  icpEpsilon: z.number().positive().default(1e-5),
  /** normals of the model reference: TSDF gradient ('tsdf', 6 more samples per ray) or from its depth ('depth') */
  referenceNormals: z.enum(['tsdf', 'depth']).default('depth'),
  /** search band of the prior-guided model ray-cast, metres */
  raycastBand: z.number().positive().default(0.06),
  minDepth: z.number().nonnegative().default(0.1),
  maxDepth: z.number().positive().default(6),
  /** tracking is 'lost' below/above these */
  minInlierFraction: z.number().min(0).max(1).default(0.05),
  maxRmse: z.number().positive().default(0.025),
  /** RMS intensity residual (0–1 units) above which a hybrid track is lost */
  maxPhotoRmse: z.number().positive().default(0.15),
  /** a frame whose gray image has fewer textured pixels than this fraction (blank, over-exposed) is lost */
  minTextureFraction: z.number().min(0).max(1).default(0.01),
  minValidFraction: z.number().min(0).max(1).default(0.1),
  maxTranslation: z.number().positive().default(0.3),
  maxRotationDeg: z.number().positive().default(30),
  constantVelocity: z.boolean().default(true),

  // features (ORB) and relocalisation
  /** ORB features per keyframe */
  orbFeatures: z.number().int().positive().default(1000),
  orbLevels: z.number().int().min(1).max(12).default(8),
  orbScale: z.number().min(1.05).max(2).default(1.2),
  /** FAST threshold (intensity steps); retried at a lower one in weak texture */
  fastThreshold: z.number().int().min(1).max(255).default(20),
  fastMinThreshold: z.number().int().min(1).max(255).default(7),
  /** Hamming distance gate for feature matches (of 256 bits) */
  matchMaxDistance: z.number().int().min(0).max(256).default(64),
  /** Lowe ratio test on the best/second-best Hamming distance (1 = off) */
  matchRatio: z.number().positive().max(1).default(0.9),
  /** 3D–3D RANSAC inlier threshold, metres */
  ransacThreshold: z.number().positive().default(0.03),
  ransacIterations: z.number().int().positive().default(300),
  /** after a short loss, plain ICP from the last pose counts only with this inlier fraction */
  recoverMinInlierFraction: z.number().min(0).max(1).default(0.3),
  /** fewer RANSAC inliers than this → no relocalisation */
  relocMinInliers: z.number().int().positive().default(20),
  seed: z.number().int().default(0x5eed),

  // keyframes and map
  /** a new keyframe when the matched fraction with the last keyframe falls below this … */
  keyframeMinOverlap: z.number().min(0).max(1).default(0.2),
  /** … or the camera moved this far (metres) … */
  keyframeTranslation: z.number().positive().default(0.15),
  /** … or turned this much (degrees) */
  keyframeRotationDeg: z.number().positive().default(12),
  /** a keyframe is matched and triangulated against this many previous keyframes */
  keyframeWindow: z.number().int().min(1).default(3),
  /** pose-graph / bundle adjustment over the last n keyframes (0 = off) */
  refineWindow: z.number().int().nonnegative().default(6),
  /** Levenberg-Marquardt iterations of each local bundle adjustment */
  refineIterations: z.number().int().positive().default(3),
  /** Huber threshold of the refinement, pixels */
  refineHuberPixels: z.number().positive().default(2),
  /** reprojection gate for new landmarks, pixels */
  landmarkMaxReprojError: z.number().positive().default(3),
});
export type TrackingOptions = z.infer<typeof TrackingOptionsSchema>;
export type TrackingOptionsInput = z.input<typeof TrackingOptionsSchema>;

// ---- frame sources, recorder, pacing (src/frames) -----------------------------

/** `--on-bad-frame`: stop the stream with the SourceError, or warn once per frame and go on */
export const BadFramePolicySchema = z.enum(['fail', 'skip']);

/** pinhole intrinsics, pixels (an intrinsics JSON file, the recording manifest) */
export const IntrinsicsSchema = z.object({
  fx: z.number().positive(),
  fy: z.number().positive(),
  cx: z.number(),
  cy: z.number(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
});

export const TumSourceOptionsSchema = z.object({
  /** 'fr1' | 'fr2' | 'fr3' | 'fx,fy,cx,cy' | PATH.json; default: intrinsics.json beside the sequence, else the folder name, else 525/525/319.5/239.5 */
  intrinsics: z.string().min(1).optional(),
  /** depth units per metre (TUM: 5000) */
  depthScale: z.number().positive().default(5000),
  onBadFrame: BadFramePolicySchema.default('fail'),
  /** association window for rgb↔depth and frame↔groundtruth, seconds (TUM: 0.02) */
  maxTimeDifference: z.number().positive().max(1).default(0.02),
  /** attach groundtruth.txt as groundTruthPose when present */
  groundTruth: z.boolean().default(true),
});
export type TumSourceOptions = z.infer<typeof TumSourceOptionsSchema>;
export type TumSourceOptionsInput = z.input<typeof TumSourceOptionsSchema>;

export const RecordingSourceOptionsSchema = z.object({
  onBadFrame: BadFramePolicySchema.default('fail'),
});
export type RecordingSourceOptionsInput = z.input<typeof RecordingSourceOptionsSchema>;

export const RecorderOptionsSchema = z.object({
  /** depth units per metre in the 16-bit depth PNGs */
  depthScale: z.number().positive().default(5000),
  /** free-form description of where the frames came from, stored in the manifest header */
  source: z.record(z.string(), z.unknown()).default({}),
  /** replace an existing recording in the folder (default: refuse) */
  overwrite: z.boolean().default(false),
  /** fsync images and manifest per frame (crash safety; off only for throwaway recordings) */
  fsync: z.boolean().default(true),
  /** ISO time for the header (default: now); fixed in tests */
  createdAt: z.string().optional(),
});
export type RecorderOptions = z.infer<typeof RecorderOptionsSchema>;
export type RecorderOptionsInput = z.input<typeof RecorderOptionsSchema>;

export const SyntheticSceneNameSchema = z.enum(['room', 'tabletop']);

export const SyntheticOptionsSchema = z.object({
  scene: SyntheticSceneNameSchema.default('room'),
  frames: z.number().int().positive().default(120),
  width: z.number().int().positive().max(8192).default(640),
  height: z.number().int().positive().max(8192).default(480),
  fps: z.number().positive().default(30),
  fx: z.number().positive().default(525),
  fy: z.number().positive().default(525),
  /** default (width − 1) / 2 */
  cx: z.number().optional(),
  /** default (height − 1) / 2 */
  cy: z.number().optional(),
  /** seeds the camera jitter and the noise; same seed → bit-identical frames */
  seed: z.number().int().default(1),
  /** Gaussian depth noise σ·z² (σ in 1/metres, e.g. 0.0015 ≈ Kinect), 0 = exact depth */
  depthNoise: z.number().nonnegative().default(0),
  /** Gaussian colour noise σ in 8-bit levels */
  colourNoise: z.number().nonnegative().default(0),
});
export type SyntheticOptions = z.infer<typeof SyntheticOptionsSchema>;
export type SyntheticOptionsInput = z.input<typeof SyntheticOptionsSchema>;

/** replay pacing: every frame as fast as the consumer takes them, or at source timestamps */
export const PaceModeSchema = z.enum(['fast', 'realtime']);
export type PaceMode = z.infer<typeof PaceModeSchema>;
