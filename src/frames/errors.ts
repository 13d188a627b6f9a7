/**
 * An input (a file, a line of a file, a frame of a sequence) is missing or not
 * what was expected. The message names the input (`file:line` when known) and
 * says what was expected, so a user can fix the data without a debugger.
 */
export class SourceError extends Error {
  readonly file?: string;
  readonly line?: number;
  /** the frame (stream index) the problem belongs to, when it belongs to one */
  readonly frameIndex?: number;

  constructor(message: string, where: { file?: string; line?: number; frameIndex?: number; cause?: unknown } = {}) {
    super(`${locate(where.file, where.line)}${message}`, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = 'SourceError';
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.frameIndex !== undefined) this.frameIndex = where.frameIndex;
  }
}

function locate(file: string | undefined, line: number | undefined): string {
  if (file === undefined) return '';
  return line === undefined ? `${file}: ` : `${file}:${line}: `;
}

/** What a source does with a frame it cannot read: stop the stream, or warn and go on. */
export type BadFramePolicy = 'fail' | 'skip';

/** Receives one message per skipped frame or line (default: console.warn). */
export type WarningSink = (message: string, error: SourceError) => void;

export const defaultWarningSink: WarningSink = (message) => console.warn(`scanstream: ${message}`);

/** Wrap anything thrown while reading `file` as a SourceError naming it. */
export function asSourceError(err: unknown, file: string, expected: string): SourceError {
  if (err instanceof SourceError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SourceError(`${expected} (${detail})`, { file, cause: err });
}
