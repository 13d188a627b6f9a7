import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { take, type Observable } from 'rxjs';
import { TrackingOptionsSchema, type FusionOptionsInput, type TrackingOptionsInput } from '../config';
import { absoluteTrajectoryError, relativePoseError, trajectorySvg, type AteResult } from '../eval/trajectory';
import type { Frame } from '../frames/frame';
import { formatTumTrajectory, tumQuaternionFromPose } from '../frames/trajectory';
import { tumSource } from '../frames/tum';
import { NativeContext } from '../native/context';
import { runSlam } from '../pipeline/slam';
import { meshBlocksToPly } from '../server/ply';
import { backendFlagUsage, parseBackendFlag } from './backendFlag';
import { Progress } from './progress';
import { monoScanUsage, parseMonoFlags, runMonoScan } from './scanMono';

const usage = `usage: scanstream scan --source SPEC --out DIR [options]

Estimates the camera trajectory of an RGB-D sequence (frame-to-model ICP,
feature relocalisation, keyframes), fuses a TSDF mesh from it, and writes
  DIR/trajectory.txt  TUM format, one line per frame (lost frames as '# … lost')
  DIR/mesh.ply        the fused mesh
  DIR/report.json     per-stage median ms, frames/s, keyframes, landmarks, frames lost,
                      and ATE/RPE when the source has ground truth (never used for tracking)
  DIR/trajectory.svg  estimate vs truth (top view, error over time), with ground truth

SPEC: tum:PATH (or a TUM folder path), or any source spec src/frames/source.ts
opens (synthetic:room, recording:DIR …).

options:
  --intrinsics fr1|fr2|fr3|fx,fy,cx,cy|FILE.json   override the source's camera
  --frames N          stop after N frames
  --voxel M           TSDF voxel size in metres (default 0.01)
  --max-depth M       ignore depth beyond M metres (default 4)
  --mesh-every N      re-mesh every N frames (default 6: 5 Hz at 30 fps)
  --geometric         point-to-plane ICP only (drops the photometric term of the default hybrid ICP)
  --tracking JSON     any tracking option of src/config.ts, e.g. '{"downsample":0}'
  --threads N         native worker threads (default: one per core)
  ${backendFlagUsage}
  --quiet             no progress line
  --mode rgbd|mono    rgbd (default): depth + colour; mono: colour only (webcams, phones)

${monoScanUsage}`;

