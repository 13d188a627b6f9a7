import { lastValueFrom, Observable, pipe, Subject, tap, type OperatorFunction } from 'rxjs';
import { FusionOptionsSchema, TrackingOptionsSchema, type FusionOptionsInput, type TrackingOptionsInput } from '../config';
import { type Frame } from '../frames/frame';
import { TsdfVolume } from '../fusion/tsdfVolume';
import { type TriangleSoup } from '../geometry/mesh';
import { identityPose, type Pose } from '../geometry/se3';
import type { NativeContext } from '../native/context';
import { SlamSystem, type TrackedFrame, type TrackingInfo } from '../tracking/slamSystem';
import { fuse } from './fuse';
import { keyframes } from './keyframes';
import { prepare } from './prepare';
import { summarize, type StageSummary } from './runFusion';
import { track } from './track';
import type { PipelineUpdate } from './types';

/** A pipeline update with what tracking decided for the frame. */
export interface SlamUpdate extends PipelineUpdate {
  tracking: TrackingInfo;
}

export interface SlamPipeline {
  volume: TsdfVolume;
  system: SlamSystem;
  operator: OperatorFunction<Frame, SlamUpdate>;
  /** frees the volume's and the tracker's native memory */
  destroy(): void;
}

export interface SlamPipelineOptions {
  fusion?: FusionOptionsInput;
  tracking?: TrackingOptionsInput;
}

/**
 * Fuses tracked frames through the known-pose `fuse` stage; frames without a
 * pose (lost, or before initialisation) pass through unfused, so the map stays
 * intact and the stream still reports them.
 */
function fuseTracked(volume: TsdfVolume, meshEvery: number): OperatorFunction<TrackedFrame, SlamUpdate> {
  return (source) =>
    new Observable<SlamUpdate>((subscriber) => {
      const inner = new Subject<Frame>();
      let current: TrackedFrame | null = null;
      let lastPose: Pose = identityPose();
      let frames = 0;
      let completing = false;
      const innerSub = inner.pipe(fuse(volume, { meshEvery })).subscribe({
        next(u) {
          const t = current as TrackedFrame;
          // the final re-mesh at completion belongs to no frame: only its own timing
          const timings = completing ? u.timings : { ...t.timings, ...u.timings };
          subscriber.next({ ...u, timings, tracking: t.tracking, stats: { ...u.stats, frames, trackingState: t.tracking.state } });
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      const sub = source.subscribe({
        next(t) {
          frames++;
          current = t;
          if (t.frame.pose) {
            lastPose = t.frame.pose;
            inner.next(t.frame);
          } else {
            subscriber.next({
              frame: t.frame, pose: lastPose, meshBlocks: [], timings: t.timings, tracking: t.tracking,
              stats: { frames, blocks: volume.blockCount, triangles: volume.triangles, trackingState: t.tracking.state },
            });
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          completing = true;
          inner.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        innerSub.unsubscribe();
      };
    });
}

/**
 * RGB-D SLAM: prepare → track → keyframes → fuse. The camera trajectory is
 * estimated (ground truth, if the source has it, is never read).
 */
export function slamPipeline(ctx: NativeContext, options: SlamPipelineOptions = {}): SlamPipeline {
  const f = FusionOptionsSchema.parse(options.fusion ?? {});
  const t = TrackingOptionsSchema.parse(options.tracking ?? {});
  const volume = new TsdfVolume(ctx, {
    voxelSize: f.voxelSize, sdfTrunc: f.sdfTrunc, maxWeight: f.maxWeight, maxBlocks: f.maxBlocks,
    minDepth: f.minDepth, maxDepth: f.maxDepth, onFull: f.onFull,
  });
  const system = new SlamSystem(ctx, volume, t);
  return {
    volume,
    system,
    operator: pipe(prepare(system), track(system), keyframes(system), fuseTracked(volume, f.meshEvery)),
    destroy: () => {
      system.destroy();
      volume.destroy();
    },
  };
}

export interface SlamRunReport {
  frames: number;
  tracked: number;
  lost: number;
  relocalised: number;
  /** indices of frames reported lost (before the first depth frame: 'initializing', not counted) */
  lostFrames: number[];
  keyframes: number;
  landmarks: number;
  blocks: number;
  triangles: number;
  /** wall time over the whole stream, source decoding included */
  wallSeconds: number;
  framesPerSecond: number;
  /** frames per second of the pipeline's own stages (prepare … mesh), source decoding excluded */
  pipelineFramesPerSecond: number;
  /** the same without the one-off re-mesh of everything still dirty when the stream ends */
  sustainedFramesPerSecond: number;
  stages: Record<string, StageSummary>;
}

export interface SlamRunResult {
  report: SlamRunReport;
  /** one entry per frame; pose null where tracking was lost */
  trajectory: { timestamp: number; index: number; pose: Pose | null; state: string; groundTruth?: Pose }[];
  mesh: TriangleSoup;
}

/** Runs SLAM over a whole stream: trajectory, mesh and a per-stage timing report. Frees everything it made. */
export async function runSlam(ctx: NativeContext, frames$: Observable<Frame>, options: SlamPipelineOptions = {},
  onUpdate?: (u: SlamUpdate) => void): Promise<SlamRunResult> {
  const slam = slamPipeline(ctx, options);
  const timings: Record<string, number[]> = {};
  const trajectory: SlamRunResult['trajectory'] = [];
  const lostFrames: number[] = [];
  let pipelineMs = 0;
  let perFrameMs = 0;
  const t0 = performance.now();
  try {
    await lastValueFrom(frames$.pipe(slam.operator, tap((u) => {
      const isFrame = u.timings.prepare !== undefined;
      for (const [stage, ms] of Object.entries(u.timings)) {
        (timings[stage] ??= []).push(ms);
        pipelineMs += ms;
        if (isFrame) perFrameMs += ms;
      }
      if (isFrame) {
        const entry: SlamRunResult['trajectory'][number] = {
          timestamp: u.frame.timestamp, index: u.frame.index, pose: u.frame.pose ?? null, state: u.tracking.state,
        };
        if (u.frame.groundTruthPose) entry.groundTruth = u.frame.groundTruthPose;
        trajectory.push(entry);
        if (u.tracking.state === 'lost') lostFrames.push(u.frame.index);
      }
      onUpdate?.(u);
    })), { defaultValue: null });
    const wallSeconds = (performance.now() - t0) / 1000;
    const tm = performance.now();
    const mesh = slam.volume.extractMesh();
    (timings.extract ??= []).push(performance.now() - tm);
    const stages: Record<string, StageSummary> = {};
    for (const [k, v] of Object.entries(timings)) stages[k] = summarize(v);
    const c = slam.system.counts;
    const round = (v: number): number => Math.round(v * 10) / 10;
    return {
      mesh,
      trajectory,
      report: {
        frames: c.frames, tracked: c.tracked, lost: c.lost, relocalised: c.relocalised, lostFrames,
        keyframes: slam.system.map.keyframeCount, landmarks: slam.system.map.landmarkCount,
        blocks: slam.volume.blockCount, triangles: mesh.indices.length / 3,
        wallSeconds: Math.round(wallSeconds * 1000) / 1000, framesPerSecond: round(c.frames / wallSeconds),
        pipelineFramesPerSecond: round(c.frames / (pipelineMs / 1000)),
        sustainedFramesPerSecond: round(c.frames / (perFrameMs / 1000)), stages,
      },
    };
  } finally {
    slam.destroy();
  }
}
