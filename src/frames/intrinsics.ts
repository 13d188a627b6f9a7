/**
 * Which pinhole intrinsics a TUM-style sequence uses. Order: an explicit spec
 * (fr1|fr2|fr3|fx,fy,cx,cy|PATH.json), else intrinsics.json beside the
 * sequence, else freiburg1/2/3 guessed from the folder name, else the ROS
 * default for registered Kinect depth (525, 525, 319.5, 239.5).
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { formatZodIssues, IntrinsicsSchema } from '../config';
import type { Intrinsics, Pinhole } from '../geometry/intrinsics';
import { readInputFile, type ImageSize } from './decode';
import { SourceError } from './errors';

/** Colour-camera calibration per TUM sensor (https://cvg.cit.tum.de/data/datasets/rgbd-dataset/file_formats). */
export const TUM_INTRINSICS: Readonly<Record<'fr1' | 'fr2' | 'fr3' | 'default', Pinhole>> = {
  fr1: { fx: 517.306408, fy: 516.469215, cx: 318.64304, cy: 255.313989 },
  fr2: { fx: 520.90862, fy: 521.007327, cx: 325.141442, cy: 249.701764 },
  fr3: { fx: 535.4, fy: 539.2, cx: 320.1, cy: 247.6 },
  default: { fx: 525, fy: 525, cx: 319.5, cy: 239.5 },
};

export interface ResolvedIntrinsics {
  pinhole: Pinhole;
  /** the image size the intrinsics were made for (JSON files say it; presets do not) */
  size: ImageSize | null;
  /** where they came from, for logs and the recording header */
  origin: string;
}

/** 'freiburg2', 'fr2', 'rgbd_dataset_freiburg3_…' → 'fr2' / 'fr3'; null when the name says nothing. */
export function tumCameraFromName(name: string): 'fr1' | 'fr2' | 'fr3' | null {
  const m = /(?<![a-z])(?:freiburg|fr)([123])(?![0-9])/i.exec(name);
  return m ? (`fr${m[1]}` as 'fr1' | 'fr2' | 'fr3') : null;
}

/** Read and validate an intrinsics JSON file {fx, fy, cx, cy, width, height}. */
export async function readIntrinsicsJson(path: string): Promise<Intrinsics> {
  const bytes = await readInputFile(path, 'intrinsics JSON');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new SourceError(`expected JSON {fx, fy, cx, cy, width, height} (${(err as Error).message})`, { file: path, cause: err });
  }
  const parsed = IntrinsicsSchema.safeParse(json);
  if (!parsed.success) {
    throw new SourceError(`expected intrinsics {fx, fy, cx, cy: numbers, fx, fy > 0; width, height: positive integers}: ${formatZodIssues(parsed.error)}`, { file: path });
  }
  return parsed.data;
}

function parseIntrinsicsList(spec: string): Pinhole | null {
  const parts = spec.split(',');
  if (parts.length !== 4) return null;
  const v = parts.map((p) => (p.trim() === '' ? NaN : Number(p)));
  if (!v.every(Number.isFinite)) return null;
  const [fx, fy, cx, cy] = v as [number, number, number, number];
  if (!(fx > 0 && fy > 0)) throw new SourceError(`intrinsics '${spec}': expected fx, fy > 0`);
  return { fx, fy, cx, cy };
}

function fromJson(intrinsics: Intrinsics, origin: string): ResolvedIntrinsics {
  const { width, height, ...pinhole } = intrinsics;
  return { pinhole, size: { width, height }, origin };
}

/** Resolve `spec` (or the defaults) for a sequence in `dir`. */
export async function resolveIntrinsics(spec: string | undefined, dir: string): Promise<ResolvedIntrinsics> {
  if (spec !== undefined) {
    const key = spec.trim().toLowerCase();
    if (key === 'fr1' || key === 'fr2' || key === 'fr3' || key === 'default') return { pinhole: TUM_INTRINSICS[key], size: null, origin: key };
    const list = parseIntrinsicsList(spec);
    if (list) return { pinhole: list, size: null, origin: 'fx,fy,cx,cy' };
    if (spec.toLowerCase().endsWith('.json') || existsSync(spec)) return fromJson(await readIntrinsicsJson(spec), resolve(spec));
    throw new SourceError(`intrinsics '${spec}': expected fr1, fr2, fr3, 'fx,fy,cx,cy' or a path to a JSON file`);
  }
  const beside = join(dir, 'intrinsics.json');
  if (existsSync(beside)) return fromJson(await readIntrinsicsJson(beside), beside);
  const guessed = tumCameraFromName(basename(resolve(dir)));
  if (guessed) return { pinhole: TUM_INTRINSICS[guessed], size: null, origin: `${guessed} (from the folder name)` };
  return { pinhole: TUM_INTRINSICS.default, size: null, origin: 'TUM default 525/525/319.5/239.5' };
}
