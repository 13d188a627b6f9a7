import { map, type OperatorFunction } from 'rxjs';
import type { PreparedFrame, SlamSystem, TrackedFrame } from '../tracking/slamSystem';

/**
 * Track stage: frame-to-model ICP against the TSDF ray-cast; feature
 * relocalisation against keyframes when ICP fails. A frame that cannot be
 * tracked comes out with tracking.state 'lost' and no pose (never an error).
 */
export function track(system: SlamSystem): OperatorFunction<PreparedFrame, TrackedFrame> {
  return map((prepared) => system.track(prepared));
}
