/**
 * Rotation-only camera motion: the rotation R with b₂ ≈ R b₁ for bearing
 * correspondences (Kabsch on unit vectors), inside the seeded RANSAC with
 * 2-point samples. A monocular camera that only turns cannot build a map
 * (no parallax), but its orientation is still measurable — the model of
 * Gauglitz et al. (ISMAR 2012) and Pirchheim et al. (ISMAR 2013) for
 * rotation-only phases of keyframe SLAM.
 */
import { svd3 } from './linalg';
import { ransac } from './ransac';

function bearing(xy: ArrayLike<number>, i: number): [number, number, number] {
  const x = xy[2 * i] as number, y = xy[2 * i + 1] as number;
  const s = 1 / Math.hypot(x, y, 1);
  return [x * s, y * s, s];
}

/** least-squares rotation b₂ ≈ R b₁ over idx (normalised coordinates in x1, x2); null when degenerate */
export function kabschRotation(x1: ArrayLike<number>, x2: ArrayLike<number>, idx: ArrayLike<number>): Float64Array | null {
  const H = new Float64Array(9);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k] as number;
    const a = bearing(x1, i), b = bearing(x2, i);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) H[r * 3 + c] = (H[r * 3 + c] as number) + b[r]! * a[c]!;
  }
  const { U, S, V } = svd3(H);
  if (!((S[1] as number) > 1e-12 * Math.max(1e-300, S[0] as number))) return null;
  const R = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      R[r * 3 + c] = (U[r * 3] as number) * (V[c * 3] as number) + (U[r * 3 + 1] as number) * (V[c * 3 + 1] as number) +
        (U[r * 3 + 2] as number) * (V[c * 3 + 2] as number);
    }
  }
  for (let i = 0; i < 9; i++) if (!Number.isFinite(R[i] as number)) return null;
  return R;
}

/** angle (radians) between R b₁ and b₂ of correspondence i */
export function rotationResidual(R: ArrayLike<number>, x1: ArrayLike<number>, x2: ArrayLike<number>, i: number): number {
  const a = bearing(x1, i), b = bearing(x2, i);
  let c = 0;
  for (let r = 0; r < 3; r++) c += ((R[r * 3] as number) * a[0] + (R[r * 3 + 1] as number) * a[1] + (R[r * 3 + 2] as number) * a[2]) * b[r]!;
  return Math.acos(Math.min(1, Math.max(-1, c)));
}

export interface RotationFit {
  R: Float64Array;
  inliers: Uint8Array;
  inlierCount: number;
  /** median residual angle of the inliers, degrees */
  medianDeg: number;
}

/** RANSAC over 2-point Kabsch rotations; threshold in radians */
export function rotationRansac(x1: ArrayLike<number>, x2: ArrayLike<number>, threshold: number, seed: number, minInliers = 8): RotationFit | null {
  const n = x1.length / 2;
  const res = ransac<Float64Array>({
    count: n,
    sampleSize: 2,
    fit: (s) => kabschRotation(x1, x2, s),
    error: (R, i) => rotationResidual(R, x1, x2, i) ** 2,
    refit: (inl) => kabschRotation(x1, x2, inl),
  }, { threshold: threshold * threshold, seed, maxIterations: 200, minInliers });
  if (!res.model) return null;
  const r: number[] = [];
  for (let i = 0; i < n; i++) if (res.inliers[i]) r.push(rotationResidual(res.model, x1, x2, i));
  r.sort((a, b) => a - b);
  return { R: res.model, inliers: res.inliers, inlierCount: res.inlierCount, medianDeg: ((r[r.length >> 1] ?? 0) * 180) / Math.PI };
}
