/**
 * Keyframes, landmarks and local refinement.
 *
 * A tracked frame becomes a keyframe when the camera has moved or turned
 * past the configured thresholds since the last keyframe, or when the
 * fraction of the last keyframe's features it still matches falls below
 * keyframeMinOverlap (checked with ORB once the motion is half-way to a
 * threshold, so most frames pay nothing). A keyframe keeps its ORB features
 * with their depth; its features are matched (reciprocal Hamming, ratio
 * test) against the last keyframeWindow keyframes and the matches are
 * verified by 3D–3D RANSAC, then extend existing landmarks or are
 * triangulated (batched DLT over both views; cheirality and reprojection
 * gates; depth where the parallax is too small) into new ones. A local
 * RGB-D bundle adjustment over the last refineWindow keyframes and their
 * landmarks (Huber, Schur complement) then refines the keyframe poses.
 *
 * Relocalisation matches a lost frame's features against the keyframes
 * (newest first) and solves 3D–3D RANSAC with the frame's depth, or PnP
 * RANSAC against landmarks without it.
 */
import type { TrackingOptions } from '../config';
import type { Frame } from '../frames/frame';
import { bundleAdjust, type BaObservation } from '../geometry/bundleAdjustment';
import type { Pinhole } from '../geometry/intrinsics';
import { pnpRansac } from '../geometry/pnp';
import { invertRigid, multiply, type Pose, poseDelta } from '../geometry/se3';
import { projectionMatrix, triangulateBatch } from '../geometry/triangulation';
import { umeyamaRansac } from '../geometry/umeyama';
import type { NativeContext } from '../native/context';
import type { DenseTracker } from './denseTracker';
import { OrbExtractor, type Features } from './features';
import { ReciprocalMatcher } from './matching';

export interface KeyframeEvent {
  /** keyframe id (0-based, in creation order) */
  id: number;
  /** frame index it was taken at */
  frameIndex: number;
  /** 'first' | 'overlap' | 'translation' | 'rotation' */
  why: string;
  features: number;
  landmarksAdded: number;
  /** matched features with the previous keyframe, and the RANSAC inliers among them */
  matches: number;
  inliers: number;
  /** local bundle adjustment: RMS reprojection error before → after (pixels) */
  refine?: { keyframes: number; landmarks: number; rmsBefore: number; rmsAfter: number; iterations: number };
}

export interface RelocalisationResult {
  pose: Pose;
  keyframe: number;
  inliers: number;
  method: '3d-3d' | 'pnp';
}

export interface Keyframe {
  id: number;
  frameIndex: number;
  timestamp: number;
  /** camera-to-world, refined by bundle adjustment */
  pose: Pose;
  /** camera-to-world as tracking estimated it (before refinement) */
  trackedPose: Pose;
  features: Features;
  /** camera-frame 3D of each feature from depth (NaN without) */
  points: Float64Array;
  /** landmark id per feature, −1 = none */
  landmark: Int32Array;
}

export interface Landmark {
  id: number;
  position: Float64Array;
  /** (keyframe id, feature index) */
  observations: { keyframe: number; feature: number }[];
}

export interface MapStats {
  keyframes: number;
  landmarks: number;
  observations: number;
}

/** the valid depths of one 3×3 patch, sorted (reused: depthAt runs for every feature of a keyframe) */
const patch = new Float64Array(9);

/** median depth of the valid pixels in the 3×3 around (x, y), or NaN */
function depthAt(depth: Float32Array, W: number, H: number, x: number, y: number, minD: number, maxD: number): number {
  const xi = Math.round(x), yi = Math.round(y);
  let n = 0;
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      const u = xi + dx, w = yi + dy;
      if (u < 0 || w < 0 || u >= W || w >= H) continue;
      const d = depth[w * W + u] as number;
      if (!(d >= minD && d <= maxD)) continue;
      // insertion into the sorted prefix
      let j = n++;
      while (j > 0 && (patch[j - 1] as number) > d) {
        patch[j] = patch[j - 1] as number;
        j--;
      }
      patch[j] = d;
    }
  }
  if (n < 5) return NaN;
  const med = patch[n >> 1] as number;
  // a depth edge under the patch: no reliable depth
  return (patch[n - 1] as number) - (patch[0] as number) > 0.05 * med ? NaN : med;
}

