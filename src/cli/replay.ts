import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createScanModule, type ScanModuleOptions } from '../server/scan';
import { ScanRunner } from '../server/scanRunner';
import { SceneState } from '../server/sceneState';
import { meshBlocksToPly } from '../server/ply';
import { announce, parseServeFlags, serveUntilInterrupted, serveUsage } from './serve';
import { startServer } from '../server/server';

const replayUsage = `usage: scanstream replay DIR [--headless [--ply OUT.ply]] [serve options]

Plays a recording (scanstream record, or the viewer's Record button) through the
same pipeline and viewer. --headless runs it without a server and prints a JSON
summary; --ply writes the final mesh.

serve options:
${serveUsage.split('\n').slice(2).join('\n')}`;

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

export async function run(argv: string[]): Promise<number> {
  const [dir, ...rest] = argv;
  if (!dir || dir === '--help' || dir === '-h') {
    console.log(replayUsage);
    return dir ? 0 : 2;
  }
  if (dir.startsWith('-')) {
    console.error(`scanstream replay: the recording folder comes first\n\n${replayUsage}`);
    return 2;
  }
  const flags = parseServeFlags(rest, { headless: { type: 'boolean', default: false }, ply: { type: 'string' } });
  if (typeof flags === 'string') {
    console.error(flags ? `scanstream replay: ${flags}\n\n${replayUsage}` : replayUsage);
    return flags ? 2 : 0;
  }
  const spec = `recording:${resolve(dir)}`;
  if (flags.values.headless === true) {
    const ply = typeof flags.values.ply === 'string' ? flags.values.ply : undefined;
    return headless(spec, (flags.options.moduleOptions ?? {}) as ScanModuleOptions, ply);
  }
  const server = await startServer({ ...flags.options, source: spec, log: (l) => console.error(`scanstream: ${l}`) });
  announce(server, spec);
  return serveUntilInterrupted(server);
}
