import { lastValueFrom, tap, type Observable } from 'rxjs';
import type { FusionOptionsInput } from '../config';
import type { Frame } from '../frames/frame';
import type { TriangleSoup } from '../geometry/mesh';
import type { NativeContext } from '../native/context';
import { fusionPipeline } from './pipeline';
import { RunTimer, type RunTimes } from './runTimer';
import type { PipelineUpdate } from './types';

export interface FusionRunReport extends Omit<RunTimes, 'sustainedFramesPerSecond'> {
  frames: number;
  blocks: number;
  triangles: number;
  droppedBlocks: number;
  nativeBytes: number;
}

export interface FusionRunResult {
  report: FusionRunReport;
  mesh: TriangleSoup;
}

/**
 * Runs known-pose fusion over a whole stream and returns the mesh and a
 * per-stage timing report. The volume is freed before returning.
 */
export async function runFusion(ctx: NativeContext, frames$: Observable<Frame>, options: FusionOptionsInput,
  onUpdate?: (u: PipelineUpdate) => void): Promise<FusionRunResult> {
  const fusion = fusionPipeline(ctx, options);
  const timer = new RunTimer();
  let count = 0;
  try {
    await lastValueFrom(frames$.pipe(fusion.operator, tap((u) => {
      if (u.timings.integrate !== undefined) count++;
      timer.add(u.timings);
      onUpdate?.(u);
    })), { defaultValue: null });
    timer.endStream();
    const mesh = timer.time('extract', () => fusion.volume.extractMesh());
    const { wallSeconds, framesPerSecond, pipelineFramesPerSecond, stages } = timer.report(count);
    return {
      mesh,
      report: {
        frames: count, blocks: fusion.volume.blockCount, triangles: mesh.indices.length / 3, droppedBlocks: fusion.volume.droppedBlocks,
        wallSeconds, framesPerSecond, pipelineFramesPerSecond, stages, nativeBytes: fusion.volume.nativeBytes,
      },
    };
  } finally {
    fusion.destroy();
  }
}
