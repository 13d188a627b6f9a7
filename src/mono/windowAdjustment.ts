/**
 * Windowed bundle adjustment of the monocular map (ORB-SLAM's local BA):
 * the poses of the last keyframes and every landmark they observe go to the
 * shared solver (src/geometry/bundleAdjustment.ts), each observation
 * weighted by its pyramid level's 1/σ²; keyframes outside the window that
 * see those landmarks take part with fixed poses, which also pins the
 * monocular scale gauge. Afterwards observations failing the χ² test are
 * dropped and landmarks left with fewer than 2 observations deleted.
 */
import { bundleAdjust, type BaObservation } from '../geometry/bundleAdjustment';
import type { Pinhole } from '../geometry/intrinsics';
import { CHI2_2DOF } from '../geometry/poseOptimize';
import type { Pose } from '../geometry/se3';
import type { Keyframe, Landmark, MonoMap } from './map';

export interface WindowAdjustmentOptions {
  iterations: number;
  /** Huber threshold on the σ-normalised residual, pixels */
  huber: number;
  /** pyramid scale factor (σ of level l = scale^l) */
  levelScale: number;
}

export interface WindowAdjustmentReport {
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

/**
 * Adjusts the poses of `window` (except those in `fixed`) and every landmark
 * they observe, then removes the outliers (χ² > 5.991).
 */
export function adjustWindow(map: MonoMap, window: readonly Keyframe[], fixed: ReadonlySet<number>, K: Pinhole,
  options: WindowAdjustmentOptions): WindowAdjustmentReport {
  // cameras: the free keyframes first (the solver's columns, in window order), then every fixed one that observes
  const keyframes: Keyframe[] = window.filter((kf) => !fixed.has(kf.id));
  const free = keyframes.length;
  const cameraOf = new Map<number, number>();
  keyframes.forEach((kf, i) => cameraOf.set(kf.id, i));
  const lmSet = new Map<number, Landmark>();
  for (const kf of window) {
    for (let i = 0; i < kf.landmark.length; i++) {
      const lm = map.landmarks.get(kf.landmark[i] as number);
      if (lm) lmSet.set(lm.id, lm);
    }
  }
  const lms = [...lmSet.values()].sort((a, b) => a.id - b.id);
  const observations: BaObservation[] = [];
  lms.forEach((lm, li) => {
    for (const [kfId, fi] of lm.obs) {
      const kf = map.keyframe(kfId);
      if (!kf) continue;
      let camera = cameraOf.get(kfId);
      if (camera === undefined) {
        camera = keyframes.push(kf) - 1;
        cameraOf.set(kfId, camera);
      }
      observations.push({
        camera, point: li, u: kf.feats.xy[2 * fi] as number, v: kf.feats.xy[2 * fi + 1] as number,
        weight: options.levelScale ** (-2 * (kf.feats.level[fi] as number)),
      });
    }
  });
  const report: WindowAdjustmentReport = {
    poses: free, fixedPoses: keyframes.length - free, landmarks: lms.length, observations: observations.length, initialCost: 0, finalCost: 0,
    iterations: 0, outlierObservations: 0, removedLandmarks: 0,
  };
  if (free === 0 || lms.length === 0) return report;
  const cameras: Pose[] = keyframes.map((kf) => kf.tcw);
  const points = Float64Array.from(lms.flatMap((l) => [l.position[0] as number, l.position[1] as number, l.position[2] as number]));
  const res = bundleAdjust({ K, cameras, fixed: keyframes.map((_, i) => i >= free), points, observations },
    { iterations: options.iterations, huber: options.huber });
  report.initialCost = res.initialCost;
  report.finalCost = res.finalCost;
  report.iterations = res.iterations;
  for (let i = 0; i < free; i++) (keyframes[i] as Keyframe).setTcw(cameras[i] as Pose);
  lms.forEach((lm, l) => lm.position.set(points.subarray(3 * l, 3 * l + 3)));
  for (const o of observations) {
    const kf = keyframes[o.camera] as Keyframe, lm = lms[o.point] as Landmark;
    if (reprojectionChi2(kf.tcw, lm.position, K, o) > CHI2_2DOF && lm.obs.has(kf.id)) {
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

/** σ-normalised squared reprojection error of an observation (Infinity behind the camera) */
function reprojectionChi2(T: Pose, p: Float64Array, K: Pinhole, o: BaObservation): number {
  const X = (T[0] as number) * (p[0] as number) + (T[1] as number) * (p[1] as number) + (T[2] as number) * (p[2] as number) + (T[3] as number);
  const Y = (T[4] as number) * (p[0] as number) + (T[5] as number) * (p[1] as number) + (T[6] as number) * (p[2] as number) + (T[7] as number);
  const Z = (T[8] as number) * (p[0] as number) + (T[9] as number) * (p[1] as number) + (T[10] as number) * (p[2] as number) + (T[11] as number);
  if (!(Z > 1e-9)) return Infinity;
  const du = K.fx * X / Z + K.cx - o.u, dv = K.fy * Y / Z + K.cy - o.v;
  return (du * du + dv * dv) * (o.weight as number);
}
