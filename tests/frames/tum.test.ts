import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { take } from 'rxjs';
import { TUM_INTRINSICS } from '../../src/frames/intrinsics';
import { openTumSequence, tumSource } from '../../src/frames/tum';
import { collect, hasTum, noTumMessage, tumDir } from './helpers';

/** groundtruth.txt lines as numbers, for an independent nearest-line lookup */
async function groundTruthLines(): Promise<number[][]> {
  const text = await Bun.file(join(tumDir, 'groundtruth.txt')).text();
  return text.split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.trim().split(/\s+/).map(Number));
}

function nearestLine(lines: number[][], t: number): number[] {
  return lines.reduce((best, l) => (Math.abs(l[0]! - t) < Math.abs(best[0]! - t) ? l : best));
}

/** reference quaternion → matrix, written out independently of src/frames/trajectory.ts */
function referenceMatrix(l: number[]): number[] {
  const [, tx, ty, tz, qx, qy, qz, qw] = l as [number, number, number, number, number, number, number, number];
  const n = Math.sqrt(qx * qx + qy * qy + qz * qz + qw * qw);
  const [x, y, z, w] = [qx / n, qy / n, qz / n, qw / n];
  return [
    w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y), tx,
    2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x), ty,
    2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z, tz,
    0, 0, 0, 1,
  ];
}

describe.skipIf(!hasTum)(`TUM reader on the shared fr1/rpy clip${hasTum ? '' : ` — SKIPPED: ${noTumMessage}`}`, () => {
  test('60 frames whose timestamps and files are those of associations.txt, in order', async () => {
    const frames = await collect(tumSource(tumDir));
    const assoc = (await Bun.file(join(tumDir, 'associations.txt')).text()).trim().split('\n').map((l) => l.split(' '));
    expect(frames.length).toBe(60);
    expect(frames.map((f) => f.index)).toEqual([...Array(60).keys()]);
    for (const i of [0, 59]) {
      const [tr, fr, td, fd] = assoc[i]!;
      expect(frames[i]!.timestamp).toBe(Number(tr));
      expect(frames[i]!.sourceInfo?.rgbPath).toBe(join(tumDir, fr!));
      expect(frames[i]!.sourceInfo?.depthPath).toBe(join(tumDir, fd!));
      expect(frames[i]!.sourceInfo?.depthTimestamp).toBe(Number(td));
    }
    expect(frames[0]!.timestamp).toBe(1305031229.528748);
    expect(frames[59]!.timestamp).toBe(1305031231.493669);
  });

  test('intrinsics are fr1 (from the folder name tum_fr1_rpy), 640×480', async () => {
    const [f] = await collect(tumSource(tumDir).pipe(take(1)));
    expect(f!.intrinsics).toEqual({ ...TUM_INTRINSICS.fr1, width: 640, height: 480 });
    expect(f!.intrinsics.fx).toBe(517.306408);
    expect(f!.intrinsics.cy).toBe(255.313989);
  });

  test('centre depth of the first frame is 6192 / 5000 m; rgb is 640×480×3', async () => {
    const [f] = await collect(tumSource(tumDir).pipe(take(1)));
    expect(f!.width).toBe(640);
    expect(f!.rgb.length).toBe(640 * 480 * 3);
    expect(f!.depth!.length).toBe(640 * 480);
    expect(f!.depth![240 * 640 + 320]).toBe(Math.fround(6192 / 5000));
  });

  test('first and last groundTruthPose equal the nearest groundtruth.txt lines (within 1e-9)', async () => {
    const frames = await collect(tumSource(tumDir));
    const lines = await groundTruthLines();
    for (const f of [frames[0]!, frames[59]!]) {
      const line = nearestLine(lines, f.timestamp);
      expect(Math.abs(line[0]! - f.timestamp)).toBeLessThanOrEqual(0.02);
      const ref = referenceMatrix(line);
      const got = Array.from(f.groundTruthPose!);
      for (let k = 0; k < 16; k++) expect(Math.abs(got[k]! - ref[k]!)).toBeLessThan(1e-9);
    }
    expect(frames.every((f) => f.groundTruthPose !== undefined)).toBe(true);
  });
});
