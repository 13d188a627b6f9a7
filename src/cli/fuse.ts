import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FusionOptionsSchema } from '../config';
import { countSourceFrames } from '../frames/frameCount';
import { openSource } from '../frames/source';
import { writePly } from '../fusion/ply';
import { NativeContext, type BackendChoice, type NativeRunReport } from '../native';
import { runFusion, type FusionRunReport } from '../pipeline/runFusion';
import { backendFlagUsage, parseBackendFlag } from './backendFlag';
import { Progress } from './progress';

export const fuseUsage = `usage: scanstream fuse --source SPEC --out mesh.ply [options]

Fuses a sequence with known poses into a TSDF voxel volume and writes the mesh.

  --source SPEC        tum:PATH | recording:PATH | synthetic:room|tabletop[?frames=N&noise=S&seed=K]
  --out PATH           mesh (binary PLY with colours)
  --poses P            groundtruth (default) | source (poses the source carries)
  --voxel M            voxel size in metres (default 0.01)
  --sdf-trunc M        truncation distance (default 4 voxels)
  --min-depth M        ignore depth below (default 0.1)
  --max-depth M        ignore depth beyond (default 6)
  --max-blocks N       block budget, 6 KiB each (default 131072 = 768 MiB)
  --on-full error|drop when the budget is spent: stop with an error (default) or keep going without new blocks
  --intrinsics I       fr1|fr2|fr3|fx,fy,cx,cy|PATH.json (TUM sources)
  --depth-scale S      depth units per metre (TUM: 5000)
  --on-bad-frame fail|skip  stop at a bad frame (default) or warn and skip it
  --report PATH        JSON report (default: next to the mesh, .report.json)
  ${backendFlagUsage}`;

export interface FuseArgs {
  source: string;
  out: string;
  report: string;
  fusion: ReturnType<typeof FusionOptionsSchema.parse>;
  intrinsics?: string;
  depthScale?: number;
  onBadFrame: 'fail' | 'skip';
  backend?: BackendChoice;
}

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} expects a number, got '${value}'`);
  return v;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseFuseArgs(argv: string[]): FuseArgs | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string' }, out: { type: 'string' }, poses: { type: 'string', default: 'groundtruth' },
      voxel: { type: 'string' }, 'sdf-trunc': { type: 'string' }, 'min-depth': { type: 'string' }, 'max-depth': { type: 'string' },
      'max-blocks': { type: 'string' }, 'on-full': { type: 'string' }, intrinsics: { type: 'string' },
      'depth-scale': { type: 'string' }, 'on-bad-frame': { type: 'string', default: 'fail' }, report: { type: 'string' },
      backend: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (!values.source) throw new UsageError('--source is required');
  if (!values.out) throw new UsageError('--out is required');
  if (values['on-bad-frame'] !== 'fail' && values['on-bad-frame'] !== 'skip') {
    throw new UsageError(`--on-bad-frame must be fail or skip, got '${values['on-bad-frame']}'`);
  }
  const backendFlag = parseBackendFlag(values.backend);
  if ('error' in backendFlag) throw new UsageError(backendFlag.error);
  const parsed = FusionOptionsSchema.safeParse({
    voxelSize: num('voxel', values.voxel), sdfTrunc: num('sdf-trunc', values['sdf-trunc']),
    minDepth: num('min-depth', values['min-depth']), maxDepth: num('max-depth', values['max-depth']),
    maxBlocks: num('max-blocks', values['max-blocks']), onFull: values['on-full'], poses: values.poses,
  });
  if (!parsed.success) {
    throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const out = resolve(values.out);
  return {
    source: values.source, out, report: resolve(values.report ?? out.replace(/\.ply$/i, '') + '.report.json'),
    fusion: parsed.data, intrinsics: values.intrinsics, depthScale: num('depth-scale', values['depth-scale']),
    onBadFrame: values['on-bad-frame'], ...backendFlag,
  };
}

export interface FuseResult {
  report: FusionRunReport & { source: string; mesh: string; backend: string; native: NativeRunReport };
}

/** Fuses a source into a mesh file and a report file; used by `fuse` and `demo`. */
export async function fuseToFiles(args: FuseArgs, label = 'fusing'): Promise<FuseResult> {
  const frames$ = openSource(args.source, {
    onBadFrame: args.onBadFrame,
    ...(args.intrinsics ? { intrinsics: args.intrinsics } : {}),
    ...(args.depthScale !== undefined ? { depthScale: args.depthScale } : {}),
  });
  const total = await countSourceFrames(args.source);
  const ctx = NativeContext.create(args.backend ? { backend: args.backend } : {});
  const progress = new Progress(label, total);
  try {
    const { mesh, report } = await runFusion(ctx, frames$, args.fusion, (u) => {
      if (u.timings.integrate !== undefined) progress.tick();
    });
    progress.finish();
    if (report.frames === 0) throw new Error(`source '${args.source}' produced no frame to fuse`);
    mkdirSync(dirname(args.out), { recursive: true });
    await writePly(args.out, mesh);
    const full = { source: args.source, mesh: args.out, backend: ctx.backend, options: args.fusion, ...report, native: ctx.runReport() };
    mkdirSync(dirname(args.report), { recursive: true });
    writeFileSync(args.report, `${JSON.stringify(full, null, 2)}\n`);
    return { report: full };
  } finally {
    progress.finish();
    ctx.destroy();
  }
}

export async function run(argv: string[]): Promise<number> {
  let args: FuseArgs | 'help';
  try {
    args = parseFuseArgs(argv);
  } catch (e) {
    console.error(`scanstream fuse: ${(e as Error).message}\n\n${fuseUsage}`);
    return 2;
  }
  if (args === 'help') {
    console.log(fuseUsage);
    return 0;
  }
  const { report } = await fuseToFiles(args);
  console.log(JSON.stringify({
    mesh: report.mesh, report: args.report, frames: report.frames, triangles: report.triangles, blocks: report.blocks,
    framesPerSecond: report.framesPerSecond, pipelineFramesPerSecond: report.pipelineFramesPerSecond,
    integrateMedianMs: report.stages.integrate?.medianMs,
    meshMedianMs: report.stages.mesh?.medianMs,
  }, null, 2));
  return 0;
}
