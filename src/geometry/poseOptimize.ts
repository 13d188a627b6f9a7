/**
 * Motion-only bundle adjustment: the world-to-camera pose that minimises the
 * Huber-weighted reprojection error of known 3D points, in rounds that
 * re-classify outliers by a χ² test (ORB-SLAM's PoseOptimization, Mur-Artal
 * et al. 2015: 2 dof at 95% → 5.991 on residuals in units of the feature's
 * pyramid σ).
 */
import type { Pinhole } from './intrinsics';
import { solveSpd } from './linalg';
import { linearizeProjection, projectionLinearization } from './projection';
import { multiply, orthonormalize, type Pose, se3FromTwist } from './se3';

export const CHI2_2DOF = 5.991;

export interface PoseOptimizeResult {
  tcw: Pose;
  /** 1 = inlier after the last round */
  inliers: Uint8Array;
  inlierCount: number;
  /** RMS reprojection error of the inliers, pixels (σ-normalised) */
  rms: number;
}

/**
 * world: n × 3, pixels: n × 2, invSigma2: 1 / σ² per point (σ: the feature's
 * pyramid scale, pixels). Rounds of Gauss-Newton with Huber weights;
 * outliers of a round sit out the next one but are re-tested after it.
 */
export function optimizePose(tcw0: Pose, world: ArrayLike<number>, pixels: ArrayLike<number>, invSigma2: ArrayLike<number>,
  K: Pinhole, rounds = 4, iterations = 10): PoseOptimizeResult {
  const n = world.length / 3;
  let T = tcw0;
  const inl = new Uint8Array(n).fill(1);
  const delta = Math.sqrt(CHI2_2DOF);
  const H = new Float64Array(36), g = new Float64Array(6);
  const lin = projectionLinearization();
  const chi2 = new Float64Array(n);
  const evaluate = (P: Pose): void => {
    for (let i = 0; i < n; i++) {
      const x = world[3 * i] as number, y = world[3 * i + 1] as number, z = world[3 * i + 2] as number;
      const X = (P[0] as number) * x + (P[1] as number) * y + (P[2] as number) * z + (P[3] as number);
      const Y = (P[4] as number) * x + (P[5] as number) * y + (P[6] as number) * z + (P[7] as number);
      const Z = (P[8] as number) * x + (P[9] as number) * y + (P[10] as number) * z + (P[11] as number);
      if (!(Z > 1e-9)) {
        chi2[i] = Infinity;
        continue;
      }
      const du = K.fx * (X / Z) + K.cx - (pixels[2 * i] as number), dv = K.fy * (Y / Z) + K.cy - (pixels[2 * i + 1] as number);
      chi2[i] = (du * du + dv * dv) * (invSigma2[i] as number);
    }
  };
  for (let round = 0; round < rounds; round++) {
    for (let it = 0; it < iterations; it++) {
      H.fill(0);
      g.fill(0);
      let used = 0;
      for (let i = 0; i < n; i++) {
        if (!inl[i]) continue;
        if (!linearizeProjection(T, K, world[3 * i] as number, world[3 * i + 1] as number, world[3 * i + 2] as number,
          pixels[2 * i] as number, pixels[2 * i + 1] as number, 1e-9, lin)) continue;
        const ru = lin.ru, rv = lin.rv, J = lin.pose;
        const is2 = invSigma2[i] as number;
        const e = Math.sqrt((ru * ru + rv * rv) * is2);
        const w = (e <= delta ? 1 : delta / e) * is2;
        for (let r = 0; r < 6; r++) {
          g[r] = (g[r] as number) - w * ((J[r] as number) * ru + (J[6 + r] as number) * rv);
          for (let s = r; s < 6; s++) H[r * 6 + s] = (H[r * 6 + s] as number) + w * ((J[r] as number) * (J[s] as number) + (J[6 + r] as number) * (J[6 + s] as number));
        }
        used++;
      }
      if (used < 3) break;
      for (let r = 0; r < 6; r++) for (let s = 0; s < r; s++) H[r * 6 + s] = H[s * 6 + r] as number;
      for (let r = 0; r < 6; r++) H[r * 7] = (H[r * 7] as number) * (1 + 1e-9) + 1e-12;
      const dx = solveSpd(H, g, 6);
      if (!dx) break;
      T = multiply(se3FromTwist(dx), T);
      let step = 0;
      for (let r = 0; r < 6; r++) step += (dx[r] as number) ** 2;
      if (step < 1e-16) break;
    }
    evaluate(T);
    for (let i = 0; i < n; i++) inl[i] = (chi2[i] as number) <= CHI2_2DOF ? 1 : 0;
  }
  T = orthonormalize(T);
  let count = 0, sum = 0;
  for (let i = 0; i < n; i++) {
    if (!inl[i]) continue;
    count++;
    sum += chi2[i] as number;
  }
  return { tcw: T, inliers: inl, inlierCount: count, rms: count ? Math.sqrt(sum / count) : Infinity };
}
