/**
 * Bundle adjustment for RGB-D and monocular keyframes: Levenberg-Marquardt on
 * the reprojection error of the points the cameras observe, each observation
 * weighted by its information 1/σ² (σ: the feature's pyramid scale) and
 * Huber-robust on the σ-normalised 2-D residual (ORB-SLAM's local BA, Mur-Artal
 * et al. 2015), plus — where an observation carries a measured depth — a depth
 * residual in units of the Kinect noise σ_z = depthSigma·z² (so one σ of depth
 * weighs like one pixel) with its own Huber weight. The points are eliminated
 * by the Schur complement (Triggs et al., "Bundle adjustment — a modern
 * synthesis", 2000, §6.1): the reduced camera system is 6·free cameras square
 * whatever the point count, and each point's 3×3 block is inverted on its own.
 * Fixed cameras constrain the points they see (the gauge; for a monocular map
 * also the scale); depth fixes the scale where there is depth.
 */
import type { Pinhole } from './intrinsics';
import { invert3Symmetric, solveSpd } from './linalg';
import { linearizeProjection, projectionLinearization } from './projection';
import { multiply, orthonormalize, se3FromTwist, type Pose } from './se3';

export interface BaObservation {
  /** index into cameras */
  camera: number;
  /** index into points */
  point: number;
  u: number;
  v: number;
  /** measured depth along the optical axis (metres); absent or NaN: none */
  depth?: number;
  /** information of the pixel measurement, 1/σ² (default 1) */
  weight?: number;
}

export interface BaProblem {
  K: Pinhole;
  /** world-to-camera poses; the free ones are replaced by the refined (orthonormalised) poses */
  cameras: Pose[];
  /** cameras[i] is held fixed when fixed[i] */
  fixed: readonly boolean[];
  /** world points n × 3; refined in place */
  points: Float64Array;
  observations: readonly BaObservation[];
}

export interface BaOptions {
  iterations?: number;
  /** Huber threshold on the σ-normalised reprojection error (pixels) and on the depth residual (σ units) */
  huber?: number;
  /** depth noise σ_z = depthSigma · z² (metres) */
  depthSigma?: number;
}

export interface BaResult {
  /** accepted Levenberg-Marquardt steps */
  iterations: number;
  /** robust cost before and after */
  initialCost: number;
  finalCost: number;
  /** RMS reprojection error (pixels, unweighted) before and after, over the observations in front of their camera */
  initialRms: number;
  finalRms: number;
}

/** a point this close to (or behind) the camera plane has no usable projection */
const MIN_Z = 1e-9;

interface Cost {
  cost: number;
  sq: number;
  count: number;
}

/**
 * The observations as parallel typed arrays, read every iteration: the hot
 * loops load numbers, not optional fields of objects (absent depth → NaN,
 * absent weight → 1, as the object form means).
 */
interface ObservationArrays {
  camera: Int32Array;
  /** the camera's free column, −1 for a fixed camera */
  column: Int32Array;
  point: Int32Array;
  u: Float64Array;
  v: Float64Array;
  depth: Float64Array;
  weight: Float64Array;
}

function observationArrays(obs: readonly BaObservation[], col: Int32Array): ObservationArrays {
  const n = obs.length;
  const a: ObservationArrays = {
    camera: new Int32Array(n), column: new Int32Array(n), point: new Int32Array(n), u: new Float64Array(n), v: new Float64Array(n),
    depth: new Float64Array(n), weight: new Float64Array(n),
  };
  for (let k = 0; k < n; k++) {
    const o = obs[k] as BaObservation;
    a.camera[k] = o.camera;
    a.column[k] = col[o.camera] as number;
    a.point[k] = o.point;
    a.u[k] = o.u;
    a.v[k] = o.v;
    a.depth[k] = o.depth ?? NaN;
    a.weight[k] = o.weight ?? 1;
  }
  return a;
}

/**
 * Each point's observations by free cameras, in observation order (CSR:
 * obs[start[l] .. start[l+1])): the lists the Schur complement and the back-
 * substitution walk (observations by fixed cameras add nothing there).
 */
