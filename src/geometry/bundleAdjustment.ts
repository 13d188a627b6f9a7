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

export function bundleAdjust(p: BaProblem, options: BaOptions = {}): BaResult {
  const iterations = options.iterations ?? 10;
  const delta = options.huber ?? 2;
  const depthSigma = options.depthSigma ?? 0.0015;
  const K = p.K;
  const obs = p.observations;
  const nObs = obs.length;
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

  const weightOf = (o: BaObservation): number => o.weight ?? 1;
  const depthOf = (o: BaObservation): number => o.depth ?? NaN;
  let poses = freeCams.map((c) => p.cameras[c] as Pose);
  let points = Float64Array.from(p.points);
  const poseOf = (o: BaObservation, ps: Pose[]): Pose => {
    const pi = col[o.camera] as number;
    return pi < 0 ? (p.cameras[o.camera] as Pose) : (ps[pi] as Pose);
  };
  const huberCost = (e: number): number => (e <= delta ? e * e : 2 * delta * e - delta * delta);
  const evaluate = (ps: Pose[], pts: Float64Array): Cost => {
    let c = 0, sq = 0, count = 0;
    for (let k = 0; k < nObs; k++) {
      const o = obs[k] as BaObservation;
      const T = poseOf(o, ps), li = o.point;
      const x = pts[3 * li] as number, y = pts[3 * li + 1] as number, z = pts[3 * li + 2] as number;
      const Z = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number);
      if (!(Z > MIN_Z)) {
        c += delta * delta * 10;
        continue;
      }
      const X = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number);
      const Y = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number);
      const du = K.fx * X / Z + K.cx - o.u, dv = K.fy * Y / Z + K.cy - o.v;
      c += huberCost(Math.sqrt((du * du + dv * dv) * weightOf(o)));
      sq += du * du + dv * dv;
      count++;
      const d = depthOf(o);
      if (Number.isFinite(d)) c += huberCost(Math.abs((Z - d) / (depthSigma * d * d)));
    }
    return { cost: c, sq, count };
  };

  const n6 = 6 * P;
  const Hpp = new Float64Array(n6 * n6), bp = new Float64Array(n6);
  const Hll = new Float64Array(9 * L), bl = new Float64Array(3 * L);
  // camera–point cross blocks, one 6×3 per observation
  const Wpl = new Float64Array(18 * nObs);
  const obsPose = new Int32Array(nObs);
  const lin = projectionLinearization();
  const Jz = new Float64Array(6), Jzl = new Float64Array(3);
  const HllInv = new Float64Array(9 * L);
  // per-attempt scratch: a point's damped block, W·Hll⁻¹ of one observation, a point's reduced residual
  const D = new Float64Array(9), tmp = new Float64Array(18), r3 = new Float64Array(3);
  let lambda = 1e-3;
  const start = evaluate(poses, points);
  let current = start;
  result.initialCost = start.cost;
  // observations of each point, for the Schur complement
  const byPoint: number[][] = Array.from({ length: L }, () => []);
  for (let k = 0; k < nObs; k++) byPoint[(obs[k] as BaObservation).point]!.push(k);

  for (let it = 0; it < iterations; it++) {
    Hpp.fill(0); bp.fill(0); Hll.fill(0); bl.fill(0); Wpl.fill(0);
    for (let k = 0; k < nObs; k++) {
      const o = obs[k] as BaObservation;
      const pi = col[o.camera] as number;
      obsPose[k] = pi;
      const T = poseOf(o, poses), li = o.point;
      const x = points[3 * li] as number, y = points[3 * li + 1] as number, z = points[3 * li + 2] as number;
      if (!linearizeProjection(T, K, x, y, z, o.u, o.v, MIN_Z, lin)) continue;
      const ru = lin.ru, rv = lin.rv, Jl = lin.point, Jp = lin.pose;
      const is2 = weightOf(o);
      const e = Math.sqrt((ru * ru + rv * rv) * is2);
      const w = (e <= delta ? 1 : delta / e) * is2;
      const lo = 9 * li;
      for (let r = 0; r < 3; r++) {
        bl[3 * li + r] = (bl[3 * li + r] as number) - w * ((Jl[r] as number) * ru + (Jl[3 + r] as number) * rv);
        for (let s = 0; s < 3; s++) Hll[lo + 3 * r + s] = (Hll[lo + 3 * r + s] as number) + w * ((Jl[r] as number) * (Jl[s] as number) + (Jl[3 + r] as number) * (Jl[3 + s] as number));
      }
      const po = 6 * pi;
      if (pi >= 0) {
        for (let r = 0; r < 6; r++) {
          bp[po + r] = (bp[po + r] as number) - w * ((Jp[r] as number) * ru + (Jp[6 + r] as number) * rv);
          for (let s = 0; s < 6; s++) {
            Hpp[(po + r) * n6 + po + s] = (Hpp[(po + r) * n6 + po + s] as number) + w * ((Jp[r] as number) * (Jp[s] as number) + (Jp[6 + r] as number) * (Jp[6 + s] as number));
          }
          for (let s = 0; s < 3; s++) Wpl[18 * k + 3 * r + s] = w * ((Jp[r] as number) * (Jl[s] as number) + (Jp[6 + r] as number) * (Jl[3 + s] as number));
        }
      }
      const d = depthOf(o);
      if (!Number.isFinite(d)) continue;
      // depth row: rz = (Z − d) / σ_z; dZ/dξ = (Y, −X, 0, 0, 0, 1), dZ/dx = third row of R
      const sz = 1 / (depthSigma * d * d);
      const rz = (lin.Z - d) * sz;
      const wz = Math.abs(rz) <= delta ? 1 : delta / Math.abs(rz);
      for (let s = 0; s < 3; s++) Jzl[s] = sz * (T[8 + s] as number);
      for (let r = 0; r < 3; r++) {
        bl[3 * li + r] = (bl[3 * li + r] as number) - wz * (Jzl[r] as number) * rz;
        for (let s = 0; s < 3; s++) Hll[lo + 3 * r + s] = (Hll[lo + 3 * r + s] as number) + wz * (Jzl[r] as number) * (Jzl[s] as number);
      }
      if (pi < 0) continue;
      Jz[0] = sz * lin.Y; Jz[1] = -sz * lin.X; Jz[2] = 0; Jz[3] = 0; Jz[4] = 0; Jz[5] = sz;
      for (let r = 0; r < 6; r++) {
        bp[po + r] = (bp[po + r] as number) - wz * (Jz[r] as number) * rz;
        for (let s = 0; s < 6; s++) Hpp[(po + r) * n6 + po + s] = (Hpp[(po + r) * n6 + po + s] as number) + wz * (Jz[r] as number) * (Jz[s] as number);
        for (let s = 0; s < 3; s++) Wpl[18 * k + 3 * r + s] = (Wpl[18 * k + 3 * r + s] as number) + wz * (Jz[r] as number) * (Jzl[s] as number);
      }
    }
    // LM loop: retry with more damping until the cost goes down
    let accepted = false;
    for (let attempt = 0; attempt < 6 && !accepted; attempt++) {
      const S = Float64Array.from(Hpp), rhs = Float64Array.from(bp);
      for (let r = 0; r < n6; r++) S[r * n6 + r] = (S[r * n6 + r] as number) * (1 + lambda) + 1e-9;
      for (let l = 0; l < L; l++) {
        D.set(Hll.subarray(9 * l, 9 * l + 9));
        for (let k = 0; k < 3; k++) D[4 * k] = (D[4 * k] as number) * (1 + lambda) + 1e-9;
        // a point without a usable block stays where it is
        if (!invert3Symmetric(D, 0, HllInv, 9 * l)) HllInv.fill(0, 9 * l, 9 * l + 9);
      }
      for (let l = 0; l < L; l++) {
        const h = 9 * l; // the point's block of HllInv
        const list = byPoint[l] as number[];
        for (const k of list) {
          const pi = obsPose[k] as number;
          if (pi < 0) continue;
          // tmp = W_k Hll⁻¹ (6×3)
          for (let r = 0; r < 6; r++) {
            for (let s = 0; s < 3; s++) {
              tmp[3 * r + s] = (Wpl[18 * k + 3 * r] as number) * (HllInv[h + s] as number) + (Wpl[18 * k + 3 * r + 1] as number) * (HllInv[h + 3 + s] as number) +
                (Wpl[18 * k + 3 * r + 2] as number) * (HllInv[h + 6 + s] as number);
            }
            rhs[6 * pi + r] = (rhs[6 * pi + r] as number) - ((tmp[3 * r] as number) * (bl[3 * l] as number) + (tmp[3 * r + 1] as number) * (bl[3 * l + 1] as number) +
              (tmp[3 * r + 2] as number) * (bl[3 * l + 2] as number));
          }
          for (const k2 of list) {
            const pj = obsPose[k2] as number;
            if (pj < 0) continue;
            for (let r = 0; r < 6; r++) {
              for (let s = 0; s < 6; s++) {
                const v = (tmp[3 * r] as number) * (Wpl[18 * k2 + 3 * s] as number) + (tmp[3 * r + 1] as number) * (Wpl[18 * k2 + 3 * s + 1] as number) +
                  (tmp[3 * r + 2] as number) * (Wpl[18 * k2 + 3 * s + 2] as number);
                S[(6 * pi + r) * n6 + 6 * pj + s] = (S[(6 * pi + r) * n6 + 6 * pj + s] as number) - v;
              }
            }
          }
        }
      }
      const dp = solveSpd(S, rhs, n6);
      if (!dp) {
        lambda *= 10;
        continue;
      }
      const newPoses = poses.map((T, i) => multiply(se3FromTwist(dp.subarray(6 * i, 6 * i + 6)), T));
      const newPoints = Float64Array.from(points);
      for (let l = 0; l < L; l++) {
        r3[0] = bl[3 * l] as number;
        r3[1] = bl[3 * l + 1] as number;
        r3[2] = bl[3 * l + 2] as number;
        for (const k of byPoint[l] as number[]) {
          const pi = obsPose[k] as number;
          if (pi < 0) continue;
          for (let s = 0; s < 3; s++) {
            let v = 0;
            for (let r = 0; r < 6; r++) v += (Wpl[18 * k + 3 * r + s] as number) * (dp[6 * pi + r] as number);
            r3[s] = (r3[s] as number) - v;
          }
        }
        const h = 9 * l;
        for (let s = 0; s < 3; s++) {
          newPoints[3 * l + s] = (newPoints[3 * l + s] as number) + (HllInv[h + 3 * s] as number) * (r3[0] as number) +
            (HllInv[h + 3 * s + 1] as number) * (r3[1] as number) + (HllInv[h + 3 * s + 2] as number) * (r3[2] as number);
        }
      }
      const next = evaluate(newPoses, newPoints);
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
