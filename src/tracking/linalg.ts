/**
 * Small dense linear algebra in float64 for the tracking solvers: symmetric
 * eigen-decomposition (cyclic Jacobi), Cholesky solves, SO(3)/SE(3) maps and
 * quaternions. Matrices are row-major Float64Arrays; sizes here are ≤ 12, so
 * clarity beats blocking.
 */
import type { Pose } from '../frames/frame';

export interface SymmetricEigen {
  /** ascending */
  values: Float64Array;
  /** eigenvector k is column k: vectors[r * n + k] */
  vectors: Float64Array;
}

/**
 * Eigen-decomposition of a symmetric n×n matrix by cyclic Jacobi rotations
 * (Golub & Van Loan §8.5): slow for large n, but accurate to machine
 * precision on the tiny, often nearly singular systems of EPnP and Horn.
 */
export function symmetricEigen(A: ArrayLike<number>, n: number): SymmetricEigen {
  const a = Float64Array.from({ length: n * n }, (_, i) => A[i] as number);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 64; sweep++) {
    let off = 0;
    let scale = 0;
    for (let p = 0; p < n; p++) {
      for (let q = 0; q < n; q++) {
        const x = a[p * n + q] as number;
        if (p !== q) off += x * x;
        scale += x * x;
      }
    }
    if (off <= 1e-30 * scale || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q] as number;
        if (apq === 0) continue;
        const app = a[p * n + p] as number;
        const aqq = a[q * n + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p] as number;
          const akq = a[k * n + q] as number;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k] as number;
          const aqk = a[q * n + k] as number;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p] as number;
          const vkq = v[k * n + q] as number;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => (a[i * n + i] as number) - (a[j * n + j] as number));
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = a[src * n + src] as number;
    for (let r = 0; r < n; r++) vectors[r * n + dst] = v[r * n + src] as number;
  });
  return { values, vectors };
}

/**
 * Solves A x = b for symmetric positive (semi)definite A by Cholesky (LDLᵀ
 * without pivoting); returns null when A is not positive definite enough.
 */
export function solveSpd(A: ArrayLike<number>, b: ArrayLike<number>, n: number): Float64Array | null {
  const L = new Float64Array(n * n);
  const d = new Float64Array(n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, Math.abs(A[i * n + i] as number));
  const eps = maxDiag * 1e-13;
  for (let j = 0; j < n; j++) {
    let dj = A[j * n + j] as number;
    for (let k = 0; k < j; k++) dj -= (L[j * n + k] as number) ** 2 * (d[k] as number);
    if (!(dj > eps)) return null;
    d[j] = dj;
    L[j * n + j] = 1;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (L[i * n + k] as number) * (L[j * n + k] as number) * (d[k] as number);
      L[i * n + j] = s / dj;
    }
  }
  const x = Float64Array.from({ length: n }, (_, i) => b[i] as number);
  for (let i = 0; i < n; i++) {
    let s = x[i] as number;
    for (let k = 0; k < i; k++) s -= (L[i * n + k] as number) * (x[k] as number);
    x[i] = s;
  }
  for (let i = 0; i < n; i++) x[i] = (x[i] as number) / (d[i] as number);
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i] as number;
    for (let k = i + 1; k < n; k++) s -= (L[k * n + i] as number) * (x[k] as number);
    x[i] = s;
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(x[i] as number)) return null;
  return x;
}