export class KeyframeMap {
  private readonly options: TrackingOptions;
  private readonly orb: OrbExtractor;
  private readonly matcher: ReciprocalMatcher;
  readonly keyframes: Keyframe[] = [];
  readonly landmarks = new Map<number, Landmark>();
  private nextLandmark = 0;
  /** features of the frame considered last (reused if it becomes a keyframe) */
  private cached: { frameIndex: number; features: Features } | null = null;
  private destroyed = false;

  constructor(ctx: NativeContext, options: TrackingOptions) {
    this.options = options;
    this.orb = new OrbExtractor(ctx, {
      maxFeatures: options.orbFeatures, levels: options.orbLevels, scaleFactor: options.orbScale,
      fastThreshold: options.fastThreshold, fastMinThreshold: Math.min(options.fastMinThreshold, options.fastThreshold),
    });
    this.matcher = new ReciprocalMatcher(ctx);
  }

  get keyframeCount(): number {
    return this.keyframes.length;
  }

  get landmarkCount(): number {
    return this.landmarks.size;
  }

  stats(): MapStats {
    let obs = 0;
    for (const l of this.landmarks.values()) obs += l.observations.length;
    return { keyframes: this.keyframes.length, landmarks: this.landmarks.size, observations: obs };
  }

  private extract(frame: Frame, tracker: DenseTracker, which: 'current' | 'last'): Features {
    if (this.cached && this.cached.frameIndex === frame.index) return this.cached.features;
    const pyr = which === 'current' ? tracker.currentPyramid : tracker.lastPyramid;
    const f = this.orb.extractFromBuffer(pyr.fullGray, frame.width, frame.height);
    this.cached = { frameIndex: frame.index, features: f };
    return f;
  }

  private backproject(frame: Frame, f: Features): Float64Array {
    const K = frame.intrinsics;
    const pts = new Float64Array(3 * f.count).fill(NaN);
    if (!frame.depth) return pts;
    for (let i = 0; i < f.count; i++) {
      const x = f.xy[2 * i] as number, y = f.xy[2 * i + 1] as number;
      const d = depthAt(frame.depth, frame.width, frame.height, x, y, this.options.minDepth, this.options.maxDepth);
      if (!Number.isFinite(d)) continue;
      pts[3 * i] = ((x - K.cx) / K.fx) * d;
      pts[3 * i + 1] = ((y - K.cy) / K.fy) * d;
      pts[3 * i + 2] = d;
    }
    return pts;
  }

  private match(a: Features, b: Features): Int32Array {
    return this.matcher.matchBinary(a.descriptors, b.descriptors, {
      maxDistance: this.options.matchMaxDistance, ratio: this.options.matchRatio,
    }).pairs;
  }

  /**
   * Called for every tracked frame (after it was accepted as the tracker's
   * last frame). Returns the keyframe event when the frame became one.
   */
  consider(frame: Frame, tracker: DenseTracker): KeyframeEvent | undefined {
    if (this.destroyed) throw new Error('KeyframeMap was used after destroy()');
    const pose = frame.pose;
    if (!pose) return undefined;
    const o = this.options;
    const last = this.keyframes[this.keyframes.length - 1];
    let why: string | null = null;
    let features: Features | null = null;
    if (!last) {
      why = 'first';
    } else {
      // tracked poses on both sides: refinement moves keyframes, not the frames tracking still measures against
      const d = poseDelta(multiply(invertRigid(last.trackedPose), pose));
      const deg = (d.angle * 180) / Math.PI;
      if (d.distance >= o.keyframeTranslation) why = 'translation';
      else if (deg >= o.keyframeRotationDeg) why = 'rotation';
      else if (d.distance >= o.keyframeTranslation / 2 || deg >= o.keyframeRotationDeg / 2) {
        features = this.extract(frame, tracker, 'last');
        const pairs = this.match(features, last.features);
        if (pairs.length / 2 < o.keyframeMinOverlap * Math.max(1, Math.min(features.count, last.features.count))) why = 'overlap';
      }
    }
    if (!why) return undefined;
    features ??= this.extract(frame, tracker, 'last');
    return this.addKeyframe(frame, pose, features, why);
  }

