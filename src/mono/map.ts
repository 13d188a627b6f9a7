/**
 * The monocular map: keyframes (pose, features, which landmark each feature
 * observes, the small images plane sweep reads) and landmarks (position, a
 * descriptor, observations). Poses are camera-to-world like everywhere in
 * scanstream; `tcw` caches the world-to-camera inverse that projects.
 */
import { invertRigid, type Pose } from '../geometry/se3';
import type { FrameFeatures } from './frameFeatures';

export class Keyframe {
  readonly id: number;
  readonly frameIndex: number;
  readonly timestamp: number;
  readonly feats: FrameFeatures;
  /** landmark id observed by each feature (−1: none) */
  readonly landmark: Int32Array;
  /** 8-bit gray and RGB at the plane-sweep resolution */
  readonly small: { gray: Uint8Array; rgb: Uint8Array };
  private twc: Pose;
  private tcwCache: Pose;

  constructor(id: number, frameIndex: number, timestamp: number, pose: Pose, feats: FrameFeatures, small: { gray: Uint8Array; rgb: Uint8Array }) {
    this.id = id;
    this.frameIndex = frameIndex;
    this.timestamp = timestamp;
    this.feats = feats;
    this.landmark = new Int32Array(feats.count).fill(-1);
    this.small = small;
    this.twc = pose;
    this.tcwCache = invertRigid(pose);
  }

  get pose(): Pose {
    return this.twc;
  }

  set pose(p: Pose) {
    this.twc = p;
    this.tcwCache = invertRigid(p);
  }

  /** world-to-camera */
  get tcw(): Pose {
    return this.tcwCache;
  }

  setTcw(tcw: Pose): void {
    this.tcwCache = tcw;
    this.twc = invertRigid(tcw);
  }

  landmarkCount(map: MonoMap): number {
    let n = 0;
    for (let i = 0; i < this.landmark.length; i++) {
      const id = this.landmark[i] as number;
      if (id >= 0 && map.landmarks.get(id)) n++;
    }
    return n;
  }
}

export class Landmark {
  readonly id: number;
  readonly position: Float64Array;
  /** descriptor words of the observation it was created from */
  readonly desc: Uint32Array;
  /** keyframe id → feature index */
  readonly obs = new Map<number, number>();
  /** frames that projected it into view, and that matched it (for culling) */
  visible = 0;
  found = 0;
  /** keyframe id at creation */
  readonly firstKeyframe: number;

  constructor(id: number, position: ArrayLike<number>, desc: Uint32Array, firstKeyframe: number) {
    this.id = id;
    this.position = Float64Array.from(position);
    this.desc = desc;
    this.firstKeyframe = firstKeyframe;
  }
}

export class MonoMap {
  readonly keyframes: Keyframe[] = [];
  readonly landmarks = new Map<number, Landmark>();
  private nextLandmark = 0;

  addKeyframe(kf: Keyframe): void {
    this.keyframes.push(kf);
  }

  keyframe(id: number): Keyframe | undefined {
    return this.keyframes[id];
  }

  get lastKeyframe(): Keyframe | undefined {
    return this.keyframes[this.keyframes.length - 1];
  }

  /** a landmark observed by keyframe kf's feature i (and whatever else is added later) */
  addLandmark(position: ArrayLike<number>, kf: Keyframe, i: number): Landmark {
    const desc = kf.feats.desc.slice(8 * i, 8 * i + 8);
    const lm = new Landmark(this.nextLandmark++, position, desc, kf.id);
    this.landmarks.set(lm.id, lm);
    this.observe(lm, kf, i);
    return lm;
  }

  observe(lm: Landmark, kf: Keyframe, i: number): void {
    const prev = kf.landmark[i] as number;
    if (prev >= 0 && prev !== lm.id) this.landmarks.get(prev)?.obs.delete(kf.id);
    const old = lm.obs.get(kf.id);
    if (old !== undefined && old !== i) kf.landmark[old] = -1;
    lm.obs.set(kf.id, i);
    kf.landmark[i] = lm.id;
  }

  unobserve(lm: Landmark, kfId: number): void {
    const i = lm.obs.get(kfId);
    if (i === undefined) return;
    lm.obs.delete(kfId);
    const kf = this.keyframes[kfId];
    if (kf && kf.landmark[i] === lm.id) kf.landmark[i] = -1;
  }

  removeLandmark(id: number): void {
    const lm = this.landmarks.get(id);
    if (!lm) return;
    for (const kfId of [...lm.obs.keys()]) this.unobserve(lm, kfId);
    this.landmarks.delete(id);
  }

  /** landmarks observed by the last n keyframes, ascending id */
  localLandmarks(n: number): Landmark[] {
    const ids = new Set<number>();
    for (const kf of this.keyframes.slice(-n)) {
      for (let i = 0; i < kf.landmark.length; i++) {
        const id = kf.landmark[i] as number;
        if (id >= 0) ids.add(id);
      }
    }
    return [...ids].sort((a, b) => a - b).map((id) => this.landmarks.get(id)).filter((l): l is Landmark => l !== undefined);
  }

  /** z of the keyframe's landmarks in its camera frame, ascending */
  landmarkDepths(kf: Keyframe): number[] {
    const T = kf.tcw;
    const out: number[] = [];
    for (let i = 0; i < kf.landmark.length; i++) {
      const lm = this.landmarks.get(kf.landmark[i] as number);
      if (!lm) continue;
      const p = lm.position;
      const z = (T[8] as number) * (p[0] as number) + (T[9] as number) * (p[1] as number) + (T[10] as number) * (p[2] as number) + (T[11] as number);
      if (z > 0) out.push(z);
    }
    return out.sort((a, b) => a - b);
  }
}
