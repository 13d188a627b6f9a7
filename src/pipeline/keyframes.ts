import { map, type OperatorFunction } from 'rxjs';
import type { SlamSystem, TrackedFrame } from '../tracking/slamSystem';

/**
 * Keyframe stage: decides whether a tracked frame becomes a keyframe (overlap
 * with the last keyframe, translation, rotation), matches its features with
 * recent keyframes, triangulates landmarks and refines recent keyframe poses.
 */
export function keyframes(system: SlamSystem): OperatorFunction<TrackedFrame, TrackedFrame> {
  return map((tracked) => system.keyframes(tracked));
}
