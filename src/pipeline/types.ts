import type { Frame } from '../frames/frame';
import type { MeshBlock } from '../fusion/meshBlock';
import type { Pose } from '../geometry/se3';
import type { TrackingState } from '../tracking/trackingState';

/** Milliseconds spent per stage on one frame (e.g. { integrate: 4.1, mesh: 2.3 }). */
export type StageTimings = Record<string, number>;

export interface PipelineStats {
  frames: number;
  /** live voxel blocks in the volume */
  blocks: number;
  /** triangles over every block mesh */
  triangles: number;
  trackingState: TrackingState;
}

/** What the pipeline emits per processed frame. */
export interface PipelineUpdate {
  frame: Frame;
  /** camera-to-world pose used to fuse this frame */
  pose: Pose;
  /** blocks re-meshed since the previous update (empty between mesh ticks) */
  meshBlocks: MeshBlock[];
  timings: StageTimings;
  stats: PipelineStats;
}
