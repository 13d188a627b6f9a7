import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { createScanModule, type ScanModuleOptions } from '../server/scan';
import { ScanRunner } from '../server/scanRunner';
import { SceneState } from '../server/sceneState';
import { meshBlocksToPly } from '../server/ply';
import { startServer } from '../server/server';
import { runCommand, type Command } from './args';
import { announce, scanModuleOptions, serveFlags, serveHelp, serverOptions, serveUntilInterrupted } from './serve';

const { source: _source, ...viewerFlags } = serveFlags;
const { source: _sourceHelp, ...viewerHelp } = serveHelp;

const command = {
  name: 'scanstream replay',
  positionals: { names: ['DIR'], noun: 'recording folder' },
  about: `Plays a recording (scanstream record, or the viewer's Record button) through the
same pipeline and viewer. --headless runs it without a server and prints a JSON
summary; --ply writes the final mesh.`,
  flags: z.object({ ...viewerFlags, headless: z.boolean().default(false), ply: z.string().optional() }),
  help: {
    ...viewerHelp,
    headless: { help: 'no server: run the recording and print a JSON summary' },
    ply: { arg: 'OUT.ply', help: 'with --headless: write the final mesh' },
  },
} satisfies Command;

async function headless(spec: string, moduleOptions: ScanModuleOptions, plyPath: string | undefined): Promise<number> {
  const module = await createScanModule(moduleOptions);
  const runner = new ScanRunner(module, { frameIntervalMs: Number.POSITIVE_INFINITY, previewWidth: 32, previewQuality: 50 });
  const scene = new SceneState();
  const t0 = performance.now();
  let frames = 0;
  const outcome = await new Promise<{ state: string; message?: string }>((done) => {
    runner.events.subscribe((e) => {
      if (e.type === 'update') {
        scene.apply(e.update);
        // the pipeline's own count: a final mesh-only update repeats the last frame
        frames = Math.max(frames, e.update.stats.frames);
      } else if (e.type === 'status' && (e.state === 'ended' || e.state === 'error')) {
        done({ state: e.state, ...(e.message ? { message: e.message } : {}) });
      }
    });
    runner.start(spec);
  });
  await runner.stop();
  const seconds = (performance.now() - t0) / 1000;
  if (plyPath) writeFileSync(plyPath, meshBlocksToPly(scene.meshBlocks()));
  console.log(JSON.stringify({ source: spec, ...outcome, frames, blocks: scene.blocks.size, triangles: scene.triangles, seconds, fps: frames / seconds, ...(plyPath ? { ply: plyPath } : {}) }, null, 2));
  return outcome.state === 'ended' ? 0 : 1;
}

export function run(argv: string[]): Promise<number> {
  return runCommand(command, argv, async (f, [dir]) => {
    const spec = `recording:${resolve(dir as string)}`;
    if (f.headless) return headless(spec, scanModuleOptions(f), f.ply);
    const server = await startServer({ ...serverOptions(f), source: spec, log: (l) => console.error(`scanstream: ${l}`) });
    announce(server, spec);
    return serveUntilInterrupted(server);
  });
}