function freeObservationsByPoint(a: ObservationArrays, L: number): { start: Int32Array; obs: Int32Array } {
  const n = a.point.length;
  const start = new Int32Array(L + 1);
  for (let k = 0; k < n; k++) {
    const at = (a.point[k] as number) + 1;
    if ((a.column[k] as number) >= 0) start[at] = (start[at] as number) + 1;
  }
  for (let l = 0; l < L; l++) start[l + 1] = (start[l + 1] as number) + (start[l] as number);
  const fill = start.slice(0, L);
  const obs = new Int32Array(start[L] as number);
  for (let k = 0; k < n; k++) {
    if ((a.column[k] as number) < 0) continue;
    const l = a.point[k] as number;
    obs[fill[l] as number] = k;
    fill[l] = (fill[l] as number) + 1;
  }
  return { start, obs };
}

/** every camera's pose for one evaluation: the free ones from `free`, the fixed ones as given */
function cameraPoses(cameras: readonly Pose[], col: Int32Array, free: readonly Pose[]): Pose[] {
  return cameras.map((T, c) => ((col[c] as number) < 0 ? T : (free[col[c] as number] as Pose)));
}

function huberCost(e: number, delta: number): number {
  return e <= delta ? e * e : 2 * delta * e - delta * delta;
}

/** robust cost, and the squared pixel error and count of the observations in front of their camera */
function evaluateCost(K: Pinhole, a: ObservationArrays, cams: readonly Pose[], pts: Float64Array, delta: number, depthSigma: number): Cost {
  const fx = K.fx, fy = K.fy, cx = K.cx, cy = K.cy;
  let c = 0, sq = 0, count = 0;
  const n = a.point.length;
  for (let k = 0; k < n; k++) {
    const T = cams[a.camera[k] as number] as Pose, li = a.point[k] as number;
    const x = pts[3 * li] as number, y = pts[3 * li + 1] as number, z = pts[3 * li + 2] as number;
    const Z = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number);
    if (!(Z > MIN_Z)) {
      c += delta * delta * 10;
      continue;
    }
    const X = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number);
    const Y = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number);
    const du = fx * X / Z + cx - (a.u[k] as number), dv = fy * Y / Z + cy - (a.v[k] as number);
    c += huberCost(Math.sqrt((du * du + dv * dv) * (a.weight[k] as number)), delta);
    sq += du * du + dv * dv;
    count++;
    const d = a.depth[k] as number;
    if (Number.isFinite(d)) c += huberCost(Math.abs((Z - d) / (depthSigma * d * d)), delta);
  }
  return { cost: c, sq, count };
}

/** The normal equations at the current estimate, split for the Schur complement. */
interface NormalEquations {
  n6: number;
  /** camera block (6P × 6P) and its right-hand side; only the lower triangle is filled (solveSpd reads no more) */
  Hpp: Float64Array;
  bp: Float64Array;
  /** one 3×3 block and 3-vector per point; only a block's upper triangle is filled (invert3Symmetric reads no more) */
  Hll: Float64Array;
  bl: Float64Array;
  /** camera–point cross blocks, one 6×3 per observation */
  Wpl: Float64Array;
}

function normalEquations(P: number, L: number, nObs: number): NormalEquations {
  const n6 = 6 * P;
  return {
    n6, Hpp: new Float64Array(n6 * n6), bp: new Float64Array(n6), Hll: new Float64Array(9 * L), bl: new Float64Array(3 * L),
    Wpl: new Float64Array(18 * nObs),
  };
}

const lin = projectionLinearization();
const Jz = new Float64Array(6), Jzl = new Float64Array(3);