async function openFrames(spec: string, intrinsics: string | undefined): Promise<Observable<Frame>> {
  if (spec.startsWith('tum:')) return tumSource(resolve(spec.slice(4)), intrinsics ? { intrinsics } : {});
  const sourceModule = new URL('../frames/source.ts', import.meta.url).href;
  let openSource: ((s: string, o?: Record<string, unknown>) => Observable<Frame>) | undefined;
  try {
    const mod = (await import(sourceModule)) as { openSource?: typeof openSource };
    openSource = mod.openSource;
  } catch {
    openSource = undefined;
  }
  if (openSource) return openSource(spec, intrinsics ? { intrinsics } : {});
  if (!spec.includes(':')) return tumSource(resolve(spec), intrinsics ? { intrinsics } : {});
  throw new Error(`cannot open source '${spec}': only tum:PATH is available (src/frames/source.ts is missing)`);
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        source: { type: 'string' },
        out: { type: 'string' },
        intrinsics: { type: 'string' },
        frames: { type: 'string' },
        voxel: { type: 'string', default: '0.01' },
        'max-depth': { type: 'string', default: '4' },
        'mesh-every': { type: 'string', default: '6' },
        geometric: { type: 'boolean', default: false },
        tracking: { type: 'string' },
        threads: { type: 'string' },
        backend: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        mode: { type: 'string', default: 'rgbd' },
        fov: { type: 'string' },
        distortion: { type: 'string' },
        'voxel-ratio': { type: 'string' },
        mono: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (e) {
    console.error(`scanstream scan: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    console.log(usage);
    return 0;
  }
  if (!v.source || !v.out) {
    console.error(`scanstream scan: --source and --out are required\n\n${usage}`);
    return 2;
  }
  const number = (name: string, text: string | undefined, integer: boolean): number | null | undefined => {
    if (text === undefined) return undefined;
    const x = Number(text);
    if (!Number.isFinite(x) || x <= 0 || (integer && !Number.isInteger(x))) {
      console.error(`scanstream scan: --${name} must be a positive ${integer ? 'integer' : 'number'}, got '${text}'`);
      return null;
    }
    return x;
  };
  const backendFlag = parseBackendFlag(v.backend);
  if ('error' in backendFlag) {
    console.error(`scanstream scan: ${backendFlag.error}`);
    return 2;
  }
  if (v.mode !== 'rgbd' && v.mode !== 'mono') {
    console.error(`scanstream scan: --mode must be rgbd or mono, got '${v.mode}'`);
    return 2;
  }
  const monoFlags = { mono: v.mono, fov: v.fov, distortion: v.distortion, voxelRatio: v['voxel-ratio'] };
  if (v.mode === 'mono') {
    const checkedMono = parseMonoFlags(monoFlags);
    if ('error' in checkedMono) {
      console.error(`scanstream scan: ${checkedMono.error}`);
      return 2;
    }
  }
  const frames = number('frames', v.frames, true);
  const voxel = number('voxel', v.voxel, false);
  const maxDepth = number('max-depth', v['max-depth'], false);
  const meshEvery = number('mesh-every', v['mesh-every'], true);
  const threads = number('threads', v.threads, true);
  if ([frames, voxel, maxDepth, meshEvery, threads].includes(null)) return 2;
  let trackingInput: TrackingOptionsInput = {};
  if (v.tracking) {
    try {
      trackingInput = JSON.parse(v.tracking) as TrackingOptionsInput;
    } catch (e) {
      console.error(`scanstream scan: --tracking must be JSON (${(e as Error).message})`);
      return 2;
    }
  }
  if (v.geometric) trackingInput = { ...trackingInput, useColor: false };
  if (typeof maxDepth === 'number') trackingInput = { maxDepth, ...trackingInput };
  const checked = TrackingOptionsSchema.safeParse(trackingInput);
  if (!checked.success) {
    console.error(`scanstream scan: bad tracking options: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return 2;
  }
  const fusion: FusionOptionsInput = { voxelSize: voxel as number, maxDepth: maxDepth as number, meshEvery: meshEvery as number };

  const out = resolve(v.out);
  mkdirSync(out, { recursive: true });
  let frames$ = await openFrames(v.source, v.intrinsics);
  if (frames !== undefined) frames$ = frames$.pipe(take(frames as number));
  const ctx = NativeContext.create({ ...backendFlag, ...(threads ? { threads: threads as number } : {}) });
  const progress = v.quiet ? null : new Progress('scan', typeof frames === 'number' ? frames : undefined);
  if (v.mode === 'mono') {
    try {
      const code = await runMonoScan({ ctx, frames$, out, source: v.source, ...monoFlags, onFrame: () => progress?.tick() });
      progress?.finish();
      return code;
    } finally {
      ctx.destroy();
    }
  }
  try {
    const result = await runSlam(ctx, frames$, { fusion, tracking: trackingInput }, (u) => {
      if (u.timings.prepare !== undefined) progress?.tick();
    });
    progress?.finish();
    const lines = ['# scanstream scan: estimated camera-to-world poses', '# timestamp tx ty tz qx qy qz qw'];
    for (const e of result.trajectory) {
      if (e.pose) lines.push([e.timestamp, ...tumQuaternionFromPose(e.pose)].map((x) => (Object.is(x, -0) ? '0' : String(x))).join(' '));
      else lines.push(`# ${e.timestamp} ${e.state}`);
    }
    writeFileSync(join(out, 'trajectory.txt'), `${lines.join('\n')}\n`);
    writeFileSync(join(out, 'mesh.ply'), meshBlocksToPly([result.mesh]));
    const est = result.trajectory.flatMap((e) => (e.pose ? [{ timestamp: e.timestamp, pose: e.pose }] : []));
    const truth = result.trajectory.flatMap((e) => (e.groundTruth ? [{ timestamp: e.timestamp, pose: e.groundTruth }] : []));
    let evaluation: Record<string, unknown> | undefined;
    if (truth.length >= 3 && est.length >= 3) {
      const ate: AteResult = absoluteTrajectoryError(est, truth);
      let rpe: unknown;
      try {
        rpe = { perFrame: relativePoseError(est, truth, { fixedDelta: true, delta: 1, deltaUnit: 'f' }) };
      } catch (e) {
        rpe = { error: (e as Error).message };
      }
      const { matches: _m, alignment: _a, ...ateStats } = ate;
      evaluation = { ate: ateStats, rpe };
      writeFileSync(join(out, 'trajectory.svg'), trajectorySvg(ate, `scan ${v.source}`));
      writeFileSync(join(out, 'groundtruth.txt'), formatTumTrajectory(truth, 'ground truth of the scanned frames'));
    }
    const report = { source: v.source, ...result.report, ...(evaluation ? { evaluation } : {}), native: ctx.runReport() };
    writeFileSync(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    const summary: Record<string, unknown> = {
      frames: result.report.frames, lost: result.report.lost, keyframes: result.report.keyframes,
      fps: result.report.framesPerSecond, pipelineFps: result.report.pipelineFramesPerSecond,
    };
    if (evaluation) summary.ateRmse = (evaluation.ate as { rmse: number }).rmse;
    console.log(JSON.stringify({ out, ...summary }));
    return 0;
  } finally {
    ctx.destroy();
  }
}
