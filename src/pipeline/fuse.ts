import { map, Observable, pipe, type OperatorFunction } from 'rxjs';
import type { Frame } from '../frames/frame';
import type { MeshBlock } from '../fusion/meshBlock';
import type { TsdfVolume } from '../fusion/tsdfVolume';
import type { Intrinsics } from '../geometry/intrinsics';
import type { Pose } from '../geometry/se3';
import type { TrackingState } from '../tracking/trackingState';
import type { PipelineUpdate, StageTimings } from './types';

/** A depth map to integrate: metres (0 = none), colour or none, its camera and camera-to-world pose. */
export interface DepthView {
  depth: Float32Array;
  rgb?: Uint8Array;
  intrinsics: Intrinsics;
  pose: Pose;
}

/** What the fuse stage takes per frame. */
export interface FuseStep {
  frame: Frame;
  /** the pose the update reports (the last known one when this frame has none) */
  pose: Pose;
  /** depth maps to integrate now: the frame's own, none, or keyframe depth maps released at this frame */
  views: readonly DepthView[];
  /** the stage times so far; fusion adds integrate and mesh */
  timings: StageTimings;
  trackingState: TrackingState;
}

/** A pipeline update with the step it came from (the caller's own fields ride along). */
export interface FusedUpdate<S extends FuseStep> extends PipelineUpdate {
  step: S;
}

export interface FuseStageOptions<S extends FuseStep = FuseStep> {
  /** re-mesh every n steps; 0 = only when the stream ends */
  meshEvery: number;
  /** at the end of the stream: a last step whose views are fused with the final re-mesh (depth held back), or null */
  atEnd?: (last: S) => S | null;
}

/**
 * Integrates each step's depth maps into the volume (one native call each)
 * and, every `meshEvery` steps and at completion, re-meshes the dirty
 * blocks. Counting steps rather than time keeps replays deterministic.
 */
export function fuseSteps<S extends FuseStep>(volume: TsdfVolume, options: FuseStageOptions<S>): OperatorFunction<S, FusedUpdate<S>> {
  return (source) =>
    new Observable<FusedUpdate<S>>((subscriber) => {
      let steps = 0;
      let last: FusedUpdate<S> | null = null;
      const fused = (step: S, remesh: boolean): FusedUpdate<S> => {
        const timings: StageTimings = { ...step.timings };
        const t0 = performance.now();
        for (const v of step.views) volume.integrate(v.depth, v.rgb, v.intrinsics, v.pose);
        const t1 = performance.now();
        if (step.views.length > 0) timings.integrate = t1 - t0;
        let meshBlocks: MeshBlock[] = [];
        if (remesh && volume.dirtyCount > 0) {
          meshBlocks = volume.meshDirty();
          timings.mesh = performance.now() - t1;
        }
        return {
          frame: step.frame, pose: step.pose, meshBlocks, timings, step,
          stats: { frames: steps, blocks: volume.blockCount, triangles: volume.triangles, trackingState: step.trackingState },
        };
      };
      const sub = source.subscribe({
        next(step) {
          try {
            steps++;
            last = fused(step, options.meshEvery > 0 && steps % options.meshEvery === 0);
            subscriber.next(last);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err: unknown) => subscriber.error(err),
        complete() {
          try {
            const prev = last as FusedUpdate<S> | null;
            if (prev) {
              const final = options.atEnd?.(prev.step) ?? null;
              if (final || volume.dirtyCount > 0) subscriber.next(fused(final ?? { ...prev.step, views: [], timings: {} }, true));
            }
            subscriber.complete();
          } catch (err) {
            subscriber.error(err);
          }
        },
      });
      return () => sub.unsubscribe();
    });
}

/** A posed RGB-D frame as a fuse step: its own depth and colour, seen from its pose. */
export function frameStep(frame: Frame): FuseStep {
  if (!frame.pose) throw new Error(`frame ${frame.index} reached fusion without a pose`);
  if (!frame.depth) throw new Error(`frame ${frame.index} has no depth: fusion needs an RGB-D source`);
  return {
    frame, pose: frame.pose, timings: {}, trackingState: 'groundtruth',
    views: [{ depth: frame.depth, rgb: frame.rgb, intrinsics: frame.intrinsics, pose: frame.pose }],
  };
}

/** Known-pose fusion of RGB-D frames (the frames carry their poses). */
export function fuse(volume: TsdfVolume, options: FuseStageOptions): OperatorFunction<Frame, PipelineUpdate> {
  return pipe(map(frameStep), fuseSteps(volume, options), map(({ step: _step, ...update }) => update));
}
