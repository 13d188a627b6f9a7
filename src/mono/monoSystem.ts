/**
 * Monocular visual odometry (DESIGN.md §4 "Pose", "Depth without a depth
 * sensor"), in the shape of ORB-SLAM's tracking and local mapping (Mur-Artal,
 * Montiel & Tardós, T-RO 2015) on scanstream's own ORB features:
 *  - two-view initialisation (essential matrix + cheirality + parallax gate),
 *    the map's scale fixed by the first keyframe's median depth;
 *  - per frame: constant-velocity prediction, landmarks of the local map
 *    projected and matched in a window around the prediction, motion-only
 *    bundle adjustment (Huber, χ² outlier rounds); PnP RANSAC on descriptor
 *    matches when the prediction fails;
 *  - keyframes on baseline / rotation / lost overlap, new landmarks by
 *    triangulation against neighbouring keyframes, windowed bundle
 *    adjustment (LM, Schur complement);
 *  - 'lost' (textureless, too few inliers) and relocalisation against the
 *    keyframes (descriptor matches + PnP RANSAC);
 *  - dense keyframe depth by plane sweep, released for fusion.
 * State lives in this object (one per run), never in module globals.
 */
import type { Frame } from '../frames/frame';
import { isIdentityDistortion, undistortImage } from '../geometry/distortion';
import { sampsonError2 } from '../geometry/essential';
import { sameIntrinsics, scaleIntrinsics, type Intrinsics, type Pinhole } from '../geometry/intrinsics';
import { pnpRansac } from '../geometry/pnp';
import { optimizePose } from '../geometry/poseOptimize';
import { rotationRansac } from '../geometry/rotationRansac';
import { invertRigid, multiply, orthonormalize, poseDelta, type Pose } from '../geometry/se3';
import { projectionMatrix, triangulateBatch } from '../geometry/triangulation';
import type { NativeContext } from '../native/context';
import { OrbExtractor } from '../tracking/features';
import type { TrackingState } from '../tracking/trackingState';
import { ReciprocalMatcher } from '../tracking/matching';
import { adjustWindow, type WindowAdjustmentReport } from './windowAdjustment';
import { FrameFeatures, hamming } from './frameFeatures';
import { boxDownsample, GrayConverter } from './image';
import { Initializer, type InitFrame } from './initializer';
import { KeyframeDepth, type FusableDepth, type SourceFrame } from './keyframeDepth';
import { Keyframe, MonoMap, type Landmark } from './map';
import type { MonoOptions } from './options';

/** a monocular map never takes poses from ground truth */
export type MonoState = Exclude<TrackingState, 'groundtruth'>;

export interface MonoTrackInfo {
  state: MonoState;
  /** why the state is not 'ok' (waiting for parallax, textureless, too few inliers …) */
  reason?: string;
  /** pose inliers of this frame */
  inliers?: number;
  relocalised?: boolean;
  /** the map was initialised at this frame (earlier frames got poses too) */
  initialised?: { keyframes: number; landmarks: number; frames: number };
  /** the pose is the rotation-only model's (before initialisation): orientation measured, position held */
  rotationOnly?: boolean;
  keyframe?: { id: number; frameIndex: number; landmarksAdded: number; ba?: WindowAdjustmentReport };
}

export interface MonoFrameResult {
  /** camera-to-world, when tracked */
  pose?: Pose;
  info: MonoTrackInfo;
  /** keyframe depth maps ready for fusion */
  depth: FusableDepth[];
  timings: Record<string, number>;
}

export class MonoInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonoInputError';
  }
}

/** a frame's pose relative to a keyframe, so bundle adjustment of the keyframe moves it too */
interface FramePose {
  index: number;
  timestamp: number;
  /** −1: an absolute rotation-only pose from before the map existed */
  kf: number;
  /** Tcw_frame · Twc_kf (or Tcw itself when kf is −1) */
  rel: Pose;
}

interface Match {
  feature: number;
  landmark: Landmark;
}

export class MonoSystem {
  readonly options: MonoOptions;
  readonly map = new MonoMap();
  /** frames by what tracking reported for them as they came */
  readonly counts = { frames: 0, tracked: 0, lost: 0, relocalised: 0, initialising: 0 };
  /** frames whose pose is (still) rotation-only: orientation measured, camera centre held */
  private readonly rotationOnly = new Set<number>();
  private readonly ctx: NativeContext;
  private readonly orb: OrbExtractor;
  private readonly gray: GrayConverter;
  private readonly matcher: ReciprocalMatcher;
  private K: Intrinsics | null = null;
  private Ksmall: Intrinsics | null = null;
  private pk: Pinhole = { fx: 1, fy: 1, cx: 0, cy: 0 };
  private initializer: Initializer | null = null;
  private depth: KeyframeDepth | null = null;
  private state: MonoState = 'initializing';
  private lastTcw: Pose | null = null;
  private velocity: Pose | null = null;
  private lastKfFrame = -1;
  /** features of the last frame with a pose (6-DoF or rotation-only), for the rotation-only fallback */
  private lastFeats: FrameFeatures | null = null;
  private readonly framePoses = new Map<number, FramePose>();
  private readonly recent: SourceFrame[] = [];
  private readonly invSigma2: Float64Array;
  private medianDepth = 1;

