import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { lastValueFrom, toArray } from 'rxjs';
import { FusionOptionsSchema } from '../config';
import { evaluateMesh } from '../eval/meshMetrics';
import { readPly, writePly } from '../fusion/ply';
import { cullToSeen, syntheticTruthMesh } from '../frames/synthetic/truth';
import { syntheticSource } from '../frames/synthetic/source';
import { fuseToFiles } from './fuse';

export const demoUsage = `usage: scanstream demo [--out DIR] [--frames N] [--voxel M]

Renders the embedded synthetic room (exact depth and poses), fuses it into a
TSDF mesh on the native backend, scores the mesh against the true surface and
writes DIR/mesh.ply, DIR/truth.ply and DIR/report.json (default DIR: ./scanstream-demo).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'scanstream-demo' },
      frames: { type: 'string', default: '90' },
      voxel: { type: 'string', default: '0.01' },
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
  const dir = resolve(values.out);
  const source = `synthetic:room?frames=${frames}`;
  console.error(`scanstream demo: fusing the synthetic room (${frames} frames, ${voxel * 100} cm voxels) into ${dir}`);
  const { report } = await fuseToFiles({
    source, out: join(dir, 'mesh.ply'), report: join(dir, 'report.json'), onBadFrame: 'fail',
    fusion: FusionOptionsSchema.parse({ voxelSize: voxel, poses: 'groundtruth' }),
  }, 'demo');

  console.error('scanstream demo: scoring the mesh against the true surface…');
  const seen = await lastValueFrom(syntheticSource({ scene: 'room', frames }).pipe(toArray()));
  const truth = cullToSeen(syntheticTruthMesh('room'), seen);
  await writePly(join(dir, 'truth.ply'), truth);
  const quality = evaluateMesh(await readPly(join(dir, 'mesh.ply')), truth, { voxelSize: voxel });
  const full = { ...report, quality };
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(full, null, 2)}\n`);
  const mm = (m: number): string => `${(m * 1000).toFixed(3)} mm`;
  console.log([
    `mesh:    ${join(dir, 'mesh.ply')} (${report.triangles} triangles, ${report.blocks} voxel blocks)`,
    `truth:   ${join(dir, 'truth.ply')}`,
    `report:  ${join(dir, 'report.json')}`,
    `speed:   ${report.framesPerSecond} frames/s; integrate ${report.stages.integrate?.medianMs} ms, mesh ${report.stages.mesh?.medianMs} ms (medians)`,
    `quality: accuracy median ${mm(quality.accuracy.median)}, mean ${mm(quality.accuracy.mean)}; completeness ${(quality.completeness * 100).toFixed(2)}%`,
  ].join('\n'));
  return 0;
}
