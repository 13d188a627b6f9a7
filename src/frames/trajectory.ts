/**
 * TUM trajectory text format: `timestamp tx ty tz qx qy qz qw` per line,
 * camera-to-world, Hamilton quaternion with w last (Sturm et al. 2012). Used for
 * groundtruth.txt and for estimated trajectories (evaluate_ate/rpe inputs).
 */
import { writeFile } from 'node:fs/promises';
import { composeRt, rigidPoseProblem, rotationOf, type Pose } from '../geometry/se3';
import { quaternionFromRotation, rotationFromQuaternion } from '../geometry/so3';
import { SourceError } from './errors';
import { parseLines, parseNumber, parseTimestamp, readDataLines, type DataLine, type LinePolicy } from './textLines';

export interface TrajectoryEntry {
  timestamp: number;
  /** camera-to-world, 4×4 row-major */
  pose: Pose;
  /** 1-based line in the file it was read from (0 when not read from a file) */
  line: number;
}

/** A quaternion whose norm is this far from 1 is not a rotation that lost digits, but a wrong line. */
export const QUATERNION_NORM_TOLERANCE = 1e-2;

/** Rotation (normalised quaternion) + translation → 4×4 row-major pose. */
export function poseFromTumQuaternion(tx: number, ty: number, tz: number, qx: number, qy: number, qz: number, qw: number): Pose {
  return composeRt(rotationFromQuaternion(qx, qy, qz, qw), [tx, ty, tz]);
}

/** Pose → [tx, ty, tz, qx, qy, qz, qw] with qw ≥ 0 (Shepperd's method, stable for every rotation). */
export function tumQuaternionFromPose(pose: ArrayLike<number>): [number, number, number, number, number, number, number] {
  return [pose[3] as number, pose[7] as number, pose[11] as number, ...quaternionFromRotation(rotationOf(pose))];
}

function parseTrajectoryLine(l: DataLine, file: string): TrajectoryEntry {
  if (l.fields.length !== 8) {
    throw new SourceError(`expected 8 fields 'timestamp tx ty tz qx qy qz qw', got ${l.fields.length}`, { file, line: l.line });
  }
  const timestamp = parseTimestamp(l.fields[0], file, l.line);
  const names = ['tx', 'ty', 'tz', 'qx', 'qy', 'qz', 'qw'];
  const v = names.map((name, i) => parseNumber(l.fields[i + 1], file, l.line, `a finite number for ${name}`));
  const [tx, ty, tz, qx, qy, qz, qw] = v as [number, number, number, number, number, number, number];
  const norm = Math.hypot(qx, qy, qz, qw);
  if (Math.abs(norm - 1) > QUATERNION_NORM_TOLERANCE) {
    throw new SourceError(`expected a unit quaternion (qx qy qz qw), its norm is ${norm.toPrecision(6)}`, { file, line: l.line });
  }
  return { timestamp, pose: poseFromTumQuaternion(tx, ty, tz, qx, qy, qz, qw), line: l.line };
}

/** Read a TUM trajectory file, sorted by timestamp. Bad lines fail (default) or are skipped per `policy`. */
export async function readTumTrajectory(path: string, policy: LinePolicy = {}): Promise<TrajectoryEntry[]> {
  const lines = await readDataLines(path, 'trajectory');
  const entries = parseLines(lines, (l) => parseTrajectoryLine(l, path), policy);
  return entries.sort((a, b) => a.timestamp - b.timestamp);
}

/** groundtruth.txt of a TUM sequence (same format as a trajectory, from motion capture). */
export async function readTumGroundTruth(path: string, policy: LinePolicy = {}): Promise<TrajectoryEntry[]> {
  return readTumTrajectory(path, policy);
}

/** Shortest decimal that reads back as the same double, so files round-trip exactly. */
function num(v: number): string {
  return Object.is(v, -0) ? '0' : String(v);
}

/** TUM trajectory text (with a comment header); refuses non-rigid poses. */
export function formatTumTrajectory(entries: ReadonlyArray<{ timestamp: number; pose: ArrayLike<number> }>, comment?: string): string {
  const head = [...(comment ? [`# ${comment}`] : []), '# timestamp tx ty tz qx qy qz qw'];
  const body = entries.map((e, i) => {
    const problem = rigidPoseProblem(e.pose);
    if (problem !== null) throw new RangeError(`trajectory entry ${i} (t=${e.timestamp}): ${problem}`);
    return [e.timestamp, ...tumQuaternionFromPose(e.pose)].map(num).join(' ');
  });
  return `${[...head, ...body].join('\n')}\n`;
}

export async function writeTumTrajectory(
  path: string,
  entries: ReadonlyArray<{ timestamp: number; pose: ArrayLike<number> }>,
  comment?: string,
): Promise<void> {
  await writeFile(path, formatTumTrajectory(entries, comment));
}

/** The entry nearest to `timestamp` within maxDifference seconds, or undefined (entries sorted by time). */
export function nearestTrajectoryEntry(
  entries: readonly TrajectoryEntry[],
  timestamp: number,
  maxDifference = 0.02,
): TrajectoryEntry | undefined {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid]!.timestamp < timestamp) lo = mid + 1;
    else hi = mid;
  }
  let best: TrajectoryEntry | undefined;
  for (const i of [lo - 1, lo]) {
    const e = entries[i];
    if (e && Math.abs(e.timestamp - timestamp) <= maxDifference && (!best || Math.abs(e.timestamp - timestamp) < Math.abs(best.timestamp - timestamp))) best = e;
  }
  return best;
}