  constructor(ctx: NativeContext, options: MonoOptions) {
    this.ctx = ctx;
    this.options = options;
    this.gray = new GrayConverter(ctx);
    this.orb = new OrbExtractor(ctx, {
      maxFeatures: options.orbFeatures, levels: options.orbLevels, scaleFactor: options.orbScale,
      fastThreshold: options.fastThreshold, fastMinThreshold: options.fastMinThreshold,
    });
    this.matcher = new ReciprocalMatcher(ctx);
    this.invSigma2 = Float64Array.from({ length: 32 }, (_, l) => options.orbScale ** (-2 * l));
  }

  get trackingState(): MonoState {
    return this.state;
  }

  /** intrinsics of the fused depth maps (the plane-sweep resolution) */
  get depthIntrinsics(): Intrinsics | null {
    return this.Ksmall;
  }

  /** the map's median scene depth (map units; initialMedianDepth at initialisation) */
  get sceneMedianDepth(): number {
    return this.medianDepth;
  }

  /** every frame with a pose so far, poses recomputed from their (adjusted) keyframes, in frame order */
  trajectory(): { index: number; timestamp: number; pose: Pose }[] {
    return [...this.framePoses.values()].sort((a, b) => a.index - b.index).map((f) => ({
      index: f.index, timestamp: f.timestamp, pose: this.framePose(f),
    }));
  }

  private framePose(f: FramePose): Pose {
    if (f.kf < 0) return invertRigid(f.rel);
    const kf = this.map.keyframe(f.kf) as Keyframe;
    return invertRigid(multiply(f.rel, kf.tcw));
  }

  private recordPose(index: number, timestamp: number, tcw: Pose, kf: Keyframe): void {
    this.framePoses.set(index, { index, timestamp, kf: kf.id, rel: multiply(tcw, kf.pose) });
    this.rotationOnly.delete(index);
  }

  /** frames of trajectory() whose pose is rotation-only (before the map, or while it was out of view) */
  rotationOnlyFrames(): number[] {
    return [...this.rotationOnly].sort((a, b) => a - b);
  }

  private setup(frame: Frame): void {
    const K = frame.intrinsics;
    if (K.width !== frame.width || K.height !== frame.height) {
      throw new MonoInputError(`frame ${frame.index}: intrinsics are for ${K.width}×${K.height} but the frame is ${frame.width}×${frame.height}`);
    }
    if (!this.K) {
      this.K = { ...K };
      this.pk = { fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy };
      this.Ksmall = scaleIntrinsics(K, this.options.depthDownsample);
      this.initializer = new Initializer(this.options, this.K, this.matcher);
      this.depth = new KeyframeDepth(this.ctx, this.options, this.Ksmall);
    } else if (!sameIntrinsics(K, this.K)) {
      throw new MonoInputError(`frame ${frame.index}: intrinsics changed mid-sequence (${JSON.stringify(K)} after ${JSON.stringify(this.K)})`);
    }
    if (frame.rgb.length !== frame.width * frame.height * 3) {
      throw new MonoInputError(`frame ${frame.index}: rgb has ${frame.rgb.length} bytes, expected ${frame.width}×${frame.height}×3`);
    }
  }

