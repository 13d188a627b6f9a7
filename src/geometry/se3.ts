import type { Pose } from '../frames/frame';

/** Inverse of a rigid 4×4 row-major transform: [Rᵀ | −Rᵀt]. */
export function invertRigid(T: ArrayLike<number>): Pose {
  const out = new Float64Array(16);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out[r * 4 + c] = T[c * 4 + r] as number;
  }
  for (let r = 0; r < 3; r++) {
    out[r * 4 + 3] = -((out[r * 4] as number) * (T[3] as number) + (out[r * 4 + 1] as number) * (T[7] as number) +
      (out[r * 4 + 2] as number) * (T[11] as number));
  }
  out[15] = 1;
  return out;
}

/** The top 3×4 rows of a 4×4 transform, as float32 for native args. */
export function top3x4(T: ArrayLike<number>): Float32Array {
  const out = new Float32Array(12);
  for (let i = 0; i < 12; i++) out[i] = T[i] as number;
  return out;
}

export function multiply(A: ArrayLike<number>, B: ArrayLike<number>): Pose {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += (A[r * 4 + k] as number) * (B[k * 4 + c] as number);
      out[r * 4 + c] = s;
    }
  }
  return out;
}

/** Checks a pose is a finite rigid transform (orthonormal rotation within tol, last row 0 0 0 1). */
export function rigidPoseProblem(T: ArrayLike<number>, tol = 1e-3): string | null {
  if (T.length !== 16) return `expected 16 values, got ${T.length}`;
  for (let i = 0; i < 16; i++) if (!Number.isFinite(T[i] as number)) return `entry ${i} is not finite`;
  if (Math.abs(T[12] as number) > tol || Math.abs(T[13] as number) > tol || Math.abs(T[14] as number) > tol ||
    Math.abs((T[15] as number) - 1) > tol) return 'last row is not 0 0 0 1';
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      let d = 0;
      for (let k = 0; k < 3; k++) d += (T[k * 4 + a] as number) * (T[k * 4 + b] as number);
      if (Math.abs(d - (a === b ? 1 : 0)) > tol) return 'rotation is not orthonormal';
    }
  }
  return null;
}
