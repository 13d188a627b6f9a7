import { afterAll, describe, expect, test } from 'bun:test';
import { TrackingOptionsSchema } from '../../src/config';
import { TsdfVolume } from '../../src/fusion/tsdfVolume';
import type { Intrinsics } from '../../src/geometry/intrinsics';
import { composeRt, invertRigid, multiply, poseDelta } from '../../src/geometry/se3';
import { so3Exp } from '../../src/geometry/so3';
import { NativeContext } from '../../src/native';
import { DenseTracker, denseTrackerOptions } from '../../src/tracking/denseTracker';
import { lookAt } from '../helpers/analyticScene';
import { renderRoom } from './scene';

const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => ctx.destroy());

const K: Intrinsics = { fx: 320, fy: 320, cx: 159.5, cy: 119.5, width: 320, height: 240 };
const base = lookAt([-0.1, 0.0, 0.9], [0.1, 0.5, 2.5]);

const AXES = [[0.6, -0.64, 0.48], [0, 1, 0], [1, 0, 0], [0, 0, 1], [-0.48, 0.6, 0.64]];

function perturbation(deg: number, metres: number, axis = AXES[0]!): Float64Array {
  const t = [0.48, 0.6, -0.64];
  return composeRt(so3Exp(axis.map((a) => (a * deg * Math.PI) / 180)), t.map((v) => v * metres));
}

function errorOf(A: Float64Array, B: Float64Array): { deg: number; mm: number } {
  const d = poseDelta(multiply(invertRigid(A), B));
  return { deg: (d.angle * 180) / Math.PI, mm: d.distance * 1000 };
}

describe('frame-to-model ICP on the analytic room', () => {
  const volume = new TsdfVolume(ctx, { voxelSize: 0.02, maxBlocks: 32768 });
  const opts = TrackingOptionsSchema.parse({ downsample: 0, useColor: false });
  const tracker = new DenseTracker(ctx, volume, K, denseTrackerOptions(opts));
  afterAll(() => {
    tracker.destroy();
    volume.destroy();
  });
  const ref = renderRoom(K, base);
  tracker.prepare(ref.depth, ref.rgb);
  tracker.accept(base);
  volume.integrate(ref.depth, ref.rgb, K, base);

  test('the model ray-cast from the fused view reproduces its depth (median |error| ≤ 3 mm, ≥ 85% coverage)', () => {
    const pyr = tracker.renderReference(base);
    const l0 = pyr.levels[0]!;
    const d = l0.depth.f32(0, K.width * K.height);
    const errs: number[] = [];
    let hits = 0, truth = 0;
    for (let i = 0; i < d.length; i++) {
      if (ref.depth[i]! > 0) truth++;
      if (d[i]! > 0 && ref.depth[i]! > 0) {
        hits++;
        errs.push(Math.abs(d[i]! - ref.depth[i]!));
      }
    }
    errs.sort((a, b) => a - b);
    console.log(`guided ray-cast: ${hits}/${truth} pixels, median error ${(errs[errs.length >> 1]! * 1000).toFixed(2)} mm`);
    expect(hits / truth).toBeGreaterThan(0.85);
    expect(errs[errs.length >> 1]!).toBeLessThan(0.003);
  });

  test('converges from 5 cm / 5° perturbations about 5 axes, both signs, to ≤ 0.1° and ≤ 2 mm (geometric, 2 cm voxels)', () => {
    let worstDeg = 0, worstMm = 0;
    for (const axis of AXES) {
      for (const sign of [1, -1]) {
        const truePose = multiply(base, perturbation(5 * sign, 0.05 * sign, axis));
        const cur = renderRoom(K, truePose);
        tracker.prepare(cur.depth, cur.rgb);
        const res = tracker.track(base);
        const e = errorOf(res.pose, truePose);
        expect(res.ok).toBe(true);
        worstDeg = Math.max(worstDeg, e.deg);
        worstMm = Math.max(worstMm, e.mm);
      }
    }
    console.log(`ICP from 5 cm / 5° (10 cases): worst ${worstDeg.toFixed(4)}°, ${worstMm.toFixed(3)} mm`);
    expect(worstDeg).toBeLessThan(0.1);
    expect(worstMm).toBeLessThan(2);
  });

  test('hybrid (photometric + geometric) also converges from 5 cm / 5°', () => {
    const t2 = new DenseTracker(ctx, volume, K, denseTrackerOptions({ ...opts, useColor: true, colorWeight: 0.03 }));
    try {
      t2.prepare(ref.depth, ref.rgb);
      t2.accept(base);
      const truePose = multiply(base, perturbation(-5, -0.05, AXES[1]));
      const cur = renderRoom(K, truePose);
      t2.prepare(cur.depth, cur.rgb);
      const res = t2.track(base);
      const e = errorOf(res.pose, truePose);
      console.log(`hybrid ICP 5cm/5°: ${e.deg.toFixed(4)}°, ${e.mm.toFixed(3)} mm`);
      expect(res.ok).toBe(true);
      expect(e.deg).toBeLessThan(0.15);
      expect(e.mm).toBeLessThan(4);
    } finally {
      t2.destroy();
    }
  });

  test('a frame without depth, or a view of nothing, is reported lost, not thrown', () => {
    tracker.prepare(new Float32Array(K.width * K.height), ref.rgb);
    const res = tracker.track(base);
    expect(res.ok).toBe(false);
    expect(res.reason).toBe('icp-diverged');
  });

  test('the reduction is deterministic: the same inputs give bit-identical poses', () => {
    const truePose = multiply(base, perturbation(3, 0.03));
    const cur = renderRoom(K, truePose);
    tracker.prepare(cur.depth, cur.rgb);
    const a = tracker.track(base).pose;
    const b = tracker.track(base).pose;
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
