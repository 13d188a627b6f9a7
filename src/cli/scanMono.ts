/**
 * `scanstream scan --mode mono`: the monocular pipeline over any source,
 * colour only (depth, if the source has it, is dropped before tracking),
 * writing the same files as RGB-D mode. Trajectory and mesh are in map units
 * (the first keyframe's median depth); the evaluation aligns them with Sim3.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { map, type Observable } from 'rxjs';
import { absoluteTrajectoryError, relativePoseError, trajectorySvg } from '../eval/trajectory';
import type { Frame } from '../frames/frame';
import { formatTumTrajectory, tumQuaternionFromPose } from '../frames/trajectory';
import { intrinsicsFromFov } from '../geometry/intrinsics';
import type { NativeContext } from '../native/context';
import { runMono } from '../pipeline/mono';
import { meshBlocksToPly } from '../server/ply';
import { MonoOptionsSchema, type MonoOptionsInput } from '../mono/options';

export const monoScanUsage = `mono mode (--mode mono): colour only — features, two-view initialisation,
PnP tracking, windowed bundle adjustment, plane-sweep depth on keyframes.
  --fov DEG           horizontal field of view to guess the intrinsics from (default: the source's)
  --distortion k1,k2,p1,p2,k3   lens distortion of the source camera (OpenCV model)
  --voxel-ratio R     TSDF voxel as a fraction of the scene's median depth (default 0.01)
  --mono JSON         any option of src/mono/options.ts, e.g. '{"initMinParallaxDeg":0.7}'
The map has no metric scale: trajectory.txt and mesh.ply are in units of the
first keyframe's median depth; ATE in report.json is after Sim3 alignment.`;

export interface MonoScanArgs {
  ctx: NativeContext;
  frames$: Observable<Frame>;
  out: string;
  source: string;
  mono?: string;
  fov?: string;
  distortion?: string;
  voxelRatio?: string;
  onFrame?: () => void;
}

/** Parses the mono flags; an error message (exit code 2) or the options. */
export function parseMonoFlags(a: Pick<MonoScanArgs, 'mono' | 'fov' | 'distortion' | 'voxelRatio'>): { error: string } | { options: MonoOptionsInput; fov?: number } {
  let input: MonoOptionsInput = {};
  if (a.mono) {
    try {
      input = JSON.parse(a.mono) as MonoOptionsInput;
    } catch (e) {
      return { error: `--mono must be JSON (${(e as Error).message})` };
    }
  }
  if (a.distortion) {
    const d = a.distortion.split(',').map(Number);
    if (d.length !== 5 || !d.every(Number.isFinite)) return { error: `--distortion must be five numbers k1,k2,p1,p2,k3, got '${a.distortion}'` };
    input = { ...input, distortion: d as [number, number, number, number, number] };
  }
  if (a.voxelRatio !== undefined) {
    const r = Number(a.voxelRatio);
    if (!(r > 0 && r <= 0.2)) return { error: `--voxel-ratio must be in (0, 0.2], got '${a.voxelRatio}'` };
    input = { ...input, voxelRatio: r };
  }
  const checked = MonoOptionsSchema.safeParse(input);
  if (!checked.success) return { error: `bad mono options: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  if (a.fov !== undefined) {
    const fov = Number(a.fov);
    if (!(fov >= 10 && fov <= 170)) return { error: `--fov must be a horizontal field of view in degrees, 10..170, got '${a.fov}'` };
    return { options: input, fov };
  }
  return { options: input };
}

/** Runs the scan and writes DIR/trajectory.txt, mesh.ply, report.json (+ svg and truth with ground truth). Exit code. */
export async function runMonoScan(a: MonoScanArgs): Promise<number> {
  const parsed = parseMonoFlags(a);
  if ('error' in parsed) {
    console.error(`scanstream scan: ${parsed.error}`);
    return 2;
  }
  const fov = parsed.fov;
  const frames$ = a.frames$.pipe(map((f): Frame => ({
    ...f, depth: undefined, ...(fov !== undefined ? { intrinsics: intrinsicsFromFov(f.width, f.height, fov) } : {}),
  })));
  const result = await runMono(a.ctx, frames$, parsed.options, () => a.onFrame?.());
  const posed = new Map(result.trajectory.map((t) => [t.index, t.pose]));
  const lines = ['# scanstream scan --mode mono: estimated camera-to-world poses, map units (no metric scale)', '# timestamp tx ty tz qx qy qz qw'];
  for (const f of result.frames) {
    const pose = posed.get(f.index);
    if (pose) lines.push([f.timestamp, ...tumQuaternionFromPose(pose)].map((x) => (Object.is(x, -0) ? '0' : String(x))).join(' '));
    else lines.push(`# ${f.timestamp} ${f.state}${f.reason ? `: ${f.reason}` : ''}`);
  }
  writeFileSync(join(a.out, 'trajectory.txt'), `${lines.join('\n')}\n`);
  writeFileSync(join(a.out, 'mesh.ply'), meshBlocksToPly([result.mesh]));
  const truth = result.frames.flatMap((f) => (f.groundTruth ? [{ timestamp: f.timestamp, pose: f.groundTruth }] : []));
  const est = result.trajectory.map((t) => ({ timestamp: t.timestamp, pose: t.pose }));
  let evaluation: Record<string, unknown> | undefined;
  if (truth.length >= 3 && est.length >= 3) {
    try {
      const ate = absoluteTrajectoryError(est, truth, { sim3: true });
      let rpe: unknown;
      try {
        // relative motions compared after scaling the estimate by the Sim3 scale
        const scaled = est.map((e) => {
          const p = Float64Array.from(e.pose);
          p[3] = (p[3] as number) * ate.scale;
          p[7] = (p[7] as number) * ate.scale;
          p[11] = (p[11] as number) * ate.scale;
          return { timestamp: e.timestamp, pose: p };
        });
        rpe = { perFrame: relativePoseError(scaled, truth, { fixedDelta: true, delta: 1, deltaUnit: 'f' }) };
      } catch (e) {
        rpe = { error: (e as Error).message };
      }
      const { matches: _m, alignment: _a, ...ateStats } = ate;
      evaluation = { ate: { ...ateStats, alignment: 'sim3' }, rpe };
      writeFileSync(join(a.out, 'trajectory.svg'), trajectorySvg(ate, `scan --mode mono ${a.source}`));
      writeFileSync(join(a.out, 'groundtruth.txt'), formatTumTrajectory(truth, 'ground truth of the scanned frames'));
    } catch (e) {
      evaluation = { error: (e as Error).message };
    }
  }
  const report = { source: a.source, mode: 'mono', ...result.report, ...(evaluation ? { evaluation } : {}), native: a.ctx.runReport() };
  writeFileSync(join(a.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const summary: Record<string, unknown> = {
    out: a.out, mode: 'mono', frames: result.report.frames, tracked: result.report.tracked, rotationOnly: result.report.rotationOnly,
    lost: result.report.lost, keyframes: result.report.keyframes, initialisedAt: result.report.initialisedAt, fps: result.report.framesPerSecond,
  };
  const ate = evaluation?.ate as { rmse?: number } | undefined;
  if (ate?.rmse !== undefined) summary.ateRmseSim3 = ate.rmse;
  console.log(JSON.stringify(summary));
  return 0;
}
