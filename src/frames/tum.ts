/**
 * TUM RGB-D benchmark folders (Sturm et al., IROS 2012) as a lazy stream of
 * frames: rgb.txt + depth.txt associated by nearest timestamp (or a given
 * associations.txt), depth in sensor units / depthScale, groundtruth.txt
 * attached as groundTruthPose by nearest timestamp.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
import { TumSourceOptionsSchema, type TumSourceOptions, type TumSourceOptionsInput } from '../config';
import { type Intrinsics, type Pinhole } from '../geometry/intrinsics';
import { associateTimestamps } from './associate';
import { handleBadFrame } from './badFrame';
import { decodeColour, decodeDepth16, type ImageSize } from './decode';
import { depthToMetres } from './depthUnits';
import { SourceError, type WarningSink } from './errors';
import type { Frame } from './frame';
import { resolveIntrinsics } from './intrinsics';
import { fromFrameIterator } from './lazySource';
import { parseOptions } from './parseOptions';
import { nearestTrajectoryEntry, readTumGroundTruth, type TrajectoryEntry } from './trajectory';
import { readAssociations, readTimedFileList, type AssociatedPair } from './tumLists';

export type TumOptions = TumSourceOptionsInput & { onWarning?: WarningSink };

/** One frame of the sequence before decoding. */
export interface TumEntry {
  rgbTimestamp: number;
  /** as listed (relative to the folder) */
  rgb: string;
  depthTimestamp: number;
  depth: string;
  groundTruth?: TrajectoryEntry;
}

export interface TumSequence {
  dir: string;
  entries: TumEntry[];
  pinhole: Pinhole;
  /** image size the intrinsics require (from a JSON file), else null: the first frame decides */
  size: ImageSize | null;
  intrinsicsOrigin: string;
  depthScale: number;
  /** groundtruth.txt was found and read */
  hasGroundTruth: boolean;
  options: TumSourceOptions;
}

function checkFolder(dir: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new SourceError('expected a TUM RGB-D folder (rgb.txt + depth.txt, or associations.txt), but it does not exist', { file: dir });
  }
  if (!isDir) throw new SourceError('expected a TUM RGB-D folder, but this is a file', { file: dir });
}

async function readPairs(dir: string, opts: TumSourceOptions, onWarning: WarningSink | undefined): Promise<AssociatedPair[]> {
  const policy = { onBadLine: opts.onBadFrame, ...(onWarning ? { onWarning } : {}) };
  const assocPath = join(dir, 'associations.txt');
  if (existsSync(assocPath)) return readAssociations(assocPath, policy);
  for (const name of ['rgb.txt', 'depth.txt']) {
    if (!existsSync(join(dir, name))) {
      throw new SourceError(`expected ${name} (or associations.txt) in a TUM RGB-D folder, but it is missing`, { file: join(dir, name) });
    }
  }
  const rgb = await readTimedFileList(join(dir, 'rgb.txt'), policy);
  const depth = await readTimedFileList(join(dir, 'depth.txt'), policy);
  const matches = associateTimestamps(rgb.map((r) => r.timestamp), depth.map((d) => d.timestamp), opts.maxTimeDifference);
  return matches.map(({ first, second }) => {
    const r = rgb[first]!;
    const d = depth[second]!;
    return { rgbTimestamp: r.timestamp, rgb: r.file, depthTimestamp: d.timestamp, depth: d.file, line: r.line };
  });
}

async function readGroundTruth(dir: string, opts: TumSourceOptions, onWarning: WarningSink | undefined): Promise<TrajectoryEntry[] | null> {
  const path = join(dir, 'groundtruth.txt');
  if (!opts.groundTruth || !existsSync(path)) return null;
  return readTumGroundTruth(path, { onBadLine: opts.onBadFrame, ...(onWarning ? { onWarning } : {}) });
}

/** Read the lists, associate, resolve intrinsics: everything but the pixels. */
export async function openTumSequence(dir: string, options: TumOptions = {}): Promise<TumSequence> {
  const { onWarning, ...rest } = options;
  const opts = parseOptions(TumSourceOptionsSchema, rest, 'TUM source');
  checkFolder(dir);
  const pairs = await readPairs(dir, opts, onWarning);
  if (pairs.length === 0) throw new SourceError('expected at least one rgb/depth pair within the association window, found none', { file: dir });
  const gt = await readGroundTruth(dir, opts, onWarning);
  const { pinhole, size, origin } = await resolveIntrinsics(opts.intrinsics, dir);
  const entries = pairs.map((p): TumEntry => {
    const e: TumEntry = { rgbTimestamp: p.rgbTimestamp, rgb: p.rgb, depthTimestamp: p.depthTimestamp, depth: p.depth };
    const g = gt ? nearestTrajectoryEntry(gt, p.rgbTimestamp, opts.maxTimeDifference) : undefined;
    if (g) e.groundTruth = g;
    return e;
  });
  return { dir, entries, pinhole, size, intrinsicsOrigin: origin, depthScale: opts.depthScale, hasGroundTruth: gt !== null, options: opts };
}

/** Both results, or the colour error before the depth error (so messages do not depend on timing). */
async function bothOrFirstError<A, B>(a: Promise<A>, b: Promise<B>): Promise<readonly [A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/** Decode one entry. `size` is the size every frame of the sequence must have (null: take this frame's). */
export async function readTumFrame(seq: TumSequence, entry: TumEntry, index: number, size: ImageSize | null): Promise<Frame> {
  const rgbPath = join(seq.dir, entry.rgb);
  const depthPath = join(seq.dir, entry.depth);
  // once the size is known both decode at once (sharp runs them on its own threads)
  const [colour, depth16] = size
    ? await bothOrFirstError(decodeColour(rgbPath, size), decodeDepth16(depthPath, size))
    : await decodeColour(rgbPath).then(async (c) => [c, await decodeDepth16(depthPath, c)] as const);
  const intrinsics: Intrinsics = { ...seq.pinhole, width: colour.width, height: colour.height };
  const frame: Frame = {
    index,
    timestamp: entry.rgbTimestamp,
    width: colour.width,
    height: colour.height,
    rgb: colour.rgb,
    depth: depthToMetres(depth16.data, seq.depthScale),
    intrinsics,
    sourceInfo: { rgbPath, depthPath, rgbTimestamp: entry.rgbTimestamp, depthTimestamp: entry.depthTimestamp },
  };
  if (entry.groundTruth) frame.groundTruthPose = new Float64Array(entry.groundTruth.pose);
  return frame;
}

/** Frames one at a time, decoded only when asked for. */
export async function* tumFrames(dir: string, options: TumOptions = {}): AsyncGenerator<Frame, void, undefined> {
  const seq = await openTumSequence(dir, options);
  let size = seq.size;
  const handling = { onBadFrame: seq.options.onBadFrame, ...(options.onWarning ? { onWarning: options.onWarning } : {}) };
  let index = 0;
  for (const entry of seq.entries) {
    let frame: Frame;
    try {
      frame = await readTumFrame(seq, entry, index, size);
    } catch (err) {
      handleBadFrame(err, handling, `frame at t=${entry.rgbTimestamp} (${entry.rgb})`);
      continue;
    }
    size ??= { width: frame.width, height: frame.height };
    index++;
    yield frame;
  }
}

/** `tum:PATH` as an Observable: lazy, one frame decoded at a time, stops on unsubscribe. */
export function tumSource(dir: string, options: TumOptions = {}): Observable<Frame> {
  return fromFrameIterator(() => tumFrames(dir, options));
}
