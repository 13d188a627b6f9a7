/**
 * Monocular scanning: colour frames → visual odometry (src/mono) → plane-sweep
 * depth of keyframes → TSDF fusion → mesh deltas. The same PipelineUpdate
 * stream as RGB-D SLAM, so the server, viewer and CLI take it unchanged.
 * The map has no metric scale: its unit is the first keyframe's median depth
 * (× initialMedianDepth), and the voxel size follows it (voxelRatio).
 */
import { lastValueFrom, map, Observable, pipe, Subject, tap, type OperatorFunction, type Subscription } from 'rxjs';
import type { Frame } from '../frames/frame';
import { TsdfVolume } from '../fusion/tsdfVolume';
import type { TriangleSoup } from '../geometry/mesh';
import { identityPose, type Pose, rigidPoseProblem } from '../geometry/se3';
import type { FusableDepth } from '../mono/keyframeDepth';
import { MonoSystem, type MonoTrackInfo } from '../mono/monoSystem';
import { MonoOptionsSchema, type MonoOptions, type MonoOptionsInput } from '../mono/options';
import type { NativeContext } from '../native/context';
import { fuseSteps, type FuseStep } from './fuse';
import { RunTimer, type StageSummary } from './runTimer';
import { slamPipeline, type SlamPipelineOptions } from './slam';
import type { PipelineUpdate } from './types';

interface MonoStep extends FuseStep {
  tracking: MonoTrackInfo;
  fused: MonoUpdate['fused'];
}

/** A pipeline update with what monocular tracking decided for the frame. */
export interface MonoUpdate extends PipelineUpdate {
  tracking: MonoTrackInfo;
  /** keyframe depth maps fused at this frame */
  fused: { keyframeId: number; pixels: number }[];
}

export interface MonoPipeline {
  volume: TsdfVolume;
  system: MonoSystem;
  options: MonoOptions;
  operator: OperatorFunction<Frame, MonoUpdate>;
  /** depth pixels or poses kept from the volume because they were not finite (0 in a healthy run) */
  nanRejected(): number;
  destroy(): void;
}

/** The TSDF voxel edge in map units for these options (voxelRatio × the median depth the map is scaled to). */
export function monoVoxelSize(o: MonoOptions): number {
  return o.voxelRatio * o.initialMedianDepth;
}

export function monoPipeline(ctx: NativeContext, input: MonoOptionsInput = {}): MonoPipeline {
  const o = MonoOptionsSchema.parse(input);
  const voxel = monoVoxelSize(o);
  const volume = new TsdfVolume(ctx, {
    voxelSize: voxel, sdfTrunc: o.truncVoxels * voxel, maxBlocks: o.maxBlocks, onFull: 'drop',
    minDepth: o.minDepthRatio * o.initialMedianDepth, maxDepth: o.maxDepthRatio * o.initialMedianDepth,
  });
  const system = new MonoSystem(ctx, o);
  let nanRejected = 0;
  /** pixels with depth; nothing non-finite reaches the volume: a bad pose skips the map, bad pixels become "no depth" */
  const usable = (d: FusableDepth): number => {
    if (rigidPoseProblem(d.pose) !== null) {
      nanRejected++;
      return 0;
    }
    let n = 0;
    for (let i = 0; i < d.depth.length; i++) {
      const v = d.depth[i] as number;
      if (!Number.isFinite(v) || v < 0) {
        d.depth[i] = 0;
        nanRejected++;
      } else if (v > 0) n++;
    }
    return n;
  };
  const withDepth = (step: Omit<MonoStep, 'views' | 'fused'>, depth: FusableDepth[]): MonoStep => {
    const pixels = depth.map(usable);
    return {
      ...step,
      views: depth.filter((_, k) => (pixels[k] as number) > 0).map((d) => ({ depth: d.depth, rgb: d.rgb, intrinsics: d.K, pose: d.pose })),
      fused: depth.map((d, k) => ({ keyframeId: d.keyframeId, pixels: pixels[k] as number })),
    };
  };
  let lastPose: Pose = identityPose();
  const track = map((frame: Frame): MonoStep => {
    const r = system.process(frame);
    if (r.pose) lastPose = r.pose;
    const step = { frame: r.pose ? { ...frame, pose: r.pose } : frame, pose: lastPose, timings: r.timings, trackingState: r.info.state, tracking: r.info };
    return withDepth(step, r.depth);
  });
  // depth maps the keyframe depth stage still holds are fused with the final re-mesh
  const atEnd = (last: MonoStep): MonoStep | null => {
    const rest = system.flush();
    return rest.length > 0 ? withDepth({ ...last, timings: {} }, rest) : null;
  };
  const operator: OperatorFunction<Frame, MonoUpdate> = pipe(
    track,
    fuseSteps(volume, { meshEvery: o.meshEvery, atEnd }),
    map(({ step, ...u }): MonoUpdate => ({ ...u, tracking: step.tracking, fused: step.fused })),
  );
  return {
    volume, system, options: o, operator,
    nanRejected: () => nanRejected,
    destroy: () => {
      system.destroy();
      volume.destroy();
    },
  };
}

export interface MonoRunReport {
  frames: number;
  /** frames with a pose in the final trajectory (initialisation gives the frames before it poses too) */
  tracked: number;
  /** of which rotation-only (no map yet, or the map out of view: orientation measured, camera centre held) */
  rotationOnly: number;
  lost: number;
  relocalised: number;
  /** frames that were still 'initializing' when the map was made and got no pose */
  untracked: number[];
  /** the frame at which the map was initialised, and why it waited before */
  initialisedAt: number | null;
  waitReasons: string[];
  lostFrames: number[];
  keyframes: number;
  landmarks: number;
  depthMaps: number;
  voxelSize: number;
  blocks: number;
  triangles: number;
  wallSeconds: number;
  framesPerSecond: number;
  stages: Record<string, StageSummary>;
}

