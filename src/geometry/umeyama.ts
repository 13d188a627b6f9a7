/**
 * Closed-form alignment of two 3D point sets: dst ≈ s·R·src + t.
 * Rotation by Horn's unit-quaternion method (Horn 1987, "Closed-form solution
 * of absolute orientation using unit quaternions"): the largest eigenvector of
 * a 4×4 symmetric matrix, so it never returns a reflection. Scale as Umeyama
 * (1991): s = Σ dstᶜ·(R srcᶜ) / Σ ‖srcᶜ‖², the least-squares optimum given R.
 */
import { symmetricEigen } from './linalg';
import { ransac, type RansacOptions, type RansacResult } from './ransac';
import { composeRt, type Pose } from './se3';
import { rotationFromQuaternion } from './so3';

export interface Similarity {
  /** 3×3 row-major rotation */
  R: Float64Array;
  t: Float64Array;
  scale: number;
  /** [sR | t] as a 4×4 row-major transform */
  T: Pose;
  /** RMS of ‖dst − (sR src + t)‖ over the weighted points */
  rmse: number;
}

export interface AlignOptions {
  /** estimate a scale too (Sim3); default rigid */
  withScale?: boolean;
  /** per-point weights (default 1) */
  weights?: ArrayLike<number>;
  /** use only these point indices */
  indices?: ArrayLike<number>;
}

/**
 * src, dst: flat xyz arrays of the same length (n×3). Returns null for fewer
 * than 3 points or a degenerate (collinear) configuration.
 */
