/**
 * Two-view geometry from calibrated correspondences: the essential matrix by
 * the normalised 8-point algorithm (Longuet-Higgins 1981; Hartley, "In
 * defense of the eight-point algorithm", PAMI 1997) inside the project's
 * seeded MSAC RANSAC on the Sampson distance, its decomposition into the four
 * (R, t) candidates (Hartley & Zisserman §9.6), and the cheirality test that
 * picks the one with the points in front of both cameras.
 *
 * Coordinates are normalised image coordinates (K⁻¹ [u v 1], z = 1).
 * Convention: x₂ᵀ E x₁ = 0 with X₂ = R X₁ + t, i.e. [R | t] maps camera-1
 * coordinates to camera-2 coordinates, E = [t]ₓ R, ‖t‖ = 1.
 */
import { mat3Mul, svd3, symmetricEigen, transpose3 } from './linalg';
import { ransac, type RansacOptions } from './ransac';
import { triangulateBatch } from './triangulation';

/** Isotropic normalisation (centroid to 0, mean distance √2) of points idx of xy. */
function normaliser(xy: ArrayLike<number>, idx: ArrayLike<number>): [number, number, number] {
  let mx = 0, my = 0;
  const n = idx.length;
  for (let k = 0; k < n; k++) {
    const i = idx[k] as number;
    mx += xy[2 * i] as number;
    my += xy[2 * i + 1] as number;
  }
  mx /= n;
  my /= n;
  let d = 0;
  for (let k = 0; k < n; k++) {
    const i = idx[k] as number;
    d += Math.hypot((xy[2 * i] as number) - mx, (xy[2 * i + 1] as number) - my);
  }
  d /= n;
  const s = d > 1e-300 ? Math.SQRT2 / d : 1;
  return [s, mx, my];
}

/**
 * The normalised 8-point algorithm on correspondences idx (≥ 8) of x1, x2
 * (normalised coordinates, n × 2 each), projected onto the essential
 * manifold (singular values 1, 1, 0). Null when degenerate.
 */
export function essentialEightPoint(x1: ArrayLike<number>, x2: ArrayLike<number>, idx: ArrayLike<number>): Float64Array | null {
  const n = idx.length;
  if (n < 8) return null;
  const [s1, m1x, m1y] = normaliser(x1, idx);
  const [s2, m2x, m2y] = normaliser(x2, idx);
  const AtA = new Float64Array(81);
  const row = new Float64Array(9);
  for (let k = 0; k < n; k++) {
    const i = idx[k] as number;
    const ax = s1 * ((x1[2 * i] as number) - m1x), ay = s1 * ((x1[2 * i + 1] as number) - m1y);
    const bx = s2 * ((x2[2 * i] as number) - m2x), by = s2 * ((x2[2 * i + 1] as number) - m2y);
    row[0] = bx * ax; row[1] = bx * ay; row[2] = bx;
    row[3] = by * ax; row[4] = by * ay; row[5] = by;
    row[6] = ax; row[7] = ay; row[8] = 1;
    for (let r = 0; r < 9; r++) {
      const v = row[r] as number;
      for (let c = r; c < 9; c++) AtA[r * 9 + c] = (AtA[r * 9 + c] as number) + v * (row[c] as number);
    }
  }
  for (let r = 0; r < 9; r++) for (let c = 0; c < r; c++) AtA[r * 9 + c] = AtA[c * 9 + r] as number;
  const eig = symmetricEigen(AtA, 9);
  // the null vector must stand out: a second near-zero eigenvalue means a degenerate sample
  const e = Float64Array.from({ length: 9 }, (_, r) => eig.vectors[r * 9] as number);
  if (!((eig.values[1] as number) > 1e-12 * Math.max(1e-300, eig.values[8] as number))) return null;
  // undo the normalisation: E = T₂ᵀ Ê T₁, T = [s 0 −s m; 0 s −s m; 0 0 1]
  const T1 = [s1, 0, -s1 * m1x, 0, s1, -s1 * m1y, 0, 0, 1];
  const T2 = [s2, 0, -s2 * m2x, 0, s2, -s2 * m2y, 0, 0, 1];
  const E0 = mat3Mul(transpose3(T2), mat3Mul(e, T1));
  const { U, V } = svd3(E0);
  const E = mat3Mul(mat3Mul(U, [1, 0, 0, 0, 1, 0, 0, 0, 0]), transpose3(V));
  for (let i = 0; i < 9; i++) if (!Number.isFinite(E[i] as number)) return null;
  return E;
}

