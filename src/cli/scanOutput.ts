/**
 * What `scanstream scan` writes into DIR, the same for RGB-D and monocular
 * runs: trajectory.txt (TUM, a comment line for a frame without a pose),
 * mesh.ply, report.json, and with ground truth the evaluation (ATE/RPE as
 * TUM defines them, Sim3-aligned for a map without metric scale),
 * trajectory.svg and groundtruth.txt.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { absoluteTrajectoryError, relativePoseError, trajectorySvg } from '../eval/trajectory';
import { formatTumTrajectory, tumQuaternionFromPose } from '../frames/trajectory';
import { encodePly } from '../fusion/ply';
import type { TriangleSoup } from '../geometry/mesh';
import type { Pose } from '../geometry/se3';

/** One frame of the trajectory file: its pose, or why it has none. */
export interface TrajectoryLine {
  timestamp: number;
  pose: Pose | null;
  /** the comment for a frame without a pose (its tracking state and reason) */
  note: string;
}

export interface TimedPose {
  timestamp: number;
  pose: Pose;
}

export function writeTrajectory(dir: string, title: string, lines: readonly TrajectoryLine[]): void {
  const text = [`# ${title}`, '# timestamp tx ty tz qx qy qz qw'];
  for (const l of lines) {
    if (l.pose) text.push([l.timestamp, ...tumQuaternionFromPose(l.pose)].map((x) => (Object.is(x, -0) ? '0' : String(x))).join(' '));
    else text.push(`# ${l.timestamp} ${l.note}`);
  }
  writeFileSync(join(dir, 'trajectory.txt'), `${text.join('\n')}\n`);
}

export function writeMesh(dir: string, mesh: TriangleSoup): void {
  writeFileSync(join(dir, 'mesh.ply'), encodePly(mesh));
}

/**
 * ATE and frame-to-frame RPE of `est` against `truth` (≥ 3 poses each, else
 * undefined); writes trajectory.svg and groundtruth.txt beside. With sim3
 * the estimate is aligned with a scale and the RPE compares its motions
 * scaled by it.
 */
export function evaluateTrajectory(dir: string, est: readonly TimedPose[], truth: readonly TimedPose[], o: { sim3: boolean; label: string }):
  Record<string, unknown> | undefined {
  if (truth.length < 3 || est.length < 3) return undefined;
  try {
    const ate = absoluteTrajectoryError([...est], [...truth], o.sim3 ? { sim3: true } : {});
    const scaled = o.sim3 ? est.map((e) => ({ timestamp: e.timestamp, pose: scaleTranslation(e.pose, ate.scale) })) : [...est];
    let rpe: unknown;
    try {
      rpe = { perFrame: relativePoseError(scaled, [...truth], { fixedDelta: true, delta: 1, deltaUnit: 'f' }) };
    } catch (e) {
      rpe = { error: (e as Error).message };
    }
    const { matches: _m, alignment: _a, ...ateStats } = ate;
    writeFileSync(join(dir, 'trajectory.svg'), trajectorySvg(ate, o.label));
    writeFileSync(join(dir, 'groundtruth.txt'), formatTumTrajectory([...truth], 'ground truth of the scanned frames'));
    return { ate: o.sim3 ? { ...ateStats, alignment: 'sim3' } : ateStats, rpe };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function scaleTranslation(pose: Pose, s: number): Pose {
  const p = Float64Array.from(pose);
  p[3] = (p[3] as number) * s;
  p[7] = (p[7] as number) * s;
  p[11] = (p[11] as number) * s;
  return p;
}

export function writeReport(dir: string, report: object): void {
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
}