/** Fills the normal equations (pixel rows Huber-weighted, depth rows in σ_z units) at poses `cams` and points `points`. */
function linearize(K: Pinhole, a: ObservationArrays, cams: readonly Pose[], points: Float64Array, delta: number, depthSigma: number,
  ne: NormalEquations): void {
  const { n6, Hpp, bp, Hll, bl, Wpl } = ne;
  Hpp.fill(0); bp.fill(0); Hll.fill(0); bl.fill(0); Wpl.fill(0);
  const nObs = a.point.length;
  for (let k = 0; k < nObs; k++) {
    const pi = a.column[k] as number;
    const T = cams[a.camera[k] as number] as Pose, li = a.point[k] as number;
    const x = points[3 * li] as number, y = points[3 * li + 1] as number, z = points[3 * li + 2] as number;
    if (!linearizeProjection(T, K, x, y, z, a.u[k] as number, a.v[k] as number, MIN_Z, lin)) continue;
    const ru = lin.ru, rv = lin.rv, Jl = lin.point, Jp = lin.pose;
    const is2 = a.weight[k] as number;
    const e = Math.sqrt((ru * ru + rv * rv) * is2);
    const w = (e <= delta ? 1 : delta / e) * is2;
    const lo = 9 * li;
    for (let r = 0; r < 3; r++) {
      bl[3 * li + r] = (bl[3 * li + r] as number) - w * ((Jl[r] as number) * ru + (Jl[3 + r] as number) * rv);
      for (let s = r; s < 3; s++) Hll[lo + 3 * r + s] = (Hll[lo + 3 * r + s] as number) + w * ((Jl[r] as number) * (Jl[s] as number) + (Jl[3 + r] as number) * (Jl[3 + s] as number));
    }
    const po = 6 * pi;
    if (pi >= 0) {
      for (let r = 0; r < 6; r++) {
        bp[po + r] = (bp[po + r] as number) - w * ((Jp[r] as number) * ru + (Jp[6 + r] as number) * rv);
        for (let s = 0; s <= r; s++) {
          Hpp[(po + r) * n6 + po + s] = (Hpp[(po + r) * n6 + po + s] as number) + w * ((Jp[r] as number) * (Jp[s] as number) + (Jp[6 + r] as number) * (Jp[6 + s] as number));
        }
        for (let s = 0; s < 3; s++) Wpl[18 * k + 3 * r + s] = w * ((Jp[r] as number) * (Jl[s] as number) + (Jp[6 + r] as number) * (Jl[3 + s] as number));
      }
    }
    const d = a.depth[k] as number;
    if (!Number.isFinite(d)) continue;
    // depth row: rz = (Z − d) / σ_z; dZ/dξ = (Y, −X, 0, 0, 0, 1), dZ/dx = third row of R
    const sz = 1 / (depthSigma * d * d);
    const rz = (lin.Z - d) * sz;
    const wz = Math.abs(rz) <= delta ? 1 : delta / Math.abs(rz);
    for (let s = 0; s < 3; s++) Jzl[s] = sz * (T[8 + s] as number);
    for (let r = 0; r < 3; r++) {
      bl[3 * li + r] = (bl[3 * li + r] as number) - wz * (Jzl[r] as number) * rz;
      for (let s = r; s < 3; s++) Hll[lo + 3 * r + s] = (Hll[lo + 3 * r + s] as number) + wz * (Jzl[r] as number) * (Jzl[s] as number);
    }
    if (pi < 0) continue;
    Jz[0] = sz * lin.Y; Jz[1] = -sz * lin.X; Jz[2] = 0; Jz[3] = 0; Jz[4] = 0; Jz[5] = sz;
    for (let r = 0; r < 6; r++) {
      bp[po + r] = (bp[po + r] as number) - wz * (Jz[r] as number) * rz;
      for (let s = 0; s <= r; s++) Hpp[(po + r) * n6 + po + s] = (Hpp[(po + r) * n6 + po + s] as number) + wz * (Jz[r] as number) * (Jz[s] as number);
      for (let s = 0; s < 3; s++) Wpl[18 * k + 3 * r + s] = (Wpl[18 * k + 3 * r + s] as number) + wz * (Jz[r] as number) * (Jzl[s] as number);
    }
  }
}

