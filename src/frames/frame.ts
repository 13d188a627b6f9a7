/** Pinhole intrinsics in pixels; (cx, cy) follow OpenCV (pixel centres at integers). */
export interface Intrinsics {
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  width: number;
  height: number;
}

/** 4×4 row-major rigid transform, camera-to-world unless named otherwise. */
export type Pose = Float64Array;

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

export function identityPose(): Pose {
  const p = new Float64Array(16);
  p[0] = p[5] = p[10] = p[15] = 1;
  return p;
}
