/**
 * Options of monocular scanning (visual odometry, keyframe depth, fusion), as
 * one zod schema with its defaults (DESIGN.md §7). Lengths in map units are
 * given relative to the scene's median depth, which initialisation fixes to
 * `initialMedianDepth` (a monocular camera cannot know metres).
 */
import { z } from 'zod';
import { TsdfVolumeOptionsSchema } from '../config';

export const MonoOptionsSchema = z.object({
  /** lens distortion k1, k2, p1, p2, k3 (OpenCV) of the source camera; keypoints and plane-sweep images are undistorted */
  distortion: z.tuple([z.number(), z.number(), z.number(), z.number(), z.number()]).optional(),

  // features and matching
  orbFeatures: z.number().int().positive().default(1000),
  /** 4 levels (scale range 1.7): the coarse levels' keypoints are too coarse for monocular geometry; with 8,
   * the synthetic room's map came out 1% deeper than its trajectory (structure vs motion scale) */
  orbLevels: z.number().int().min(1).max(12).default(4),
  orbScale: z.number().min(1.05).max(2).default(1.2),
  fastThreshold: z.number().int().min(1).max(255).default(20),
  fastMinThreshold: z.number().int().min(1).max(255).default(7),
  /** Hamming gate for a descriptor match (of 256 bits) */
  matchMaxDistance: z.number().int().min(1).max(256).default(64),
  /** Lowe ratio on best / second-best Hamming distance */
  matchRatio: z.number().positive().max(1).default(0.9),
  seed: z.number().int().default(0x5eed),

  // two-view initialisation
  /** reprojection / Sampson gate, pixels at level 0 */
  initThresholdPx: z.number().positive().default(1.5),
  /** the median ray angle of the initial points must reach this (degrees): the parallax gate */
  initMinParallaxDeg: z.number().positive().default(1.5),
  /** fewer triangulated initial points than this → keep waiting */
  initMinPoints: z.number().int().positive().default(80),
  /** matches with the reference frame below this → the current frame becomes the reference */
  initMinMatches: z.number().int().positive().default(100),
  /** frames kept for initialisation; the reference moves on beyond this */
  initMaxFrames: z.number().int().min(2).default(60),
  /** map scale: the first keyframe's median scene depth, in map units */
  initialMedianDepth: z.number().positive().default(1),

  // tracking
  /** frames with fewer ORB features than this are 'textureless' (lost) */
  minFeatures: z.number().int().positive().default(60),
  /** pose inliers below this → lost */
  minTrackInliers: z.number().int().positive().default(25),
  /** projection search radius around the predicted landmark position, pixels at level 0 */
  searchRadiusPx: z.number().positive().default(15),
  /** keyframes whose landmarks form the local map */
  localKeyframes: z.number().int().min(1).default(8),
  /** RANSAC / outlier gate of pose estimation, pixels at level 0 */
  poseThresholdPx: z.number().positive().default(2.5),
  relocMinInliers: z.number().int().positive().default(30),

  // keyframes and map
  /** a new keyframe after this much motion since the last one, as a fraction of the median depth … */
  keyframeBaseline: z.number().positive().default(0.07),
  /** … or this much rotation (degrees) … */
  keyframeRotationDeg: z.number().positive().default(12),
  /** … or when fewer than this fraction of the last keyframe's landmarks are still tracked */
  keyframeMinTracked: z.number().min(0).max(1).default(0.5),
  minFramesBetweenKeyframes: z.number().int().min(1).default(2),
  /** new landmarks are triangulated against this many previous keyframes */
  triangulateNeighbours: z.number().int().min(1).default(3),
  /** a new landmark's rays must diverge by this much (degrees) */
  landmarkMinParallaxDeg: z.number().positive().default(1),
  /** windowed bundle adjustment over the last n keyframes (0 = off) */
  baWindow: z.number().int().nonnegative().default(6),
  baIterations: z.number().int().positive().default(8),
  /** Huber threshold of bundle adjustment on the σ-normalised 2-D residual, pixels (√5.991: χ² 95% at 2 dof) */
  baHuberPx: z.number().positive().default(Math.sqrt(5.991)),

  // keyframe depth (plane sweep) and its filtering
  /** plane sweep runs at the frame size divided by this (4: 160×120 from 640×480) */
  depthDownsample: z.number().int().min(1).max(8).default(4),
  depthPlanes: z.number().int().min(8).max(512).default(64),
  /** source views per keyframe (2–4) */
  depthViews: z.number().int().min(1).max(4).default(3),
  depthRadius: z.number().int().min(1).max(7).default(2),
  depthBestViews: z.number().int().min(0).max(4).default(2),
  /** keep a depth whose aggregated ZNCC reaches this … */
  depthMinZncc: z.number().min(-1).max(1).default(0.6),
  /** … whose peak-ratio confidence reaches this … */
  depthMinConfidence: z.number().min(0).max(1).default(0.15),
  /** … and that a neighbouring keyframe's depth confirms within this relative difference (0 = no check) */
  depthConsistency: z.number().nonnegative().default(0.02),

  // fusion
  /** TSDF voxel edge as a fraction of the median depth (0.0115 ≈ 2 cm at 1.74 m) */
  voxelRatio: z.number().positive().max(0.2).default(0.01),
  /** truncation in voxels */
  truncVoxels: z.number().positive().default(4),
  /** fuse depth within [minDepthRatio, maxDepthRatio] × median depth */
  minDepthRatio: z.number().positive().default(0.15),
  maxDepthRatio: z.number().positive().default(3),
  maxBlocks: TsdfVolumeOptionsSchema.shape.maxBlocks,
  meshEvery: z.number().int().nonnegative().default(6),
});
export type MonoOptions = z.infer<typeof MonoOptionsSchema>;
export type MonoOptionsInput = z.input<typeof MonoOptionsSchema>;
