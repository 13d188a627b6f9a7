/**
 * record(dir): a tap operator that writes every passing frame into a
 * scanstream recording (TUM-compatible layout + manifest.jsonl) and passes it
 * on unchanged once it is on disk.
 *
 * Crash safety: images are written to a temporary name, fsync'd and renamed;
 * only then are the TUM lists and finally the manifest line appended (and the
 * manifest fsync'd). The manifest never names a missing or partial file, and a
 * crash loses at most the frame in flight.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { concatMap, defer, finalize, from, map, type Observable, type OperatorFunction } from 'rxjs';
import { RecorderOptionsSchema, type RecorderOptions, type RecorderOptionsInput } from '../config';
import { sameIntrinsics, type Intrinsics } from '../geometry/intrinsics';
import { rigidPoseProblem } from '../geometry/se3';
import { encodeColourPng, encodeDepthPng } from './decode';
import { findInvalidDepth, metresToDepth16 } from './depthUnits';
import { SourceError } from './errors';
import type { Frame } from './frame';
import { MANIFEST_VERSION, formatManifestLine, type ManifestFrame } from './manifest';
import { parseOptions } from './parseOptions';
import { tumQuaternionFromPose } from './trajectory';

const LIST_HEADERS: Record<string, string> = {
  'rgb.txt': '# color images\n# file: scanstream recording\n# timestamp filename\n',
  'depth.txt': '# depth maps\n# file: scanstream recording\n# timestamp filename\n',
  'associations.txt': '',
  'groundtruth.txt': '# ground truth trajectory\n# file: scanstream recording\n# timestamp tx ty tz qx qy qz qw\n',
  'trajectory.txt': '# estimated trajectory\n# file: scanstream recording\n# timestamp tx ty tz qx qy qz qw\n',
};

/** Shortest decimal that reads back as the same double. */
function num(v: number): string {
  return Object.is(v, -0) ? '0' : String(v);
}

/** Frame checks before anything is written, so a bad frame leaves no trace. */
function validateFrame(frame: Frame, order: number): void {
  const at = { frameIndex: frame.index };
  const where = `frame ${frame.index} (#${order} recorded)`;
  const { width, height } = frame;
  if (frame.intrinsics.width !== width || frame.intrinsics.height !== height) {
    throw new SourceError(`${where}: intrinsics are for ${frame.intrinsics.width}×${frame.intrinsics.height}, the image is ${width}×${height}`, at);
  }
  if (frame.rgb.length !== width * height * 3) throw new SourceError(`${where}: expected ${width}×${height}×3 RGB bytes, got ${frame.rgb.length}`, at);
  if (!(frame.timestamp >= 0) || !Number.isFinite(frame.timestamp)) throw new SourceError(`${where}: expected a finite timestamp ≥ 0, got ${frame.timestamp}`, at);
  if (frame.depth) {
    if (frame.depth.length !== width * height) throw new SourceError(`${where}: expected ${width}×${height} depth values, got ${frame.depth.length}`, at);
    const bad = findInvalidDepth(frame.depth);
    if (bad >= 0) {
      throw new SourceError(
        `${where}: expected depth in metres ≥ 0 (0 = no measurement), got ${frame.depth[bad]} at pixel (${bad % width}, ${Math.floor(bad / width)})`,
        at,
      );
    }
  }
  for (const [name, pose] of [['pose', frame.pose], ['groundTruthPose', frame.groundTruthPose]] as const) {
    const problem = pose ? rigidPoseProblem(pose) : null;
    if (problem !== null) throw new SourceError(`${where}: ${name} is not a rigid transform (${problem})`, at);
  }
}

