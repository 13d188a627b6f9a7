/**
 * A scan module for tests (loaded by the pipeline worker like src/server/scan.ts):
 * `fake:N` emits N small frames every `intervalMs`; the "pipeline" meshes
 * block (i mod span, 0, 0) at version ⌊i / span⌋ + 1 for frame i; `record`
 * writes one line per frame to DIR/frames.txt and "done" on completion.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Observable, interval, map, take, tap, type OperatorFunction } from 'rxjs';
import type { Frame } from '../../src/frames/frame';
import type { PipelineUpdate } from '../../src/pipeline/types';
import type { ScanModule } from '../../src/server/scanRunner';
import { fakeBlock, fakeFrame, fakePose } from './helpers';

export interface FakeScanOptions {
  intervalMs?: number;
  span?: number;
  trianglesPerBlock?: number;
}

export function createScanModule(options: FakeScanOptions = {}): ScanModule {
  const intervalMs = options.intervalMs ?? 10;
  const span = options.span ?? 8;
  const tris = options.trianglesPerBlock ?? 6;
  return {
    openFrames(spec: string): Observable<Frame> {
      const m = /^fake:(\d+)$/.exec(spec);
      if (!m) throw new Error(`fakeScan cannot open '${spec}'`);
      return interval(intervalMs).pipe(take(Number(m[1])), map((i) => fakeFrame(i)));
    },
    createPipeline() {
      let frames = 0;
      const versions = new Map<number, number>();
      const operator: OperatorFunction<Frame, PipelineUpdate> = map((frame) => {
        frames++;
        const b = frame.index % span;
        const v = (versions.get(b) ?? 0) + 1;
        versions.set(b, v);
        const pose = fakePose(frame.index);
        return {
          frame: { ...frame, pose },
          pose,
          meshBlocks: [fakeBlock(b, 0, 0, v, tris)],
          timings: { integrate: 0.1, mesh: 0.1 },
          stats: { frames, blocks: versions.size, triangles: versions.size * tris, trackingState: 'groundtruth' },
        };
      });
      return { operator, destroy: () => undefined };
    },
    record(dir: string): OperatorFunction<Frame, Frame> {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'frames.txt');
      writeFileSync(file, '');
      return (src) =>
        src.pipe(
          tap({
            next: (f) => appendFileSync(file, `${f.index}\n`),
            complete: () => writeFileSync(join(dir, 'done'), 'ok'),
          }),
        );
    },
  };
}
