import { lastValueFrom, Observable, pipe, Subject, tap, type OperatorFunction } from 'rxjs';
import { FusionOptionsSchema, TrackingOptionsSchema, type FusionOptionsInput, type TrackingOptionsInput } from '../config';
import { type Frame } from '../frames/frame';
import { TsdfVolume } from '../fusion/tsdfVolume';
import { type TriangleSoup } from '../geometry/mesh';
import { identityPose, type Pose } from '../geometry/se3';
import type { NativeContext } from '../native/context';
import { SlamSystem, type TrackedFrame, type TrackingInfo } from '../tracking/slamSystem';
import { frameStep, fuseSteps, type FuseStep } from './fuse';
import { keyframes } from './keyframes';
import { prepare } from './prepare';
import { RunTimer, type RunTimes } from './runTimer';
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

interface TrackedStep extends FuseStep {
  tracking: TrackingInfo;
}

/**
 * Fuses tracked frames through the `fuse` stage; frames without a pose (lost,
 * or before initialisation) pass around it unfused, so the map stays intact,
 * the stream still reports them and the re-mesh cadence counts fused frames.
 */
function fuseTracked(volume: TsdfVolume, meshEvery: number): OperatorFunction<TrackedFrame, SlamUpdate> {
  return (source) =>
    new Observable<SlamUpdate>((subscriber) => {
      const posed = new Subject<TrackedStep>();
      let lastPose: Pose = identityPose();
      let frames = 0;
      // the final re-mesh at completion belongs to no frame: it reports the last frame's tracking, fused or not
      let lastTracking: TrackingInfo | null = null;
      let completing = false;
      const innerSub = posed.pipe(fuseSteps(volume, { meshEvery })).subscribe({
        next: ({ step, ...u }) => {
          const tracking = completing ? (lastTracking as TrackingInfo) : step.tracking;
          subscriber.next({ ...u, tracking, stats: { ...u.stats, frames, trackingState: tracking.state } });
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
      const sub = source.subscribe({
        next(t) {
          frames++;
          lastTracking = t.tracking;
          if (t.frame.pose) {
            lastPose = t.frame.pose;
            posed.next({ ...frameStep(t.frame), timings: t.timings, trackingState: t.tracking.state, tracking: t.tracking });
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
          posed.complete();
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
  const volume = new TsdfVolume(ctx, f);
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

export interface SlamRunReport extends RunTimes {
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
  const timer = new RunTimer();
  const trajectory: SlamRunResult['trajectory'] = [];
  const lostFrames: number[] = [];
  try {
    await lastValueFrom(frames$.pipe(slam.operator, tap((u) => {
      const isFrame = u.timings.prepare !== undefined;
      timer.add(u.timings, isFrame);
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
    timer.endStream();
    const mesh = timer.time('extract', () => slam.volume.extractMesh());
    const c = slam.system.counts;
    return {
      mesh,
      trajectory,
      report: {
        frames: c.frames, tracked: c.tracked, lost: c.lost, relocalised: c.relocalised, lostFrames,
        keyframes: slam.system.map.keyframeCount, landmarks: slam.system.map.landmarkCount,
        blocks: slam.volume.blockCount, triangles: mesh.indices.length / 3, ...timer.report(c.frames),
      },
    };
  } finally {
    slam.destroy();
  }
}
