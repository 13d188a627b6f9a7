/**
 * `scanstream scan`: estimates the camera trajectory of a sequence (RGB-D
 * SLAM, or monocular with --mode mono), fuses a mesh from it and writes what
 * scanOutput.ts lists.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { take } from 'rxjs';
import { z } from 'zod';
import { FusionOptionsSchema, TrackingOptionsSchema } from '../config';
import { openSource } from '../frames/source';
import { MonoOptionsSchema } from '../mono/options';
import { NativeContext } from '../native/context';
import { backendFlag, backendHelp, checkOptions, jsonObjectFlag, runCommand, type Command } from './args';
import { Progress } from './progress';
import { runRgbdScan } from './scanRgbd';
import { distortionFlag, monoOptions, runMonoScan } from './scanMono';

const command = {
  name: 'scanstream scan',
  about: `Estimates the camera trajectory of a sequence (RGB-D: frame-to-model ICP, feature
relocalisation, keyframes), fuses a TSDF mesh from it, and writes
  DIR/trajectory.txt  TUM format, one line per frame (a frame without a pose as '# … state')
  DIR/mesh.ply        the fused mesh
  DIR/report.json     per-stage median ms, frames/s, keyframes, landmarks, frames lost,
                      and ATE/RPE when the source has ground truth (never used for tracking)
  DIR/trajectory.svg  estimate vs truth (top view, error over time), with ground truth

SPEC: any source spec src/frames/source.ts opens (tum:PATH, synthetic:room, recording:DIR …).`,
  flags: z.object({
    source: z.string(),
    out: z.string(),
    mode: z.enum(['rgbd', 'mono']).default('rgbd'),
    intrinsics: z.string().optional(),
    frames: z.number().int().positive().optional(),
    voxel: FusionOptionsSchema.shape.voxelSize,
    maxDepth: z.number().positive().default(4),
    meshEvery: FusionOptionsSchema.shape.meshEvery,
    geometric: z.boolean().default(false),
    tracking: jsonObjectFlag(),
    fov: z.number().min(10).max(170).optional(),
    distortion: distortionFlag,
    voxelRatio: MonoOptionsSchema.shape.voxelRatio.unwrap().optional(),
    mono: jsonObjectFlag(),
    threads: z.number().int().positive().optional(),
    backend: backendFlag,
    quiet: z.boolean().default(false),
  }),
  help: {
    source: { arg: 'SPEC', help: 'the sequence' },
    out: { arg: 'DIR', help: 'where the files go' },
    mode: { help: 'rgbd: depth + colour; mono: colour only (webcams, phones)' },
    intrinsics: { arg: 'fr1|fr2|fr3|fx,fy,cx,cy|FILE.json', help: 'override the source\'s camera' },
    frames: { help: 'stop after N frames' },
    voxel: { arg: 'M', help: 'rgbd: TSDF voxel size in metres' },
    maxDepth: { arg: 'M', help: 'rgbd: ignore depth beyond M metres' },
    meshEvery: { help: 're-mesh every N frames (6: 5 Hz at 30 fps; 0: only at the end)' },
    geometric: { help: 'rgbd: point-to-plane ICP only (drops the photometric term of the default hybrid ICP)' },
    tracking: { arg: 'JSON', help: 'rgbd: any tracking option of src/config.ts, e.g. \'{"downsample":0}\'' },
    fov: { arg: 'DEG', help: 'mono: horizontal field of view (10..170) to guess the intrinsics from (default: the source\'s)' },
    distortion: { arg: 'k1,k2,p1,p2,k3', help: 'mono: lens distortion of the source camera (OpenCV model)' },
    voxelRatio: { arg: 'R', help: 'mono: TSDF voxel as a fraction of the scene\'s median depth (default 0.01)' },
    mono: { arg: 'JSON', help: 'mono: any option of src/mono/options.ts, e.g. \'{"initMinParallaxDeg":0.7}\'' },
    threads: { help: 'native worker threads (default: one per core)' },
    backend: backendHelp,
    quiet: { help: 'no progress line' },
  },
  footer: `mono mode: features, two-view initialisation, PnP tracking, windowed bundle
adjustment, plane-sweep depth on keyframes. The map has no metric scale:
trajectory.txt and mesh.ply are in units of the first keyframe's median depth;
ATE in report.json is after Sim3 alignment.`,
} satisfies Command;

export function run(argv: string[]): Promise<number> {
  return runCommand(command, argv, async (f) => {
    // option objects are checked before anything is opened
    const mono = f.mode === 'mono' ? monoOptions(f) : null;
    let tracking = { ...(f.tracking ?? {}) };
    if (f.geometric) tracking = { ...tracking, useColor: false };
    tracking = { maxDepth: f.maxDepth, ...tracking };
    checkOptions(TrackingOptionsSchema, tracking, '--tracking');
    const out = resolve(f.out);
    mkdirSync(out, { recursive: true });
    let frames$ = openSource(f.source, f.intrinsics !== undefined ? { intrinsics: f.intrinsics } : {});
    if (f.frames !== undefined) frames$ = frames$.pipe(take(f.frames));
    const ctx = NativeContext.create({ ...(f.backend ? { backend: f.backend } : {}), ...(f.threads ? { threads: f.threads } : {}) });
    const progress = f.quiet ? null : new Progress('scan', f.frames);
    try {
      const run = { ctx, frames$, out, source: f.source, progress };
      if (mono) return await runMonoScan({ ...run, ...mono });
      return await runRgbdScan({ ...run, fusion: { voxelSize: f.voxel, maxDepth: f.maxDepth, meshEvery: f.meshEvery }, tracking });
    } finally {
      progress?.finish();
      ctx.destroy();
    }
  });
}
