/**
 * What the server's scene state consumes: a PipelineUpdate without the
 * full-resolution frame pixels (which stay with the pipeline), plus when the
 * frame entered the pipeline (for latency) and an optional JPEG preview.
 * This is also what the pipeline worker posts to the main thread.
 */
import type { MeshBlock } from '../fusion/meshBlock';
import type { Intrinsics } from '../geometry/intrinsics';
import type { Pose } from '../geometry/se3';
import type { PipelineUpdate, PipelineStats, StageTimings } from '../pipeline/types';
import type { PackedMeshMessages } from './dataMessages';

export interface SceneUpdate {
  frameIndex: number;
  /** source clock, seconds */
  timestamp: number;
  /** wall clock ms (performance.timeOrigin + performance.now()) when the frame entered the pipeline; NaN if unknown */
  enteredAt: number;
  pose: Pose;
  intrinsics: Intrinsics;
  meshBlocks: MeshBlock[];
  /** the same, already encoded (from the worker: one transferred buffer instead of thousands of cloned arrays) */
  packed?: PackedMeshMessages;
  timings: StageTimings;
  stats: PipelineStats;
  /** pipeline frames per second over the last second or so */
  fps: number;
  /** frames a live source dropped because the pipeline lagged */
  dropped: number;
}

export interface FramePreview {
  frameIndex: number;
  width: number;
  height: number;
  jpeg: Uint8Array;
}

/** Wall-clock milliseconds comparable across a process's threads. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Strip a PipelineUpdate down to a SceneUpdate. */
export function toSceneUpdate(u: PipelineUpdate, extra: { enteredAt?: number; fps?: number; dropped?: number } = {}): SceneUpdate {
  return {
    frameIndex: u.frame.index,
    timestamp: u.frame.timestamp,
    enteredAt: extra.enteredAt ?? Number.NaN,
    pose: u.pose,
    intrinsics: u.frame.intrinsics,
    meshBlocks: u.meshBlocks,
    timings: u.timings,
    stats: u.stats,
    fps: extra.fps ?? 0,
    dropped: extra.dropped ?? 0,
  };
}

/** Frames per second over a sliding window of recent frame times. */
export class FpsMeter {
  private readonly times: number[] = [];
  constructor(private readonly windowMs = 1000) {}
  tick(now = wallMs()): number {
    this.times.push(now);
    while (this.times.length > 2 && now - this.times[0]! > this.windowMs) this.times.shift();
    if (this.times.length < 2) return 0;
    return ((this.times.length - 1) * 1000) / (now - this.times[0]!);
  }
}
