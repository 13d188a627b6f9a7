/**
 * Rigid transforms: 4×4 row-major poses (camera-to-world unless named
 * otherwise), their products and inverses, the twist update of the
 * Gauss-Newton solvers, and the checks a pose must pass.
 */
import { so3Exp, so3Log } from './so3';

/** 4×4 row-major rigid transform, camera-to-world unless named otherwise. */
export type Pose = Float64Array;

export function identityPose(): Pose {
  const p = new Float64Array(16);
  p[0] = p[5] = p[10] = p[15] = 1;
  return p;
}

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

/** p' = T p for a 4×4 row-major T (3D point, implicit w = 1). */
export function transformPoint(T: ArrayLike<number>, x: number, y: number, z: number, out: Float64Array | number[] = [0, 0, 0]): Float64Array | number[] {
  out[0] = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number);
  out[1] = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number);
  out[2] = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number);
  return out;
}
