/** `scanstream scan` (RGB-D): SLAM over the stream, then the files of scanOutput.ts. */
import type { Observable } from 'rxjs';
import type { FusionOptionsInput, TrackingOptionsInput } from '../config';
import type { Frame } from '../frames/frame';
import type { NativeContext } from '../native/context';
import type { Progress } from './progress';
import { runSlam } from '../pipeline/slam';
import { evaluateTrajectory, writeMesh, writeReport, writeTrajectory } from './scanOutput';

export interface ScanRun {
  ctx: NativeContext;
  frames$: Observable<Frame>;
  out: string;
  source: string;
  /** ticks once per frame the pipeline took; finished before the files are written */
  progress: Progress | null;
}

export async function runRgbdScan(a: ScanRun & { fusion: FusionOptionsInput; tracking: TrackingOptionsInput }): Promise<number> {
  const result = await runSlam(a.ctx, a.frames$, { fusion: a.fusion, tracking: a.tracking }, (u) => {
    if (u.timings.prepare !== undefined) a.progress?.tick();
  });
  a.progress?.finish();
  writeTrajectory(a.out, 'scanstream scan: estimated camera-to-world poses', result.trajectory.map((e) => ({ timestamp: e.timestamp, pose: e.pose, note: e.state })));
  writeMesh(a.out, result.mesh);
  const est = result.trajectory.flatMap((e) => (e.pose ? [{ timestamp: e.timestamp, pose: e.pose }] : []));
  const truth = result.trajectory.flatMap((e) => (e.groundTruth ? [{ timestamp: e.timestamp, pose: e.groundTruth }] : []));
  const evaluation = evaluateTrajectory(a.out, est, truth, { sim3: false, label: `scan ${a.source}` });
  writeReport(a.out, { source: a.source, ...result.report, ...(evaluation ? { evaluation } : {}), native: a.ctx.runReport() });
  const r = result.report;
  const ate = evaluation?.ate as { rmse?: number } | undefined;
  console.log(JSON.stringify({
    out: a.out, frames: r.frames, lost: r.lost, keyframes: r.keyframes, fps: r.framesPerSecond, pipelineFps: r.pipelineFramesPerSecond,
    ...(ate?.rmse !== undefined ? { ateRmse: ate.rmse } : {}),
  }));
  return 0;
}
