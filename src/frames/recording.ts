/**
 * `recording:PATH`: replays a folder written by record(). The manifest is
 * validated line by line; a truncated last line (a crash mid-append) is
 * dropped with a warning, a bad line anywhere else is an error naming it.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Observable } from 'rxjs';
import { RecordingSourceOptionsSchema, type RecordingSourceOptionsInput } from '../config';
import { type Pose, rigidPoseProblem } from '../geometry/se3';
import { handleBadFrame, type BadFrameHandling } from './badFrame';
import { decodeColour, decodeDepth16, readInputFile } from './decode';
import { depthToMetres } from './depthUnits';
import { SourceError, defaultWarningSink, type WarningSink } from './errors';
import type { Frame } from './frame';
import { fromFrameIterator } from './lazySource';
import { parseManifestLine, type ManifestFrame, type ManifestHeader } from './manifest';
import { parseOptions } from './parseOptions';

export type RecordingOptions = RecordingSourceOptionsInput & { onWarning?: WarningSink };

export interface RecordingIndex {
  dir: string;
  manifestPath: string;
  header: ManifestHeader;
  /** frame lines with their 1-based manifest line numbers */
  frames: Array<{ line: number; frame: ManifestFrame }>;
  /** the last line was cut off (a crash while appending) and was left out */
  truncated: boolean;
}

function checkFolder(dir: string): string {
  const manifestPath = join(dir, 'manifest.jsonl');
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new SourceError('expected a scanstream recording folder (manifest.jsonl, rgb/, depth/), but it does not exist', { file: dir });
  }
  if (!isDir) throw new SourceError('expected a scanstream recording folder, but this is a file', { file: dir });
  return manifestPath;
}

/** Read and validate manifest.jsonl. */
export async function readRecordingIndex(dir: string, onWarning: WarningSink = defaultWarningSink): Promise<RecordingIndex> {
  const manifestPath = checkFolder(dir);
  const text = new TextDecoder('utf-8').decode(await readInputFile(manifestPath, 'recording manifest'));
  const lines = text.split('\n');
  const endsClean = text.endsWith('\n');
  if (endsClean) lines.pop();
  let header: ManifestHeader | null = null;
  const frames: RecordingIndex['frames'] = [];
  let truncated = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    const isLast = i === lines.length - 1;
    if (raw.trim() === '' && !isLast) throw new SourceError('expected a manifest line, got an empty line', { file: manifestPath, line: lineNo });
    if (raw.trim() === '') continue;
    let parsed;
    try {
      parsed = parseManifestLine(raw, manifestPath, lineNo);
    } catch (err) {
      if (isLast && !endsClean && header !== null && err instanceof SourceError) {
        truncated = true;
        onWarning(`recording ends in a truncated manifest line (a crash while recording?); replaying the ${frames.length} complete frames`, err);
        break;
      }
      throw err;
    }
    if (i === 0 && parsed.type !== 'header') throw new SourceError("expected the header line ({type:'header', …}) first", { file: manifestPath, line: lineNo });
    if (parsed.type === 'header') {
      if (i !== 0) throw new SourceError('expected one header line, at the top; found another', { file: manifestPath, line: lineNo });
      header = parsed;
    } else {
      frames.push({ line: lineNo, frame: parsed });
    }
  }
  if (!header) throw new SourceError("expected a header line ({type:'header', version:1, …}), but the manifest is empty", { file: manifestPath });
  return { dir, manifestPath, header, frames, truncated };
}

function checkedPose(values: number[] | undefined, name: string, file: string, line: number): Pose | undefined {
  if (!values) return undefined;
  const problem = rigidPoseProblem(values);
  if (problem !== null) throw new SourceError(`expected ${name} to be a rigid 4×4 transform: ${problem}`, { file, line });
  return new Float64Array(values);
}

/** Decode one manifest frame line. */
export async function readRecordedFrame(index: RecordingIndex, entry: { line: number; frame: ManifestFrame }, streamIndex: number): Promise<Frame> {
  const { frame: m, line } = entry;
  const intrinsics = { ...(m.intrinsics ?? index.header.intrinsics) };
  const size = { width: intrinsics.width, height: intrinsics.height };
  const pose = checkedPose(m.pose, 'pose', index.manifestPath, line);
  const groundTruthPose = checkedPose(m.groundTruthPose, 'groundTruthPose', index.manifestPath, line);
  const rgbPath = join(index.dir, m.rgb);
  const colour = await decodeColour(rgbPath, size);
  const frame: Frame = { index: streamIndex, timestamp: m.timestamp, width: size.width, height: size.height, rgb: colour.rgb, intrinsics };
  frame.sourceInfo = { rgbPath, rgbTimestamp: m.timestamp };
  if (m.depth) {
    const depthPath = join(index.dir, m.depth);
    const depth16 = await decodeDepth16(depthPath, size);
    frame.depth = depthToMetres(depth16.data, index.header.depthScale);
    frame.sourceInfo.depthPath = depthPath;
    frame.sourceInfo.depthTimestamp = m.depthTimestamp ?? m.timestamp;
  }
  if (pose) frame.pose = pose;
  if (groundTruthPose) frame.groundTruthPose = groundTruthPose;
  return frame;
}

/** Frames one at a time, decoded only when asked for. */
export async function* recordingFrames(dir: string, options: RecordingOptions = {}): AsyncGenerator<Frame, void, undefined> {
  const { onWarning, ...rest } = options;
  const opts = parseOptions(RecordingSourceOptionsSchema, rest, 'recording source');
  const handling: BadFrameHandling = { onBadFrame: opts.onBadFrame, ...(onWarning ? { onWarning } : {}) };
  const index = await readRecordingIndex(dir, onWarning);
  let streamIndex = 0;
  for (const entry of index.frames) {
    let frame: Frame;
    try {
      frame = await readRecordedFrame(index, entry, streamIndex);
    } catch (err) {
      handleBadFrame(err, handling, `recorded frame ${entry.frame.index} (manifest line ${entry.line})`);
      continue;
    }
    streamIndex++;
    yield frame;
  }
}

/** `recording:PATH` as an Observable: lazy, one frame decoded at a time, stops on unsubscribe. */
export function recordingSource(dir: string, options: RecordingOptions = {}): Observable<Frame> {
  return fromFrameIterator(() => recordingFrames(dir, options));
}
