/**
 * `--on-bad-frame fail|skip`: a frame that cannot be read either ends the
 * stream with its SourceError, or is reported once through onWarning and left
 * out. Anything that is not a SourceError is a bug and always propagates.
 */
import { SourceError, defaultWarningSink, type BadFramePolicy, type WarningSink } from './errors';

export interface BadFrameHandling {
  onBadFrame?: BadFramePolicy;
  onWarning?: WarningSink;
}

/** Throws `err` under 'fail' (or when it is not a SourceError); warns under 'skip'. */
export function handleBadFrame(err: unknown, handling: BadFrameHandling, what: string): void {
  if (!(err instanceof SourceError) || (handling.onBadFrame ?? 'fail') === 'fail') throw err;
  (handling.onWarning ?? defaultWarningSink)(`skipping ${what}: ${err.message}`, err);
}