  private addKeyframe(frame: Frame, pose: Pose, features: Features, why: string): KeyframeEvent {
    const o = this.options;
    const kf: Keyframe = {
      id: this.keyframes.length, frameIndex: frame.index, timestamp: frame.timestamp, pose: Float64Array.from(pose),
      trackedPose: Float64Array.from(pose), features, points: this.backproject(frame, features),
      landmark: new Int32Array(features.count).fill(-1),
    };
    const event: KeyframeEvent = { id: kf.id, frameIndex: frame.index, why, features: features.count, landmarksAdded: 0, matches: 0, inliers: 0 };
    const K = frame.intrinsics;
    const Tcw = invertRigid(pose);
    const window = this.keyframes.slice(-o.keyframeWindow).reverse();
    for (const [w, other] of window.entries()) {
      const pairs = this.match(features, other.features);
      const n = pairs.length / 2;
      if (w === 0) event.matches = n;
      if (n < 8) continue;
      // geometric verification in 3D where both have depth (world frame, poses from tracking)
      const keep = new Uint8Array(n).fill(1);
      const src: number[] = [], dst: number[] = [], idx: number[] = [];
      const Tw = pose, To = other.pose;
      for (let k = 0; k < n; k++) {
        const i = pairs[2 * k] as number, j = pairs[2 * k + 1] as number;
        const p = kf.points, q = other.points;
        if (!Number.isFinite(p[3 * i] as number) || !Number.isFinite(q[3 * j] as number)) continue;
        src.push(...transform(Tw, p, i));
        dst.push(...transform(To, q, j));
        idx.push(k);
      }
      if (idx.length >= 8) {
        const r = umeyamaRansac(src, dst, { threshold: o.ransacThreshold, maxIterations: o.ransacIterations, seed: o.seed ^ (frame.index * 31 + w) });
        if (r.model) for (let t = 0; t < idx.length; t++) if (!r.inliers[t]) keep[idx[t] as number] = 0;
        if (w === 0) event.inliers = r.inlierCount;
      }
      // new landmarks: batched DLT over the two views
      const newPairs: number[] = [];
      for (let k = 0; k < n; k++) {
        if (!keep[k]) continue;
        const i = pairs[2 * k] as number, j = pairs[2 * k + 1] as number;
        if (kf.landmark[i] !== -1) continue;
        const existing = other.landmark[j] as number;
        if (existing >= 0) {
          // attach only when the landmark reprojects onto the feature (a match can still be wrong)
          const lm = this.landmarks.get(existing);
          if (lm && reprojects(K, Tcw, lm.position, features.xy[2 * i] as number, features.xy[2 * i + 1] as number, o.landmarkMaxReprojError)) {
            kf.landmark[i] = existing;
            lm.observations.push({ keyframe: kf.id, feature: i });
          }
        } else {
          newPairs.push(i, j);
        }
      }
      const m = newPairs.length / 2;
      if (m === 0) continue;
      const pixA = new Float64Array(2 * m), pixB = new Float64Array(2 * m);
      for (let t = 0; t < m; t++) {
        const i = newPairs[2 * t] as number, j = newPairs[2 * t + 1] as number;
        pixA[2 * t] = features.xy[2 * i] as number;
        pixA[2 * t + 1] = features.xy[2 * i + 1] as number;
        pixB[2 * t] = other.features.xy[2 * j] as number;
        pixB[2 * t + 1] = other.features.xy[2 * j + 1] as number;
      }
      const tri = triangulateBatch([
        { P: projectionMatrix(K, Tcw), pixels: pixA, center: [pose[3] as number, pose[7] as number, pose[11] as number] },
        { P: projectionMatrix(K, invertRigid(other.pose)), pixels: pixB, center: [other.pose[3] as number, other.pose[7] as number, other.pose[11] as number] },
      ], m, { maxReprojError: o.landmarkMaxReprojError, minParallaxDeg: 1 });
      for (let t = 0; t < m; t++) {
        const i = newPairs[2 * t] as number, j = newPairs[2 * t + 1] as number;
        let X: Float64Array | null = null;
        const fromDepth = Number.isFinite(kf.points[3 * i] as number) ? Float64Array.from(transform(pose, kf.points, i)) : null;
        if (tri.valid[t]) {
          X = tri.points.slice(3 * t, 3 * t + 3);
          // a triangulation far from the measured depth (10% of it: short baselines triangulate loosely) is a mismatch
          if (fromDepth) {
            const z = kf.points[3 * i + 2] as number;
            if (Math.hypot(X[0]! - fromDepth[0]!, X[1]! - fromDepth[1]!, X[2]! - fromDepth[2]!) > Math.max(0.03, 0.1 * z)) X = null;
          }
        } else if (tri.reason[t] === 5 && fromDepth) {
          // too little parallax to triangulate: the depth measurement places it
          X = fromDepth;
        }
        if (!X) continue;
        const id = this.nextLandmark++;
        this.landmarks.set(id, { id, position: X, observations: [{ keyframe: other.id, feature: j }, { keyframe: kf.id, feature: i }] });
        kf.landmark[i] = id;
        other.landmark[j] = id;
        event.landmarksAdded++;
      }
    }
    this.keyframes.push(kf);
    if (o.refineWindow >= 2 && this.keyframes.length >= 2) event.refine = this.refine(K);
    return event;
  }

