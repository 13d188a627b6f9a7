import { map, type OperatorFunction } from 'rxjs';
import type { Frame } from '../frames/frame';

/** A frame reached fusion without the pose it needs. */
export class PoseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoseError';
  }
}

/**
 * Pose stage for known-pose fusion: 'groundtruth' copies groundTruthPose into
 * pose; 'source' keeps the pose the source already set. A frame without one
 * is an error naming it.
 */
export function knownPoses(from: 'groundtruth' | 'source'): OperatorFunction<Frame, Frame> {
  return map((frame) => {
    const pose = from === 'groundtruth' ? frame.groundTruthPose : frame.pose;
    if (!pose) {
      const what = from === 'groundtruth' ? 'a ground-truth pose (no groundtruth.txt entry within 0.02 s?)' : 'a pose';
      throw new PoseError(`frame ${frame.index} (t=${frame.timestamp}) has no ${what}`);
    }
    return pose === frame.pose ? frame : { ...frame, pose };
  });
}
