/**
 * Monocular benchmark: plane-sweep stereo on the CPU at 160×120, 64 planes,
 * 3 source views (one synthetic-room keyframe: ms per keyframe, 1 thread and
 * all threads, and depth accuracy against the true depth), then the monocular
 * pipeline on the synthetic room (colour only) and on TUM fr1/rpy colour
 * only: frames tracked, ATE after Sim3, mesh accuracy, per-stage medians.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { map, tap } from 'rxjs';
import { evaluateMesh } from '../src/eval/meshMetrics';
import { absoluteTrajectoryError } from '../src/eval/trajectory';
import { SyntheticSequence, syntheticSource } from '../src/frames/synthetic/source';
import { cullToSeen, syntheticTruthMesh, type CullView } from '../src/frames/synthetic/truth';
import { tumSource } from '../src/frames/tum';
import { scaleIntrinsics } from '../src/geometry/intrinsics';
import type { Pose } from '../src/geometry/se3';
import { boxDownsample, grayImage } from '../src/mono/image';
import { NativeContext } from '../src/native';
import { PlaneSweep } from '../src/native/kernels/planeSweep';
import { runMono, type MonoRunResult } from '../src/pipeline/mono';

const root = resolve(import.meta.dir, '..');
const TUM = resolve(root, '..', 'shared', 'data', 'tum_fr1_rpy');

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? (s[s.length >> 1] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2) : NaN;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** metres to 0.1 mm */
function metres(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

function planeSweepBench(): Record<string, unknown> {
  const seq = new SyntheticSequence({ scene: 'room', frames: 120, seed: 2 });
  const K = scaleIntrinsics(seq.intrinsics, 4);
  const truth = new SyntheticSequence({ scene: 'room', frames: 120, seed: 2, width: K.width, height: K.height, fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy });
  const grayCtx = NativeContext.create({ backend: 'cpu' });
  const small = (i: number): { gray: Uint8Array; pose: Float64Array } => {
    const f = seq.frame(i);
    return { gray: boxDownsample(grayImage(grayCtx, f.rgb, f.width, f.height), f.width, f.height, 1, 4), pose: f.groundTruthPose as Float64Array };
  };
  const ref = small(60);
  const views = [small(48), small(72), small(54)];
  grayCtx.destroy();
  const trueDepth = truth.frame(60).depth as Float32Array;
  const params = { minDepth: 0.5, maxDepth: 6, planes: 64, radius: 2, bestViews: 2 };
  const out: Record<string, unknown> = { width: K.width, height: K.height, planes: 64, views: 3, window: '5×5 ZNCC', targetMs: 150 };
  for (const threads of [1, 0]) {
    const ctx = NativeContext.create({ backend: 'cpu', threads });
    const sweep = new PlaneSweep(ctx);
    try {
      sweep.run(ref.gray, ref.pose, views, K, params);
      const t: number[] = [];
      let last = sweep.run(ref.gray, ref.pose, views, K, params);
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        last = sweep.run(ref.gray, ref.pose, views, K, params);
        t.push(performance.now() - t0);
      }
      out[threads === 1 ? 'oneThread' : `allThreads(${ctx.threads})`] = { medianMs: round3(median(t)), minMs: round3(Math.min(...t)) };
      if (threads === 0) {
        const errors: number[] = [];
        for (let i = 0; i < trueDepth.length; i++) {
          if (!((last.depth[i] as number) > 0) || (last.zncc[i] as number) < 0.7 || (last.confidence[i] as number) < 0.2) continue;
          errors.push(Math.abs((last.depth[i] as number) / (trueDepth[i] as number) - 1));
        }
        out.confidentFraction = round3(errors.length / trueDepth.length);
        out.medianRelativeError = round3(median(errors));
      }
    } finally {
      sweep.destroy();
      ctx.destroy();
    }
  }
  return out;
}

function pathLength(poses: readonly Pose[]): number {
  let len = 0;
  for (let i = 1; i < poses.length; i++) {
    const a = poses[i - 1] as Pose, b = poses[i] as Pose;
    len += Math.hypot(a[3]! - b[3]!, a[7]! - b[7]!, a[11]! - b[11]!);
  }
  return len;
}

function stageMedians(r: MonoRunResult): Record<string, number> {
  return Object.fromEntries(Object.entries(r.report.stages).map(([k, v]) => [k, v.medianMs]));
}

