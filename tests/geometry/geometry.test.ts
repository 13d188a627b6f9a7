import { describe, expect, test } from 'bun:test';
import { solveSpd, symmetricEigen } from '../../src/geometry/linalg';
import { epnp, pnpRansac, solvePnp } from '../../src/geometry/pnp';
import { SeededRandom } from '../../src/geometry/random';
import { composeRt, invertRigid, multiply, poseDelta, se3FromTwist } from '../../src/geometry/se3';
import { quaternionFromRotation, rotationFromQuaternion, so3Exp, so3Log } from '../../src/geometry/so3';
import { projectionMatrix, triangulateBatch } from '../../src/geometry/triangulation';
import { umeyama, umeyamaRansac } from '../../src/geometry/umeyama';

const K = { fx: 525, fy: 525, cx: 319.5, cy: 239.5 };

function randomPose(rng: SeededRandom, angle: number, dist: number): Float64Array {
  const w = [rng.gaussian(), rng.gaussian(), rng.gaussian()];
  const n = Math.hypot(w[0]!, w[1]!, w[2]!);
  const t = [rng.gaussian(), rng.gaussian(), rng.gaussian()];
  const m = Math.hypot(t[0]!, t[1]!, t[2]!);
  return composeRt(so3Exp(w.map((v) => (v / n) * angle)), t.map((v) => (v / m) * dist));
}

function poseError(A: ArrayLike<number>, B: ArrayLike<number>): { deg: number; m: number } {
  const d = poseDelta(multiply(invertRigid(A), B));
  return { deg: (d.angle * 180) / Math.PI, m: d.distance };
}

function apply(T: ArrayLike<number>, p: ArrayLike<number>, i: number): number[] {
  const x = p[3 * i] as number, y = p[3 * i + 1] as number, z = p[3 * i + 2] as number;
  return [0, 1, 2].map((r) => (T[r * 4] as number) * x + (T[r * 4 + 1] as number) * y + (T[r * 4 + 2] as number) * z + (T[r * 4 + 3] as number));
}

describe('linalg', () => {
  test('symmetric eigen-decomposition reconstructs A = V diag(λ) Vᵀ (max error ≤ 1e-12)', () => {
    const rng = new SeededRandom(1);
    const n = 7;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) A[i * n + j] = A[j * n + i] = rng.gaussian();
    const { values, vectors } = symmetricEigen(A, n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += vectors[i * n + k]! * values[k]! * vectors[j * n + k]!;
        worst = Math.max(worst, Math.abs(s - A[i * n + j]!));
      }
    }
    expect(worst).toBeLessThan(1e-12);
    for (let k = 1; k < n; k++) expect(values[k]!).toBeGreaterThanOrEqual(values[k - 1]!);
  });

  test('Cholesky solve matches a known solution; singular → null', () => {
    const A = [4, 2, 0, 2, 5, 1, 0, 1, 3];
    const x = solveSpd(A, [4 * 1 + 2 * 2, 2 * 1 + 5 * 2 + 1 * 3, 2 + 9], 3)!;
    expect(Math.abs(x[0]! - 1) + Math.abs(x[1]! - 2) + Math.abs(x[2]! - 3)).toBeLessThan(1e-12);
    expect(solveSpd([1, 1, 1, 1], [1, 2], 2)).toBeNull();
  });

  test('so3 exp/log and quaternions round-trip (including angles near 0 and π)', () => {
    for (const angle of [1e-9, 1e-3, 0.5, 2.5, Math.PI - 1e-6]) {
      const w = [0.3, -0.5, 0.8].map((v) => (v / Math.hypot(0.3, 0.5, 0.8)) * angle);
      const R = so3Exp(w);
      const back = so3Log(R);
      const R2 = so3Exp(back);
      for (let i = 0; i < 9; i++) expect(Math.abs(R2[i]! - R[i]!)).toBeLessThan(1e-9);
      const q = quaternionFromRotation(R);
      const R3 = rotationFromQuaternion(...q);
      for (let i = 0; i < 9; i++) expect(Math.abs(R3[i]! - R[i]!)).toBeLessThan(1e-12);
    }
  });
});

