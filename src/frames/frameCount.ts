import { SyntheticOptionsSchema } from '../config';
import { readRecordingIndex } from './recording';
import { parseSourceSpec } from './source';
import { openTumSequence } from './tum';

/** How many frames a replayable source holds (for progress bars); undefined when unknown or unreadable. */
export async function countSourceFrames(spec: string): Promise<number | undefined> {
  try {
    const { scheme, target, params } = parseSourceSpec(spec);
    if (scheme === 'tum') return (await openTumSequence(target, params.intrinsics ? { intrinsics: params.intrinsics } : {})).entries.length;
    if (scheme === 'recording') return (await readRecordingIndex(target, () => {})).frames.length;
    if (scheme === 'synthetic') {
      const frames = params.frames !== undefined ? Number(params.frames) : undefined;
      return SyntheticOptionsSchema.parse({ scene: target, ...(frames !== undefined ? { frames } : {}) }).frames;
    }
  } catch {
    // the source itself reports what is wrong when it is opened
  }
  return undefined;
}
