import { afterAll, expect, test } from 'bun:test';
import { SyntheticSequence } from '../../src/frames/synthetic/source';
import { scaleIntrinsics } from '../../src/geometry/intrinsics';
import { boxDownsample, grayImage } from '../../src/mono/image';
import { NativeContext, NativeError } from '../../src/native';
import { PlaneSweep } from '../../src/native/kernels/planeSweep';
import { planeScene } from './planeScene';

const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => ctx.destroy());

function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length ? (s[s.length >> 1] as number) : NaN;
}

test('synthetic room keyframe at 160×120, 64 planes, 3 source views: median relative depth error ≤ 2% where confident', () => {
  // colour rendered at 640×480 and box-downsampled (as the pipeline does); truth rendered at the low resolution's pixel centres
  const seq = new SyntheticSequence({ scene: 'room', frames: 120, seed: 2 });
  const K = scaleIntrinsics(seq.intrinsics, 4);
  const truth = new SyntheticSequence({ scene: 'room', frames: 120, seed: 2, width: K.width, height: K.height, fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy });
  const small = (i: number): { gray: Uint8Array; pose: Float64Array } => {
    const f = seq.frame(i);
    return { gray: boxDownsample(grayImage(ctx, f.rgb, f.width, f.height), f.width, f.height, 1, 4), pose: f.groundTruthPose as Float64Array };
  };
  const ref = small(60);
  const trueDepth = truth.frame(60).depth as Float32Array;
  const sweep = new PlaneSweep(ctx);
  try {
    const r = sweep.run(ref.gray, ref.pose, [small(48), small(72), small(54)], K, { minDepth: 0.5, maxDepth: 6, planes: 64, radius: 2, bestViews: 2 });
    const errors: number[] = [];
    let confident = 0;
    for (let i = 0; i < trueDepth.length; i++) {
      expect(Number.isNaN(r.depth[i] as number)).toBe(false);
      if (!((r.depth[i] as number) > 0) || (r.zncc[i] as number) < 0.7 || (r.confidence[i] as number) < 0.2) continue;
      confident++;
      errors.push(Math.abs((r.depth[i] as number) - (trueDepth[i] as number)) / (trueDepth[i] as number));
    }
    const median = medianOf(errors);
    console.log(`plane sweep, synthetic room keyframe: ${confident}/${trueDepth.length} confident pixels, median relative error ${(median * 100).toFixed(2)}%`);
    expect(confident).toBeGreaterThan(0.5 * trueDepth.length);
    expect(median).toBeLessThanOrEqual(0.02);
  } finally {
    sweep.destroy();
  }
});

test('a textured slanted plane: depth within 1% almost everywhere, the cost minimum at the true plane, no NaN', () => {
  const scene = planeScene(11, 96, 72, 3);
  const sweep = new PlaneSweep(ctx);
  try {
    const r = sweep.run(scene.ref.gray, scene.ref.pose, scene.views, scene.K, { minDepth: 1.2, maxDepth: 4, planes: 64, radius: 2, bestViews: 2 });
    const errors: number[] = [];
    for (let i = 0; i < r.depth.length; i++) {
      expect(Number.isFinite(r.depth[i] as number)).toBe(true);
      if ((r.depth[i] as number) > 0 && (r.zncc[i] as number) > 0.8) errors.push(Math.abs((r.depth[i] as number) / (scene.ref.depth[i] as number) - 1));
    }
    expect(errors.length).toBeGreaterThan(0.7 * r.depth.length);
    expect(medianOf(errors)).toBeLessThan(0.01);
  } finally {
    sweep.destroy();
  }
});

test('a blank reference image gives no depth (textureless), never NaN', () => {
  const scene = planeScene(3, 64, 48, 2);
  const sweep = new PlaneSweep(ctx);
  try {
    const r = sweep.run(new Uint8Array(64 * 48).fill(120), scene.ref.pose, scene.views, scene.K, { minDepth: 1, maxDepth: 4, planes: 16 });
    expect(r.depth.every((d) => d === 0)).toBe(true);
    expect(r.confidence.every((c) => c === 0)).toBe(true);
  } finally {
    sweep.destroy();
  }
});

test('bad arguments are refused with a message naming them', () => {
  const scene = planeScene(3, 64, 48, 1);
  const sweep = new PlaneSweep(ctx);
  try {
    expect(() => sweep.run(scene.ref.gray, scene.ref.pose, scene.views, scene.K, { minDepth: 2, maxDepth: 1 })).toThrow(/min_depth < max_depth/);
    expect(() => sweep.run(scene.ref.gray, scene.ref.pose, scene.views, scene.K, { minDepth: 1, maxDepth: 2, planes: 2 })).toThrow(NativeError);
    expect(() => sweep.run(scene.ref.gray, scene.ref.pose, [], scene.K, { minDepth: 1, maxDepth: 2 })).toThrow(/1\.\.4 source views/);
    expect(() => sweep.run(scene.ref.gray.subarray(1), scene.ref.pose, scene.views, scene.K, { minDepth: 1, maxDepth: 2 })).toThrow(/pixels/);
  } finally {
    sweep.destroy();
  }
});
