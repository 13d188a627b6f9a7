/**
 * Small dense linear algebra in float64 for the geometry solvers: symmetric
 * eigen-decomposition (cyclic Jacobi), Cholesky solves, 3×3 inverse and SVD.
 * Matrices are row-major Float64Arrays; sizes here are ≤ 12, so clarity
 * beats blocking. Rotations and poses are in so3.ts and se3.ts.
 */
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
  const a = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) a[i] = A[i] as number;
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
  // ascending eigenvalues; a stable insertion sort (ties keep index order, as Array.prototype.sort does)
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let j = i;
    while (j > 0 && (a[order[j - 1]! * n + order[j - 1]!] as number) - (a[i * n + i] as number) > 0) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = i;
  }
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let dst = 0; dst < n; dst++) {
    const src = order[dst] as number;
    values[dst] = a[src * n + src] as number;
    for (let r = 0; r < n; r++) vectors[r * n + dst] = v[r * n + src] as number;
  }
  return { values, vectors };
}

/**
 * Solves A x = b for symmetric positive (semi)definite A by Cholesky (LDLᵀ
 * without pivoting); returns null when A is not positive definite enough.
 * Reads only A's diagonal and lower triangle (callers may leave the upper
 * triangle unfilled).
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
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = b[i] as number;
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

/**
 * Inverse of the symmetric 3×3 block m[o … o+8] (reads its upper triangle) into
 * out; false when |det| ≤ 1e-300 (out untouched).
 */
/** the inverse of the symmetric 3×3 at m[o ..] into out[oo ..] (no views made: hot loops call it per point) */
export function invert3Symmetric(m: ArrayLike<number>, o: number, out: Float64Array, oo = 0): boolean {
  const a = m[o] as number, b = m[o + 1] as number, c = m[o + 2] as number, d = m[o + 4] as number, e = m[o + 5] as number, f = m[o + 8] as number;
  const A = d * f - e * e, B = c * e - b * f, C = b * e - c * d;
  const det = a * A + b * B + c * C;
  if (!(Math.abs(det) > 1e-300)) return false;
  const id = 1 / det;
  out[oo] = A * id; out[oo + 1] = B * id; out[oo + 2] = C * id;
  out[oo + 3] = B * id; out[oo + 4] = (a * f - c * c) * id; out[oo + 5] = (b * c - a * e) * id;
  out[oo + 6] = C * id; out[oo + 7] = (b * c - a * e) * id; out[oo + 8] = (a * d - b * b) * id;
  return true;
}

export function det3(m: ArrayLike<number>): number {
  const a = (i: number): number => m[i] as number;
  return a(0) * (a(4) * a(8) - a(5) * a(7)) - a(1) * (a(3) * a(8) - a(5) * a(6)) + a(2) * (a(3) * a(7) - a(4) * a(6));
}

export interface Svd3 {
  U: Float64Array;
  /** descending */
  S: Float64Array;
  V: Float64Array;
}

export function mat3Mul(A: ArrayLike<number>, B: ArrayLike<number>): Float64Array {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[r * 3 + c] = (A[r * 3] as number) * (B[c] as number) + (A[r * 3 + 1] as number) * (B[3 + c] as number) +
        (A[r * 3 + 2] as number) * (B[6 + c] as number);
    }
  }
  return out;
}

export function transpose3(A: ArrayLike<number>): Float64Array {
  return new Float64Array([A[0] as number, A[3] as number, A[6] as number, A[1] as number, A[4] as number, A[7] as number,
    A[2] as number, A[5] as number, A[8] as number]);
}

function cross(a: ArrayLike<number>, b: ArrayLike<number>): [number, number, number] {
  const a0 = a[0] as number, a1 = a[1] as number, a2 = a[2] as number, b0 = b[0] as number, b1 = b[1] as number, b2 = b[2] as number;
  return [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0];
}

/**
 * SVD of a 3×3 matrix through the eigenvectors of AᵀA, with U and V proper
 * rotations (det +1; the sign goes to the smallest singular value's column,
 * which an essential matrix does not use).
 */
export function svd3(A: ArrayLike<number>): Svd3 {
  const AtA = mat3Mul(transpose3(A), A);
  const eig = symmetricEigen(AtA, 3);
  const V = new Float64Array(9);
  const S = new Float64Array(3);
  for (let k = 0; k < 3; k++) {
    const src = 2 - k;
    S[k] = Math.sqrt(Math.max(0, eig.values[src] as number));
    for (let r = 0; r < 3; r++) V[r * 3 + k] = eig.vectors[r * 3 + src] as number;
  }
  const col = (M: Float64Array, k: number): [number, number, number] => [M[k] as number, M[3 + k] as number, M[6 + k] as number];
  const v3 = cross(col(V, 0), col(V, 1));
  for (let r = 0; r < 3; r++) V[r * 3 + 2] = v3[r] as number;
  const U = new Float64Array(9);
  const us: [number, number, number][] = [];
  for (let k = 0; k < 2; k++) {
    const v = col(V, k);
    const u: [number, number, number] = [0, 1, 2].map((r) => (A[r * 3] as number) * v[0] + (A[r * 3 + 1] as number) * v[1] +
      (A[r * 3 + 2] as number) * v[2]) as [number, number, number];
    const n = Math.hypot(u[0], u[1], u[2]);
    if (n > 1e-300) us.push([u[0] / n, u[1] / n, u[2] / n]);
    else us.push(k === 0 ? [1, 0, 0] : cross(cross(us[0]!, [0, 0, 1]), us[0]!));
  }
  // u₂ orthogonal to u₁ exactly (rounding in A v / σ)
  const d = us[0]![0] * us[1]![0] + us[0]![1] * us[1]![1] + us[0]![2] * us[1]![2];
  const u2 = [0, 1, 2].map((r) => us[1]![r]! - d * us[0]![r]!);
  const n2 = Math.hypot(u2[0]!, u2[1]!, u2[2]!);
  const u1 = us[0]!;
  const u2n: [number, number, number] = [u2[0]! / n2, u2[1]! / n2, u2[2]! / n2];
  const u3 = cross(u1, u2n);
  for (let r = 0; r < 3; r++) {
    U[r * 3] = u1[r]!;
    U[r * 3 + 1] = u2n[r]!;
    U[r * 3 + 2] = u3[r]!;
  }
  // σ₃ sign: A v₃ = σ₃ u₃ with u₃ fixed by orientation
  const v3c = col(V, 2);
  let s3 = 0;
  for (let r = 0; r < 3; r++) s3 += u3[r]! * ((A[r * 3] as number) * v3c[0] + (A[r * 3 + 1] as number) * v3c[1] + (A[r * 3 + 2] as number) * v3c[2]);
  S[2] = s3;
  return { U, S, V };
}