  /** Tracks one frame (colour only; depth, if the frame has it, is never read). */
  process(frame: Frame): MonoFrameResult {
    const t0 = performance.now();
    this.setup(frame);
    this.counts.frames++;
    const K = this.K as Intrinsics;
    const { buffer: grayBuffer, pixels: gray } = this.gray.convert(frame.rgb, frame.width, frame.height);
    const f = this.options.depthDownsample;
    const dist = this.options.distortion;
    const undistortSmall = (img: Uint8Array, channels: number): Uint8Array =>
      dist && !isIdentityDistortion(dist) ? undistortImage(img, this.Ksmall as Intrinsics, dist, channels) : img;
    const smallGray = undistortSmall(boxDownsample(gray, frame.width, frame.height, 1, f), 1);
    const feats = new FrameFeatures(this.orb.extractFromBuffer(grayBuffer, frame.width, frame.height), K, dist);
    const t1 = performance.now();
    const timings: Record<string, number> = { features: t1 - t0 };
    const small = (): { gray: Uint8Array; rgb: Uint8Array } => ({ gray: smallGray, rgb: undistortSmall(boxDownsample(frame.rgb, frame.width, frame.height, 3, f), 3) });
    let result: MonoFrameResult;
    if (this.state === 'initializing') {
      result = this.initialise({ index: frame.index, timestamp: frame.timestamp, feats, small: small() });
    } else {
      result = this.track(frame, feats, small);
    }
    if (result.pose && result.info.state === 'ok') {
      const pose = result.pose;
      const index = frame.index;
      this.recent.push({ index, gray: smallGray, pose: () => { const fp = this.framePoses.get(index); return fp ? this.framePose(fp) : pose; } });
      while (this.recent.length > 40) this.recent.shift();
    }
    if (result.info.state === 'ok') this.counts.tracked++;
    else if (result.info.state === 'lost') this.counts.lost++;
    else this.counts.initialising++;
    // 'track' is the frame's own work; keyframe mapping and depth are timed apart
    const inner = (result.timings.mapping ?? 0) + (result.timings.depth ?? 0);
    result.timings = { ...timings, ...result.timings, track: performance.now() - t1 - inner };
    return result;
  }

  /** depth maps still held back, at the end of a stream */
  flush(): FusableDepth[] {
    return this.depth ? this.depth.flush(this.map, this.recent) : [];
  }

  // ---- initialisation ------------------------------------------------------

  private initialise(frame: InitFrame): MonoFrameResult {
    const init = this.initializer as Initializer;
    const attempt = init.push(frame);
    if (!attempt.ready) {
      if (!attempt.rcw) return { info: { state: 'initializing', reason: attempt.reason }, depth: [], timings: {} };
      // rotation-only: orientation measured, camera centre held at the origin until the map exists
      const R = attempt.rcw;
      const tcw = new Float64Array([R[0]!, R[1]!, R[2]!, 0, R[3]!, R[4]!, R[5]!, 0, R[6]!, R[7]!, R[8]!, 0, 0, 0, 0, 1]);
      this.framePoses.set(frame.index, { index: frame.index, timestamp: frame.timestamp, kf: -1, rel: tcw });
      this.rotationOnly.add(frame.index);
      return { pose: invertRigid(tcw), info: { state: 'initializing', reason: attempt.reason, rotationOnly: true }, depth: [], timings: {} };
    }
    const o = this.options;
    const { ref, cur, rp } = attempt;
    const R0 = attempt.refRcw;
    const tcw0 = new Float64Array([R0[0]!, R0[1]!, R0[2]!, 0, R0[3]!, R0[4]!, R0[5]!, 0, R0[6]!, R0[7]!, R0[8]!, 0, 0, 0, 0, 1]);
    const kf0 = new Keyframe(0, ref.index, ref.timestamp, invertRigid(tcw0), ref.feats, ref.small);
    const T10 = new Float64Array([rp.R[0]!, rp.R[1]!, rp.R[2]!, rp.t[0]!, rp.R[3]!, rp.R[4]!, rp.R[5]!, rp.t[1]!, rp.R[6]!, rp.R[7]!, rp.R[8]!, rp.t[2]!, 0, 0, 0, 1]);
    const kf1 = new Keyframe(1, cur.index, cur.timestamp, invertRigid(multiply(T10, tcw0)), cur.feats, cur.small);
    this.map.addKeyframe(kf0);
    this.map.addKeyframe(kf1);
    const pairs = attempt.pairs;
    const twc0 = kf0.pose;
    for (let k = 0; k < pairs.length / 2; k++) {
      if (!rp.valid[k]) continue;
      // points come in the reference camera's frame: into the world (the rotation-only chain's orientation)
      const pc = rp.points.subarray(3 * k, 3 * k + 3);
      const pw = [0, 1, 2].map((r) => twc0[r * 4]! * pc[0]! + twc0[r * 4 + 1]! * pc[1]! + twc0[r * 4 + 2]! * pc[2]! + twc0[r * 4 + 3]!);
      const lm = this.map.addLandmark(pw, kf0, pairs[2 * k] as number);
      this.map.observe(lm, kf1, pairs[2 * k + 1] as number);
    }
    adjustWindow(this.map, [kf0, kf1], new Set([0]), this.pk, { iterations: 15, huber: o.baHuberPx, levelScale: o.orbScale });
    const depths = this.map.landmarkDepths(kf0);
    if (depths.length < o.initMinPoints / 2) {
      this.map.keyframes.length = 0;
      for (const id of [...this.map.landmarks.keys()]) this.map.landmarks.delete(id);
      init.reset();
      return { info: { state: 'initializing', reason: `initial map fell apart in bundle adjustment (${depths.length} points left)` }, depth: [], timings: {} };
    }
    // fix the scale: the first keyframe's median depth becomes initialMedianDepth
    const s = o.initialMedianDepth / (depths[depths.length >> 1] as number);
    for (const lm of this.map.landmarks.values()) for (let k = 0; k < 3; k++) lm.position[k] = (lm.position[k] as number) * s;
    const T1 = Float64Array.from(kf1.tcw);
    T1[3] = (T1[3] as number) * s;
    T1[7] = (T1[7] as number) * s;
    T1[11] = (T1[11] as number) * s;
    kf1.setTcw(T1);
    this.medianDepth = o.initialMedianDepth;
    this.recordPose(ref.index, ref.timestamp, kf0.tcw, kf0);
    this.recordPose(cur.index, cur.timestamp, kf1.tcw, kf1);
    // frames between the two views: PnP against the new landmarks through their matches with the reference
    let prevTcw: Pose = kf0.tcw;
    let retro = 0;
    for (const b of attempt.between) {
      if (!b.pairs) continue;
      const world: number[] = [], px: number[] = [], is2: number[] = [];
      for (let k = 0; k < b.pairs.length / 2; k++) {
        const lm = this.map.landmarks.get(kf0.landmark[b.pairs[2 * k] as number] as number);
        if (!lm) continue;
        const j = b.pairs[2 * k + 1] as number;
        world.push(lm.position[0] as number, lm.position[1] as number, lm.position[2] as number);
        px.push(b.feats.xy[2 * j] as number, b.feats.xy[2 * j + 1] as number);
        is2.push(this.invSigma2[b.feats.level[j] as number] as number);
      }
      if (world.length / 3 < o.minTrackInliers) continue;
      const opt = optimizePose(prevTcw, world, px, is2, this.pk);
      if (opt.inlierCount < o.minTrackInliers) continue;
      prevTcw = opt.tcw;
      const near = Math.abs(b.index - ref.index) <= Math.abs(cur.index - b.index) ? kf0 : kf1;
      this.recordPose(b.index, b.timestamp, opt.tcw, near);
      this.recent.push({ index: b.index, gray: b.small.gray, pose: () => this.framePose(this.framePoses.get(b.index) as FramePose) });
      retro++;
    }
    this.counts.tracked += retro;
    this.counts.initialising -= retro;
    this.state = 'ok';
    this.lastTcw = kf1.tcw;
    this.lastFeats = cur.feats;
    this.velocity = null;
    this.lastKfFrame = cur.index;
    this.recent.push({ index: ref.index, gray: ref.small.gray, pose: () => kf0.pose });
    this.recent.sort((a, b) => a.index - b.index);
    return {
      pose: kf1.pose,
      info: {
        state: 'ok', inliers: this.map.landmarks.size,
        initialised: { keyframes: 2, landmarks: this.map.landmarks.size, frames: retro + 2 },
        keyframe: { id: 1, frameIndex: cur.index, landmarksAdded: this.map.landmarks.size },
      },
      depth: [],
      timings: {},
    };
  }