/** Least squares min ‖A x − b‖ (A m×n, m ≥ n) through the normal equations; null when rank-deficient. */
export function leastSquares(A: ArrayLike<number>, b: ArrayLike<number>, m: number, n: number): Float64Array | null {
  const AtA = new Float64Array(n * n);
  const Atb = new Float64Array(n);
  for (let r = 0; r < m; r++) {
    for (let i = 0; i < n; i++) {
      const ai = A[r * n + i] as number;
      Atb[i] = (Atb[i] as number) + ai * (b[r] as number);
      for (let j = i; j < n; j++) AtA[i * n + j] = (AtA[i * n + j] as number) + ai * (A[r * n + j] as number);
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) AtA[i * n + j] = AtA[j * n + i] as number;
  return solveSpd(AtA, Atb, n);
}

/** inverse of a 3×3 row-major matrix, or null when |det| ≤ minDet */
export function invert3(m: ArrayLike<number>, minDet = 1e-300): Float64Array | null {
  const a = (i: number): number => m[i] as number;
  const c00 = a(4) * a(8) - a(5) * a(7), c01 = a(5) * a(6) - a(3) * a(8), c02 = a(3) * a(7) - a(4) * a(6);
  const det = a(0) * c00 + a(1) * c01 + a(2) * c02;
  if (!(Math.abs(det) > minDet)) return null;
  const inv = new Float64Array([
    c00, a(2) * a(7) - a(1) * a(8), a(1) * a(5) - a(2) * a(4),
    c01, a(0) * a(8) - a(2) * a(6), a(2) * a(3) - a(0) * a(5),
    c02, a(1) * a(6) - a(0) * a(7), a(0) * a(4) - a(1) * a(3),
  ]);
  for (let i = 0; i < 9; i++) inv[i] = (inv[i] as number) / det;
  return inv;
}

export function det3(m: ArrayLike<number>): number {
  const a = (i: number): number => m[i] as number;
  return a(0) * (a(4) * a(8) - a(5) * a(7)) - a(1) * (a(3) * a(8) - a(5) * a(6)) + a(2) * (a(3) * a(7) - a(4) * a(6));
}

/** 3×3 rotation from an axis-angle vector (Rodrigues). */
export function so3Exp(w: ArrayLike<number>): Float64Array {
  const wx = w[0] as number, wy = w[1] as number, wz = w[2] as number;
  const th2 = wx * wx + wy * wy + wz * wz;
  const th = Math.sqrt(th2);
  // Taylor terms below 1e-4 rad keep sin θ/θ and (1−cos θ)/θ² exact in float64
  const A = th < 1e-4 ? 1 - th2 / 6 : Math.sin(th) / th;
  const B = th < 1e-4 ? 0.5 - th2 / 24 : (1 - Math.cos(th)) / th2;
  return new Float64Array([
    1 - B * (wy * wy + wz * wz), -A * wz + B * wx * wy, A * wy + B * wx * wz,
    A * wz + B * wx * wy, 1 - B * (wx * wx + wz * wz), -A * wx + B * wy * wz,
    -A * wy + B * wx * wz, A * wx + B * wy * wz, 1 - B * (wx * wx + wy * wy),
  ]);
}

/** Axis-angle vector of a 3×3 rotation (angle in [0, π]). */
export function so3Log(R: ArrayLike<number>): Float64Array {
  const r = (i: number): number => R[i] as number;
  const c = Math.min(1, Math.max(-1, (r(0) + r(4) + r(8) - 1) / 2));
  const th = Math.acos(c);
  const v = [r(7) - r(5), r(2) - r(6), r(3) - r(1)] as const;
  if (th < 1e-6) return new Float64Array([v[0] / 2, v[1] / 2, v[2] / 2]);
  if (Math.PI - th < 1e-4) {
    // near π the antisymmetric part vanishes: read the axis off R + I
    const d = [r(0), r(4), r(8)];
    const k = d[0]! >= d[1]! && d[0]! >= d[2]! ? 0 : d[1]! >= d[2]! ? 1 : 2;
    const axis = [0, 0, 0];
    axis[k] = Math.sqrt(Math.max(0, ((R[k * 3 + k] as number) + 1) / 2));
    for (let j = 0; j < 3; j++) if (j !== k) axis[j] = ((R[j * 3 + k] as number) + (R[k * 3 + j] as number)) / (4 * axis[k]!);
    const n = Math.hypot(axis[0]!, axis[1]!, axis[2]!);
    return new Float64Array([(axis[0]! / n) * th, (axis[1]! / n) * th, (axis[2]! / n) * th]);
  }
  const s = th / (2 * Math.sin(th));
  return new Float64Array([v[0] * s, v[1] * s, v[2] * s]);
}

/** 4×4 pose from a twist (ω, v) applied as [exp(ω) | v]: the small-step update used by ICP and GN. */
export function se3FromTwist(xi: ArrayLike<number>): Pose {
  const R = so3Exp([xi[0] as number, xi[1] as number, xi[2] as number]);
  return composeRt(R, [xi[3] as number, xi[4] as number, xi[5] as number]);
}

export function composeRt(R: ArrayLike<number>, t: ArrayLike<number>, scale = 1): Pose {
  const T = new Float64Array(16);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) T[r * 4 + c] = scale * (R[r * 3 + c] as number);
    T[r * 4 + 3] = t[r] as number;
  }
  T[15] = 1;
  return T;
}

