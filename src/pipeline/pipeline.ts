import { pipe, type OperatorFunction } from 'rxjs';
import { FusionOptionsSchema, type FusionOptionsInput } from '../config';
import type { Frame } from '../frames/frame';
import { TsdfVolume } from '../fusion/tsdfVolume';
import type { NativeContext } from '../native/context';
import { fuse } from './fuse';
import { knownPoses } from './poses';
import type { PipelineUpdate } from './types';

export interface FusionPipeline {
  volume: TsdfVolume;
  operator: OperatorFunction<Frame, PipelineUpdate>;
  /** frees the volume's native memory */
  destroy(): void;
}

/**
 * Known-pose fusion: poses → TSDF integrate → incremental meshing. The volume
 * is created here and owned by the returned object.
 */
export function fusionPipeline(ctx: NativeContext, input: FusionOptionsInput = {}): FusionPipeline {
  const o = FusionOptionsSchema.parse(input);
  const volume = new TsdfVolume(ctx, o);
  return {
    volume,
    operator: pipe(knownPoses(o.poses), fuse(volume, { meshEvery: o.meshEvery })),
    destroy: () => volume.destroy(),
  };
}
