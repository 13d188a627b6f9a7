/**
 * The timing half of a run report, the same for fusion, RGB-D SLAM and
 * monocular runs: per-stage samples of the updates, the stream's wall clock,
 * and the frame rates derived from them.
 */
import type { StageTimings } from './types';

export interface StageSummary {
  count: number;
  medianMs: number;
  meanMs: number;
  p90Ms: number;
  maxMs: number;
}

export interface RunTimes {
  /** wall time over the whole stream, the source (decoding, rendering) included */
  wallSeconds: number;
  framesPerSecond: number;
  /** frames per second of the pipeline's own stages, the source excluded: what a source that keeps up gets */
  pipelineFramesPerSecond: number;
  /** the same without updates that belong to no frame (the one-off re-mesh of what is still dirty at the end) */
  sustainedFramesPerSecond: number;
  stages: Record<string, StageSummary>;
}

export function summarize(samples: number[]): StageSummary {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number): number => (s.length ? (s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))] as number) : NaN);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN;
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return { count: s.length, medianMs: round(q(0.5)), meanMs: round(mean), p90Ms: round(q(0.9)), maxMs: round(s.length ? (s[s.length - 1] as number) : NaN) };
}

const perSecond = (frames: number, seconds: number): number => (seconds > 0 ? Math.round((frames / seconds) * 10) / 10 : 0);

export class RunTimer {
  private readonly samples: Record<string, number[]> = {};
  private readonly start = performance.now();
  private wallMs: number | null = null;
  private streamMs = 0;
  private frameMs = 0;

  /** One update's stage times; `ofFrame` false for an update that belongs to no frame. */
  add(timings: StageTimings, ofFrame = true): void {
    for (const [stage, ms] of Object.entries(timings)) {
      (this.samples[stage] ??= []).push(ms);
      this.streamMs += ms;
      if (ofFrame) this.frameMs += ms;
    }
  }

  /** The stream ended: stops the wall clock (work after it, see time(), is a stage of its own). */
  endStream(): void {
    this.wallMs ??= performance.now() - this.start;
  }

  /** Runs a step after the stream (extracting the mesh) and records it under `stage`. */
  time<T>(stage: string, step: () => T): T {
    const t = performance.now();
    const out = step();
    (this.samples[stage] ??= []).push(performance.now() - t);
    return out;
  }

  report(frames: number): RunTimes {
    this.endStream();
    const wallSeconds = (this.wallMs as number) / 1000;
    const stages: Record<string, StageSummary> = {};
    for (const [k, v] of Object.entries(this.samples)) stages[k] = summarize(v);
    return {
      wallSeconds: Math.round(wallSeconds * 1000) / 1000,
      framesPerSecond: perSecond(frames, wallSeconds),
      pipelineFramesPerSecond: perSecond(frames, this.streamMs / 1000),
      sustainedFramesPerSecond: perSecond(frames, this.frameMs / 1000),
      stages,
    };
  }
}
