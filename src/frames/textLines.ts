/**
 * Whitespace-separated text files of the TUM kind: `#` starts a comment line,
 * blank lines are ignored, and every problem names `file:line`.
 */
import { readInputFile } from './decode';
import { SourceError, defaultWarningSink, type BadFramePolicy, type WarningSink } from './errors';

export interface DataLine {
  /** 1-based line number in the file */
  line: number;
  fields: string[];
}

/** What to do with a line that does not parse: stop (default) or warn and leave it out. */
export interface LinePolicy {
  onBadLine?: BadFramePolicy;
  onWarning?: WarningSink;
}

/** Non-comment, non-blank lines of a text file, split on whitespace. */
export async function readDataLines(path: string, what: string): Promise<DataLine[]> {
  const bytes = await readInputFile(path, what);
  const text = new TextDecoder('utf-8').decode(bytes);
  const out: DataLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i]!.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    out.push({ line: i + 1, fields: trimmed.split(/[\s,]+/) });
  }
  return out;
}

/** A finite number ≥ 0 (timestamps, depths) or a SourceError naming file:line. */
export function parseTimestamp(field: string | undefined, file: string, line: number): number {
  const v = parseNumber(field, file, line, 'a timestamp in seconds');
  if (v < 0) throw new SourceError(`expected a non-negative timestamp in seconds, got '${field}'`, { file, line });
  return v;
}

/** A finite number (strict: the whole field must be numeric) or a SourceError naming file:line. */
export function parseNumber(field: string | undefined, file: string, line: number, what: string): number {
  if (field === undefined) throw new SourceError(`expected ${what}, but the line ends early`, { file, line });
  const v = Number(field);
  if (field.trim() === '' || !Number.isFinite(v)) throw new SourceError(`expected ${what}, got '${field}'`, { file, line });
  return v;
}

/**
 * Parse every line with `parse`; a line that throws a SourceError either stops
 * everything (policy 'fail') or is reported through onWarning and left out.
 */
export function parseLines<T>(lines: DataLine[], parse: (l: DataLine) => T, policy: LinePolicy = {}): T[] {
  const out: T[] = [];
  for (const l of lines) {
    try {
      out.push(parse(l));
    } catch (err) {
      if (!(err instanceof SourceError) || (policy.onBadLine ?? 'fail') === 'fail') throw err;
      (policy.onWarning ?? defaultWarningSink)(`skipping line: ${err.message}`, err);
    }
  }
  return out;
}
