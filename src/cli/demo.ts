import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { z } from 'zod';
import { FusionOptionsSchema, PaceModeSchema } from '../config';
import { evaluateMesh, type MeshAccuracyReport } from '../eval/meshMetrics';
import { cullToSeen, syntheticTruthMesh } from '../frames/synthetic/truth';
import { syntheticSource } from '../frames/synthetic/source';
import { readPly, writePly } from '../fusion/ply';
import type { BackendChoice } from '../native/library';
import { startServer } from '../server/server';
import { backendFlag, backendHelp, runCommand, type Command } from './args';
import { fuseToFiles } from './fuse';
import { announce, openInBrowser, portFlag, serveUntilInterrupted } from './serve';

const command = {
  name: 'scanstream demo',
  about: `Renders the embedded synthetic room (exact depth and poses) and fuses it into a
TSDF mesh on the native backend, live: the viewer URL is printed (and opened in
a browser when one is present) and the mesh grows there block by block. When
the sequence ends, the mesh is scored against the true surface and
DIR/mesh.ply, DIR/truth.ply and DIR/report.json are written; the viewer keeps
serving until Ctrl-C.`,
  flags: z.object({
    headless: z.boolean().default(false),
    out: z.string().default('scanstream-demo'),
    frames: z.number().int().positive().default(90),
    voxel: FusionOptionsSchema.shape.voxelSize,
    port: portFlag,
    pace: PaceModeSchema.default('realtime'),
    noOpen: z.boolean().default(false),
    backend: backendFlag,
  }),
  help: {
    headless: { help: 'no server: fuse, score, write the files and exit' },
    out: { arg: 'DIR', help: 'where the mesh, its truth and the report go' },
    frames: { help: 'frames of the synthetic room' },
    voxel: { arg: 'M', help: 'voxel size in metres' },
    port: { help: 'viewer port (0: any free one)' },
    pace: { help: 'frames at the recorded rate, or as fast as fusion goes' },
    noOpen: { help: 'do not open a browser' },
    backend: backendHelp,
  },
} satisfies Command;

export function run(argv: string[]): Promise<number> {
  return runCommand(command, argv, async (f) => {
    const dir = resolve(f.out);
    const source = `synthetic:room?frames=${f.frames}`;
    const backend = f.backend ? { backend: f.backend } : {};
    if (!f.headless) return liveDemo({ source, frames: f.frames, voxel: f.voxel, dir, port: f.port, pace: f.pace, open: !f.noOpen, ...backend });
    console.error(`scanstream demo: fusing the synthetic room (${f.frames} frames, ${f.voxel * 100} cm voxels) into ${dir}`);
    const { report } = await fuseToFiles({
      source, out: join(dir, 'mesh.ply'), report: join(dir, 'report.json'), onBadFrame: 'fail', ...backend,
      fusion: FusionOptionsSchema.parse({ voxelSize: f.voxel, poses: 'groundtruth' }),
    }, 'demo');

    const quality = await scoreAgainstTruth(dir, f.frames, f.voxel);
    writeFileSync(join(dir, 'report.json'), `${JSON.stringify({ ...report, quality }, null, 2)}\n`);
    console.log([
      `mesh:    ${join(dir, 'mesh.ply')} (${report.triangles} triangles, ${report.blocks} voxel blocks)`,
      `truth:   ${join(dir, 'truth.ply')}`,
      `report:  ${join(dir, 'report.json')}`,
      `speed:   fusion ${report.pipelineFramesPerSecond} frames/s (integrate ${report.stages.integrate?.medianMs} ms, mesh ${report.stages.mesh?.medianMs} ms, medians); ` +
        `${report.framesPerSecond} frames/s with the synthetic renderer, which draws each frame in TypeScript`,
      qualityLine(quality),
    ].join('\n'));
    return 0;
  });
}

const mm = (m: number): string => `${(m * 1000).toFixed(3)} mm`;

function qualityLine(q: MeshAccuracyReport): string {
  return `quality: accuracy median ${mm(q.accuracy.median)}, mean ${mm(q.accuracy.mean)}; completeness ${(q.completeness * 100).toFixed(2)}%`;
}

/** writes DIR/truth.ply (the room surface the cameras saw) and scores DIR/mesh.ply against it */
async function scoreAgainstTruth(dir: string, frames: number, voxel: number): Promise<MeshAccuracyReport> {
  console.error('scanstream demo: scoring the mesh against the true surface…');
  const seen = await lastValueFrom(syntheticSource({ scene: 'room', frames }).pipe(toArray()));
  const truth = cullToSeen(syntheticTruthMesh('room'), seen);
  await writePly(join(dir, 'truth.ply'), truth);
  return evaluateMesh(await readPly(join(dir, 'mesh.ply')), truth, { voxelSize: voxel });
}

interface LiveDemoOptions {
  source: string;
  frames: number;
  voxel: number;
  dir: string;
  port: number;
  pace: 'realtime' | 'fast';
  open: boolean;
  backend?: BackendChoice;
}

/** The live demo: the viewer shows the room being fused; at the end the mesh is exported and scored. */
async function liveDemo(o: LiveDemoOptions): Promise<number> {
  const server = await startServer({
    source: o.source, port: o.port, log: (l) => console.error(`scanstream: ${l}`),
    moduleOptions: { poses: 'groundtruth', pace: o.pace, fusion: { voxelSize: o.voxel }, ...(o.backend ? { backend: o.backend } : {}) },
  });
  announce(server, o.source);
  if (o.open && !process.env.CI && (process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY)) {
    openInBrowser(server.url);
  }
  let exported = false;
  server.onEvent((e) => {
    if (exported || e.type !== 'status' || e.state !== 'ended') return;
    exported = true;
    void (async () => {
      const url = new URL('/mesh.ply', server.url);
      if (server.token) url.searchParams.set('token', server.token);
      const res = await fetch(url);
      if (!res.ok) throw new Error(`mesh export failed: HTTP ${res.status}`);
      mkdirSync(o.dir, { recursive: true });
      writeFileSync(join(o.dir, 'mesh.ply'), new Uint8Array(await res.arrayBuffer()));
      const quality = await scoreAgainstTruth(o.dir, o.frames, o.voxel);
      writeFileSync(join(o.dir, 'report.json'), `${JSON.stringify({ source: o.source, voxel: o.voxel, status: server.status, quality }, null, 2)}\n`);
      console.log([
        `scanstream demo: the sequence is fused; the viewer stays up until Ctrl-C`,
        `mesh:    ${join(o.dir, 'mesh.ply')}`,
        `truth:   ${join(o.dir, 'truth.ply')}`,
        `report:  ${join(o.dir, 'report.json')}`,
        qualityLine(quality),
      ].join('\n'));
    })().catch((err: unknown) => console.error(`scanstream demo: ${(err as Error).message}`));
  });
  return serveUntilInterrupted(server);
}