export function umeyama(src: ArrayLike<number>, dst: ArrayLike<number>, options: AlignOptions = {}): Similarity | null {
  if (src.length !== dst.length || src.length % 3 !== 0) {
    throw new RangeError(`umeyama: src has ${src.length} values and dst ${dst.length}; both must be n×3 of the same n`);
  }
  const all = src.length / 3;
  const idx = options.indices;
  const n = idx ? idx.length : all;
  if (n < 3) return null;
  const weights = options.weights;
  // RANSAC calls this hundreds of times per keyframe on 3 points: no closures or arrays per point
  let W = 0;
  let cs0 = 0, cs1 = 0, cs2 = 0, cd0 = 0, cd1 = 0, cd2 = 0;
  for (let k = 0; k < n; k++) {
    const i = idx ? (idx[k] as number) : k;
    const w = weights ? (weights[i] as number) : 1;
    W += w;
    cs0 += w * (src[3 * i] as number);
    cd0 += w * (dst[3 * i] as number);
    cs1 += w * (src[3 * i + 1] as number);
    cd1 += w * (dst[3 * i + 1] as number);
    cs2 += w * (src[3 * i + 2] as number);
    cd2 += w * (dst[3 * i + 2] as number);
  }
  if (!(W > 0)) return null;
  cs0 /= W; cs1 /= W; cs2 /= W;
  cd0 /= W; cd1 /= W; cd2 /= W;
  // S = Σ w srcᶜ dstᶜᵀ
  let s00 = 0, s01 = 0, s02 = 0, s10 = 0, s11 = 0, s12 = 0, s20 = 0, s21 = 0, s22 = 0;
  let varSrc = 0;
  for (let k = 0; k < n; k++) {
    const i = idx ? (idx[k] as number) : k;
    const w = weights ? (weights[i] as number) : 1;
    const a0 = (src[3 * i] as number) - cs0, a1 = (src[3 * i + 1] as number) - cs1, a2 = (src[3 * i + 2] as number) - cs2;
    const b0 = (dst[3 * i] as number) - cd0, b1 = (dst[3 * i + 1] as number) - cd1, b2 = (dst[3 * i + 2] as number) - cd2;
    varSrc += w * (a0 * a0 + a1 * a1 + a2 * a2);
    s00 += w * a0 * b0; s01 += w * a0 * b1; s02 += w * a0 * b2;
    s10 += w * a1 * b0; s11 += w * a1 * b1; s12 += w * a1 * b2;
    s20 += w * a2 * b0; s21 += w * a2 * b1; s22 += w * a2 * b2;
  }
  if (!(varSrc > 0)) return null;
  const N = [
    s00 + s11 + s22, s12 - s21, s20 - s02, s01 - s10,
    s12 - s21, s00 - s11 - s22, s01 + s10, s20 + s02,
    s20 - s02, s01 + s10, -s00 + s11 - s22, s12 + s21,
    s01 - s10, s20 + s02, s12 + s21, -s00 - s11 + s22,
  ];
  const eig = symmetricEigen(N, 4);
  // the two largest eigenvalues equal ⇔ the rotation is not determined (collinear points)
  const top = eig.values[3] as number;
  const gap = top - (eig.values[2] as number);
  if (!(gap > 1e-12 * Math.max(1, Math.abs(top)))) return null;
  const qw = eig.vectors[0 * 4 + 3] as number, qx = eig.vectors[1 * 4 + 3] as number;
  const qy = eig.vectors[2 * 4 + 3] as number, qz = eig.vectors[3 * 4 + 3] as number;
  const R = rotationFromQuaternion(qx, qy, qz, qw);
  let scale = 1;
  if (options.withScale) {
    let num = 0;
    const S = [s00, s01, s02, s10, s11, s12, s20, s21, s22];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) num += (R[r * 3 + c] as number) * (S[c * 3 + r] as number);
    scale = num / varSrc;
    if (!(scale > 0)) return null;
  }
  const t = new Float64Array(3);
  for (let r = 0; r < 3; r++) {
    const cdr = r === 0 ? cd0 : r === 1 ? cd1 : cd2;
    t[r] = cdr - scale * ((R[r * 3] as number) * cs0 + (R[r * 3 + 1] as number) * cs1 + (R[r * 3 + 2] as number) * cs2);
  }
  let err = 0;
  for (let k = 0; k < n; k++) {
    const i = idx ? (idx[k] as number) : k;
    const w = weights ? (weights[i] as number) : 1;
    const x = src[3 * i] as number, y = src[3 * i + 1] as number, z = src[3 * i + 2] as number;
    for (let r = 0; r < 3; r++) {
      const p = scale * ((R[r * 3] as number) * x + (R[r * 3 + 1] as number) * y + (R[r * 3 + 2] as number) * z) + (t[r] as number);
      err += w * (p - (dst[3 * i + r] as number)) ** 2;
    }
  }
  return { R, t, scale, T: composeRt(R, t, scale), rmse: Math.sqrt(err / W) };
}

export interface RigidRansacResult extends RansacResult<Similarity> {}

/**
 * 3D–3D RANSAC: minimal samples of 3 matched points, inliers within
 * `threshold` metres, least-squares re-fit on the inliers.
 */
export function umeyamaRansac(src: ArrayLike<number>, dst: ArrayLike<number>,
  options: RansacOptions & { withScale?: boolean }): RigidRansacResult {
  const n = src.length / 3;
  const thr2 = options.threshold * options.threshold;
  const withScale = options.withScale ?? false;
  return ransac<Similarity>({
    count: n,
    sampleSize: 3,
    fit: (sample) => {
      const m = umeyama(src, dst, { indices: sample, withScale });
      // reject near-degenerate triangles: the fit must explain its own sample
      return m && m.rmse < options.threshold ? m : null;
    },
    error: (m, i) => {
      const x = src[3 * i] as number, y = src[3 * i + 1] as number, z = src[3 * i + 2] as number;
      const T = m.T;
      const dx = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number) - (dst[3 * i] as number);
      const dy = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number) - (dst[3 * i + 1] as number);
      const dz = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number) - (dst[3 * i + 2] as number);
      return dx * dx + dy * dy + dz * dz;
    },
    refit: (inliers) => umeyama(src, dst, { indices: inliers, withScale }),
  }, { ...options, threshold: thr2 });
}
