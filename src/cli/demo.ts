import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { lastValueFrom, toArray } from 'rxjs';
import { FusionOptionsSchema } from '../config';
import { evaluateMesh, type MeshAccuracyReport } from '../eval/meshMetrics';
import { startServer } from '../server/server';
import { announce, openInBrowser, serveUntilInterrupted } from './serve';
import { readPly, writePly } from '../fusion/ply';
import { cullToSeen, syntheticTruthMesh } from '../frames/synthetic/truth';
import { syntheticSource } from '../frames/synthetic/source';
import { fuseToFiles } from './fuse';
import { backendFlagUsage, parseBackendFlag } from './backendFlag';
import type { BackendChoice } from '../native/library';

export const demoUsage = `usage: scanstream demo [--headless] [--out DIR] [--frames N] [--voxel M] [--port 8080] [--pace realtime|fast] [--no-open] [--backend B]

Renders the embedded synthetic room (exact depth and poses) and fuses it into a
TSDF mesh on the native backend, live: the viewer URL is printed (and opened in
a browser when one is present) and the mesh grows there block by block. When
the sequence ends, the mesh is scored against the true surface and
DIR/mesh.ply, DIR/truth.ply and DIR/report.json are written (default DIR:
./scanstream-demo); the viewer keeps serving until Ctrl-C.
  --headless   no server: fuse, score, write the files and exit
  ${backendFlagUsage}`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'scanstream-demo' },
      frames: { type: 'string', default: '90' },
      voxel: { type: 'string', default: '0.01' },
      headless: { type: 'boolean', default: false },
      port: { type: 'string', default: '8080' },
      pace: { type: 'string', default: 'realtime' },
      'no-open': { type: 'boolean', default: false },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(demoUsage);
    return 0;
  }
  const frames = Number(values.frames);
  const voxel = Number(values.voxel);
  if (!Number.isInteger(frames) || frames < 1) {
    console.error(`scanstream demo: --frames must be a positive integer, got '${values.frames}'`);
    return 2;
  }
  if (!(voxel > 0)) {
    console.error(`scanstream demo: --voxel must be a positive number of metres, got '${values.voxel}'`);
    return 2;
  }
  const backendFlag = parseBackendFlag(values.backend);
  if ('error' in backendFlag) {
    console.error(`scanstream demo: ${backendFlag.error}`);
    return 2;
  }
  const dir = resolve(values.out);
  const source = `synthetic:room?frames=${frames}`;
  if (!values.headless) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      console.error(`scanstream demo: --port must be an integer 0..65535, got '${values.port}'`);
      return 2;
    }
    if (values.pace !== 'realtime' && values.pace !== 'fast') {
      console.error(`scanstream demo: --pace must be realtime or fast, got '${values.pace}'`);
      return 2;
    }
    return liveDemo({ source, frames, voxel, dir, port, pace: values.pace, open: !values['no-open'], ...backendFlag });
  }
  console.error(`scanstream demo: fusing the synthetic room (${frames} frames, ${voxel * 100} cm voxels) into ${dir}`);
  const { report } = await fuseToFiles({
    source, out: join(dir, 'mesh.ply'), report: join(dir, 'report.json'), onBadFrame: 'fail', ...backendFlag,
    fusion: FusionOptionsSchema.parse({ voxelSize: voxel, poses: 'groundtruth' }),
  }, 'demo');

  const quality = await scoreAgainstTruth(dir, frames, voxel);
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