export function rotationOf(T: ArrayLike<number>): Float64Array {
  return new Float64Array([T[0] as number, T[1] as number, T[2] as number, T[4] as number, T[5] as number, T[6] as number,
    T[8] as number, T[9] as number, T[10] as number]);
}

export function translationOf(T: ArrayLike<number>): Float64Array {
  return new Float64Array([T[3] as number, T[7] as number, T[11] as number]);
}

/** Re-orthonormalises the rotation block of a pose (drift from repeated float products). */
export function orthonormalize(T: Pose): Pose {
  const w = so3Log(rotationOf(T));
  return composeRt(so3Exp(w), translationOf(T));
}

/** Rotation angle (radians) and translation length of a relative pose. */
export function poseDelta(T: ArrayLike<number>): { angle: number; distance: number } {
  const c = Math.min(1, Math.max(-1, ((T[0] as number) + (T[5] as number) + (T[10] as number) - 1) / 2));
  return { angle: Math.acos(c), distance: Math.hypot(T[3] as number, T[7] as number, T[11] as number) };
}

/** Unit quaternion (x, y, z, w) of a 3×3 rotation (Shepperd's method), w ≥ 0. */
export function quaternionFromRotation(R: ArrayLike<number>): [number, number, number, number] {
  const r = (i: number): number => R[i] as number;
  const tr = r(0) + r(4) + r(8);
  let x: number, y: number, z: number, w: number;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    w = s / 4;
    x = (r(7) - r(5)) / s;
    y = (r(2) - r(6)) / s;
    z = (r(3) - r(1)) / s;
  } else if (r(0) > r(4) && r(0) > r(8)) {
    const s = Math.sqrt(1 + r(0) - r(4) - r(8)) * 2;
    w = (r(7) - r(5)) / s;
    x = s / 4;
    y = (r(1) + r(3)) / s;
    z = (r(2) + r(6)) / s;
  } else if (r(4) > r(8)) {
    const s = Math.sqrt(1 + r(4) - r(0) - r(8)) * 2;
    w = (r(2) - r(6)) / s;
    x = (r(1) + r(3)) / s;
    y = s / 4;
    z = (r(5) + r(7)) / s;
  } else {
    const s = Math.sqrt(1 + r(8) - r(0) - r(4)) * 2;
    w = (r(3) - r(1)) / s;
    x = (r(2) + r(6)) / s;
    y = (r(5) + r(7)) / s;
    z = s / 4;
  }
  const n = Math.hypot(x, y, z, w);
  const sg = w < 0 ? -1 : 1;
  return [(sg * x) / n, (sg * y) / n, (sg * z) / n, (sg * w) / n];
}

/** 3×3 rotation of a quaternion (x, y, z, w); normalised first. */
export function rotationFromQuaternion(qx: number, qy: number, qz: number, qw: number): Float64Array {
  const n = Math.hypot(qx, qy, qz, qw);
  const x = qx / n, y = qy / n, z = qz / n, w = qw / n;
  return new Float64Array([
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ]);
}

/** p' = T p for a 4×4 row-major T (3D point, implicit w = 1). */
export function transformPoint(T: ArrayLike<number>, x: number, y: number, z: number, out: Float64Array | number[] = [0, 0, 0]): Float64Array | number[] {
  out[0] = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number);
  out[1] = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number);
  out[2] = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number);
  return out;
}
