import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { take } from 'rxjs';
import { SourceError } from '../../src/frames/errors';
import { openTumSequence, tumFrames, tumSource } from '../../src/frames/tum';
import { cleanup, collect, hasTum, noTumMessage, smallTumCopy, tempDir, tumDir, warningLog } from './helpers';

/** Expect the promise to reject with a SourceError whose message matches all `parts`. */
async function expectSourceError(p: Promise<unknown>, ...parts: Array<string | RegExp>): Promise<SourceError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SourceError);
  const e = caught as SourceError;
  for (const part of parts) expect(e.message).toMatch(part);
  return e;
}

async function fileLines(path: string): Promise<string[]> {
  return (await Bun.file(path).text()).split('\n');
}

describe.skipIf(!hasTum)(`TUM bad input${hasTum ? '' : ` — SKIPPED: ${noTumMessage}`}`, () => {
  let root = '';
  beforeAll(async () => {
    root = await tempDir();
  });
  afterAll(async () => {
    await cleanup(root);
  });
  let n = 0;
  /** a fresh 5-frame copy per test (folder name keeps freiburg1 for the intrinsics guess) */
  const fixture = async (): Promise<string> => smallTumCopy(join(root, `case${n++}`), 5);

  test('rgb.txt + depth.txt without associations.txt: associated, 5 frames with ground truth', async () => {
    const dir = await fixture();
    const frames = await collect(tumSource(dir));
    expect(frames.length).toBe(5);
    expect(frames.every((f) => f.groundTruthPose && f.depth)).toBe(true);
    expect(frames[0]!.intrinsics.fx).toBe(517.306408);
  });

  test('missing folder: SourceError naming the folder', async () => {
    const missing = join(root, 'no-such-sequence');
    const e = await expectSourceError(collect(tumSource(missing)), missing, /does not exist/);
    expect(e.file).toBe(missing);
  });

  test('missing rgb.txt: SourceError naming rgb.txt', async () => {
    const dir = await fixture();
    await rm(join(dir, 'rgb.txt'));
    const e = await expectSourceError(collect(tumSource(dir)), 'rgb.txt', /missing/);
    expect(e.file).toBe(join(dir, 'rgb.txt'));
  });

  test('a listed image that does not exist: fail names the file; skip warns once and goes on', async () => {
    const dir = await fixture();
    const lines = await fileLines(join(dir, 'rgb.txt'));
    const victim = lines[3]!.split(' ')[1]!; // second frame's image
    await rm(join(dir, victim));
    await expectSourceError(collect(tumSource(dir)), victim, /file not found/);
    const log = warningLog();
    const frames = await collect(tumSource(dir, { onBadFrame: 'skip', onWarning: log.sink }));
    expect(frames.length).toBe(4);
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3]);
    expect(log.messages.length).toBe(1);
    expect(log.messages[0]).toContain(victim);
  });

  test('an unreadable image (a directory where the PNG should be): SourceError naming it', async () => {
    const dir = await fixture();
    const victim = (await fileLines(join(dir, 'depth.txt')))[2]!.split(' ')[1]!;
    await rm(join(dir, victim));
    await mkdir(join(dir, victim));
    await expectSourceError(collect(tumSource(dir)), victim, /cannot read depth image/);
  });

  test('corrupt PNG (truncated): fail names the file; skip leaves 4 frames and one warning', async () => {
    const dir = await fixture();
    const victim = (await fileLines(join(dir, 'rgb.txt')))[4]!.split(' ')[1]!;
    const bytes = await Bun.file(join(dir, victim)).bytes();
    await writeFile(join(dir, victim), bytes.subarray(0, bytes.length >> 1));
    await expectSourceError(collect(tumSource(dir)), victim, /8-bit colour image/);
    const log = warningLog();
    const frames = await collect(tumSource(dir, { onBadFrame: 'skip', onWarning: log.sink }));
    expect(frames.length).toBe(4);
    expect(log.errors.length).toBe(1);
    expect(log.errors[0]!.file).toBe(join(dir, victim));
  });

  test('garbage bytes instead of a PNG: SourceError naming the file', async () => {
    const dir = await fixture();
    const victim = (await fileLines(join(dir, 'depth.txt')))[2]!.split(' ')[1]!;
    await writeFile(join(dir, victim), 'not a png at all');
    await expectSourceError(collect(tumSource(dir)), victim, /16-bit single-channel depth PNG/, /not a readable image/);
  });

  test('depth of the wrong size: SourceError naming the file and both sizes', async () => {
    const dir = await fixture();
    const victim = (await fileLines(join(dir, 'depth.txt')))[2]!.split(' ')[1]!;
    await sharp(new Uint16Array(320 * 240).fill(5000), { raw: { width: 320, height: 240, channels: 1 } }).toColourspace('grey16').png().toFile(join(dir, victim));
    await expectSourceError(collect(tumSource(dir)), victim, /640×480/, /320×240/);
  });

  test('8-bit depth where 16-bit is expected: SourceError naming the file and the bit depth', async () => {
    const dir = await fixture();
    const victim = (await fileLines(join(dir, 'depth.txt')))[3]!.split(' ')[1]!;
    await sharp(new Uint8Array(640 * 480).fill(100), { raw: { width: 640, height: 480, channels: 1 } }).toColourspace('b-w').png().toFile(join(dir, victim));
    await expectSourceError(collect(tumSource(dir)), victim, /expected a 16-bit/, /8-bit/);
  });

  test('a groundtruth line that does not parse: error names groundtruth.txt:line; skip warns and keeps the rest', async () => {
    const dir = await fixture();
    const path = join(dir, 'groundtruth.txt');
    const lines = await fileLines(path);
    lines[10] = '1305031229.1300 1.3 0.68 oops 0.68 0.54 -0.007 -0.49';
    await writeFile(path, lines.join('\n'));
    const e = await expectSourceError(collect(tumSource(dir)), `${path}:11`, /tz/, /oops/);
    expect(e.line).toBe(11);
    const log = warningLog();
    const frames = await collect(tumSource(dir, { onBadFrame: 'skip', onWarning: log.sink }));
    expect(frames.length).toBe(5);
    expect(log.messages.length).toBe(1);
    expect(log.messages[0]).toContain('groundtruth.txt:11');
  });

  test('a groundtruth line with too few fields names file:line', async () => {
    const dir = await fixture();
    const path = join(dir, 'groundtruth.txt');
    const lines = await fileLines(path);
    lines[5] = '1305031229.0800 1.3 0.68';
    await writeFile(path, lines.join('\n'));
    await expectSourceError(collect(tumSource(dir)), `${path}:6`, /expected 8 fields/);
  });

  test('NaN and negative values: NaN in groundtruth, negative timestamp in rgb.txt', async () => {
    const dir = await fixture();
    const gt = join(dir, 'groundtruth.txt');
    const lines = await fileLines(gt);
    lines[7] = '1305031229.1000 NaN 0.68 1.57 0.68 0.54 -0.007 -0.49';
    await writeFile(gt, lines.join('\n'));
    await expectSourceError(collect(tumSource(dir)), `${gt}:8`, /finite number for tx/);

    const dir2 = await fixture();
    const rgb = join(dir2, 'rgb.txt');
    const r = await fileLines(rgb);
    r[2] = `-1 ${r[2]!.split(' ')[1]}`;
    await writeFile(rgb, r.join('\n'));
    await expectSourceError(collect(tumSource(dir2)), `${rgb}:3`, /non-negative timestamp/);
  });

  test('out-of-range pose: quaternion norm far from 1, and infinite translation', async () => {
    const dir = await fixture();
    const gt = join(dir, 'groundtruth.txt');
    const lines = await fileLines(gt);
    lines[20] = '1305031229.2300 1.3 0.68 1.57 1.0 1.0 0.5 0.2';
    await writeFile(gt, lines.join('\n'));
    await expectSourceError(collect(tumSource(dir)), `${gt}:21`, /unit quaternion/, /norm is 1\.5/);

    lines[20] = '1305031229.2300 1.3 Infinity 1.57 0.68 0.54 -0.007 -0.49';
    await writeFile(gt, lines.join('\n'));
    await expectSourceError(collect(tumSource(dir)), `${gt}:21`, /finite number for ty/);
  });

  test('intrinsics: JSON beside the sequence is used; negative fx in it is refused naming the file', async () => {
    const dir = await fixture();
    const json = join(dir, 'intrinsics.json');
    await writeFile(json, JSON.stringify({ fx: 500, fy: 501, cx: 320, cy: 240, width: 640, height: 480 }));
    const [f] = await collect(tumSource(dir).pipe(take(1)));
    expect(f!.intrinsics).toEqual({ fx: 500, fy: 501, cx: 320, cy: 240, width: 640, height: 480 });
    await writeFile(json, JSON.stringify({ fx: -500, fy: 501, cx: 320, cy: 240, width: 640, height: 480 }));
    await expectSourceError(collect(tumSource(dir)), json, /fx/);
  });

  test('intrinsics JSON for another image size: each frame is a bad frame naming the size', async () => {
    const dir = await fixture();
    const json = join(dir, 'cam.json');
    await writeFile(json, JSON.stringify({ fx: 500, fy: 501, cx: 160, cy: 120, width: 320, height: 240 }));
    await expectSourceError(collect(tumSource(dir, { intrinsics: json })), /320×240/, /640×480/);
  });

  test('intrinsics spec: fr2 preset, fx,fy,cx,cy list, folder-name default, and a bad spec', async () => {
    const dir = await fixture();
    const seq2 = await openTumSequence(dir, { intrinsics: 'fr2' });
    expect(seq2.pinhole.fx).toBe(520.90862);
    const seqList = await openTumSequence(dir, { intrinsics: '500,500,319.5,239.5' });
    expect(seqList.pinhole).toEqual({ fx: 500, fy: 500, cx: 319.5, cy: 239.5 });
    const plain = join(root, 'plain-name');
    await mkdir(plain);
    for (const name of ['rgb', 'depth', 'rgb.txt', 'depth.txt']) await symlink(join(dir, name), join(plain, name));
    const seqDefault = await openTumSequence(plain);
    expect(seqDefault.pinhole).toEqual({ fx: 525, fy: 525, cx: 319.5, cy: 239.5 });
    await expectSourceError(openTumSequence(dir, { intrinsics: 'fr9' }), /expected fr1, fr2, fr3/);
  });

  test('bad option values are SourceErrors (depth scale ≤ 0)', async () => {
    const dir = await fixture();
    await expectSourceError(collect(tumSource(dir, { depthScale: -5000 })), /depthScale/);
  });

  test('depthScale option divides the raw units', async () => {
    const dir = await fixture();
    const [a] = await collect(tumSource(dir).pipe(take(1)));
    const [b] = await collect(tumSource(dir, { depthScale: 1000 }).pipe(take(1)));
    const i = 240 * 640 + 320;
    expect(a!.depth![i]).toBe(Math.fround(6192 / 5000));
    expect(b!.depth![i]).toBe(Math.fround(6192 / 1000));
  });

  test('lazy: frames after the ones taken are never decoded, and unsubscribing stops the reader', async () => {
    const dir = await fixture();
    const victim = (await fileLines(join(dir, 'rgb.txt')))[4]!.split(' ')[1]!; // third frame
    await writeFile(join(dir, victim), 'corrupt');
    // under 'skip', decoding the corrupt third frame would report a warning: taking 2 must report none
    const log = warningLog();
    const two = await collect(tumSource(dir, { onBadFrame: 'skip', onWarning: log.sink }).pipe(take(2)));
    expect(two.length).toBe(2);
    await Bun.sleep(200);
    expect(log.messages).toEqual([]);
    // manual unsubscribe after the first frame: same
    await new Promise<void>((done) => {
      const sub = tumSource(dir, { onBadFrame: 'skip', onWarning: log.sink }).subscribe(() => {
        sub.unsubscribe();
        done();
      });
    });
    await Bun.sleep(200);
    expect(log.messages).toEqual([]);
    // reading everything does reach it
    expect((await collect(tumSource(dir, { onBadFrame: 'skip', onWarning: log.sink }))).length).toBe(4);
    expect(log.messages.length).toBe(1);
    // pulling by hand: return() ends the generator without reading more
    const it = tumFrames(dir);
    expect((await it.next()).done).toBe(false);
    expect((await it.return(undefined)).done).toBe(true);
    expect((await it.next()).done).toBe(true);
  });
});

describe.skipIf(!hasTum)('TUM association from rgb.txt/depth.txt on the whole clip', () => {
  test('gives exactly the pairs of associations.txt', async () => {
    const root = await tempDir();
    try {
      const dir = join(root, 'tum_fr1_lists');
      await mkdir(dir);
      for (const name of ['rgb', 'depth', 'rgb.txt', 'depth.txt', 'groundtruth.txt']) await symlink(join(tumDir, name), join(dir, name));
      const lists = await openTumSequence(dir);
      const assoc = await openTumSequence(tumDir);
      expect(lists.entries.length).toBe(60);
      expect(lists.entries.map((e) => [e.rgbTimestamp, e.rgb, e.depthTimestamp, e.depth])).toEqual(
        assoc.entries.map((e) => [e.rgbTimestamp, e.rgb, e.depthTimestamp, e.depth]),
      );
    } finally {
      await cleanup(root);
    }
  });
});
