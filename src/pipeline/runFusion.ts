import { lastValueFrom, tap, type Observable } from 'rxjs';
import type { FusionOptionsInput } from '../config';
import type { Frame } from '../frames/frame';
import type { TriangleSoup } from '../geometry/mesh';
import type { NativeContext } from '../native/context';
import { fusionPipeline } from './pipeline';
import type { PipelineUpdate } from './types';

export interface StageSummary {
  count: number;
  medianMs: number;
  meanMs: number;
  p90Ms: number;
  maxMs: number;
}

export interface FusionRunReport {
  frames: number;
  blocks: number;
  triangles: number;
  droppedBlocks: number;
  wallSeconds: number;
  /** end to end: the source (decoding, or rendering the synthetic scene) included */
  framesPerSecond: number;
  /** frames per second of the fusion stages alone (integrate, mesh): what a source that keeps up gets */
  pipelineFramesPerSecond: number;
  stages: Record<string, StageSummary>;
  nativeBytes: number;
}

export function summarize(samples: number[]): StageSummary {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number): number => (s.length ? (s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] as number) : NaN);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return { count: s.length, medianMs: round(q(0.5)), meanMs: round(mean), p90Ms: round(q(0.9)), maxMs: round(s.length ? (s[s.length - 1] as number) : NaN) };
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
  const timings: Record<string, number[]> = {};
  let count = 0;
  const t0 = performance.now();
  try {
    await lastValueFrom(frames$.pipe(fusion.operator, tap((u) => {
      if (u.timings.integrate !== undefined) count++;
      for (const [stage, ms] of Object.entries(u.timings)) (timings[stage] ??= []).push(ms);
      onUpdate?.(u);
    })), { defaultValue: null });
    const wallSeconds = (performance.now() - t0) / 1000;
    const tm = performance.now();
    const mesh = fusion.volume.extractMesh();
    (timings.extract ??= []).push(performance.now() - tm);
    let pipelineMs = 0;
    for (const [k, v] of Object.entries(timings)) if (k !== 'extract') pipelineMs += v.reduce((a, b) => a + b, 0);
    const stages: Record<string, StageSummary> = {};
    for (const [k, v] of Object.entries(timings)) stages[k] = summarize(v);
    return {
      mesh,
      report: {
        frames: count, blocks: fusion.volume.blockCount, triangles: mesh.indices.length / 3,
        droppedBlocks: fusion.volume.droppedBlocks, wallSeconds: Math.round(wallSeconds * 1000) / 1000,
        framesPerSecond: Math.round((count / wallSeconds) * 10) / 10,
        pipelineFramesPerSecond: pipelineMs > 0 ? Math.round((count / (pipelineMs / 1000)) * 10) / 10 : 0,
        stages, nativeBytes: fusion.volume.nativeBytes,
      },
    };
  } finally {
    fusion.destroy();
  }
}
