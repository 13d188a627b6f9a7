import { map, type OperatorFunction } from 'rxjs';
import type { Frame } from '../frames/frame';
import type { PreparedFrame, SlamSystem } from '../tracking/slamSystem';

/**
 * Prepare stage: checks the frame against the sequence's intrinsics and
 * builds its tracking pyramid (depth, points, normals, gray; native buffers
 * owned by the tracker, reused every frame).
 */
export function prepare(system: SlamSystem): OperatorFunction<Frame, PreparedFrame> {
  return map((frame) => system.prepare(frame));
}