/** Squared Sampson distance of correspondence i under E (normalised units²). */
export function sampsonError2(E: ArrayLike<number>, x1: ArrayLike<number>, x2: ArrayLike<number>, i: number): number {
  const ax = x1[2 * i] as number, ay = x1[2 * i + 1] as number, bx = x2[2 * i] as number, by = x2[2 * i + 1] as number;
  const e = (k: number): number => E[k] as number;
  const Ex0 = e(0) * ax + e(1) * ay + e(2), Ex1 = e(3) * ax + e(4) * ay + e(5), Ex2 = e(6) * ax + e(7) * ay + e(8);
  const Etx0 = e(0) * bx + e(3) * by + e(6), Etx1 = e(1) * bx + e(4) * by + e(7);
  const num = bx * Ex0 + by * Ex1 + Ex2;
  const den = Ex0 * Ex0 + Ex1 * Ex1 + Etx0 * Etx0 + Etx1 * Etx1;
  return den > 0 ? (num * num) / den : Infinity;
}

/** The four (R, t) of an essential matrix: R ∈ {U W Vᵀ, U Wᵀ Vᵀ}, t = ±u₃. */
export function decomposeEssential(E: ArrayLike<number>): { R: Float64Array; t: Float64Array }[] {
  const { U, V } = svd3(E);
  const W = [0, -1, 0, 1, 0, 0, 0, 0, 1];
  const Vt = transpose3(V);
  const R1 = mat3Mul(mat3Mul(U, W), Vt);
  const R2 = mat3Mul(mat3Mul(U, transpose3(W)), Vt);
  const t = new Float64Array([U[2] as number, U[5] as number, U[8] as number]);
  const neg = new Float64Array([-t[0]!, -t[1]!, -t[2]!]);
  return [{ R: R1, t }, { R: R1, t: neg }, { R: R2, t }, { R: R2, t: neg }];
}

export interface RelativePose {
  /** camera 1 → camera 2 rotation and unit translation (X₂ = R X₁ + t) */
  R: Float64Array;
  t: Float64Array;
  E: Float64Array;
  /** 1 = RANSAC inlier of E */
  inliers: Uint8Array;
  inlierCount: number;
  /** inliers triangulated in front of both cameras within the reprojection gate (points in camera 1, unit baseline) */
  points: Float64Array;
  /** 1 where points[i] is valid */
  valid: Uint8Array;
  validCount: number;
  /** median angle between the two rays of the valid points, degrees */
  medianParallaxDeg: number;
  /** valid points of the runner-up (R, t) candidate: close to validCount means the choice is ambiguous */
  secondBestCount: number;
  iterations: number;
}

export interface RelativePoseOptions extends Omit<RansacOptions, 'threshold'> {
  /** Sampson / reprojection gate in normalised units (pixels / focal length) */
  threshold: number;
}

/** 4×4 row-major [R | t] */
function rtMatrix(R: ArrayLike<number>, t: ArrayLike<number>): Float64Array {
  return new Float64Array([R[0] as number, R[1] as number, R[2] as number, t[0] as number, R[3] as number, R[4] as number, R[5] as number,
    t[1] as number, R[6] as number, R[7] as number, R[8] as number, t[2] as number, 0, 0, 0, 1]);
}

/**
 * Triangulates correspondences (normalised coordinates) for cameras
 * [I | 0] and [R | t]; a point is valid when it lies in front of both, within
 * `maxError` (normalised units) of both observations.
 */