/** the damped point blocks' inverses into HllInv (zero where a block is unusable: that point stays put) */
function invertPointBlocks(Hll: Float64Array, L: number, lambda: number, HllInv: Float64Array): void {
  const D = new Float64Array(9);
  for (let l = 0; l < L; l++) {
    for (let i = 0; i < 9; i++) D[i] = Hll[9 * l + i] as number; // copied, not viewed: no allocation per point
    for (let k = 0; k < 3; k++) D[4 * k] = (D[4 * k] as number) * (1 + lambda) + 1e-9;
    if (!invert3Symmetric(D, 0, HllInv, 9 * l)) HllInv.fill(0, 9 * l, 9 * l + 9);
  }
}

/**
 * The reduced camera system S = Hpp − Σ W Hll⁻¹ Wᵀ, rhs = bp − Σ W Hll⁻¹ bl
 * (S arrives holding the damped Hpp, rhs holding bp), point by point. Only
 * S's lower triangle is formed: the Cholesky solve reads no more, and the
 * upper half would be half the work.
 */
function schurComplement(ne: NormalEquations, a: ObservationArrays, byPoint: { start: Int32Array; obs: Int32Array }, L: number,
  HllInv: Float64Array, S: Float64Array, rhs: Float64Array): void {
  const { n6, bl, Wpl } = ne;
  const col = a.column, start = byPoint.start, list = byPoint.obs;
  const tmp = new Float64Array(18);
  for (let l = 0; l < L; l++) {
    const h = 9 * l; // the point's block of HllInv
    const end = start[l + 1] as number;
    for (let i = start[l] as number; i < end; i++) {
      const k = list[i] as number;
      const pi = col[k] as number;
      // tmp = W_k Hll⁻¹ (6×3)
      for (let r = 0; r < 6; r++) {
        for (let s = 0; s < 3; s++) {
          tmp[3 * r + s] = (Wpl[18 * k + 3 * r] as number) * (HllInv[h + s] as number) + (Wpl[18 * k + 3 * r + 1] as number) * (HllInv[h + 3 + s] as number) +
            (Wpl[18 * k + 3 * r + 2] as number) * (HllInv[h + 6 + s] as number);
        }
        rhs[6 * pi + r] = (rhs[6 * pi + r] as number) - ((tmp[3 * r] as number) * (bl[3 * l] as number) + (tmp[3 * r + 1] as number) * (bl[3 * l + 1] as number) +
          (tmp[3 * r + 2] as number) * (bl[3 * l + 2] as number));
      }
      for (let j = start[l] as number; j < end; j++) {
        const k2 = list[j] as number;
        const pj = col[k2] as number;
        if (pj > pi) continue; // above the diagonal: never read
        for (let r = 0; r < 6; r++) {
          const row = (6 * pi + r) * n6 + 6 * pj;
          const t0 = tmp[3 * r] as number, t1 = tmp[3 * r + 1] as number, t2 = tmp[3 * r + 2] as number;
          const sEnd = pj === pi ? r + 1 : 6;
          for (let s = 0; s < sEnd; s++) {
            const v = t0 * (Wpl[18 * k2 + 3 * s] as number) + t1 * (Wpl[18 * k2 + 3 * s + 1] as number) + t2 * (Wpl[18 * k2 + 3 * s + 2] as number);
            S[row + s] = (S[row + s] as number) - v;
          }
        }
      }
    }
  }
}

/** the points' step from the cameras' step dp: Δx_l = Hll⁻¹ (bl − Σ Wᵀ dp), added to a copy of `points` */
function backSubstitute(ne: NormalEquations, a: ObservationArrays, byPoint: { start: Int32Array; obs: Int32Array }, L: number,
  HllInv: Float64Array, dp: Float64Array, points: Float64Array): Float64Array {
  const { bl, Wpl } = ne;
  const col = a.column, start = byPoint.start, list = byPoint.obs;
  const newPoints = Float64Array.from(points);
  for (let l = 0; l < L; l++) {
    let r0 = bl[3 * l] as number, r1 = bl[3 * l + 1] as number, r2 = bl[3 * l + 2] as number;
    const end = start[l + 1] as number;
    for (let i = start[l] as number; i < end; i++) {
      const k = list[i] as number;
      const pi = col[k] as number;
      for (let s = 0; s < 3; s++) {
        let v = 0;
        for (let r = 0; r < 6; r++) v += (Wpl[18 * k + 3 * r + s] as number) * (dp[6 * pi + r] as number);
        if (s === 0) r0 -= v;
        else if (s === 1) r1 -= v;
        else r2 -= v;
      }
    }
    const h = 9 * l;
    for (let s = 0; s < 3; s++) {
      newPoints[3 * l + s] = (newPoints[3 * l + s] as number) + (HllInv[h + 3 * s] as number) * r0 +
        (HllInv[h + 3 * s + 1] as number) * r1 + (HllInv[h + 3 * s + 2] as number) * r2;
    }
  }
  return newPoints;
}

