/**
 * The file lists of a TUM RGB-D sequence: rgb.txt / depth.txt (`timestamp
 * filename`) and associations.txt (`ts_rgb rgb/… ts_depth depth/…`).
 */
import { SourceError } from './errors';
import { parseLines, parseTimestamp, readDataLines, type DataLine, type LinePolicy } from './textLines';

export interface TimedFile {
  timestamp: number;
  /** as written in the list, relative to the sequence folder */
  file: string;
  line: number;
}

export interface AssociatedPair {
  rgbTimestamp: number;
  rgb: string;
  depthTimestamp: number;
  depth: string;
  line: number;
}

function parseTimedFile(l: DataLine, path: string): TimedFile {
  if (l.fields.length !== 2) throw new SourceError(`expected 'timestamp filename', got ${l.fields.length} fields`, { file: path, line: l.line });
  return { timestamp: parseTimestamp(l.fields[0], path, l.line), file: l.fields[1]!, line: l.line };
}

function parseAssociation(l: DataLine, path: string): AssociatedPair {
  if (l.fields.length !== 4) {
    throw new SourceError(`expected 'ts_rgb rgb_file ts_depth depth_file', got ${l.fields.length} fields`, { file: path, line: l.line });
  }
  return {
    rgbTimestamp: parseTimestamp(l.fields[0], path, l.line),
    rgb: l.fields[1]!,
    depthTimestamp: parseTimestamp(l.fields[2], path, l.line),
    depth: l.fields[3]!,
    line: l.line,
  };
}

/** rgb.txt or depth.txt, in file order. */
export async function readTimedFileList(path: string, policy: LinePolicy = {}): Promise<TimedFile[]> {
  const lines = await readDataLines(path, 'file list');
  return parseLines(lines, (l) => parseTimedFile(l, path), policy);
}

/** associations.txt, in file order. */
export async function readAssociations(path: string, policy: LinePolicy = {}): Promise<AssociatedPair[]> {
  const lines = await readDataLines(path, 'associations');
  return parseLines(lines, (l) => parseAssociation(l, path), policy);
}
