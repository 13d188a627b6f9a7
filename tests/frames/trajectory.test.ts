import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { associateTimestamps } from '../../src/frames/associate';
import {
  nearestTrajectoryEntry,
  poseFromTumQuaternion,
  readTumTrajectory,
  tumQuaternionFromPose,
  writeTumTrajectory,
} from '../../src/frames/trajectory';
import { lookAtWithRoll } from '../../src/frames/synthetic/trajectory';
import { seededRandom } from '../helpers/random';
import { cleanup, tempDir } from './helpers';

let dir = '';
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await cleanup(dir);
});

function randomPose(rnd: () => number): Float64Array {
  const q = [rnd() - 0.5, rnd() - 0.5, rnd() - 0.5, rnd() - 0.5];
  return poseFromTumQuaternion(rnd() * 4 - 2, rnd() * 4 - 2, rnd() * 2, q[0]!, q[1]!, q[2]!, q[3]!);
}

describe('quaternions', () => {
  test('identity quaternion gives the identity pose; 90° about z maps x to y', () => {
    expect(Array.from(poseFromTumQuaternion(1, 2, 3, 0, 0, 0, 1))).toEqual([1, 0, 0, 1, 0, 1, 0, 2, 0, 0, 1, 3, 0, 0, 0, 1]);
    const s = Math.SQRT1_2;
    const p = poseFromTumQuaternion(0, 0, 0, 0, 0, s, s);
    expect(p[0]).toBeCloseTo(0, 12);
    expect(p[4]).toBeCloseTo(1, 12); // R·x = y
  });

  test('pose → quaternion → pose is the identity map (1e-12) over random rotations, w ≥ 0', () => {
    const rnd = seededRandom(5);
    for (let k = 0; k < 500; k++) {
      const p = randomPose(rnd);
      const q = tumQuaternionFromPose(p);
      expect(q[6]).toBeGreaterThanOrEqual(0);
      const back = poseFromTumQuaternion(...q);
      for (let i = 0; i < 16; i++) expect(Math.abs(back[i]! - p[i]!)).toBeLessThan(1e-12);
    }
    // the trace ≤ 0 branches: 180° turns about each axis
    for (const [qx, qy, qz, qw] of [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]] as const) {
      const p = poseFromTumQuaternion(0, 0, 0, qx, qy, qz, qw);
      const back = poseFromTumQuaternion(...tumQuaternionFromPose(p));
      for (let i = 0; i < 16; i++) expect(Math.abs(back[i]! - p[i]!)).toBeLessThan(1e-12);
    }
  });
});

describe('TUM trajectory files', () => {
  test('write → read gives the same timestamps exactly and the same poses within 1e-12', async () => {
    const rnd = seededRandom(9);
    const entries = Array.from({ length: 20 }, (_, i) => ({ timestamp: 1305031229.528748 + i / 30, pose: randomPose(rnd) }));
    const path = join(dir, 'traj.txt');
    await writeTumTrajectory(path, entries, 'test trajectory');
    const text = await Bun.file(path).text();
    expect(text.startsWith('# test trajectory\n# timestamp tx ty tz qx qy qz qw\n')).toBe(true);
    const back = await readTumTrajectory(path);
    expect(back.map((e) => e.timestamp)).toEqual(entries.map((e) => e.timestamp));
    back.forEach((e, k) => {
      for (let i = 0; i < 16; i++) expect(Math.abs(e.pose[i]! - entries[k]!.pose[i]!)).toBeLessThan(1e-12);
      expect(e.line).toBe(k + 3);
    });
  });

  test('writing a non-rigid pose is refused', async () => {
    const bad = new Float64Array([2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    await expect(writeTumTrajectory(join(dir, 'bad.txt'), [{ timestamp: 0, pose: bad }])).rejects.toThrow(/not orthonormal/);
  });

  test('nearest entry within the window, none outside it', () => {
    const e = [0, 0.01, 0.1].map((t, i) => ({ timestamp: t, pose: lookAtWithRoll([0, 0, 0], [1, 0, 0], 0), line: i + 1 }));
    expect(nearestTrajectoryEntry(e, 0.012)?.timestamp).toBe(0.01);
    expect(nearestTrajectoryEntry(e, 0.085)?.timestamp).toBe(0.1);
    expect(nearestTrajectoryEntry(e, 0.05)).toBeUndefined();
    expect(nearestTrajectoryEntry(e, -0.5)).toBeUndefined();
  });
});

describe('timestamp association (TUM associate.py)', () => {
  test('greedy by smallest difference, each timestamp used once, pairs sorted by the first list', () => {
    // candidates: (0,0.004) 0.004, (0.01,0.004) 0.006, (0.01,0.02) 0.01, (0,0.02) 0.02
    const m = associateTimestamps([0.01, 0], [0.02, 0.004], 0.02);
    expect(m).toEqual([{ first: 1, second: 1 }, { first: 0, second: 0 }]);
  });

  test('pairs farther apart than the window are not made', () => {
    expect(associateTimestamps([0, 1], [0.5, 1.03], 0.02)).toEqual([]);
    expect(associateTimestamps([0, 1], [0.5, 1.015], 0.02)).toEqual([{ first: 1, second: 1 }]);
  });

  test('two rgb frames near one depth map: only the closer one gets it', () => {
    expect(associateTimestamps([0.0, 0.012], [0.01], 0.02)).toEqual([{ first: 1, second: 0 }]);
  });
});
