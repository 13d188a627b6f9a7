import { describe, expect, test } from 'bun:test';
import { bundleAdjust, type BaObservation } from '../../src/geometry/bundleAdjustment';
import { SeededRandom } from '../../src/geometry/random';
import { composeRt, invertRigid, multiply, poseDelta } from '../../src/geometry/se3';
import { so3Exp } from '../../src/geometry/so3';

const K = { fx: 525, fy: 525, cx: 319.5, cy: 239.5 };

/** exact pixel and depth of point j (xyz in pts) in a camera at Tcw */
function project(Tcw: Float64Array, pts: Float64Array, j: number): { u: number; v: number; Z: number } {
  const x = pts[3 * j]!, y = pts[3 * j + 1]!, z = pts[3 * j + 2]!;
  const X = Tcw[0]! * x + Tcw[1]! * y + Tcw[2]! * z + Tcw[3]!;
  const Y = Tcw[4]! * x + Tcw[5]! * y + Tcw[6]! * z + Tcw[7]!;
  const Z = Tcw[8]! * x + Tcw[9]! * y + Tcw[10]! * z + Tcw[11]!;
  return { u: K.fx * (X / Z) + K.cx, v: K.fy * (Y / Z) + K.cy, Z };
}

describe('local RGB-D bundle adjustment', () => {
  test('recovers keyframe poses perturbed by 1.4 cm / 0.5° to ≤ 3 mm from 0.5 px features and Kinect-like depth, with 5% gross outliers (Huber)', () => {
    const rng = new SeededRandom(17);
    const camToWorld = [0, 1, 2, 3, 4].map((k) => composeRt(so3Exp([0, 0.06 * k, 0.01 * k]), [0.08 * k, 0.01 * k, 0]));
    const n = 200;
    const pts = new Float64Array(3 * n);
    for (let j = 0; j < n; j++) pts.set([(rng.next() - 0.5) * 3, (rng.next() - 0.5) * 2, 2 + rng.next() * 2], 3 * j);
    const observations: BaObservation[] = [];
    camToWorld.forEach((T, c) => {
      const Tcw = invertRigid(T);
      for (let j = 0; j < n; j++) {
        const { u, v, Z } = project(Tcw, pts, j);
        const bad = rng.next() < 0.05;
        observations.push({
          camera: c, point: j,
          u: u + (bad ? 40 * (rng.next() - 0.5) : 0.5 * rng.gaussian()),
          v: v + (bad ? 40 * (rng.next() - 0.5) : 0.5 * rng.gaussian()),
          depth: Z + 0.0015 * Z * Z * rng.gaussian(),
        });
      }
    });
    const perturbed = camToWorld.map((T, c) => (c === 0 ? T : multiply(T, composeRt(so3Exp([0.005, -0.004, 0.006]), [0.01, -0.008, 0.006]))));
    const noisyPts = pts.map((v) => v + 0.01 * rng.gaussian());
    const cameras = perturbed.map((T) => invertRigid(T));
    const res = bundleAdjust({ K, cameras, fixed: cameras.map((_, i) => i === 0), points: noisyPts, observations }, { iterations: 15, huber: 2 });
    let worstBefore = 0, worstAfter = 0;
    for (let c = 1; c < 5; c++) {
      worstBefore = Math.max(worstBefore, poseDelta(multiply(invertRigid(perturbed[c]!), camToWorld[c]!)).distance);
      worstAfter = Math.max(worstAfter, poseDelta(multiply(cameras[c]!, camToWorld[c]!)).distance);
    }
    console.log(`BA: RMS ${res.initialRms.toFixed(2)} → ${res.finalRms.toFixed(2)} px in ${res.iterations} iterations; worst pose error ${(worstBefore * 1000).toFixed(1)} → ${(worstAfter * 1000).toFixed(2)} mm`);
    expect(res.finalCost).toBeLessThan(res.initialCost);
    expect(worstAfter).toBeLessThan(0.003);
    expect(worstAfter).toBeLessThan(worstBefore / 5);
  });
});

describe('monocular bundle adjustment (no depth, per-observation weights)', () => {
  test('two fixed cameras pin gauge and scale; weighting each observation by its pyramid level\'s 1/σ² beats weighting them alike', () => {
    const rng = new SeededRandom(23);
    const camToWorld = [0, 1, 2, 3, 4, 5].map((k) => composeRt(so3Exp([0.01 * k, 0.05 * k, 0]), [0.1 * k, 0.02 * k, 0]));
    const n = 300;
    const pts = new Float64Array(3 * n);
    for (let j = 0; j < n; j++) pts.set([(rng.next() - 0.5) * 3, (rng.next() - 0.5) * 2, 2 + rng.next() * 2], 3 * j);
    // level l: σ = 0.3 px · 2^l (a coarse pyramid level localises a corner that much worse)
    const observations: (BaObservation & { level: number })[] = [];
    camToWorld.forEach((T, c) => {
      const Tcw = invertRigid(T);
      for (let j = 0; j < n; j++) {
        const { u, v } = project(Tcw, pts, j);
        const level = Math.floor(rng.next() * 4);
        const sigma = 0.3 * 2 ** level;
        observations.push({ camera: c, point: j, u: u + sigma * rng.gaussian(), v: v + sigma * rng.gaussian(), level });
      }
    });
    const perturbed = camToWorld.map((T, c) => (c < 2 ? T : multiply(T, composeRt(so3Exp([0.004, -0.005, 0.003]), [0.01, -0.006, 0.008]))));
    const noisyPts = pts.map((v) => v + 0.01 * rng.gaussian());
    const worstError = (weighted: boolean): number => {
      const cameras = perturbed.map((T) => invertRigid(T));
      const obs = observations.map((o) => (weighted ? { ...o, weight: 4 ** -o.level } : o));
      const res = bundleAdjust({ K, cameras, fixed: cameras.map((_, i) => i < 2), points: Float64Array.from(noisyPts), observations: obs }, { iterations: 15, huber: 2.45 });
      expect(res.finalCost).toBeLessThan(res.initialCost);
      let worst = 0;
      for (let c = 2; c < 6; c++) worst = Math.max(worst, poseDelta(multiply(cameras[c]!, camToWorld[c]!)).distance);
      return worst;
    };
    const before = poseDelta(multiply(invertRigid(perturbed[2]!), camToWorld[2]!)).distance;
    const weighted = worstError(true), alike = worstError(false);
    console.log(`mono BA: worst pose error ${(before * 1000).toFixed(1)} mm → ${(weighted * 1000).toFixed(2)} mm weighted by level, ${(alike * 1000).toFixed(2)} mm weighted alike`);
    expect(weighted).toBeLessThan(before / 5);
    expect(weighted).toBeLessThan(alike);
  });
});