export function triangulateTwoView(x1: ArrayLike<number>, x2: ArrayLike<number>, R: ArrayLike<number>, t: ArrayLike<number>,
  mask: Uint8Array, maxError: number): { points: Float64Array; valid: Uint8Array; count: number; parallaxDeg: Float64Array } {
  const n = mask.length;
  const p1 = new Float64Array(2 * n).fill(NaN), p2 = new Float64Array(2 * n).fill(NaN);
  for (let i = 0; i < n; i++) {
    if (!mask[i]) continue;
    p1[2 * i] = x1[2 * i] as number; p1[2 * i + 1] = x1[2 * i + 1] as number;
    p2[2 * i] = x2[2 * i] as number; p2[2 * i + 1] = x2[2 * i + 1] as number;
  }
  const P1 = new Float64Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
  const P2 = rtMatrix(R, t).subarray(0, 12);
  const tri = triangulateBatch([{ P: P1, pixels: p1 }, { P: P2, pixels: p2 }], n, { maxReprojError: maxError });
  // camera 2's centre in camera-1 coordinates: −Rᵀ t
  const c2 = [0, 1, 2].map((c) => -((R[c] as number) * (t[0] as number) + (R[3 + c] as number) * (t[1] as number) + (R[6 + c] as number) * (t[2] as number)));
  const parallaxDeg = new Float64Array(n).fill(NaN);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!tri.valid[i]) continue;
    count++;
    const X = [tri.points[3 * i]!, tri.points[3 * i + 1]!, tri.points[3 * i + 2]!];
    const d2 = [X[0]! - c2[0]!, X[1]! - c2[1]!, X[2]! - c2[2]!];
    const c = (X[0]! * d2[0]! + X[1]! * d2[1]! + X[2]! * d2[2]!) / (Math.hypot(X[0]!, X[1]!, X[2]!) * Math.hypot(d2[0]!, d2[1]!, d2[2]!));
    parallaxDeg[i] = (Math.acos(Math.min(1, Math.max(-1, c))) * 180) / Math.PI;
  }
  return { points: tri.points, valid: tri.valid, count, parallaxDeg };
}

function medianFinite(values: Float64Array): number {
  const v = Array.from(values).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? (v[v.length >> 1] as number) : 0;
}

/**
 * Relative pose from n ≥ 8 correspondences with outliers: RANSAC over
 * 8-point samples (Sampson distance), least-squares re-fit on the inliers,
 * the cheirality test over the four decompositions. Null when RANSAC finds
 * no model or no candidate puts a point in front of both cameras.
 */
export function relativePose(x1: ArrayLike<number>, x2: ArrayLike<number>, options: RelativePoseOptions): RelativePose | null {
  const n = x1.length / 2;
  if (x2.length !== x1.length) throw new RangeError(`relativePose: ${x1.length / 2} points in view 1 but ${x2.length / 2} in view 2`);
  const thr2 = options.threshold * options.threshold;
  const res = ransac<Float64Array>({
    count: n,
    sampleSize: 8,
    fit: (sample) => essentialEightPoint(x1, x2, sample),
    error: (E, i) => sampsonError2(E, x1, x2, i),
    refit: (inliers) => essentialEightPoint(x1, x2, inliers),
  }, { ...options, threshold: thr2, minInliers: Math.max(8, options.minInliers ?? 8) });
  if (!res.model) return null;
  const E = res.model;
  let best: { R: Float64Array; t: Float64Array; tri: ReturnType<typeof triangulateTwoView> } | null = null;
  let second = 0;
  for (const cand of decomposeEssential(E)) {
    const tri = triangulateTwoView(x1, x2, cand.R, cand.t, res.inliers, 2 * options.threshold);
    if (!best || tri.count > best.tri.count) {
      second = best ? best.tri.count : 0;
      best = { ...cand, tri };
    } else if (tri.count > second) second = tri.count;
  }
  if (!best || best.tri.count === 0) return null;
  return {
    R: best.R, t: best.t, E, inliers: res.inliers, inlierCount: res.inlierCount, points: best.tri.points, valid: best.tri.valid,
    validCount: best.tri.count, medianParallaxDeg: medianFinite(best.tri.parallaxDeg), secondBestCount: second, iterations: res.iterations,
  };
}
