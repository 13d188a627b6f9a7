/**
 * Windowed bundle adjustment: Levenberg-Marquardt on the reprojection error
 * of the landmarks seen by the last keyframes, Huber-weighted (IRLS), with
 * the landmarks eliminated by the Schur complement (Triggs et al., "Bundle
 * adjustment — a modern synthesis", 2000, §6.1): the reduced camera system
 * is 6·poses square whatever the landmark count, and each landmark's 3×3
 * block is inverted on its own. Keyframes outside the window that see the
 * window's landmarks constrain them with fixed poses (ORB-SLAM's local BA),
 * which also pins the monocular scale gauge.
 *
 * Why not src/tracking/bundleAdjustment.ts (the RGB-D solver, same method):
 * monocular geometry needs each observation weighted by its pyramid level's
 * σ and the Huber loss on the 2-D residual. Through the RGB-D solver (no
 * per-observation weight) the synthetic room's map came out 0.6% deeper than
 * its trajectory and the fused mesh's median error rose from 1.6 to 2.3 cm.
 * A weight on its BaObservation would let this file delegate.
 */
import type { Pinhole } from '../geometry/intrinsics';
import { solveSpd } from '../geometry/linalg';
import { CHI2_2DOF } from '../geometry/poseOptimize';
import { multiply, orthonormalize, se3FromTwist } from '../geometry/se3';
import type { Keyframe, Landmark, MonoMap } from './map';

export interface BundleAdjustOptions {
  iterations: number;
  /** Huber threshold on the σ-normalised residual, pixels */
  huber: number;
  /** pyramid scale factor (σ of level l = scale^l) */
  levelScale: number;
}

export interface BundleAdjustReport {
  poses: number;
  fixedPoses: number;
  landmarks: number;
  observations: number;
  /** Σ robust cost before and after */
  initialCost: number;
  finalCost: number;
  iterations: number;
  /** observations dropped as outliers afterwards, landmarks removed */
  outlierObservations: number;
  removedLandmarks: number;
}

function invert3Sym(m: Float64Array, o: number, out: Float64Array): boolean {
  const a = m[o] as number, b = m[o + 1] as number, c = m[o + 2] as number, d = m[o + 4] as number, e = m[o + 5] as number, f = m[o + 8] as number;
  const A = d * f - e * e, B = c * e - b * f, C = b * e - c * d;
  const det = a * A + b * B + c * C;
  if (!(Math.abs(det) > 1e-300)) return false;
  const id = 1 / det;
  out[0] = A * id; out[1] = B * id; out[2] = C * id;
  out[3] = B * id; out[4] = (a * f - c * c) * id; out[5] = (b * c - a * e) * id;
  out[6] = C * id; out[7] = (b * c - a * e) * id; out[8] = (a * d - b * b) * id;
  return true;
}

/**
 * Adjusts the poses of `window` (except those in `fixed`) and every landmark
 * they observe; keyframes outside the window that observe those landmarks
 * take part with fixed poses. Afterwards, observations with χ² > 5.991 are
 * removed and landmarks left with fewer than 2 observations deleted.
 */
