import { Observable, type OperatorFunction } from 'rxjs';
import type { Frame } from '../frames/frame';
import type { MeshBlock } from '../fusion/meshBlock';
import type { TsdfVolume } from '../fusion/tsdfVolume';
import type { PipelineUpdate } from './types';

export interface FuseStageOptions {
  /** re-mesh every n frames; 0 = never during the stream (call volume.meshDirty() at the end) */
  meshEvery: number;
}

/**
 * Integrates each posed frame into the volume (one native call) and, every
 * `meshEvery` frames and at completion, re-meshes the dirty blocks. Counting
 * frames rather than time keeps replays deterministic.
 */
export function fuse(volume: TsdfVolume, options: FuseStageOptions): OperatorFunction<Frame, PipelineUpdate> {
  return (source) =>
    new Observable<PipelineUpdate>((subscriber) => {
      let frames = 0;
      let last: PipelineUpdate | null = null;
      const sub = source.subscribe({
        next(frame) {
          try {
            if (!frame.pose) throw new Error(`frame ${frame.index} reached fusion without a pose`);
            if (!frame.depth) throw new Error(`frame ${frame.index} has no depth: fusion needs an RGB-D source`);
            const t0 = performance.now();
            volume.integrate(frame.depth, frame.rgb, frame.intrinsics, frame.pose);
            const t1 = performance.now();
            frames++;
            let meshBlocks: MeshBlock[] = [];
            const timings: Record<string, number> = { integrate: t1 - t0 };
            if (options.meshEvery > 0 && frames % options.meshEvery === 0) {
              meshBlocks = volume.meshDirty();
              timings.mesh = performance.now() - t1;
            }
            last = {
              frame, pose: frame.pose, meshBlocks, timings,
              stats: { frames, blocks: volume.blockCount, triangles: volume.triangles, trackingState: 'groundtruth' },
            };
            subscriber.next(last);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error(err) {
          subscriber.error(err);
        },
        complete() {
          try {
            if (last && volume.dirtyCount > 0) {
              const t = performance.now();
              const meshBlocks = volume.meshDirty();
              subscriber.next({
                ...last, meshBlocks, timings: { mesh: performance.now() - t },
                stats: { ...last.stats, blocks: volume.blockCount, triangles: volume.triangles },
              });
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