export interface MonoRunResult {
  report: MonoRunReport;
  /** final poses (keyframes after bundle adjustment), camera-to-world, map units */
  trajectory: { index: number; timestamp: number; pose: Pose }[];
  /** per frame: state and reason as the stream reported them, ground truth when the source had it */
  frames: { index: number; timestamp: number; state: string; reason?: string; groundTruth?: Pose }[];
  mesh: TriangleSoup;
}

/** Runs the monocular pipeline over a stream: trajectory, mesh, report. Frees what it made. */
export async function runMono(ctx: NativeContext, frames$: Observable<Frame>, options: MonoOptionsInput = {},
  onUpdate?: (u: MonoUpdate) => void, inspect?: (p: MonoPipeline) => void): Promise<MonoRunResult> {
  const p = monoPipeline(ctx, options);
  inspect?.(p);
  const timer = new RunTimer();
  const frames: MonoRunResult['frames'] = [];
  const seen = new Set<number>();
  const waitReasons: string[] = [];
  let initialisedAt: number | null = null;
  let depthMaps = 0;
  try {
    await lastValueFrom(frames$.pipe(p.operator, tap((u) => {
      timer.add(u.timings);
      depthMaps += u.fused.length;
      if (!seen.has(u.frame.index)) {
        seen.add(u.frame.index);
        const e: MonoRunResult['frames'][number] = { index: u.frame.index, timestamp: u.frame.timestamp, state: u.tracking.state };
        if (u.tracking.reason) e.reason = u.tracking.reason;
        if (u.frame.groundTruthPose) e.groundTruth = u.frame.groundTruthPose;
        frames.push(e);
        if (u.tracking.state === 'initializing' && u.tracking.reason && waitReasons[waitReasons.length - 1] !== u.tracking.reason) {
          if (waitReasons.length < 50) waitReasons.push(`frame ${u.frame.index}: ${u.tracking.reason}`);
        }
        if (u.tracking.initialised) initialisedAt = u.frame.index;
      }
      onUpdate?.(u);
    })), { defaultValue: null });
    timer.endStream();
    const trajectory = p.system.trajectory();
    const posed = new Set(trajectory.map((t) => t.index));
    const mesh = timer.time('extract', () => p.volume.extractMesh());
    const { wallSeconds, framesPerSecond, stages } = timer.report(frames.length);
    const c = p.system.counts;
    return {
      trajectory, frames, mesh,
      report: {
        frames: frames.length, tracked: posed.size, rotationOnly: p.system.rotationOnlyFrames().length, lost: c.lost, relocalised: c.relocalised,
        untracked: frames.filter((f) => !posed.has(f.index)).map((f) => f.index),
        initialisedAt, waitReasons,
        lostFrames: frames.filter((f) => f.state === 'lost').map((f) => f.index),
        keyframes: p.system.map.keyframes.length, landmarks: p.system.map.landmarks.size, depthMaps,
        voxelSize: p.volume.voxelSize, blocks: p.volume.blockCount, triangles: mesh.indices.length / 3,
        wallSeconds, framesPerSecond, stages,
      },
    };
  } finally {
    p.destroy();
  }
}

export interface DepthAwareOptions {
  fusion?: SlamPipelineOptions['fusion'];
  tracking?: SlamPipelineOptions['tracking'];
  mono?: MonoOptionsInput;
}

/**
 * Picks the pipeline from the first frame: RGB-D SLAM when it carries depth,
 * monocular scanning when it is colour only (webcams, phones, Continuity
 * Camera). Live sources say what they give only once they run.
 */
export function depthAwarePipeline(ctx: NativeContext, options: DepthAwareOptions = {}): { operator: OperatorFunction<Frame, PipelineUpdate>; destroy(): void; readonly mode: 'rgbd' | 'mono' | null } {
  let chosen: { operator: OperatorFunction<Frame, PipelineUpdate>; destroy(): void } | null = null;
  let mode: 'rgbd' | 'mono' | null = null;
  const operator: OperatorFunction<Frame, PipelineUpdate> = (source) =>
    new Observable<PipelineUpdate>((subscriber) => {
      const inner = new Subject<Frame>();
      let innerSub: Subscription | null = null;
      const sub = source.subscribe({
        next(frame) {
          if (!chosen) {
            try {
              if (frame.depth) {
                const p = slamPipeline(ctx, { ...(options.fusion ? { fusion: options.fusion } : {}), ...(options.tracking ? { tracking: options.tracking } : {}) });
                chosen = { operator: p.operator, destroy: () => p.destroy() };
                mode = 'rgbd';
              } else {
                const p = monoPipeline(ctx, options.mono ?? {});
                chosen = { operator: p.operator, destroy: () => p.destroy() };
                mode = 'mono';
              }
            } catch (err) {
              subscriber.error(err);
              return;
            }
            innerSub = inner.pipe(chosen.operator).subscribe(subscriber);
          }
          inner.next(frame);
        },
        error: (err: unknown) => (chosen ? inner.error(err) : subscriber.error(err)),
        complete: () => (chosen ? inner.complete() : subscriber.complete()),
      });
      return () => {
        sub.unsubscribe();
        innerSub?.unsubscribe();
      };
    });
  return {
    operator,
    destroy: () => chosen?.destroy(),
    get mode() {
      return mode;
    },
  };
}
