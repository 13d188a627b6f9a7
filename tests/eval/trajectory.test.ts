import { describe, expect, test } from 'bun:test';
import { absoluteTrajectoryError, errorStats, relativePoseError, trajectorySvg } from '../../src/eval/trajectory';
import { SeededRandom } from '../../src/geometry/random';
import { composeRt, multiply } from '../../src/geometry/se3';
import { so3Exp } from '../../src/geometry/so3';

function truthTrajectory(n: number): { timestamp: number; pose: Float64Array }[] {
  return Array.from({ length: n }, (_, i) => {
    const t = i / 30;
    return { timestamp: 1000 + t, pose: composeRt(so3Exp([0.2 * Math.sin(t), 0.5 * t, 0.1]), [Math.cos(t), 0.3 * Math.sin(2 * t), 0.5 * t]) };
  });
}

describe('ATE / RPE (TUM definitions)', () => {
  const truth = truthTrajectory(90);
  const T = composeRt(so3Exp([0.3, -1.2, 0.4]), [2, -1, 0.5]);

  test('a rigidly moved copy of the truth has ATE 0 and recovers the motion', () => {
    const est = truth.map((p) => ({ timestamp: p.timestamp + 0.004, pose: multiply(T, p.pose) }));
    const ate = absoluteTrajectoryError(est, truth);
    expect(ate.pairs).toBe(90);
    expect(ate.rmse).toBeLessThan(1e-9);
    const rpe = relativePoseError(est, truth);
    expect(rpe.translation.max).toBeLessThan(1e-9);
    // acos near 1 resolves ~1e-6°
    expect(rpe.rotationDeg.max).toBeLessThan(1e-4);
  });

  test('Sim3 recovers a scale of 0.5; rigid alignment then leaves an error', () => {
    const est = truth.map((p) => {
      const q = multiply(T, p.pose);
      for (const k of [3, 7, 11]) q[k] = q[k]! * 0.5;
      return { timestamp: p.timestamp, pose: q };
    });
    const sim = absoluteTrajectoryError(est, truth, { sim3: true });
    expect(Math.abs(sim.scale - 2)).toBeLessThan(1e-9);
    expect(sim.rmse).toBeLessThan(1e-9);
    expect(absoluteTrajectoryError(est, truth).rmse).toBeGreaterThan(0.05);
  });

  test('isotropic position noise σ gives ATE ≈ σ√3 (seeded), statistics consistent', () => {
    const rng = new SeededRandom(4);
    const sigma = 0.01;
    const est = truth.map((p) => {
      const q = Float64Array.from(p.pose);
      for (const k of [3, 7, 11]) q[k] = q[k]! + sigma * rng.gaussian();
      return { timestamp: p.timestamp, pose: q };
    });
    const ate = absoluteTrajectoryError(est, truth);
    expect(ate.rmse).toBeGreaterThan(0.012);
    expect(ate.rmse).toBeLessThan(0.022);
    expect(ate.min).toBeLessThanOrEqual(ate.median);
    expect(ate.median).toBeLessThanOrEqual(ate.max);
    const s = errorStats([1, 2, 3, 4]);
    expect(s.median).toBe(2.5);
    expect(s.rmse).toBeCloseTo(Math.sqrt(7.5), 12);
  });

  test('RPE with fixed delta: a constant extra 1 cm per frame in x shows as 0.3 m per second', () => {
    const est = truth.map((p, i) => {
        // an offset along world x growing 1 cm per frame
        const q = Float64Array.from(p.pose);
        q[3] = q[3]! + 0.01 * i;
        return { timestamp: p.timestamp, pose: q };
      });
    const rpe = relativePoseError(est, truth, { fixedDelta: true, delta: 1, deltaUnit: 's' });
    expect(rpe.translation.median).toBeCloseTo(0.3, 6);
    const perFrame = relativePoseError(est, truth, { fixedDelta: true, delta: 1, deltaUnit: 'f' });
    expect(perFrame.translation.median).toBeCloseTo(0.01, 6);
  });

  test('too few associated poses is a clear error; the SVG names the metric', () => {
    const far = truth.map((p) => ({ timestamp: p.timestamp + 100, pose: p.pose }));
    expect(() => absoluteTrajectoryError(far, truth)).toThrow(/within 0.02 s/);
    const svg = trajectorySvg(absoluteTrajectoryError(truth, truth));
    expect(svg).toContain('<svg');
    expect(svg).toContain('ATE RMSE 0.0 mm over 90 poses');
  });
});
