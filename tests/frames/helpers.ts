import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import type { SourceError } from '../../src/frames/errors';
import type { Frame } from '../../src/frames/frame';

/** `<repo>/../shared/data`: the real data lives beside the repository, never inside it. */
export const sharedData = resolve(import.meta.dir, '..', '..', '..', 'shared', 'data');
export const tumDir = join(sharedData, 'tum_fr1_rpy');
export const hasTum = existsSync(join(tumDir, 'associations.txt'));
export const noTumMessage = `shared TUM clip not found at ${tumDir} (clone with shared/ beside the repo to run these)`;
if (!hasTum) console.warn(`tests/frames: skipping TUM tests — ${noTumMessage}`);

export async function collect(frames$: Observable<Frame>): Promise<Frame[]> {
  return lastValueFrom(frames$.pipe(toArray()));
}

/** A fresh temporary folder; remove it with `cleanup`. */
export async function tempDir(prefix = 'scanstream-frames-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * A small TUM folder in `dir` made from the first `n` frames of the shared
 * clip: the named files copied, rgb.txt / depth.txt / groundtruth.txt
 * written (no associations.txt, so association runs).
 */
export async function smallTumCopy(dir: string, n: number, name = 'rgbd_dataset_freiburg1_rpy'): Promise<string> {
  const out = join(dir, name);
  const lines = (await Bun.file(join(tumDir, 'associations.txt')).text()).trim().split('\n').slice(0, n);
  const rgb: string[] = ['# color images', '# timestamp filename'];
  const depth: string[] = ['# depth maps', '# timestamp filename'];
  for (const l of lines) {
    const [tr, fr, td, fd] = l.split(' ') as [string, string, string, string];
    await cp(join(tumDir, fr), join(out, fr));
    await cp(join(tumDir, fd), join(out, fd));
    rgb.push(`${tr} ${fr}`);
    depth.push(`${td} ${fd}`);
  }
  await Bun.write(join(out, 'rgb.txt'), `${rgb.join('\n')}\n`);
  await Bun.write(join(out, 'depth.txt'), `${depth.join('\n')}\n`);
  await cp(join(tumDir, 'groundtruth.txt'), join(out, 'groundtruth.txt'));
  return out;
}

/** Collects warnings instead of printing them. */
export function warningLog(): { messages: string[]; errors: SourceError[]; sink: (m: string, e: SourceError) => void } {
  const messages: string[] = [];
  const errors: SourceError[] = [];
  return { messages, errors, sink: (m, e) => { messages.push(m); errors.push(e); } };
}

export function expectSameBytes(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
