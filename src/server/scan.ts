/**
 * The one place where the server meets the rest of scanstream: which frame
 * sources, which pipeline and which recorder the pipeline worker runs. To
 * change what `serve` runs, change this file.
 */
import type { FusionOptionsInput, PaceMode, TrackingOptionsInput } from '../config';
import { record } from '../frames/recorder';
import { openSource } from '../frames/source';
import { NativeContext, type BackendChoice } from '../native';
import { fusionPipeline } from '../pipeline/pipeline';
import type { MonoOptionsInput } from '../mono/options';
import { depthAwarePipeline } from '../pipeline/mono';
import { isLive, type ScanModule } from './scanRunner';

export interface ScanModuleOptions {
  backend?: BackendChoice;
  fusion?: FusionOptionsInput;
  tracking?: TrackingOptionsInput;
  /** where poses come from: ground truth (replays that have it), tracking (RGB-D SLAM when frames have depth,
   * monocular when colour only), or auto = tracking for live sources */
  poses?: 'auto' | 'groundtruth' | 'track';
  /** options of monocular scanning (colour-only sources: webcams, phones) */
  mono?: MonoOptionsInput;
  /** replays: every frame as fast as the pipeline takes them (default), or at their recorded rate */
  pace?: PaceMode;
}

// async so a scan module may load things first (the worker awaits either form)
export async function createScanModule(options: ScanModuleOptions = {}): Promise<ScanModule> {
  const ctx = NativeContext.create(options.backend ? { backend: options.backend } : {});
  return {
    openFrames: (spec) => openSource(spec, { pace: options.pace ?? 'fast' }),
    createPipeline(spec) {
      const mode = options.poses ?? 'auto';
      if (mode === 'track' || (mode === 'auto' && isLive(spec))) {
        // the first frame decides: depth → RGB-D SLAM, colour only → monocular
        const p = depthAwarePipeline(ctx, {
          ...(options.fusion ? { fusion: options.fusion } : {}), ...(options.tracking ? { tracking: options.tracking } : {}),
          ...(options.mono ? { mono: options.mono } : {}),
        });
        return { operator: p.operator, destroy: () => p.destroy() };
      }
      const p = fusionPipeline(ctx, { ...(options.fusion ?? {}), poses: options.fusion?.poses ?? 'groundtruth' });
      return { operator: p.operator, destroy: () => p.destroy() };
    },
    // fsync per frame (the recorder's default): a recording made while scanning survives a crash
    record: (dir, spec) => record(dir, { source: { tool: 'scanstream', spec } }),
    dispose: () => ctx.destroy(),
  };
}
