import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { from, take } from 'rxjs';
import { SourceError } from '../../src/frames/errors';
import type { Frame } from '../../src/frames/frame';
import { parseManifestLine } from '../../src/frames/manifest';
import { record } from '../../src/frames/recorder';
import { readRecordingIndex, recordingSource } from '../../src/frames/recording';
import { SyntheticSequence } from '../../src/frames/synthetic/source';
import { tumSource } from '../../src/frames/tum';
import { cleanup, collect, expectSameBytes, hasTum, tempDir, tumDir, warningLog } from './helpers';

const fixed = { createdAt: '2024-01-01T00:00:00.000Z', source: { kind: 'test' }, fsync: false };

let root = '';
beforeAll(async () => {
  root = await tempDir();
});
afterAll(async () => {
  await cleanup(root);
});

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(relative(dir, join(e.parentPath, e.name)));
  return out.sort();
}

/** Two folders hold the same file names with the same bytes. */
async function expectSameFolders(a: string, b: string): Promise<void> {
  const fa = await listFiles(a);
  expect(await listFiles(b)).toEqual(fa);
  for (const f of fa) expect(expectSameBytes(await Bun.file(join(a, f)).bytes(), await Bun.file(join(b, f)).bytes())).toBe(true);
}

function expectSameFrames(got: Frame[], want: Frame[], depthExact = true): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    const w = want[i]!;
    expect(g.index).toBe(w.index);
    expect(g.timestamp).toBe(w.timestamp);
    expect(g.intrinsics).toEqual(w.intrinsics);
    expect([g.width, g.height]).toEqual([w.width, w.height]);
    expect(expectSameBytes(g.rgb, w.rgb)).toBe(true);
    if (depthExact) expect(expectSameBytes(g.depth!, w.depth!)).toBe(true);
    expect(g.pose ? Array.from(g.pose) : undefined).toEqual(w.pose ? Array.from(w.pose) : undefined);
    expect(g.groundTruthPose ? Array.from(g.groundTruthPose) : undefined).toEqual(w.groundTruthPose ? Array.from(w.groundTruthPose) : undefined);
  });
}

/** small synthetic frames with an estimated pose set too (so trajectory.txt is exercised) */
function syntheticFrames(n: number): Frame[] {
  const seq = new SyntheticSequence({ scene: 'tabletop', width: 96, height: 72, fx: 80, fy: 80, depthNoise: 0.002, colourNoise: 2, seed: 4 });
  return Array.from({ length: n }, (_, i) => ({ ...seq.frame(i), pose: seq.pose(i) }));
}

describe.skipIf(!hasTum)('recorder round-trip on TUM frames', () => {
  test('5 TUM frames recorded and replayed are bit-identical; re-recording the replay gives identical files', async () => {
    const original = await collect(tumSource(tumDir).pipe(take(5)));
    const a = join(root, 'tum-a');
    const passed = await collect(from(original).pipe(record(a, fixed)));
    expect(passed).toEqual(original);
    const replay = await collect(recordingSource(a));
    expectSameFrames(replay, original);
    expect(replay.map((f) => f.sourceInfo?.depthTimestamp)).toEqual(original.map((f) => f.sourceInfo?.depthTimestamp));

    const b = join(root, 'tum-b');
    await collect(recordingSource(a).pipe(record(b, fixed)));
    await expectSameFolders(a, b);
    expectSameFrames(await collect(recordingSource(b)), original);

    const files = await listFiles(a);
    expect(files).toContain('associations.txt');
    expect(files).toContain('groundtruth.txt');
    expect(files).not.toContain('trajectory.txt');
    expect(files.filter((f) => f.startsWith('rgb/')).length).toBe(5);
    expect(files.filter((f) => f.endsWith('.partial')).length).toBe(0);
  });

  test('a recording is itself a TUM folder: tum:… reads the same frames', async () => {
    const original = await collect(tumSource(tumDir).pipe(take(3)));
    const dir = join(root, 'tum-as-tum');
    await collect(from(original).pipe(record(dir, fixed)));
    const asTum = await collect(tumSource(dir, { intrinsics: 'fr1' }));
    // groundtruth.txt goes through a quaternion, so poses agree to rounding, the rest bit-exact
    expectSameFrames(asTum.map((f) => ({ ...f, groundTruthPose: undefined })), original.map((f) => ({ ...f, groundTruthPose: undefined })));
    asTum.forEach((f, i) => {
      for (let k = 0; k < 16; k++) expect(Math.abs(f.groundTruthPose![k]! - original[i]!.groundTruthPose![k]!)).toBeLessThan(1e-12);
    });
  });
});