  // ---- tracking ------------------------------------------------------------

  /** landmarks of the local map projected with tcw, matched to features within radius (best Hamming, ratio-tested) */
  private searchByProjection(feats: FrameFeatures, tcw: Pose, landmarks: readonly Landmark[], radius: number,
    taken: Map<number, Match> = new Map()): Map<number, Match> {
    const K = this.K as Intrinsics;
    const o = this.options;
    const cand = new Int32Array(256);
    const best = new Map<number, { lm: Landmark; dist: number }>();
    for (const m of taken.values()) best.set(m.feature, { lm: m.landmark, dist: -1 });
    const usedLm = new Set<number>([...taken.values()].map((m) => m.landmark.id));
    for (const lm of landmarks) {
      if (usedLm.has(lm.id)) continue;
      const p = lm.position;
      const z = (tcw[8] as number) * (p[0] as number) + (tcw[9] as number) * (p[1] as number) + (tcw[10] as number) * (p[2] as number) + (tcw[11] as number);
      if (!(z > 1e-6)) continue;
      const x = (tcw[0] as number) * (p[0] as number) + (tcw[1] as number) * (p[1] as number) + (tcw[2] as number) * (p[2] as number) + (tcw[3] as number);
      const y = (tcw[4] as number) * (p[0] as number) + (tcw[5] as number) * (p[1] as number) + (tcw[6] as number) * (p[2] as number) + (tcw[7] as number);
      const u = K.fx * (x / z) + K.cx, v = K.fy * (y / z) + K.cy;
      if (u < 0 || v < 0 || u > K.width - 1 || v > K.height - 1) continue;
      lm.visible++;
      const n = feats.near(u, v, radius, cand);
      let d1 = 257, d2 = 257, bi = -1;
      for (let k = 0; k < n; k++) {
        const i = cand[k] as number;
        const d = hamming(lm.desc, 0, feats.desc, i);
        if (d < d1) {
          d2 = d1;
          d1 = d;
          bi = i;
        } else if (d < d2) d2 = d;
      }
      if (bi < 0 || d1 > o.matchMaxDistance || d1 > 0.9 * d2) continue;
      const prev = best.get(bi);
      if (prev && (prev.dist < 0 || prev.dist <= d1)) continue;
      best.set(bi, { lm, dist: d1 });
    }
    const out = new Map<number, Match>();
    for (const [feature, b] of best) out.set(feature, { feature, landmark: b.lm });
    return out;
  }

