import { parseArgs } from 'node:util';
import { evaluateMesh } from '../eval/meshMetrics';
import { readPly } from '../fusion/ply';

const meshUsage = `usage: scanstream eval mesh --mesh A.ply --truth B.ply [--voxel 0.01] [--max-distance M]

Prints JSON: accuracy = distances from A's vertices to B's surface (mean, median,
p90, max, metres), completeness = fraction of B's surface (area-uniform samples)
within 2 voxels of A's surface.`;

export const evalUsage = `usage: scanstream eval mesh --mesh A.ply --truth B.ply [--voxel 0.01]
       scanstream eval traj --est A.txt --truth B.txt [--sim3] [--plot traj.svg]`;

async function evalMesh(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      mesh: { type: 'string' },
      truth: { type: 'string' },
      voxel: { type: 'string', default: '0.01' },
      'max-distance': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(meshUsage);
    return 0;
  }
  if (!values.mesh || !values.truth) {
    console.error(`scanstream eval mesh: --mesh and --truth are required\n\n${meshUsage}`);
    return 2;
  }
  const voxel = Number(values.voxel);
  if (!(voxel > 0)) {
    console.error(`scanstream eval mesh: --voxel must be a positive number of metres, got '${values.voxel}'`);
    return 2;
  }
  const maxDistance = values['max-distance'] !== undefined ? Number(values['max-distance']) : undefined;
  if (maxDistance !== undefined && !(maxDistance > 0)) {
    console.error(`scanstream eval mesh: --max-distance must be > 0, got '${values['max-distance']}'`);
    return 2;
  }
  const recon = await readPly(values.mesh);
  const truth = await readPly(values.truth);
  const report = evaluateMesh(recon, truth, { voxelSize: voxel, maxDistance });
  console.log(JSON.stringify({ mesh: values.mesh, truth: values.truth, voxel, ...report }, null, 2));
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === 'mesh') return evalMesh(rest);
  if (what === 'traj') {
    const mod = await import('./evalTraj');
    return mod.runEvalTraj(rest);
  }
  console.error(what ? `scanstream eval: unknown target '${what}'\n\n${evalUsage}` : evalUsage);
  return what === '--help' || what === '-h' ? 0 : 2;
}