describe('Umeyama / Horn alignment', () => {
  const rng = new SeededRandom(7);
  const n = 60;
  const src = Float64Array.from({ length: 3 * n }, () => rng.gaussian());
  const T = randomPose(rng, 0.7, 0.4);

  test('rigid: recovers a known pose exactly from clean points (≤ 1e-9)', () => {
    const dst = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) dst.set(apply(T, src, i), 3 * i);
    const fit = umeyama(src, dst)!;
    for (let i = 0; i < 16; i++) expect(Math.abs(fit.T[i]! - T[i]!)).toBeLessThan(1e-9);
    expect(fit.rmse).toBeLessThan(1e-9);
  });

  test('Sim3: recovers scale 2.5 and the pose', () => {
    const dst = new Float64Array(3 * n);
    for (let i = 0; i < n; i++) {
      const p = apply(T, src.map((v) => v * 2.5), i);
      dst.set(p, 3 * i);
    }
    const fit = umeyama(src, dst, { withScale: true })!;
    expect(Math.abs(fit.scale - 2.5)).toBeLessThan(1e-9);
    for (let r = 0; r < 3; r++) expect(Math.abs(fit.t[r]! - T[r * 4 + 3]!)).toBeLessThan(1e-9);
  });

  test('collinear points are degenerate → null', () => {
    const line = Float64Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? i : 0));
    expect(umeyama(line, line)).toBeNull();
  });

  test('RANSAC recovers a known pose with 50% outliers (1 mm noise): ≤ 0.2° and ≤ 2 mm', () => {
    const m = 200;
    const a = Float64Array.from({ length: 3 * m }, () => rng.next() * 2 - 1);
    const b = new Float64Array(3 * m);
    const truth = new Uint8Array(m);
    for (let i = 0; i < m; i++) {
      if (i % 2 === 0) {
        const p = apply(T, a, i);
        b.set(p.map((v) => v + 0.001 * rng.gaussian()), 3 * i);
        truth[i] = 1;
      } else {
        b.set([rng.next() * 4 - 2, rng.next() * 4 - 2, rng.next() * 4 - 2], 3 * i);
      }
    }
    const res = umeyamaRansac(a, b, { threshold: 0.01, seed: 3 });
    expect(res.model).not.toBeNull();
    const e = poseError(res.model!.T, T);
    console.log(`umeyamaRansac: ${res.inlierCount}/${m} inliers after ${res.iterations} iterations, error ${e.deg.toFixed(4)}°, ${(e.m * 1000).toFixed(3)} mm`);
    expect(e.deg).toBeLessThan(0.2);
    expect(e.m).toBeLessThan(0.002);
    let agree = 0;
    for (let i = 0; i < m; i++) if (res.inliers[i] === truth[i]) agree++;
    expect(agree).toBeGreaterThanOrEqual(m - 2);
    // deterministic: same seed, same answer
    const again = umeyamaRansac(a, b, { threshold: 0.01, seed: 3 });
    expect(Array.from(again.model!.T)).toEqual(Array.from(res.model!.T));
  });
});

describe('PnP', () => {
  const rng = new SeededRandom(11);
  const n = 100;
  // points in front of a camera at pose Tcw
  const Tcw = randomPose(rng, 0.4, 0.3);
  const Twc = invertRigid(Tcw);
  const world = new Float64Array(3 * n);
  const pixels = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const pc = [(rng.next() - 0.5) * 2, (rng.next() - 0.5) * 1.5, 1 + rng.next() * 3];
    const pw = apply(Twc, pc, 0);
    world.set(pw, 3 * i);
    pixels[2 * i] = K.fx * (pc[0]! / pc[2]!) + K.cx;
    pixels[2 * i + 1] = K.fy * (pc[1]! / pc[2]!) + K.cy;
  }

  test('EPnP is exact on clean points (≤ 1e-6° / 1e-6 m)', () => {
    const sol = epnp(world, pixels, K)!;
    const e = poseError(sol.worldToCamera, Tcw);
    expect(e.deg).toBeLessThan(1e-6);
    expect(e.m).toBeLessThan(1e-6);
  });

  test('EPnP + Gauss-Newton with 0.5 px noise: ≤ 0.3° and ≤ 1 cm, RMS ≈ noise', () => {
    const noisy = pixels.map((v) => v + 0.5 * rng.gaussian());
    const sol = solvePnp(world, noisy, K)!;
    const e = poseError(sol.worldToCamera, Tcw);
    expect(e.deg).toBeLessThan(0.3);
    expect(e.m).toBeLessThan(0.01);
    expect(sol.rmsPixels).toBeLessThan(0.8);
    const c = poseError(sol.cameraToWorld, Twc);
    expect(c.deg).toBeLessThan(0.3);
  });

  test('PnP RANSAC with 50% outliers recovers the pose: ≤ 0.3°, ≤ 1 cm', () => {
    const px = pixels.slice();
    for (let i = 0; i < n; i++) {
      if (i % 2 === 1) {
        px[2 * i] = rng.next() * 640;
        px[2 * i + 1] = rng.next() * 480;
      } else {
        px[2 * i] = px[2 * i]! + 0.5 * rng.gaussian();
        px[2 * i + 1] = px[2 * i + 1]! + 0.5 * rng.gaussian();
      }
    }
    const res = pnpRansac(world, px, K, { threshold: 3, seed: 5, maxIterations: 500 });
    expect(res.model).not.toBeNull();
    const e = poseError(res.model!.worldToCamera, Tcw);
    console.log(`pnpRansac: ${res.inlierCount}/${n} inliers, ${res.iterations} iterations, ${e.deg.toFixed(4)}°, ${(e.m * 1000).toFixed(2)} mm`);
    expect(e.deg).toBeLessThan(0.3);
    expect(e.m).toBeLessThan(0.01);
    expect(res.inlierCount).toBeGreaterThanOrEqual(48);
    expect(res.inlierCount).toBeLessThanOrEqual(53);
  });
});