async function writeDurably(path: string, bytes: Uint8Array, fsync: boolean): Promise<void> {
  const tmp = `${path}.partial`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(bytes);
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

async function syncDir(path: string): Promise<void> {
  // a rename is durable once its directory is; not every platform can open a directory
  try {
    const fh = await open(path, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    /* best effort */
  }
}

/** Writes one recording folder, one frame at a time (calls are serialised). */
export class RecordingWriter {
  readonly dir: string;
  private readonly opts: RecorderOptions;
  private manifest: FileHandle | null = null;
  private readonly lists = new Map<string, FileHandle>();
  private readonly usedNames = new Set<string>();
  private header: Intrinsics | null = null;
  private count = 0;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(dir: string, options: RecorderOptionsInput = {}) {
    this.dir = dir;
    this.opts = parseOptions(RecorderOptionsSchema, options, 'recorder');
  }

  /** Number of frames committed to the manifest. */
  get frames(): number {
    return this.count;
  }

  /** Append a frame; resolves once it is committed. */
  write(frame: Frame): Promise<void> {
    const job = this.queue.then(() => this.writeNow(frame));
    this.queue = job.catch(() => undefined);
    return job;
  }

  /** Wait for pending writes and close the files. Idempotent. */
  async close(): Promise<void> {
    await this.queue;
    if (this.closed) return;
    this.closed = true;
    await this.manifest?.close();
    for (const fh of this.lists.values()) await fh.close();
    this.lists.clear();
  }

  private async start(frame: Frame): Promise<void> {
    const manifestPath = join(this.dir, 'manifest.jsonl');
    if (existsSync(manifestPath) && !this.opts.overwrite) {
      throw new SourceError('expected an empty folder for a new recording, but it already holds manifest.jsonl (choose another folder, or overwrite)', {
        file: manifestPath,
      });
    }
    await mkdir(join(this.dir, 'rgb'), { recursive: true });
    await mkdir(join(this.dir, 'depth'), { recursive: true });
    for (const name of Object.keys(LIST_HEADERS)) await rm(join(this.dir, name), { force: true });
    this.manifest = await open(manifestPath, 'w');
    this.header = frame.intrinsics;
    const header = formatManifestLine({
      type: 'header',
      version: MANIFEST_VERSION,
      createdAt: this.opts.createdAt ?? new Date().toISOString(),
      source: this.opts.source,
      intrinsics: { ...frame.intrinsics },
      depthScale: this.opts.depthScale,
    });
    await this.manifest.write(header);
    if (this.opts.fsync) await this.manifest.sync();
  }

  private fileName(timestamp: number): string {
    let name = `${timestamp.toFixed(6)}.png`;
    for (let k = 1; this.usedNames.has(name); k++) name = `${timestamp.toFixed(6)}-${k}.png`;
    this.usedNames.add(name);
    return name;
  }

  private async appendList(name: string, line: string): Promise<void> {
    let fh = this.lists.get(name);
    if (!fh) {
      fh = await open(join(this.dir, name), 'a');
      this.lists.set(name, fh);
      if (LIST_HEADERS[name]) await fh.write(LIST_HEADERS[name]);
    }
    await fh.write(`${line}\n`);
  }

  private async writeNow(frame: Frame): Promise<void> {
    if (this.closed) throw new SourceError(`recording ${this.dir} is closed`);
    validateFrame(frame, this.count);
    if (!this.manifest) await this.start(frame);
    const name = this.fileName(frame.timestamp);
    const line: ManifestFrame = { type: 'frame', index: this.count, timestamp: frame.timestamp, rgb: `rgb/${name}` };
    const depthTimestamp = frame.sourceInfo?.depthTimestamp ?? frame.timestamp;
    const [rgbPng, depthPng] = await Promise.all([
      encodeColourPng(frame.rgb, frame.width, frame.height),
      frame.depth ? encodeDepthPng(metresToDepth16(frame.depth, this.opts.depthScale), frame.width, frame.height) : Promise.resolve(null),
    ]);
    await writeDurably(join(this.dir, line.rgb), rgbPng, this.opts.fsync);
    if (depthPng) {
      line.depth = `depth/${name}`;
      if (depthTimestamp !== frame.timestamp) line.depthTimestamp = depthTimestamp;
      await writeDurably(join(this.dir, line.depth), depthPng, this.opts.fsync);
    }
    if (this.opts.fsync) {
      await syncDir(join(this.dir, 'rgb'));
      if (depthPng) await syncDir(join(this.dir, 'depth'));
    }
    if (frame.pose) line.pose = Array.from(frame.pose);
    if (frame.groundTruthPose) line.groundTruthPose = Array.from(frame.groundTruthPose);
    if (this.header && !sameIntrinsics(this.header, frame.intrinsics)) line.intrinsics = { ...frame.intrinsics };
    await this.appendLists(frame, line, depthTimestamp);
    await this.manifest!.write(formatManifestLine(line));
    if (this.opts.fsync) await this.manifest!.sync();
    this.count++;
  }

  private async appendLists(frame: Frame, line: ManifestFrame, depthTimestamp: number): Promise<void> {
    const ts = num(frame.timestamp);
    await this.appendList('rgb.txt', `${ts} ${line.rgb}`);
    if (line.depth) {
      await this.appendList('depth.txt', `${num(depthTimestamp)} ${line.depth}`);
      await this.appendList('associations.txt', `${ts} ${line.rgb} ${num(depthTimestamp)} ${line.depth}`);
    }
    if (frame.groundTruthPose) await this.appendList('groundtruth.txt', [ts, ...tumQuaternionFromPose(frame.groundTruthPose).map(num)].join(' '));
    if (frame.pose) await this.appendList('trajectory.txt', [ts, ...tumQuaternionFromPose(frame.pose).map(num)].join(' '));
  }
}

/**
 * Tap: writes each frame as it passes and emits it once committed (in order).
 * Each subscription writes its own recording; files are closed on complete,
 * error or unsubscribe (after the frame in flight).
 */
export function record(dir: string, options: RecorderOptionsInput = {}): OperatorFunction<Frame, Frame> {
  return (source: Observable<Frame>): Observable<Frame> =>
    defer(() => {
      const writer = new RecordingWriter(dir, options);
      return source.pipe(
        concatMap((frame) => from(writer.write(frame)).pipe(map(() => frame))),
        finalize(() => void writer.close().catch(() => undefined)),
      );
    });
}