export function bundleAdjust(p: BaProblem, options: BaOptions = {}): BaResult {
  const iterations = options.iterations ?? 10;
  const delta = options.huber ?? 2;
  const depthSigma = options.depthSigma ?? 0.0015;
  const K = p.K;
  const L = p.points.length / 3;
  // free cameras in their order: columns of the reduced camera system
  const freeCams: number[] = [];
  const col = new Int32Array(p.cameras.length).fill(-1);
  p.cameras.forEach((_, c) => {
    if (!p.fixed[c]) col[c] = freeCams.push(c) - 1;
  });
  const P = freeCams.length;
  const result: BaResult = { iterations: 0, initialCost: 0, finalCost: 0, initialRms: 0, finalRms: 0 };
  if (P === 0 || L === 0) return result;

  const a = observationArrays(p.observations, col);
  const byPoint = freeObservationsByPoint(a, L);
  let poses = freeCams.map((c) => p.cameras[c] as Pose);
  let points: Float64Array = Float64Array.from(p.points);
  const ne = normalEquations(P, L, a.point.length);
  const n6 = ne.n6;
  const HllInv = new Float64Array(9 * L);
  const S = new Float64Array(n6 * n6), rhs = new Float64Array(n6);
  let lambda = 1e-3;
  const start = evaluateCost(K, a, cameraPoses(p.cameras, col, poses), points, delta, depthSigma);
  let current = start;
  result.initialCost = start.cost;

  for (let it = 0; it < iterations; it++) {
    linearize(K, a, cameraPoses(p.cameras, col, poses), points, delta, depthSigma, ne);
    // LM loop: retry with more damping until the cost goes down
    let accepted = false;
    for (let attempt = 0; attempt < 6 && !accepted; attempt++) {
      S.set(ne.Hpp);
      rhs.set(ne.bp);
      for (let r = 0; r < n6; r++) S[r * n6 + r] = (S[r * n6 + r] as number) * (1 + lambda) + 1e-9;
      invertPointBlocks(ne.Hll, L, lambda, HllInv);
      schurComplement(ne, a, byPoint, L, HllInv, S, rhs);
      const dp = solveSpd(S, rhs, n6);
      if (!dp) {
        lambda *= 10;
        continue;
      }
      const newPoses = poses.map((T, i) => multiply(se3FromTwist(dp.subarray(6 * i, 6 * i + 6)), T));
      const newPoints = backSubstitute(ne, a, byPoint, L, HllInv, dp, points);
      const next = evaluateCost(K, a, cameraPoses(p.cameras, col, newPoses), newPoints, delta, depthSigma);
      if (Number.isFinite(next.cost) && next.cost < current.cost) {
        const gain = current.cost - next.cost;
        poses = newPoses;
        points = newPoints;
        current = next;
        lambda = Math.max(1e-7, lambda / 3);
        accepted = true;
        result.iterations++;
        if (gain < 1e-6 * current.cost) it = iterations;
      } else {
        lambda *= 4;
      }
    }
    if (!accepted) break;
  }
  freeCams.forEach((c, i) => (p.cameras[c] = orthonormalize(poses[i] as Pose)));
  p.points.set(points);
  result.finalCost = current.cost;
  result.initialRms = Math.sqrt(start.sq / Math.max(1, start.count));
  result.finalRms = Math.sqrt(current.sq / Math.max(1, current.count));
  return result;
}