/** synthetic room, colour only, 640×480, 120 frames: ATE (Sim3) and mesh accuracy after the same Sim3 */
async function syntheticRun(ctx: NativeContext): Promise<Record<string, unknown>> {
  const views: CullView[] = [];
  const frames$ = syntheticSource({ scene: 'room', frames: 120, seed: 1 }).pipe(
    tap((f) => {
      if (f.index % 4 === 0 && f.depth && f.groundTruthPose) views.push({ intrinsics: f.intrinsics, depth: f.depth, groundTruthPose: f.groundTruthPose });
    }),
    map((f) => ({ ...f, depth: undefined })),
  );
  // map unit ≈ 1.26 m in this scene: 0.0159 of it ≈ a 2 cm voxel
  const r = await runMono(ctx, frames$, { voxelRatio: 0.0159 });
  const truth = r.frames.map((f) => ({ timestamp: f.timestamp, pose: f.groundTruth as Pose }));
  const ate = absoluteTrajectoryError(r.trajectory, truth, { sim3: true });
  const length = pathLength(truth.map((t) => t.pose));
  const T = ate.alignment, P = r.mesh.positions, Q = new Float32Array(P.length);
  for (let i = 0; i < P.length; i += 3) {
    for (let k = 0; k < 3; k++) Q[i + k] = T[4 * k]! * P[i]! + T[4 * k + 1]! * P[i + 1]! + T[4 * k + 2]! * P[i + 2]! + T[4 * k + 3]!;
  }
  const voxel = r.report.voxelSize * ate.scale;
  const q = evaluateMesh({ positions: Q, indices: r.mesh.indices }, cullToSeen(syntheticTruthMesh('room'), views), { voxelSize: voxel });
  return {
    frames: r.report.frames, tracked: r.report.tracked, keyframes: r.report.keyframes, depthMaps: r.report.depthMaps, initialisedAt: r.report.initialisedAt,
    ateRmseM: metres(ate.rmse), pathLengthM: round3(length), atePercentOfPath: round3((100 * ate.rmse) / length), targetAtePercent: 2,
    voxelM: metres(voxel), meshAccuracyMedianM: metres(q.accuracy.median), meshAccuracyMeanM: metres(q.accuracy.mean),
    completeness: round3(q.completeness), targetMedianM: 0.02, framesPerSecond: r.report.framesPerSecond, stageMedianMs: stageMedians(r),
  };
}

/** TUM fr1/rpy colour only: frames posed, of them rotation-only, ATE (Sim3) */
async function tumRun(ctx: NativeContext): Promise<Record<string, unknown>> {
  const r = await runMono(ctx, tumSource(TUM).pipe(map((f) => ({ ...f, depth: undefined }))), {
    distortion: [0.262383, -0.953104, -0.005358, 0.002628, 1.163314], initMinParallaxDeg: 0.7,
  });
  const truth = r.frames.filter((f) => f.groundTruth).map((f) => ({ timestamp: f.timestamp, pose: f.groundTruth as Pose }));
  const ate = absoluteTrajectoryError(r.trajectory, truth, { sim3: true });
  return {
    options: 'fr1 distortion, initMinParallaxDeg 0.7', frames: r.report.frames, tracked: r.report.tracked, rotationOnly: r.report.rotationOnly,
    trackedFraction: round3(r.report.tracked / r.report.frames), targetTrackedFraction: 0.9, initialisedAt: r.report.initialisedAt, lost: r.report.lost,
    keyframes: r.report.keyframes, ateSim3RmseM: metres(ate.rmse), ateScale: round3(ate.scale), framesPerSecond: r.report.framesPerSecond,
    stageMedianMs: stageMedians(r),
  };
}

export async function runMonoBench(): Promise<object> {
  const report: Record<string, unknown> = { planeSweep: planeSweepBench() };
  const ctx = NativeContext.create({ backend: 'cpu' });
  try {
    report.syntheticRoom = await syntheticRun(ctx);
    report.tumFr1Rpy = existsSync(TUM) ? await tumRun(ctx) : { skipped: `no TUM data at ${TUM}` };
  } finally {
    ctx.destroy();
  }
  return report;
}

if (import.meta.main) console.log(JSON.stringify(await runMonoBench(), null, 2));
