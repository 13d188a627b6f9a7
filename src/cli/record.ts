import { resolve } from 'node:path';
import { Subject, take, type Subscription } from 'rxjs';
import type { Frame } from '../frames/frame';
import { createScanModule, type ScanModuleOptions } from '../server/scan';
import { openFrameSource } from '../server/scanRunner';
import { startServer } from '../server/server';
import { announce, parseServeFlags, serveUntilInterrupted, serveUsage } from './serve';

const recordUsage = `usage: scanstream record --source SPEC --out DIR [--frames N] [--serve [serve options]]

Writes the project's recording format (TUM-compatible folders + manifest.jsonl)
from any source, e.g. camera:0 or lavfi:testsrc2. Stops after N frames, at the
end of the source, or on Ctrl-C (the files stay valid). With --serve it also
runs the pipeline and the live viewer while recording.

serve options:
${serveUsage.split('\n').slice(2).join('\n')}`;

export async function run(argv: string[]): Promise<number> {
  const flags = parseServeFlags(argv, { out: { type: 'string' }, frames: { type: 'string' }, serve: { type: 'boolean', default: false } });
  if (typeof flags === 'string') {
    console.error(flags ? `scanstream record: ${flags}\n\n${recordUsage}` : recordUsage);
    return flags ? 2 : 0;
  }
  const out = typeof flags.values.out === 'string' ? resolve(flags.values.out) : undefined;
  if (!out || !argv.includes('--source')) {
    console.error(`scanstream record: --source and --out are required\n\n${recordUsage}`);
    return 2;
  }
  const limit = typeof flags.values.frames === 'string' ? Number(flags.values.frames) : undefined;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    console.error(`scanstream record: --frames must be a positive integer, got '${String(flags.values.frames)}'`);
    return 2;
  }

  if (flags.values.serve === true) {
    const server = await startServer({ ...flags.options, source: flags.source, recordDir: out, log: (l) => console.error(`scanstream: ${l}`) });
    announce(server, flags.source);
    console.log(`  recording to ${out}`);
    return serveUntilInterrupted(server);
  }

  const module = await createScanModule((flags.options.moduleOptions ?? {}) as ScanModuleOptions);
  if (!module.record) {
    console.error('scanstream record: this build has no recorder (src/frames/recorder.ts)');
    return 1;
  }
  const frames$ = openFrameSource(module, flags.source);
  const tap = new Subject<Frame>();
  let written = 0;
  const result = new Promise<number>((done) => {
    tap.pipe(module.record!(out, flags.source)).subscribe({
      next: () => written++,
      error: (e: unknown) => {
        console.error(`scanstream record: ${(e as Error).message}`);
        done(1);
      },
      complete: () => done(0),
    });
  });
  let sourceSub: Subscription | null = null;
  const finish = (): void => {
    sourceSub?.unsubscribe();
    tap.complete();
  };
  process.once('SIGINT', finish);
  process.once('SIGTERM', finish);
  sourceSub = (limit ? frames$.pipe(take(limit)) : frames$).subscribe({
    next: (f) => tap.next(f),
    error: (e: unknown) => {
      console.error(`scanstream record: source stopped: ${(e as Error).message}`);
      tap.complete();
    },
    complete: () => tap.complete(),
  });
  const code = await result;
  module.dispose?.();
  console.log(`scanstream: recorded ${written} frames to ${out}`);
  return code;
}
