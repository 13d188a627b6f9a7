import { z } from 'zod';
import { evaluateMesh } from '../eval/meshMetrics';
import { readPly } from '../fusion/ply';
import { runCommand, type Command } from './args';

const meshCommand = {
  name: 'scanstream eval mesh',
  about: `Prints JSON: accuracy = distances from A's vertices to B's surface (mean, median,
p90, max, metres), completeness = fraction of B's surface (area-uniform samples)
within 2 voxels of A's surface.`,
  flags: z.object({
    mesh: z.string(),
    truth: z.string(),
    voxel: z.number().positive().default(0.01),
    maxDistance: z.number().positive().optional(),
  }),
  help: {
    mesh: { arg: 'A.ply', help: 'the reconstruction' },
    truth: { arg: 'B.ply', help: 'the true surface (a triangle mesh)' },
    voxel: { arg: 'M', help: 'voxel size of the reconstruction, metres (completeness within 2 voxels)' },
    maxDistance: { arg: 'M', help: 'leave out vertices farther than this from the truth' },
  },
} satisfies Command;

const targets = 'scanstream eval mesh --mesh A.ply --truth B.ply [options]\n       scanstream eval traj --est A.txt --truth B.txt [options]';

function evalMesh(argv: string[]): Promise<number> {
  return runCommand(meshCommand, argv, async (f) => {
    const report = evaluateMesh(await readPly(f.mesh), await readPly(f.truth), { voxelSize: f.voxel, maxDistance: f.maxDistance });
    console.log(JSON.stringify({ mesh: f.mesh, truth: f.truth, voxel: f.voxel, ...report }, null, 2));
    return 0;
  });
}

export async function run(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === 'mesh') return evalMesh(rest);
  if (what === 'traj') return (await import('./evalTraj')).run(rest);
  if (what === '--help' || what === '-h') {
    console.log(`usage: ${targets}`);
    return 0;
  }
  console.error(`${what ? `scanstream eval: unknown target '${what}'\n\n` : ''}usage: ${targets}`);
  return 2;
}
