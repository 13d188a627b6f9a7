import type { Intrinsics } from '../geometry/intrinsics';
import type { Pose } from '../geometry/se3';

/**
 * One camera frame. Pixel data are typed arrays, row-major, top-left first.
 * Depth is registered to colour (same size), in metres, 0 = no measurement.
 */
export interface Frame {
  /** 0-based position in the stream */
  index: number;
  /** seconds (source clock: TUM timestamps, capture time, or index / fps) */
  timestamp: number;
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel */
  rgb: Uint8Array;
  depth?: Float32Array;
  intrinsics: Intrinsics;
  /** estimated camera-to-world pose, set by tracking or taken from ground truth */
  pose?: Pose;
  /** ground-truth camera-to-world pose when the source knows it */
  groundTruthPose?: Pose;
  /** where the frame came from (file names), for error messages and recording */
  sourceInfo?: { rgbPath?: string; depthPath?: string; rgbTimestamp?: number; depthTimestamp?: number };
}
