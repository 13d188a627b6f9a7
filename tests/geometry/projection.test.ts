import { expect, test } from 'bun:test';
import { linearizeProjection, projectionLinearization } from '../../src/geometry/projection';
import { SeededRandom } from '../../src/geometry/random';
import { composeRt, multiply, se3FromTwist } from '../../src/geometry/se3';
import { so3Exp } from '../../src/geometry/so3';

const K = { fx: 520, fy: 515, cx: 318.5, cy: 241.25 };

test('the projection Jacobians match central differences (pose twist and world point), and a point behind the camera is refused', () => {
  const rng = new SeededRandom(5);
  const lin = projectionLinearization(), probe = projectionLinearization();
  let worst = 0;
  for (let trial = 0; trial < 20; trial++) {
    const T = composeRt(so3Exp([0.3 * rng.gaussian(), 0.3 * rng.gaussian(), 0.3 * rng.gaussian()]), [rng.gaussian(), rng.gaussian(), 4 + rng.next()]);
    const x = rng.gaussian(), y = rng.gaussian(), z = rng.gaussian();
    const u = 300 + 50 * rng.gaussian(), v = 240 + 50 * rng.gaussian();
    expect(linearizeProjection(T, K, x, y, z, u, v, 1e-9, lin)).toBe(true);
    const h = 1e-6;
    for (let k = 0; k < 6; k++) {
      const xi = new Float64Array(6);
      xi[k] = h;
      linearizeProjection(multiply(se3FromTwist(xi), T), K, x, y, z, u, v, 1e-9, probe);
      const up = [probe.ru, probe.rv];
      xi[k] = -h;
      linearizeProjection(multiply(se3FromTwist(xi), T), K, x, y, z, u, v, 1e-9, probe);
      const du = (up[0]! - probe.ru) / (2 * h), dv = (up[1]! - probe.rv) / (2 * h);
      worst = Math.max(worst, Math.abs(du - lin.pose[k]!) / (1 + Math.abs(du)), Math.abs(dv - lin.pose[6 + k]!) / (1 + Math.abs(dv)));
    }
    for (let k = 0; k < 3; k++) {
      const p = [x, y, z];
      p[k]! += h;
      linearizeProjection(T, K, p[0]!, p[1]!, p[2]!, u, v, 1e-9, probe);
      const up = [probe.ru, probe.rv];
      p[k]! -= 2 * h;
      linearizeProjection(T, K, p[0]!, p[1]!, p[2]!, u, v, 1e-9, probe);
      const du = (up[0]! - probe.ru) / (2 * h), dv = (up[1]! - probe.rv) / (2 * h);
      worst = Math.max(worst, Math.abs(du - lin.point[k]!) / (1 + Math.abs(du)), Math.abs(dv - lin.point[3 + k]!) / (1 + Math.abs(dv)));
    }
  }
  console.log(`projection Jacobians: worst relative difference to central differences ${worst.toExponential(2)}`);
  expect(worst).toBeLessThan(1e-5);
  expect(linearizeProjection(composeRt(so3Exp([0, 0, 0]), [0, 0, -5]), K, 0, 0, 1, 0, 0, 1e-9, lin)).toBe(false);
});
