/**
 * Tracking benchmark at 640×480 on TUM fr1/rpy: ORB detect+describe (1000
 * features), reciprocal Hamming matching of 1000 × 1000 ORB descriptors, and
 * the SLAM pipeline per stage (prepare, track, keyframes, integrate, mesh)
 * with end-to-end frames/s and ATE. Peers in the same run (when
 * /usr/bin/python3 has them): OpenCV ORB_create(1000).detectAndCompute,
 * BFMatcher(NORM_HAMMING, crossCheck=True).match on the same descriptors
 * (whose pairs must equal our reciprocal matches), Open3D 0.16 RGB-D
 * odometry (colour term) on consecutive frames.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import sharp from 'sharp';
import { absoluteTrajectoryError } from '../src/eval/trajectory';
import type { Frame } from '../src/frames/frame';
import { tumSource } from '../src/frames/tum';
import { SeededRandom } from '../src/geometry/random';
import { NativeContext } from '../src/native';
import { runSlam } from '../src/pipeline/slam';
import { OrbExtractor } from '../src/tracking/features';
import { ReciprocalMatcher } from '../src/tracking/matching';

const PYTHON = '/usr/bin/python3';
const root = resolve(import.meta.dir, '..');
const TUM = resolve(root, '..', 'shared', 'data', 'tum_fr1_rpy');

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? (s[s.length >> 1] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2) : NaN;
}

interface Timing {
  medianMs: number;
  minMs: number;
  samples: number[];
}

function timeIt(reps: number, fn: () => void): Timing {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return { medianMs: round3(median(t)), minMs: round3(Math.min(...t)), samples: t };
}

/** ours timed before and after the peer ran: one median over both, so a load change during the run hits both sides */
function pooled(before: Timing, after: Timing): { medianMs: number; minMs: number; beforeMs: number; afterMs: number } {
  const all = [...before.samples, ...after.samples];
  return { medianMs: round3(median(all)), minMs: round3(Math.min(...all)), beforeMs: before.medianMs, afterMs: after.medianMs };
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** BT.601 luma as ss_rgb_to_gray computes it */
function toGray(f: Frame): Uint8Array {
  const g = new Uint8Array(f.width * f.height);
  for (let i = 0; i < g.length; i++) g[i] = (77 * f.rgb[3 * i]! + 150 * f.rgb[3 * i + 1]! + 29 * f.rgb[3 * i + 2]! + 128) >> 8;
  return g;
}

function peer(args: string[]): Record<string, unknown> | null {
  if (!existsSync(PYTHON)) return null;
  const r = spawnSync(PYTHON, [join(import.meta.dir, 'peers', 'tracking_opencv.py'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').slice(-3).join(' ') };
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

export async function runTrackingBench(): Promise<object> {
  if (!existsSync(TUM)) return { skipped: `no TUM data at ${TUM}` };
  const frames = await lastValueFrom(tumSource(TUM).pipe(toArray()));
  const work = mkdtempSync(join(tmpdir(), 'ss-bench-tracking-'));
  const ctx = NativeContext.create();
  const ctx1 = NativeContext.create({ threads: 1 });
  try {
    const f0 = frames[0] as Frame, f1 = frames[1] as Frame;
    const W = f0.width, H = f0.height;
    const g0 = toGray(f0), g1 = toGray(f1);
    const grayPng = join(work, 'gray0.png');
    writeFileSync(grayPng, await sharp(Buffer.from(g0), { raw: { width: W, height: H, channels: 1 } }).png().toBuffer());

    // ORB: ours (default threads and one thread), interleaved with the peer below
    const orb = new OrbExtractor(ctx, { maxFeatures: 1000 });
    const orb1 = new OrbExtractor(ctx1, { maxFeatures: 1000 });
    const feats0 = orb.extract(g0, W, H);
    const feats1 = orb.extract(g1, W, H);
    timeIt(10, () => orb.extract(g0, W, H));
    const orbBefore = timeIt(50, () => orb.extract(g0, W, H));
    const orb1Before = timeIt(50, () => orb1.extract(g0, W, H));

    // matching: 1000 × 1000 ORB descriptors (two TUM frames; topped up with random ones if a frame has fewer)
    const rng = new SeededRandom(7);
    const pad = (d: Uint8Array): Uint8Array => {
      const out = new Uint8Array(1000 * 32);
      out.set(d.subarray(0, Math.min(d.length, out.length)));
      for (let i = d.length; i < out.length; i++) out[i] = rng.int(256);
      return out;
    };
    const da = pad(feats0.descriptors), db = pad(feats1.descriptors);
    writeFileSync(join(work, 'a.bin'), da);
    writeFileSync(join(work, 'b.bin'), db);
    const matcher = new ReciprocalMatcher(ctx);
    const matcher1 = new ReciprocalMatcher(ctx1);
    const ours = matcher.matchBinary(da, db);
    timeIt(10, () => matcher.matchBinary(da, db));
    const matchBefore = timeIt(100, () => matcher.matchBinary(da, db));
    const match1Before = timeIt(100, () => matcher1.matchBinary(da, db));

    const py = peer(['--gray', grayPng, '--desc-a', join(work, 'a.bin'), '--desc-b', join(work, 'b.bin'), '--tum', TUM, '--pairs', '8', '--reps', '50']);
    // ours again after the peer: the machine's load changes during a run
    const orbOurs = pooled(orbBefore, timeIt(50, () => orb.extract(g0, W, H)));
    const orbOurs1 = pooled(orb1Before, timeIt(50, () => orb1.extract(g0, W, H)));
    const matchOurs = pooled(matchBefore, timeIt(100, () => matcher.matchBinary(da, db)));
    const matchOurs1 = pooled(match1Before, timeIt(100, () => matcher1.matchBinary(da, db)));

    const cvOrb = (py?.orb ?? null) as { medianMs: number; features: number } | null;
    const cvBf = (py?.bfCrossCheck ?? null) as { medianMs: number; matches: number; pairs: [number, number][] } | null;
    let samePairs: boolean | null = null;
    if (cvBf?.pairs) {
      const a = Array.from(ours.pairs);
      const b = cvBf.pairs.flat();
      samePairs = a.length === b.length && a.every((v, i) => v === b[i]);
    }
    orb.destroy();
    orb1.destroy();
    matcher.destroy();
    matcher1.destroy();

    // the SLAM pipeline on the 60 frames, decoded beforehand (source decoding is not the pipeline's cost)
    const slamRuns = [];
    for (let pass = 0; pass < 2; pass++) {
      const r = await runSlam(ctx, from(frames), { fusion: { voxelSize: 0.01, maxDepth: 4, meshEvery: 6 }, tracking: { maxDepth: 4 } });
      const est = r.trajectory.flatMap((e) => (e.pose ? [{ timestamp: e.timestamp, pose: e.pose }] : []));
      const truth = r.trajectory.flatMap((e) => (e.groundTruth ? [{ timestamp: e.timestamp, pose: e.groundTruth }] : []));
      slamRuns.push({ ...r.report, lostFrames: undefined, ateRmse: round3(absoluteTrajectoryError(est, truth).rmse * 1000) / 1000 });
    }
    const slam = slamRuns[1] as (typeof slamRuns)[number];
    const o3d = (py?.open3dOdometry ?? null) as { medianMs: number } | null;
    const ratio = (peerMs: number | undefined, oursMs: number): number | null => (peerMs ? round3(peerMs / oursMs) : null);
    return {
      data: TUM,
      orb: {
        ours: { ...orbOurs, features: feats0.count, threads: ctx.threads },
        oursOneThread: { ...orbOurs1, threads: 1 },
        opencv: cvOrb ? { medianMs: round3(cvOrb.medianMs), features: cvOrb.features } : null,
        speedupVsOpenCV: ratio(cvOrb?.medianMs, orbOurs.medianMs),
        speedupVsOpenCVOneThread: ratio(cvOrb?.medianMs, orbOurs1.medianMs),
      },
      match1000x1000: {
        ours: { ...matchOurs, threads: ctx.threads, matches: ours.pairs.length / 2 },
        oursOneThread: { ...matchOurs1, threads: 1 },
        opencvBfCrossCheck: cvBf ? { medianMs: round3(cvBf.medianMs), matches: cvBf.matches } : null,
        sameMatchesAsOpenCV: samePairs,
        speedupVsOpenCV: ratio(cvBf?.medianMs, matchOurs.medianMs),
        speedupVsOpenCVOneThread: ratio(cvBf?.medianMs, matchOurs1.medianMs),
      },
      slam: {
        frames: slam.frames, lost: slam.lost, keyframes: slam.keyframes, landmarks: slam.landmarks,
        ateRmseM: slam.ateRmse, pipelineFramesPerSecond: slam.pipelineFramesPerSecond, sustainedFramesPerSecond: slam.sustainedFramesPerSecond,
        stagesMeanMs: Object.fromEntries(Object.entries(slam.stages).map(([k, v]) => [k, v.meanMs])),
        stagesMedianMs: Object.fromEntries(Object.entries(slam.stages).map(([k, v]) => [k, v.medianMs])),
        firstPass: { pipelineFramesPerSecond: slamRuns[0]?.pipelineFramesPerSecond, ateRmseM: slamRuns[0]?.ateRmse },
      },
      open3dOdometry: o3d ? { medianMsPerFrame: round3(o3d.medianMs), term: 'color' } : (py?.open3dOdometry ?? null),
      opencv: py?.opencv ?? null,
    };
  } finally {
    ctx.destroy();
    ctx1.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  runTrackingBench().then((r) => console.log(JSON.stringify(r, null, 2)));
}
