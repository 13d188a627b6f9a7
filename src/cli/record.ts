import { resolve } from 'node:path';
import { Subject, take, type Subscription } from 'rxjs';
import { z } from 'zod';
import type { Frame } from '../frames/frame';
import { createScanModule, type ScanModuleOptions } from '../server/scan';
import { openFrameSource } from '../server/scanRunner';
import { startServer } from '../server/server';
import { runCommand, type Command } from './args';
import { announce, scanModuleOptions, serveFlags, serveHelp, serverOptions, serveUntilInterrupted } from './serve';

const command = {
  name: 'scanstream record',
  about: `Writes the project's recording format (TUM-compatible folders + manifest.jsonl)
from any source, e.g. camera:0 or lavfi:testsrc2. Stops after N frames, at the
end of the source, or on Ctrl-C (the files stay valid). With --serve it also
runs the pipeline and the live viewer while recording (the other options are
the viewer's, as for scanstream serve).`,
  flags: z.object({
    ...serveFlags,
    source: z.string(),
    out: z.string(),
    frames: z.number().int().positive().optional(),
    serve: z.boolean().default(false),
  }),
  help: {
    ...serveHelp,
    out: { arg: 'DIR', help: 'the recording folder' },
    frames: { help: 'stop after N frames' },
    serve: { help: 'also run the pipeline and serve the live viewer' },
  },
} satisfies Command;

export function run(argv: string[]): Promise<number> {
  return runCommand(command, argv, async (f) => {
    const out = resolve(f.out);
    if (!f.serve) return record(f.source, out, f.frames, scanModuleOptions(f));
    const server = await startServer({ ...serverOptions(f), source: f.source, recordDir: out, log: (l) => console.error(`scanstream: ${l}`) });
    announce(server, f.source);
    console.log(`  recording to ${out}`);
    return serveUntilInterrupted(server);
  });
}

/** Records the source without a viewer (the pipeline module only opens the source and records). */
async function record(source: string, out: string, limit: number | undefined, options: ScanModuleOptions): Promise<number> {
  const module = await createScanModule(options);
  if (!module.record) {
    console.error('scanstream record: this build has no recorder (src/frames/recorder.ts)');
    return 1;
  }
  const frames$ = openFrameSource(module, source);
  const tap = new Subject<Frame>();
  let written = 0;
  const result = new Promise<number>((done) => {
    tap.pipe(module.record!(out, source)).subscribe({
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