export function bundleAdjust(map: MonoMap, window: readonly Keyframe[], fixed: ReadonlySet<number>, K: Pinhole,
  options: BundleAdjustOptions): BundleAdjustReport {
  const free = window.filter((kf) => !fixed.has(kf.id));
  const poseIndex = new Map<number, number>();
  free.forEach((kf, i) => poseIndex.set(kf.id, i));
  const lmSet = new Map<number, Landmark>();
  for (const kf of window) {
    for (let i = 0; i < kf.landmark.length; i++) {
      const lm = map.landmarks.get(kf.landmark[i] as number);
      if (lm) lmSet.set(lm.id, lm);
    }
  }
  const lms = [...lmSet.values()].sort((a, b) => a.id - b.id);
  // observations: (landmark index, keyframe, pixel, 1/σ²)
  const obsLm: number[] = [], obsKf: Keyframe[] = [], obsU: number[] = [], obsV: number[] = [], obsW: number[] = [];
  const fixedSeen = new Set<number>();
  lms.forEach((lm, li) => {
    for (const [kfId, fi] of lm.obs) {
      const kf = map.keyframe(kfId);
      if (!kf) continue;
      if (!poseIndex.has(kfId)) fixedSeen.add(kfId);
      obsLm.push(li);
      obsKf.push(kf);
      obsU.push(kf.feats.xy[2 * fi] as number);
      obsV.push(kf.feats.xy[2 * fi + 1] as number);
      obsW.push(options.levelScale ** (-2 * (kf.feats.level[fi] as number)));
    }
  });
  const nObs = obsLm.length, P = free.length, L = lms.length;
  const report: BundleAdjustReport = {
    poses: P, fixedPoses: fixedSeen.size, landmarks: L, observations: nObs, initialCost: 0, finalCost: 0, iterations: 0,
    outlierObservations: 0, removedLandmarks: 0,
  };
  if (P === 0 || L === 0) return report;

  let poses = free.map((kf) => kf.tcw);
  let points = Float64Array.from(lms.flatMap((l) => [l.position[0] as number, l.position[1] as number, l.position[2] as number]));
  const delta = options.huber;
  const tcwOf = (o: number, ps: Float64Array[]): Float64Array => {
    const pi = poseIndex.get((obsKf[o] as Keyframe).id);
    return pi === undefined ? (obsKf[o] as Keyframe).tcw : (ps[pi] as Float64Array);
  };
  const cost = (ps: Float64Array[], pts: Float64Array): number => {
    let c = 0;
    for (let o = 0; o < nObs; o++) {
      const T = tcwOf(o, ps), li = obsLm[o] as number;
      const x = pts[3 * li] as number, y = pts[3 * li + 1] as number, z = pts[3 * li + 2] as number;
      const Z = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number);
      if (!(Z > 1e-9)) {
        c += delta * delta * 10;
        continue;
      }
      const X = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number);
      const Y = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number);
      const du = K.fx * X / Z + K.cx - (obsU[o] as number), dv = K.fy * Y / Z + K.cy - (obsV[o] as number);
      const e = Math.sqrt((du * du + dv * dv) * (obsW[o] as number));
      c += e <= delta ? e * e : 2 * delta * e - delta * delta;
    }
    return c;
  };

  const n6 = 6 * P;
  const Hpp = new Float64Array(n6 * n6), bp = new Float64Array(n6);
  const Hll = new Float64Array(9 * L), bl = new Float64Array(3 * L);
  const Wpl = new Float64Array(18 * nObs);
  const obsPose = new Int32Array(nObs);
  const Jp = new Float64Array(12), Jl = new Float64Array(6);
  const HllInv = new Float64Array(9 * L);
  let lambda = 1e-3;
  let current = cost(poses, points);
  report.initialCost = current;
  // observations of each landmark, for the Schur complement
  const byLm: number[][] = Array.from({ length: L }, () => []);
  for (let o = 0; o < nObs; o++) byLm[obsLm[o] as number]!.push(o);

  for (let it = 0; it < options.iterations; it++) {
    Hpp.fill(0); bp.fill(0); Hll.fill(0); bl.fill(0); Wpl.fill(0);
    for (let o = 0; o < nObs; o++) {
      const pi = poseIndex.get((obsKf[o] as Keyframe).id);
      obsPose[o] = pi === undefined ? -1 : pi;
      const T = tcwOf(o, poses), li = obsLm[o] as number;
      const x = points[3 * li] as number, y = points[3 * li + 1] as number, z = points[3 * li + 2] as number;
      const X = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number);
      const Y = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number);
      const Z = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number);
      if (!(Z > 1e-9)) continue;
      const iz = 1 / Z;
      const ru = K.fx * X * iz + K.cx - (obsU[o] as number), rv = K.fy * Y * iz + K.cy - (obsV[o] as number);
      const is2 = obsW[o] as number;
      const e = Math.sqrt((ru * ru + rv * rv) * is2);
      const w = (e <= delta ? 1 : delta / e) * is2;
      const a = K.fx * iz, b = -K.fx * X * iz * iz, c = K.fy * iz, d = -K.fy * Y * iz * iz;
      // landmark: du/dP · R
      for (let k = 0; k < 3; k++) {
        Jl[k] = a * (T[k] as number) + b * (T[8 + k] as number);
        Jl[3 + k] = c * (T[4 + k] as number) + d * (T[8 + k] as number);
      }
      const lo = 9 * li;
      for (let r = 0; r < 3; r++) {
        bl[3 * li + r] = (bl[3 * li + r] as number) - w * ((Jl[r] as number) * ru + (Jl[3 + r] as number) * rv);
        for (let s = 0; s < 3; s++) Hll[lo + 3 * r + s] = (Hll[lo + 3 * r + s] as number) + w * ((Jl[r] as number) * (Jl[s] as number) + (Jl[3 + r] as number) * (Jl[3 + s] as number));
      }
      if (pi === undefined) continue;
      Jp[0] = b * Y; Jp[1] = a * Z - b * X; Jp[2] = -a * Y; Jp[3] = a; Jp[4] = 0; Jp[5] = b;
      Jp[6] = -c * Z + d * Y; Jp[7] = -d * X; Jp[8] = c * X; Jp[9] = 0; Jp[10] = c; Jp[11] = d;
      const po = 6 * pi;
      for (let r = 0; r < 6; r++) {
        bp[po + r] = (bp[po + r] as number) - w * ((Jp[r] as number) * ru + (Jp[6 + r] as number) * rv);
        for (let s = 0; s < 6; s++) {
          Hpp[(po + r) * n6 + po + s] = (Hpp[(po + r) * n6 + po + s] as number) + w * ((Jp[r] as number) * (Jp[s] as number) + (Jp[6 + r] as number) * (Jp[6 + s] as number));
        }
        for (let s = 0; s < 3; s++) Wpl[18 * o + 3 * r + s] = w * ((Jp[r] as number) * (Jl[s] as number) + (Jp[6 + r] as number) * (Jl[3 + s] as number));
      }
    }
    // LM loop: retry with more damping until the cost goes down
    let accepted = false;
    for (let attempt = 0; attempt < 6 && !accepted; attempt++) {
      const S = Float64Array.from(Hpp), rhs = Float64Array.from(bp);
      for (let r = 0; r < n6; r++) S[r * n6 + r] = (S[r * n6 + r] as number) * (1 + lambda) + 1e-9;
      let okAll = true;
      for (let l = 0; l < L; l++) {
        const D = Hll.slice(9 * l, 9 * l + 9);
        for (let k = 0; k < 3; k++) D[4 * k] = (D[4 * k] as number) * (1 + lambda) + 1e-9;
        if (!invert3Sym(D, 0, HllInv.subarray(9 * l, 9 * l + 9))) {
          okAll = false;
          HllInv.fill(0, 9 * l, 9 * l + 9);
        }
      }
      void okAll;
      const tmp = new Float64Array(18);
      for (let l = 0; l < L; l++) {
        const Hi = HllInv.subarray(9 * l, 9 * l + 9);
        const list = byLm[l] as number[];
        for (const o of list) {
          const pi = obsPose[o] as number;
          if (pi < 0) continue;
          // tmp = W_o Hll⁻¹ (6×3)
          for (let r = 0; r < 6; r++) {
            for (let s = 0; s < 3; s++) {
              tmp[3 * r + s] = (Wpl[18 * o + 3 * r] as number) * (Hi[s] as number) + (Wpl[18 * o + 3 * r + 1] as number) * (Hi[3 + s] as number) +
                (Wpl[18 * o + 3 * r + 2] as number) * (Hi[6 + s] as number);
            }
            rhs[6 * pi + r] = (rhs[6 * pi + r] as number) - ((tmp[3 * r] as number) * (bl[3 * l] as number) + (tmp[3 * r + 1] as number) * (bl[3 * l + 1] as number) +
              (tmp[3 * r + 2] as number) * (bl[3 * l + 2] as number));
          }
          for (const o2 of list) {
            const pj = obsPose[o2] as number;
            if (pj < 0) continue;
            for (let r = 0; r < 6; r++) {
              for (let s = 0; s < 6; s++) {
                const v = (tmp[3 * r] as number) * (Wpl[18 * o2 + 3 * s] as number) + (tmp[3 * r + 1] as number) * (Wpl[18 * o2 + 3 * s + 1] as number) +
                  (tmp[3 * r + 2] as number) * (Wpl[18 * o2 + 3 * s + 2] as number);
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
        const r3 = [bl[3 * l] as number, bl[3 * l + 1] as number, bl[3 * l + 2] as number];
        for (const o of byLm[l] as number[]) {
          const pi = obsPose[o] as number;
          if (pi < 0) continue;
          for (let s = 0; s < 3; s++) {
            let v = 0;
            for (let r = 0; r < 6; r++) v += (Wpl[18 * o + 3 * r + s] as number) * (dp[6 * pi + r] as number);
            r3[s]! -= v;
          }
        }
        const Hi = HllInv.subarray(9 * l, 9 * l + 9);
        for (let s = 0; s < 3; s++) {
          newPoints[3 * l + s] = (newPoints[3 * l + s] as number) + (Hi[3 * s] as number) * r3[0]! + (Hi[3 * s + 1] as number) * r3[1]! + (Hi[3 * s + 2] as number) * r3[2]!;
        }
      }
      const c = cost(newPoses, newPoints);
      if (Number.isFinite(c) && c < current) {
        const gain = current - c;
        poses = newPoses;
        points = newPoints;
        current = c;
        lambda = Math.max(1e-7, lambda / 3);
        accepted = true;
        report.iterations++;
        if (gain < 1e-6 * current) it = options.iterations;
      } else {
        lambda *= 4;
      }
    }
    if (!accepted) break;
  }
  report.finalCost = current;
  free.forEach((kf, i) => kf.setTcw(orthonormalize(poses[i] as Float64Array)));
  lms.forEach((lm, l) => lm.position.set(points.subarray(3 * l, 3 * l + 3)));
  // outlier observations out; landmarks with < 2 observations out
  for (let o = 0; o < nObs; o++) {
    const kf = obsKf[o] as Keyframe, lm = lms[obsLm[o] as number] as Landmark;
    const T = kf.tcw, p = lm.position;
    const X = (T[0] as number) * (p[0] as number) + (T[1] as number) * (p[1] as number) + (T[2] as number) * (p[2] as number) + (T[3] as number);
    const Y = (T[4] as number) * (p[0] as number) + (T[5] as number) * (p[1] as number) + (T[6] as number) * (p[2] as number) + (T[7] as number);
    const Z = (T[8] as number) * (p[0] as number) + (T[9] as number) * (p[1] as number) + (T[10] as number) * (p[2] as number) + (T[11] as number);
    let bad = !(Z > 1e-9);
    if (!bad) {
      const du = K.fx * X / Z + K.cx - (obsU[o] as number), dv = K.fy * Y / Z + K.cy - (obsV[o] as number);
      bad = (du * du + dv * dv) * (obsW[o] as number) > CHI2_2DOF;
    }
    if (bad && lm.obs.has(kf.id)) {
      map.unobserve(lm, kf.id);
      report.outlierObservations++;
    }
  }
  for (const lm of lms) {
    if (lm.obs.size < 2 && map.landmarks.has(lm.id)) {
      map.removeLandmark(lm.id);
      report.removedLandmarks++;
    }
  }
  return report;
}
