/**
 * `scanstream scan --mode mono`: the monocular pipeline over any source,
 * colour only (depth, if the source has it, is dropped before tracking),
 * writing the same files as RGB-D mode. Trajectory and mesh are in map units
 * (the first keyframe's median depth); the evaluation aligns them with Sim3.
 */
import { map } from 'rxjs';
import { z } from 'zod';
import type { Frame } from '../frames/frame';
import { intrinsicsFromFov } from '../geometry/intrinsics';
import { MonoOptionsSchema, type MonoOptionsInput } from '../mono/options';
import { runMono } from '../pipeline/mono';
import { checkOptions } from './args';
import type { ScanRun } from './scanRgbd';
import { evaluateTrajectory, writeMesh, writeReport, writeTrajectory } from './scanOutput';

/** --distortion k1,k2,p1,p2,k3 */
export const distortionFlag = z.string().transform((text, ctx): [number, number, number, number, number] => {
  const d = text.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
  if (d.length !== 5 || !d.every(Number.isFinite)) {
    ctx.addIssue({ code: 'custom', message: 'must be five numbers k1,k2,p1,p2,k3' });
    return z.NEVER;
  }
  return d as [number, number, number, number, number];
}).optional();

export interface MonoScanOptions {
  options: MonoOptionsInput;
  /** horizontal field of view to guess the intrinsics from, degrees */
  fov?: number;
}

/** The monocular options the flags give (--mono JSON, then --distortion and --voxel-ratio over it); throws UsageError. */
export function monoOptions(f: { mono?: Record<string, unknown>; distortion?: MonoOptionsInput['distortion']; voxelRatio?: number; fov?: number }): MonoScanOptions {
  let input = (f.mono ?? {}) as MonoOptionsInput;
  if (f.distortion) input = { ...input, distortion: f.distortion };
  if (f.voxelRatio !== undefined) input = { ...input, voxelRatio: f.voxelRatio };
  checkOptions(MonoOptionsSchema, input, '--mono');
  return { options: input, ...(f.fov !== undefined ? { fov: f.fov } : {}) };
}

export async function runMonoScan(a: ScanRun & MonoScanOptions): Promise<number> {
  const fov = a.fov;
  const frames$ = a.frames$.pipe(map((f): Frame => ({
    ...f, depth: undefined, ...(fov !== undefined ? { intrinsics: intrinsicsFromFov(f.width, f.height, fov) } : {}),
  })));
  const result = await runMono(a.ctx, frames$, a.options, () => a.progress?.tick());
  a.progress?.finish();
  const posed = new Map(result.trajectory.map((t) => [t.index, t.pose]));
  writeTrajectory(a.out, 'scanstream scan --mode mono: estimated camera-to-world poses, map units (no metric scale)',
    result.frames.map((f) => ({ timestamp: f.timestamp, pose: posed.get(f.index) ?? null, note: `${f.state}${f.reason ? `: ${f.reason}` : ''}` })));
  writeMesh(a.out, result.mesh);
  const truth = result.frames.flatMap((f) => (f.groundTruth ? [{ timestamp: f.timestamp, pose: f.groundTruth }] : []));
  const est = result.trajectory.map((t) => ({ timestamp: t.timestamp, pose: t.pose }));
  const evaluation = evaluateTrajectory(a.out, est, truth, { sim3: true, label: `scan --mode mono ${a.source}` });
  writeReport(a.out, { source: a.source, mode: 'mono', ...result.report, ...(evaluation ? { evaluation } : {}), native: a.ctx.runReport() });
  const r = result.report;
  const ate = evaluation?.ate as { rmse?: number } | undefined;
  console.log(JSON.stringify({
    out: a.out, mode: 'mono', frames: r.frames, tracked: r.tracked, rotationOnly: r.rotationOnly, lost: r.lost, keyframes: r.keyframes,
    initialisedAt: r.initialisedAt, fps: r.framesPerSecond, ...(ate?.rmse !== undefined ? { ateRmseSim3: ate.rmse } : {}),
  }));
  return 0;
}