  /** Local bundle adjustment over the last refineWindow keyframes (the oldest of them fixed). */
  private refine(K: Pinhole): KeyframeEvent['refine'] {
    const o = this.options;
    const win = this.keyframes.slice(-o.refineWindow);
    const camIndex = new Map<number, number>();
    win.forEach((k, i) => camIndex.set(k.id, i));
    const pointIndex = new Map<number, number>();
    const ids: number[] = [];
    const observations: BaObservation[] = [];
    for (const kf of win) {
      for (let f = 0; f < kf.features.count; f++) {
        const lid = kf.landmark[f] as number;
        if (lid < 0) continue;
        // a landmark already taken passed the checks below when its first window keyframe was read
        let pi = pointIndex.get(lid);
        if (pi === undefined) {
          const lm = this.landmarks.get(lid);
          if (!lm || observationsIn(lm, camIndex) < 2) continue;
          pi = ids.push(lid) - 1;
          pointIndex.set(lid, pi);
        }
        observations.push({
          camera: camIndex.get(kf.id) as number, point: pi,
          u: kf.features.xy[2 * f] as number, v: kf.features.xy[2 * f + 1] as number, depth: kf.points[3 * f + 2] as number,
        });
      }
    }
    if (ids.length < 10) return undefined;
    const points = new Float64Array(3 * ids.length);
    ids.forEach((id, i) => points.set(this.landmarks.get(id)!.position, 3 * i));
    const cameras = win.map((k) => invertRigid(k.pose));
    const fixed = win.map((_, i) => i === 0);
    const res = bundleAdjust({ K, cameras, fixed, points, observations }, { iterations: o.refineIterations, huber: o.refineHuberPixels });
    win.forEach((k, i) => (k.pose = invertRigid(cameras[i] as Pose)));
    ids.forEach((id, i) => this.landmarks.get(id)!.position.set(points.subarray(3 * i, 3 * i + 3)));
    return { keyframes: win.length, landmarks: ids.length, rmsBefore: res.initialRms, rmsAfter: res.finalRms, iterations: res.iterations };
  }