describe('recorder round-trip on synthetic frames', () => {
  test('rgb, poses, intrinsics, timestamps exact; depth = round(d·5000)/5000 exactly; second generation identical', async () => {
    const original = syntheticFrames(4);
    const a = join(root, 'syn-a');
    await collect(from(original).pipe(record(a, fixed)));
    const replay = await collect(recordingSource(a));
    expectSameFrames(replay, original, false);
    replay.forEach((f, i) => {
      const want = original[i]!.depth!;
      for (let k = 0; k < want.length; k++) {
        const q = Math.min(65535, Math.round(want[k]! * 5000));
        if (f.depth![k] !== Math.fround(q / 5000)) throw new Error(`frame ${i} pixel ${k}: ${f.depth![k]} vs ${q}/5000`);
      }
    });
    const b = join(root, 'syn-b');
    await collect(recordingSource(a).pipe(record(b, fixed)));
    await expectSameFolders(a, b);
    expectSameFrames(await collect(recordingSource(b)), replay);
    const files = await listFiles(a);
    expect(files).toContain('trajectory.txt');
    expect(files).toContain('groundtruth.txt');
  });

  test('manifest: header first, then one zod-valid frame line per frame', async () => {
    const dir = join(root, 'syn-manifest');
    await collect(from(syntheticFrames(2)).pipe(record(dir, fixed)));
    const lines = (await Bun.file(join(dir, 'manifest.jsonl')).text()).trimEnd().split('\n');
    expect(lines.length).toBe(3);
    const parsed = lines.map((l, i) => parseManifestLine(l, 'manifest.jsonl', i + 1));
    expect(parsed[0]).toMatchObject({ type: 'header', version: 1, createdAt: fixed.createdAt, source: { kind: 'test' }, depthScale: 5000 });
    expect(parsed[1]).toMatchObject({ type: 'frame', index: 0, timestamp: 0, rgb: 'rgb/0.000000.png', depth: 'depth/0.000000.png' });
    expect(parsed[2]).toMatchObject({ type: 'frame', index: 1, rgb: 'rgb/0.033333.png' });
  });

  test('crash safety: a truncated last manifest line replays the complete frames with one warning', async () => {
    const dir = join(root, 'syn-crash');
    const frames = syntheticFrames(3);
    await collect(from(frames).pipe(record(dir, fixed)));
    const path = join(dir, 'manifest.jsonl');
    const text = await Bun.file(path).text();
    const lines = text.trimEnd().split('\n');
    // as if the process died while appending frame 3's line
    await writeFile(path, `${lines.slice(0, 3).join('\n')}\n${lines[3]!.slice(0, 40)}`);
    const log = warningLog();
    const replay = await collect(recordingSource(dir, { onWarning: log.sink }));
    expect(replay.length).toBe(2);
    expectSameFrames(replay, (await collect(recordingSource(dir, { onWarning: () => {} }))).slice(0, 2));
    expect(log.messages.length).toBe(1);
    expect(log.messages[0]).toMatch(/truncated manifest line/);
    expect((await readRecordingIndex(dir, () => {})).truncated).toBe(true);
  });

  test('crash safety: a recorder killed with SIGKILL mid-stream leaves a replayable recording whose files all exist', async () => {
    const dir = join(root, 'syn-killed');
    const child = Bun.spawn([process.execPath, join(import.meta.dir, 'fixtures', 'recordForever.ts'), dir], { stdout: 'ignore', stderr: 'pipe' });
    const manifest = join(dir, 'manifest.jsonl');
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const f = Bun.file(manifest);
      if ((await f.exists()) && (await f.text()).split('\n').length > 6) break;
      await Bun.sleep(20);
    }
    child.kill('SIGKILL');
    await child.exited;
    const index = await readRecordingIndex(dir, () => {});
    expect(index.frames.length).toBeGreaterThanOrEqual(5);
    for (const { frame } of index.frames) {
      expect(await Bun.file(join(dir, frame.rgb)).exists()).toBe(true);
      expect(await Bun.file(join(dir, frame.depth!)).exists()).toBe(true);
    }
    const replay = await collect(recordingSource(dir, { onWarning: () => {} }));
    expect(replay.length).toBe(index.frames.length);
    expect(replay.map((f) => f.index)).toEqual([...Array(replay.length).keys()]);
  });

  test('a bad manifest line elsewhere fails naming manifest.jsonl:line, even with skip', async () => {
    const dir = join(root, 'syn-badline');
    await collect(from(syntheticFrames(3)).pipe(record(dir, fixed)));
    const path = join(dir, 'manifest.jsonl');
    const lines = (await Bun.file(path).text()).split('\n');
    lines[2] = lines[2]!.replace('"timestamp":', '"timestamp":"soon","x":');
    await writeFile(path, lines.join('\n'));
    const err = await collect(recordingSource(dir, { onBadFrame: 'skip', onWarning: () => {} })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toContain(`${path}:3`);
    expect((err as SourceError).message).toContain('timestamp');
    lines[2] = '{not json';
    await writeFile(path, lines.join('\n'));
    const err2 = await collect(recordingSource(dir)).catch((e: unknown) => e);
    expect((err2 as SourceError).line).toBe(3);
  });

  test('a missing image: fail names it; skip warns and replays the rest', async () => {
    const dir = join(root, 'syn-missing');
    await collect(from(syntheticFrames(3)).pipe(record(dir, fixed)));
    await rm(join(dir, 'depth', '0.033333.png'));
    const err = await collect(recordingSource(dir)).catch((e: unknown) => e);
    expect((err as SourceError).message).toContain(join(dir, 'depth', '0.033333.png'));
    const log = warningLog();
    const frames = await collect(recordingSource(dir, { onBadFrame: 'skip', onWarning: log.sink }));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 2 / 30]);
    expect(log.messages.length).toBe(1);
  });

  test('an out-of-range pose in the manifest is a bad frame naming its line', async () => {
    const dir = join(root, 'syn-badpose');
    await collect(from(syntheticFrames(2)).pipe(record(dir, fixed)));
    const path = join(dir, 'manifest.jsonl');
    const lines = (await Bun.file(path).text()).split('\n');
    const frame = JSON.parse(lines[1]!) as { pose: number[] };
    frame.pose[0] = 3;
    lines[1] = JSON.stringify(frame);
    await writeFile(path, lines.join('\n'));
    const err = await collect(recordingSource(dir)).catch((e: unknown) => e);
    expect((err as SourceError).message).toMatch(new RegExp(`${path}:2: expected pose to be a rigid`));
  });

  test('missing folder, missing manifest and header-less manifest are SourceErrors', async () => {
    const missing = join(root, 'nothing-here');
    expect(await collect(recordingSource(missing)).catch((e: unknown) => e)).toBeInstanceOf(SourceError);
    const dir = join(root, 'syn-noheader');
    await collect(from(syntheticFrames(1)).pipe(record(dir, fixed)));
    const path = join(dir, 'manifest.jsonl');
    const lines = (await Bun.file(path).text()).split('\n');
    await writeFile(path, `${lines[1]}\n`);
    const err = (await collect(recordingSource(dir)).catch((e: unknown) => e)) as SourceError;
    expect(err.message).toMatch(/header line/);
    await rm(path);
    expect(((await collect(recordingSource(dir)).catch((e: unknown) => e)) as SourceError).message).toMatch(/manifest\.jsonl: cannot read/);
  });

  test('the recorder refuses NaN/negative depth before writing anything of that frame', async () => {
    const dir = join(root, 'syn-nan');
    const frames = syntheticFrames(2);
    frames[1]!.depth![77] = NaN;
    const err = (await collect(from(frames).pipe(record(dir, fixed))).catch((e: unknown) => e)) as SourceError;
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/expected depth in metres ≥ 0.*NaN at pixel \(77, 0\)/);
    const replay = await collect(recordingSource(dir));
    expect(replay.length).toBe(1);
    expect((await listFiles(dir)).filter((f) => f.startsWith('rgb/'))).toEqual(['rgb/0.000000.png']);
    frames[1]!.depth![77] = -1;
    const err2 = (await collect(from(frames.slice(1)).pipe(record(join(root, 'syn-neg'), fixed))).catch((e: unknown) => e)) as SourceError;
    expect(err2.message).toMatch(/-1 at pixel/);
  });

  test('the recorder refuses a folder that already holds a recording unless overwrite', async () => {
    const dir = join(root, 'syn-twice');
    await collect(from(syntheticFrames(1)).pipe(record(dir, fixed)));
    const err = (await collect(from(syntheticFrames(1)).pipe(record(dir, fixed))).catch((e: unknown) => e)) as SourceError;
    expect(err.message).toMatch(/already holds manifest\.jsonl/);
    await collect(from(syntheticFrames(2)).pipe(record(dir, { ...fixed, overwrite: true })));
    expect((await collect(recordingSource(dir))).length).toBe(2);
  });

  test('a frame whose intrinsics differ from the header keeps its own through the round-trip', async () => {
    const dir = join(root, 'syn-zoom');
    const frames = syntheticFrames(3);
    frames[1] = { ...frames[1]!, intrinsics: { ...frames[1]!.intrinsics, fx: 90, fy: 91 } };
    await collect(from(frames).pipe(record(dir, fixed)));
    const replay = await collect(recordingSource(dir));
    expect(replay.map((f) => f.intrinsics.fx)).toEqual([80, 90, 80]);
    const lines = (await Bun.file(join(dir, 'manifest.jsonl')).text()).trimEnd().split('\n').map((l) => JSON.parse(l) as { intrinsics?: unknown });
    expect(lines.map((l) => l.intrinsics !== undefined)).toEqual([true, false, true, false]);
  });

  test('fsync on (the default) writes the same recording', async () => {
    const a = join(root, 'syn-fsync');
    const b = join(root, 'syn-nofsync');
    const frames = syntheticFrames(2);
    await collect(from(frames).pipe(record(a, { createdAt: fixed.createdAt, source: fixed.source })));
    await collect(from(frames).pipe(record(b, fixed)));
    await expectSameFolders(a, b);
  });
});