  private optimizeMatches(tcw0: Pose, feats: FrameFeatures, matches: Map<number, Match>): { tcw: Pose; inliers: Match[] } {
    const list = [...matches.values()].sort((a, b) => a.feature - b.feature);
    const world = new Float64Array(3 * list.length), px = new Float64Array(2 * list.length), is2 = new Float64Array(list.length);
    list.forEach((m, k) => {
      world.set(m.landmark.position, 3 * k);
      px[2 * k] = feats.xy[2 * m.feature] as number;
      px[2 * k + 1] = feats.xy[2 * m.feature + 1] as number;
      is2[k] = this.invSigma2[feats.level[m.feature] as number] as number;
    });
    const opt = optimizePose(tcw0, world, px, is2, this.pk);
    return { tcw: opt.tcw, inliers: list.filter((_, k) => opt.inliers[k] === 1) };
  }

  /** descriptor matches with a set of landmarks, then PnP RANSAC: a pose without a prediction */
  private poseFromDescriptors(feats: FrameFeatures, landmarks: readonly Landmark[]): { tcw: Pose; inliers: number } | null {
    const o = this.options;
    if (landmarks.length < o.relocMinInliers) return null;
    const desc = new Uint8Array(32 * landmarks.length);
    landmarks.forEach((lm, k) => desc.set(new Uint8Array(lm.desc.buffer, lm.desc.byteOffset, 32), 32 * k));
    const m = this.matcher.matchBinary(feats.descBytes, desc, { maxDistance: o.matchMaxDistance, ratio: o.matchRatio });
    const n = m.pairs.length / 2;
    if (n < o.relocMinInliers) return null;
    const world = new Float64Array(3 * n), px = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      const i = m.pairs[2 * k] as number, j = m.pairs[2 * k + 1] as number;
      world.set((landmarks[j] as Landmark).position, 3 * k);
      px[2 * k] = feats.xy[2 * i] as number;
      px[2 * k + 1] = feats.xy[2 * i + 1] as number;
    }
    const res = pnpRansac(world, px, this.pk, { threshold: o.poseThresholdPx * 1.5, seed: o.seed, maxIterations: 300, minInliers: o.relocMinInliers });
    if (!res.model || res.inlierCount < o.relocMinInliers) return null;
    return { tcw: res.model.worldToCamera, inliers: res.inlierCount };
  }

  private track(frame: Frame, feats: FrameFeatures, small: () => { gray: Uint8Array; rgb: Uint8Array }): MonoFrameResult {
    const o = this.options;
    const lost = (reason: string): MonoFrameResult => {
      this.state = 'lost';
      this.velocity = null;
      return { info: { state: 'lost', reason }, depth: [], timings: {} };
    };
    if (feats.count < o.minFeatures) return lost(`textureless: ${feats.count} ORB features (< ${o.minFeatures})`);
    const local = this.map.localLandmarks(o.localKeyframes);
    const wasLost = this.state === 'lost';
    let tcw: Pose | null = null;
    let inliers: Match[] = [];
    let relocalised = false;
    const last = this.lastTcw as Pose;
    if (!wasLost) {
      const pred = this.velocity ? multiply(this.velocity, last) : last;
      for (const radius of [o.searchRadiusPx, 3 * o.searchRadiusPx]) {
        const matches = this.searchByProjection(feats, pred, local, radius);
        if (matches.size < o.minTrackInliers) continue;
        const r = this.optimizeMatches(pred, feats, matches);
        if (r.inliers.length >= o.minTrackInliers) {
          tcw = r.tcw;
          inliers = r.inliers;
          break;
        }
      }
    }
    if (!tcw) {
      // no usable prediction: descriptor matching against the local map, then against the keyframes, newest first (relocalisation)
      const tries: Landmark[][] = [local];
      for (let k = this.map.keyframes.length - 1; k >= 0 && tries.length <= 12; k--) {
        const kf = this.map.keyframes[k] as Keyframe;
        const lms: Landmark[] = [];
        for (let i = 0; i < kf.landmark.length; i++) {
          const lm = this.map.landmarks.get(kf.landmark[i] as number);
          if (lm) lms.push(lm);
        }
        tries.push(lms);
      }
      for (const set of tries) {
        const guess = this.poseFromDescriptors(feats, set);
        if (!guess) continue;
        // the guess's own landmarks first (an old keyframe's may lie outside the local map), then the local map
        const around = set === local ? local : [...new Map([...set, ...local].map((l) => [l.id, l])).values()];
        const matches = this.searchByProjection(feats, guess.tcw, around, o.searchRadiusPx);
        const r = this.optimizeMatches(guess.tcw, feats, matches);
        if (r.inliers.length >= o.relocMinInliers) {
          tcw = r.tcw;
          inliers = r.inliers;
          relocalised = wasLost;
          break;
        }
      }
      if (!tcw) {
        const rot = this.rotationFallback(frame, feats);
        if (rot) return rot;
        return lost(wasLost ? 'relocalisation failed: no keyframe matches this view' : `tracking failed: fewer than ${o.minTrackInliers} landmark inliers`);
      }
    }
    // a second, tighter search with the refined pose gathers the landmarks the prediction missed
    const seeded = new Map<number, Match>(inliers.map((m) => [m.feature, m]));
    const more = this.searchByProjection(feats, tcw, local, Math.max(4, o.searchRadiusPx / 3), seeded);
    const r2 = this.optimizeMatches(tcw, feats, more);
    if (r2.inliers.length >= inliers.length) {
      tcw = r2.tcw;
      inliers = r2.inliers;
    }
    if (inliers.length < o.minTrackInliers) return lost(`tracking failed: ${inliers.length} landmark inliers (< ${o.minTrackInliers})`);
    for (const m of inliers) m.landmark.found++;
    if (relocalised) this.counts.relocalised++;
    // re-orthonormalised: products of poses inverted by transposition would compound their rounding frame after frame
    this.velocity = wasLost ? null : orthonormalize(multiply(tcw, invertRigid(last)));
    this.lastTcw = tcw;
    this.lastFeats = feats;
    this.state = 'ok';
    const ref = this.map.lastKeyframe as Keyframe;
    const info: MonoTrackInfo = { state: 'ok', inliers: inliers.length, ...(relocalised ? { relocalised: true } : {}) };
    let depth: FusableDepth[] = [];
    const timings: Record<string, number> = {};
    if (this.needKeyframe(frame.index, tcw, inliers.length, ref)) {
      const t0 = performance.now();
      const kf = new Keyframe(this.map.keyframes.length, frame.index, frame.timestamp, invertRigid(tcw), feats, small());
      this.map.addKeyframe(kf);
      for (const m of inliers) this.map.observe(m.landmark, kf, m.feature);
      const added = this.triangulateNew(kf);
      const ba = this.localBundleAdjust();
      this.cullLandmarks(kf);
      this.lastKfFrame = frame.index;
      this.lastTcw = kf.tcw;
      const d = this.map.landmarkDepths(kf);
      if (d.length > 10) this.medianDepth = d[d.length >> 1] as number;
      timings.mapping = performance.now() - t0;
      const t1 = performance.now();
      this.recordPose(frame.index, frame.timestamp, kf.tcw, kf);
      depth = (this.depth as KeyframeDepth).onKeyframe(this.map, this.recent);
      timings.depth = performance.now() - t1;
      info.keyframe = { id: kf.id, frameIndex: frame.index, landmarksAdded: added, ...(ba ? { ba } : {}) };
      return { pose: kf.pose, info, depth, timings };
    }
    this.recordPose(frame.index, frame.timestamp, tcw, ref);
    return { pose: invertRigid(tcw), info, depth, timings };
  }

  /**
   * The map is out of view but the camera only turned (Pirchheim et al.,
   * ISMAR 2013): the rotation from the last posed frame, camera centre held.
   * No keyframe is made (no parallax to map with); 6-DoF tracking resumes when
   * landmarks come back into view.
   */
  private rotationFallback(frame: Frame, feats: FrameFeatures): MonoFrameResult | null {
    const o = this.options;
    const prev = this.lastFeats;
    if (!prev || !this.lastTcw) return null;
    const m = this.matcher.matchBinary(prev.descBytes, feats.descBytes, { maxDistance: o.matchMaxDistance, ratio: o.matchRatio });
    const n = m.pairs.length / 2;
    if (n < o.minTrackInliers) return null;
    const x1 = new Float64Array(2 * n), x2 = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      const i = m.pairs[2 * k] as number, j = m.pairs[2 * k + 1] as number;
      x1[2 * k] = prev.un[2 * i] as number; x1[2 * k + 1] = prev.un[2 * i + 1] as number;
      x2[2 * k] = feats.un[2 * j] as number; x2[2 * k + 1] = feats.un[2 * j + 1] as number;
    }
    const K = this.K as Intrinsics;
    // twice the pose gate: fast turns smear (rolling shutter, blur) what a rotation would map exactly
    const rot = rotationRansac(x1, x2, (2 * o.poseThresholdPx) / K.fx, o.seed);
    // most matches must agree with a pure rotation, or the camera moved and the map is really lost
    if (!rot || rot.inlierCount < o.minTrackInliers || rot.inlierCount < 0.5 * n) return null;
    const R = rot.R;
    const tcw = orthonormalize(multiply(new Float64Array([R[0]!, R[1]!, R[2]!, 0, R[3]!, R[4]!, R[5]!, 0, R[6]!, R[7]!, R[8]!, 0, 0, 0, 0, 1]), this.lastTcw));
    this.lastTcw = tcw;
    this.lastFeats = feats;
    this.velocity = null;
    this.state = 'ok';
    this.rotationOnly.add(frame.index);
    this.recordPose(frame.index, frame.timestamp, tcw, this.map.lastKeyframe as Keyframe);
    return {
      pose: invertRigid(tcw),
      info: { state: 'ok', inliers: rot.inlierCount, rotationOnly: true, reason: 'rotation-only: the map is out of view; orientation tracked, position held' },
      depth: [], timings: {},
    };
  }

  private needKeyframe(index: number, tcw: Pose, tracked: number, ref: Keyframe): boolean {
    const o = this.options;
    if (index - this.lastKfFrame < o.minFramesBetweenKeyframes) return false;
    const rel = multiply(tcw, ref.pose);
    const d = poseDelta(rel);
    if (d.distance >= o.keyframeBaseline * this.medianDepth) return true;
    if ((d.angle * 180) / Math.PI >= o.keyframeRotationDeg) return true;
    return tracked < o.keyframeMinTracked * ref.landmarkCount(this.map);
  }

  /** new landmarks from unmatched features of kf and of its neighbouring keyframes */
  private triangulateNew(kf: Keyframe): number {
    const o = this.options;
    const K = this.K as Intrinsics;
    let added = 0;
    const neighbours = this.map.keyframes.slice(Math.max(0, kf.id - o.triangulateNeighbours), kf.id).reverse();
    for (const nb of neighbours) {
      const freeA: number[] = [], freeB: number[] = [];
      for (let i = 0; i < kf.feats.count; i++) if ((kf.landmark[i] as number) < 0) freeA.push(i);
      for (let j = 0; j < nb.feats.count; j++) if ((nb.landmark[j] as number) < 0) freeB.push(j);
      if (freeA.length < 8 || freeB.length < 8) continue;
      const base = poseDelta(multiply(kf.tcw, nb.pose)).distance;
      if (base < 0.01 * this.medianDepth) continue;
      const da = new Uint8Array(32 * freeA.length), db = new Uint8Array(32 * freeB.length);
      freeA.forEach((i, k) => da.set(kf.feats.descBytes.subarray(32 * i, 32 * i + 32), 32 * k));
      freeB.forEach((j, k) => db.set(nb.feats.descBytes.subarray(32 * j, 32 * j + 32), 32 * k));
      const m = this.matcher.matchBinary(da, db, { maxDistance: 50, ratio: 0.8 });
      const n = m.pairs.length / 2;
      if (n === 0) continue;
      // epipolar gate with the known relative pose: E = [t]× R for X_kf = R X_nb + t
      const T = multiply(kf.tcw, nb.pose);
      const R = [T[0]!, T[1]!, T[2]!, T[4]!, T[5]!, T[6]!, T[8]!, T[9]!, T[10]!];
      const t = [T[3]!, T[7]!, T[11]!];
      const E = [
        -t[2]! * R[3]! + t[1]! * R[6]!, -t[2]! * R[4]! + t[1]! * R[7]!, -t[2]! * R[5]! + t[1]! * R[8]!,
        t[2]! * R[0]! - t[0]! * R[6]!, t[2]! * R[1]! - t[0]! * R[7]!, t[2]! * R[2]! - t[0]! * R[8]!,
        -t[1]! * R[0]! + t[0]! * R[3]!, -t[1]! * R[1]! + t[0]! * R[4]!, -t[1]! * R[2]! + t[0]! * R[5]!,
      ];
      const x1 = new Float64Array(2 * n), x2 = new Float64Array(2 * n);
      const pxA = new Float64Array(2 * n).fill(NaN), pxB = new Float64Array(2 * n).fill(NaN);
      const keep: number[] = [];
      for (let k = 0; k < n; k++) {
        const i = freeA[m.pairs[2 * k] as number] as number, j = freeB[m.pairs[2 * k + 1] as number] as number;
        x1[2 * k] = nb.feats.un[2 * j] as number; x1[2 * k + 1] = nb.feats.un[2 * j + 1] as number;
        x2[2 * k] = kf.feats.un[2 * i] as number; x2[2 * k + 1] = kf.feats.un[2 * i + 1] as number;
        const sigma = o.orbScale ** Math.max(kf.feats.level[i] as number, nb.feats.level[j] as number);
        const gate = (2 * sigma) / K.fx;
        if (sampsonError2(E, x1, x2, k) > gate * gate) continue;
        keep.push(k);
        pxA[2 * k] = kf.feats.xy[2 * i] as number; pxA[2 * k + 1] = kf.feats.xy[2 * i + 1] as number;
        pxB[2 * k] = nb.feats.xy[2 * j] as number; pxB[2 * k + 1] = nb.feats.xy[2 * j + 1] as number;
      }
      if (keep.length === 0) continue;
      const centre = (p: Pose): number[] => [p[3] as number, p[7] as number, p[11] as number];
      const tri = triangulateBatch([
        { P: projectionMatrix(this.pk, kf.tcw), pixels: pxA, center: centre(kf.pose) },
        { P: projectionMatrix(this.pk, nb.tcw), pixels: pxB, center: centre(nb.pose) },
      ], n, { maxReprojError: 2.5 * o.orbScale ** 2, minParallaxDeg: o.landmarkMinParallaxDeg });
      for (const k of keep) {
        if (!tri.valid[k]) continue;
        const i = freeA[m.pairs[2 * k] as number] as number, j = freeB[m.pairs[2 * k + 1] as number] as number;
        if ((kf.landmark[i] as number) >= 0 || (nb.landmark[j] as number) >= 0) continue;
        // per-observation χ² at the features' own σ
        const X = tri.points.subarray(3 * k, 3 * k + 3);
        if (!this.reprojectionOk(kf, i, X) || !this.reprojectionOk(nb, j, X)) continue;
        const lm = this.map.addLandmark(X, kf, i);
        this.map.observe(lm, nb, j);
        added++;
      }
    }
    return added;
  }

  private reprojectionOk(kf: Keyframe, i: number, X: ArrayLike<number>): boolean {
    const T = kf.tcw;
    const x = (T[0] as number) * (X[0] as number) + (T[1] as number) * (X[1] as number) + (T[2] as number) * (X[2] as number) + (T[3] as number);
    const y = (T[4] as number) * (X[0] as number) + (T[5] as number) * (X[1] as number) + (T[6] as number) * (X[2] as number) + (T[7] as number);
    const z = (T[8] as number) * (X[0] as number) + (T[9] as number) * (X[1] as number) + (T[10] as number) * (X[2] as number) + (T[11] as number);
    if (!(z > 0)) return false;
    const du = this.pk.fx * (x / z) + this.pk.cx - (kf.feats.xy[2 * i] as number);
    const dv = this.pk.fy * (y / z) + this.pk.cy - (kf.feats.xy[2 * i + 1] as number);
    return (du * du + dv * dv) * (this.invSigma2[kf.feats.level[i] as number] as number) <= 5.991;
  }

  private localBundleAdjust(): WindowAdjustmentReport | null {
    const o = this.options;
    if (o.baWindow === 0) return null;
    const kfs = this.map.keyframes;
    const window = kfs.slice(Math.max(0, kfs.length - o.baWindow));
    // the first keyframe anchors the map; keyframes outside the window stay fixed by construction
    const fixed = new Set<number>([0]);
    if (window.length < 3) return null;
    return adjustWindow(this.map, window, fixed, this.pk, { iterations: o.baIterations, huber: o.baHuberPx, levelScale: o.orbScale });
  }

  /** recent landmarks that are rarely found where they should be visible are dropped */
  private cullLandmarks(kf: Keyframe): void {
    for (const lm of [...this.map.landmarks.values()]) {
      if (kf.id - lm.firstKeyframe < 2) continue;
      if (lm.visible >= 6 && lm.found < 0.25 * lm.visible) this.map.removeLandmark(lm.id);
      else if (kf.id - lm.firstKeyframe >= 3 && lm.obs.size < 3 && kf.id - lm.firstKeyframe <= 4) this.map.removeLandmark(lm.id);
    }
  }

  destroy(): void {
    this.orb.destroy();
    this.gray.destroy();
    this.matcher.destroy();
    this.depth?.destroy();
  }
}