  /**
   * Pose of a frame the dense tracker lost, from its features: 3D–3D RANSAC
   * against keyframes (newest first) using the frame's depth; PnP RANSAC
   * against landmarks when that fails. Null when nothing reaches relocMinInliers.
   */
  relocalise(frame: Frame, tracker: DenseTracker): RelocalisationResult | null {
    if (this.keyframes.length === 0) return null;
    const o = this.options;
    const f = this.extract(frame, tracker, 'current');
    if (f.count < o.relocMinInliers) return null;
    const pts = this.backproject(frame, f);
    let best: RelocalisationResult | null = null;
    const candidates = this.keyframes.slice().reverse().slice(0, 8);
    for (const kf of candidates) {
      const pairs = this.match(f, kf.features);
      const n = pairs.length / 2;
      if (n < o.relocMinInliers) continue;
      const src: number[] = [], dst: number[] = [];
      for (let k = 0; k < n; k++) {
        const i = pairs[2 * k] as number, j = pairs[2 * k + 1] as number;
        if (!Number.isFinite(pts[3 * i] as number) || !Number.isFinite(kf.points[3 * j] as number)) continue;
        src.push(pts[3 * i] as number, pts[3 * i + 1] as number, pts[3 * i + 2] as number);
        dst.push(...transform(kf.pose, kf.points, j));
      }
      if (src.length / 3 >= o.relocMinInliers) {
        const r = umeyamaRansac(src, dst, { threshold: o.ransacThreshold, maxIterations: o.ransacIterations, seed: o.seed ^ frame.index });
        if (r.model && r.inlierCount >= o.relocMinInliers && (!best || r.inlierCount > best.inliers)) {
          best = { pose: r.model.T, keyframe: kf.id, inliers: r.inlierCount, method: '3d-3d' };
        }
      }
      if (!best) {
        // no depth: PnP against the keyframe's landmarks
        const world: number[] = [], pix: number[] = [];
        for (let k = 0; k < n; k++) {
          const i = pairs[2 * k] as number, j = pairs[2 * k + 1] as number;
          const lid = kf.landmark[j] as number;
          const lm = lid >= 0 ? this.landmarks.get(lid) : undefined;
          if (!lm) continue;
          world.push(lm.position[0]!, lm.position[1]!, lm.position[2]!);
          pix.push(f.xy[2 * i] as number, f.xy[2 * i + 1] as number);
        }
        if (world.length / 3 >= Math.max(6, o.relocMinInliers)) {
          const r = pnpRansac(world, pix, frame.intrinsics, { threshold: 4, maxIterations: o.ransacIterations, seed: o.seed ^ frame.index });
          if (r.model && r.inlierCount >= o.relocMinInliers) best = { pose: r.model.cameraToWorld, keyframe: kf.id, inliers: r.inlierCount, method: 'pnp' };
        }
      }
      if (best && best.inliers >= 3 * o.relocMinInliers) break;
    }
    return best;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.orb.destroy();
    this.matcher.destroy();
  }
}

/** how many of the landmark's observations are by keyframes of the window */
function observationsIn(lm: Landmark, camIndex: Map<number, number>): number {
  let n = 0;
  for (const ob of lm.observations) if (camIndex.has(ob.keyframe)) n++;
  return n;
}

/** the world point projects within maxPx of (u, v) in a camera with world-to-camera Tcw, in front of it */
function reprojects(K: Pinhole, Tcw: Pose, X: ArrayLike<number>, u: number, v: number,
  maxPx: number): boolean {
  const [x, y, z] = transform(Tcw, X, 0);
  if (!(z > 0)) return false;
  return Math.hypot(K.fx * (x / z) + K.cx - u, K.fy * (y / z) + K.cy - v) <= maxPx;
}

function transform(T: ArrayLike<number>, p: ArrayLike<number>, i: number): [number, number, number] {
  const x = p[3 * i] as number, y = p[3 * i + 1] as number, z = p[3 * i + 2] as number;
  return [
    (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number),
    (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number),
    (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number),
  ];
}

