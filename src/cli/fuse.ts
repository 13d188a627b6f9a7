import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { BadFramePolicySchema, FusionOptionsSchema, type FusionOptions } from '../config';
import { countSourceFrames } from '../frames/frameCount';
import { openSource } from '../frames/source';
import { writePly } from '../fusion/ply';
import { NativeContext, type BackendChoice, type NativeRunReport } from '../native';
import { runFusion, type FusionRunReport } from '../pipeline/runFusion';
import { backendFlag, backendHelp, runCommand, type Command } from './args';
import { Progress } from './progress';

const fusion = FusionOptionsSchema.shape;

const command = {
  name: 'scanstream fuse',
  about: 'Fuses a sequence with known poses into a TSDF voxel volume and writes the mesh.',
  flags: z.object({
    source: z.string(),
    out: z.string(),
    poses: fusion.poses,
    voxel: fusion.voxelSize,
    sdfTrunc: fusion.sdfTrunc,
    minDepth: fusion.minDepth,
    maxDepth: fusion.maxDepth,
    maxBlocks: fusion.maxBlocks,
    onFull: fusion.onFull,
    intrinsics: z.string().optional(),
    depthScale: z.number().positive().optional(),
    onBadFrame: BadFramePolicySchema.default('fail'),
    report: z.string().optional(),
    backend: backendFlag,
  }),
  help: {
    source: { arg: 'SPEC', help: 'tum:PATH | recording:PATH | synthetic:room|tabletop[?frames=N&noise=S&seed=K]' },
    out: { arg: 'PATH', help: 'mesh (binary PLY with colours)' },
    poses: { help: 'ground truth, or the poses the source carries' },
    voxel: { arg: 'M', help: 'voxel size in metres' },
    sdfTrunc: { arg: 'M', help: 'truncation distance (default 4 voxels)' },
    minDepth: { arg: 'M', help: 'ignore depth below' },
    maxDepth: { arg: 'M', help: 'ignore depth beyond' },
    maxBlocks: { help: 'block budget, 6 KiB each' },
    onFull: { help: 'when the budget is spent: stop with an error, or keep going without new blocks' },
    intrinsics: { arg: 'I', help: 'fr1|fr2|fr3|fx,fy,cx,cy|PATH.json (TUM sources)' },
    depthScale: { arg: 'S', help: 'depth units per metre (TUM: 5000)' },
    onBadFrame: { help: 'stop at a bad frame, or warn and skip it' },
    report: { arg: 'PATH', help: 'JSON report (default: next to the mesh, .report.json)' },
    backend: backendHelp,
  },
} satisfies Command;

export interface FuseArgs {
  source: string;
  out: string;
  report: string;
  fusion: FusionOptions;
  intrinsics?: string;
  depthScale?: number;
  onBadFrame: 'fail' | 'skip';
  backend?: BackendChoice;
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

export function run(argv: string[]): Promise<number> {
  return runCommand(command, argv, async (f) => {
    const out = resolve(f.out);
    const args: FuseArgs = {
      source: f.source, out, report: resolve(f.report ?? `${out.replace(/\.ply$/i, '')}.report.json`), onBadFrame: f.onBadFrame,
      fusion: FusionOptionsSchema.parse({
        voxelSize: f.voxel, sdfTrunc: f.sdfTrunc, minDepth: f.minDepth, maxDepth: f.maxDepth, maxBlocks: f.maxBlocks, onFull: f.onFull, poses: f.poses,
      }),
      ...(f.intrinsics !== undefined ? { intrinsics: f.intrinsics } : {}),
      ...(f.depthScale !== undefined ? { depthScale: f.depthScale } : {}),
      ...(f.backend ? { backend: f.backend } : {}),
    };
    const { report } = await fuseToFiles(args);
    console.log(JSON.stringify({
      mesh: report.mesh, report: args.report, frames: report.frames, triangles: report.triangles, blocks: report.blocks,
      framesPerSecond: report.framesPerSecond, pipelineFramesPerSecond: report.pipelineFramesPerSecond,
      integrateMedianMs: report.stages.integrate?.medianMs,
      meshMedianMs: report.stages.mesh?.medianMs,
    }, null, 2));
    return 0;
  });
}