describe('DLT triangulation', () => {
  const rng = new SeededRandom(21);
  const n = 50;
  const cams = [0, 1, 2].map((k) => invertRigid(multiply(composeRt(so3Exp([0, -0.08 * k, 0]), [0.4 * k, 0.05 * k, 0]), se3FromTwist([0, 0, 0, 0, 0, 0]))));
  const pts = Float64Array.from({ length: 3 * n }, (_, i) => (i % 3 === 2 ? 2 + rng.next() * 2 : (rng.next() - 0.5) * 2));

  function project(Tcw: Float64Array, noise: number): Float64Array {
    const out = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const p = apply(Tcw, pts, i);
      out[2 * i] = K.fx * (p[0]! / p[2]!) + K.cx + noise * rng.gaussian();
      out[2 * i + 1] = K.fy * (p[1]! / p[2]!) + K.cy + noise * rng.gaussian();
    }
    return out;
  }

  test('recovers known points from three views: exact when clean; at 0.3 px noise (0.8 m baseline, 2–4 m depth) median ≤ 1 cm, max ≤ 4 cm', () => {
    const clean = triangulateBatch(cams.map((T) => ({ P: projectionMatrix(K, T), pixels: project(T, 0) })), n, { maxReprojError: 1 });
    let worst = 0;
    for (let i = 0; i < 3 * n; i++) worst = Math.max(worst, Math.abs(clean.points[i]! - pts[i]!));
    expect(worst).toBeLessThan(1e-8);
    expect(clean.valid.reduce((a, b) => a + b, 0)).toBe(n);

    const noisy = triangulateBatch(cams.map((T) => ({ P: projectionMatrix(K, T), pixels: project(T, 0.3) })), n, { maxReprojError: 2 });
    const errs: number[] = [];
    for (let i = 0; i < n; i++) errs.push(Math.hypot(noisy.points[3 * i]! - pts[3 * i]!, noisy.points[3 * i + 1]! - pts[3 * i + 1]!, noisy.points[3 * i + 2]! - pts[3 * i + 2]!));
    errs.sort((a, b) => a - b);
    console.log(`triangulation @0.3 px: median ${(errs[n >> 1]! * 1000).toFixed(2)} mm, max ${(errs[n - 1]! * 1000).toFixed(2)} mm`);
    expect(errs[n >> 1]!).toBeLessThan(0.01);
    expect(errs[n - 1]!).toBeLessThan(0.04);
  });

  test('a point seen by one view is rejected (reason 1); a point behind the cameras fails cheirality (reason 3)', () => {
    const P = cams.map((T) => projectionMatrix(K, T));
    const pix = cams.map((T) => project(T, 0));
    // point 0 seen only in view 0
    pix[1]![0] = NaN;
    pix[2]![0] = NaN;
    // point 1: mirror through the camera centres so it lies behind them
    for (let v = 0; v < 3; v++) {
      const T = cams[v]!;
      const p = apply(T, [-pts[3]!, -pts[4]!, -pts[5]!], 0);
      pix[v]![2] = K.fx * (p[0]! / p[2]!) + K.cx;
      pix[v]![3] = K.fy * (p[1]! / p[2]!) + K.cy;
    }
    const res = triangulateBatch(P.map((p, v) => ({ P: p, pixels: pix[v]! })), n);
    expect(res.reason[0]).toBe(1);
    expect(res.reason[1]).toBe(3);
    expect(res.valid[2]).toBe(1);
  });
});
