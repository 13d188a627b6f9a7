/**
 * Pinhole projection of a world point through a world-to-camera pose, with
 * the derivatives every reprojection solver linearises (PnP refinement,
 * motion-only and full bundle adjustment): one place, so the solvers cannot
 * disagree on a sign or a term.
 */
import type { Pinhole } from './intrinsics';

/** One linearised observation; reuse one object across points (no allocation per point). */
export interface ProjectionLinearization {
  /** the point in the camera frame */
  X: number;
  Y: number;
  Z: number;
  /** projected − measured pixel */
  ru: number;
  rv: number;
  /**
   * d(u, v)/dξ for a left-multiplied twist ξ = (ω, v) of the pose, row u then
   * row v (2×6): d(u,v)/dP · dP/dξ with dP/dω = −[P]×, dP/dv = I
   */
  pose: Float64Array;
  /** d(u, v)/dx of the world point, row u then row v (2×3): d(u,v)/dP · R */
  point: Float64Array;
}

export function projectionLinearization(): ProjectionLinearization {
  return { X: 0, Y: 0, Z: 0, ru: 0, rv: 0, pose: new Float64Array(12), point: new Float64Array(6) };
}

/**
 * Projects world point (x, y, z) through Tcw (4×4 row-major) and K and
 * fills `out` for the measured pixel (u, v). False (out's derivatives left
 * stale) when the point is not in front of the camera by more than minZ.
 */
export function linearizeProjection(Tcw: ArrayLike<number>, K: Pinhole, x: number, y: number, z: number, u: number, v: number,
  minZ: number, out: ProjectionLinearization): boolean {
  const T = Tcw;
  const X = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number);
  const Y = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number);
  const Z = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number);
  out.X = X;
  out.Y = Y;
  out.Z = Z;
  if (!(Z > minZ)) return false;
  const iz = 1 / Z;
  out.ru = K.fx * X * iz + K.cx - u;
  out.rv = K.fy * Y * iz + K.cy - v;
  const a = K.fx * iz, b = -K.fx * X * iz * iz, c = K.fy * iz, d = -K.fy * Y * iz * iz;
  const J = out.pose;
  J[0] = b * Y; J[1] = a * Z - b * X; J[2] = -a * Y; J[3] = a; J[4] = 0; J[5] = b;
  J[6] = -c * Z + d * Y; J[7] = -d * X; J[8] = c * X; J[9] = 0; J[10] = c; J[11] = d;
  const P = out.point;
  for (let k = 0; k < 3; k++) {
    P[k] = a * (T[k] as number) + b * (T[8 + k] as number);
    P[3 + k] = c * (T[4 + k] as number) + d * (T[8 + k] as number);
  }
  return true;
}
