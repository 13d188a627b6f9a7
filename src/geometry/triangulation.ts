/**
 * Batched multi-view DLT triangulation with MASt3R's `batched_triangulate`
 * semantics: for each view that sees the point, two rows P₀ − x·P₂ and
 * P₁ − y·P₂ (P = K[R|t], world → pixels); least squares A[:, :3]·X = −A[:, 3].
 * Then the checks a SLAM map needs: cheirality (in front of every observing
 * camera), reprojection error, and optionally the parallax angle.
 */
import type { Pinhole } from './intrinsics';
import { solveSpd } from './linalg';

export interface TriangulationView {
  /** 3×4 row-major projection world → pixels (K [R | t]) */
  P: ArrayLike<number>;
  /** pixels, count × 2; a NaN coordinate means the view does not see that point */
  pixels: ArrayLike<number>;
  /** camera centre in world coordinates (for the parallax check) */
  center?: ArrayLike<number>;
}

export interface TriangulateOptions {
  /** reject points whose worst reprojection error exceeds this (pixels); default Infinity */
  maxReprojError?: number;
  /** a point needs at least this many observing views (≥ 2) */
  minViews?: number;
  /** reject points whose largest ray angle is below this (degrees; needs every view's center) */
  minParallaxDeg?: number;
}

export interface TriangulationResult {
  /** count × 3 world points (NaN where unsolvable) */
  points: Float64Array;
  /** 1 = passed every check */
  valid: Uint8Array;
  /** worst reprojection error over the observing views, pixels */
  reprojError: Float64Array;
  /** why a point failed: 0 ok, 1 too few views, 2 rank-deficient, 3 behind a camera, 4 reprojection, 5 parallax */
  reason: Uint8Array;
}

/** one DLT row's first three coefficients (scratch: triangulatePoint runs per point) */
const row = new Float64Array(3);

/** DLT rows least squares for one point (no checks); null when rank-deficient. */
export function triangulatePoint(views: readonly TriangulationView[], i: number): Float64Array | null {
  const AtA = new Float64Array(9);
  const Atb = new Float64Array(3);
  const a = row;
  let rows = 0;
  for (const v of views) {
    const x = v.pixels[2 * i] as number, y = v.pixels[2 * i + 1] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    const P = v.P;
    for (let k = 0; k < 2; k++) {
      const c = k === 0 ? x : y;
      const a0 = (P[4 * k] as number) - c * (P[8] as number);
      const a1 = (P[4 * k + 1] as number) - c * (P[9] as number);
      const a2 = (P[4 * k + 2] as number) - c * (P[10] as number);
      const a3 = (P[4 * k + 3] as number) - c * (P[11] as number);
      a[0] = a0;
      a[1] = a1;
      a[2] = a2;
      for (let r = 0; r < 3; r++) {
        Atb[r] = (Atb[r] as number) - (a[r] as number) * a3;
        for (let s = 0; s < 3; s++) AtA[r * 3 + s] = (AtA[r * 3 + s] as number) + (a[r] as number) * (a[s] as number);
      }
      rows++;
    }
  }
  if (rows < 4) return null;
  return solveSpd(AtA, Atb, 3);
}

export function triangulateBatch(views: readonly TriangulationView[], count: number,
  options: TriangulateOptions = {}): TriangulationResult {
  const maxErr = options.maxReprojError ?? Infinity;
  const minViews = Math.max(2, options.minViews ?? 2);
  const minParallax = ((options.minParallaxDeg ?? 0) * Math.PI) / 180;
  for (const [k, v] of views.entries()) {
    if (v.P.length !== 12) throw new RangeError(`triangulateBatch: view ${k} projection has ${v.P.length} values, expected 12 (3×4)`);
    if (v.pixels.length < 2 * count) {
      throw new RangeError(`triangulateBatch: view ${k} has ${v.pixels.length / 2} pixels, expected ${count}`);
    }
  }
  const rays = new Float64Array(3 * views.length);
  const points = new Float64Array(3 * count).fill(NaN);
  const valid = new Uint8Array(count);
  const reprojError = new Float64Array(count).fill(NaN);
  const reason = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    let seen = 0;
    for (const v of views) if (Number.isFinite(v.pixels[2 * i] as number) && Number.isFinite(v.pixels[2 * i + 1] as number)) seen++;
    if (seen < minViews) {
      reason[i] = 1;
      continue;
    }
    const X = triangulatePoint(views, i);
    if (!X) {
      reason[i] = 2;
      continue;
    }
    points[3 * i] = X[0] as number;
    points[3 * i + 1] = X[1] as number;
    points[3 * i + 2] = X[2] as number;
    let worst = 0;
    let behind = false;
    for (const v of views) {
      const x = v.pixels[2 * i] as number, y = v.pixels[2 * i + 1] as number;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const P = v.P;
      const w = (P[8] as number) * X[0]! + (P[9] as number) * X[1]! + (P[10] as number) * X[2]! + (P[11] as number);
      // P = K[R|t] with K's last row (0 0 1): w is the camera-frame depth
      if (!(w > 0)) {
        behind = true;
        break;
      }
      const u = ((P[0] as number) * X[0]! + (P[1] as number) * X[1]! + (P[2] as number) * X[2]! + (P[3] as number)) / w;
      const vv = ((P[4] as number) * X[0]! + (P[5] as number) * X[1]! + (P[6] as number) * X[2]! + (P[7] as number)) / w;
      worst = Math.max(worst, Math.hypot(u - x, vv - y));
    }
    if (behind) {
      reason[i] = 3;
      continue;
    }
    reprojError[i] = worst;
    if (!(worst <= maxErr)) {
      reason[i] = 4;
      continue;
    }
    if (minParallax > 0) {
      let best = 0;
      // unit rays from the centres, 3 per view (reused across points)
      let nr = 0;
      for (const v of views) {
        if (!v.center || !Number.isFinite(v.pixels[2 * i] as number)) continue;
        const d0 = X[0]! - (v.center[0] as number), d1 = X[1]! - (v.center[1] as number), d2 = X[2]! - (v.center[2] as number);
        const n = Math.hypot(d0, d1, d2);
        rays[3 * nr] = d0 / n;
        rays[3 * nr + 1] = d1 / n;
        rays[3 * nr + 2] = d2 / n;
        nr++;
      }
      for (let a = 0; a < nr; a++) {
        for (let b = a + 1; b < nr; b++) {
          const c = rays[3 * a]! * rays[3 * b]! + rays[3 * a + 1]! * rays[3 * b + 1]! + rays[3 * a + 2]! * rays[3 * b + 2]!;
          best = Math.max(best, Math.acos(Math.min(1, Math.max(-1, c))));
        }
      }
      if (best < minParallax) {
        reason[i] = 5;
        continue;
      }
    }
    valid[i] = 1;
  }
  return { points, valid, reprojError, reason };
}

/** P = K [R | t] for a world-to-camera pose (4×4 row-major) and pinhole intrinsics. */
export function projectionMatrix(K: Pinhole, worldToCamera: ArrayLike<number>): Float64Array {
  const P = new Float64Array(12);
  for (let c = 0; c < 4; c++) {
    const r0 = worldToCamera[c] as number, r1 = worldToCamera[4 + c] as number, r2 = worldToCamera[8 + c] as number;
    P[c] = K.fx * r0 + K.cx * r2;
    P[4 + c] = K.fy * r1 + K.cy * r2;
    P[8 + c] = r2;
  }
  return P;
}
