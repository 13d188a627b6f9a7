/**
 * The state of one RGB-D SLAM run, shared by the prepare → track → keyframes
 * → fuse operators (DESIGN.md §1: stage state in one object, never module
 * globals): the TSDF volume, the dense tracker, the keyframe map and the
 * counters the report needs.
 */
import type { TrackingOptions } from '../config';
import type { Frame } from '../frames/frame';
import type { TsdfVolume } from '../fusion/tsdfVolume';
import { sameIntrinsics, type Intrinsics } from '../geometry/intrinsics';
import { identityPose, type Pose } from '../geometry/se3';
import type { NativeContext } from '../native/context';
import type { TrackingState } from './trackingState';
import { DenseTracker, denseTrackerOptions, type LostReason } from './denseTracker';
import type { IcpResult } from './icp';
import { KeyframeMap, type KeyframeEvent, type RelocalisationResult } from './keyframes';

export interface PreparedFrame {
  frame: Frame;
  /** fraction of tracking-level pixels with a usable depth (0 without depth) */
  validFraction: number;
  /** fraction of pixels with image texture (0 without depth: not measured) */
  textureFraction: number;
  timings: Record<string, number>;
}

export interface TrackingInfo {
  state: TrackingState;
  reason?: LostReason | 'relocalisation-failed';
  icp?: IcpResult;
  /** the pose came from feature relocalisation (then refined by ICP) */
  relocalised?: boolean;
  /** a keyframe was taken at this frame */
  keyframe?: KeyframeEvent;
}

export interface TrackedFrame {
  /** frame.pose is set when tracking succeeded */
  frame: Frame;
  tracking: TrackingInfo;
  timings: Record<string, number>;
}

export class TrackingInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrackingInputError';
  }
}

export class SlamSystem {
  readonly options: TrackingOptions;
  readonly volume: TsdfVolume;
  private readonly ctx: NativeContext;
  private tracker: DenseTracker | null = null;
  private K: Intrinsics | null = null;
  readonly map: KeyframeMap;
  /** frames seen, tracked, lost, relocalised */
  readonly counts = { frames: 0, tracked: 0, lost: 0, relocalised: 0 };
  private lostStreak = 0;

  constructor(ctx: NativeContext, volume: TsdfVolume, options: TrackingOptions) {
    this.ctx = ctx;
    this.volume = volume;
    this.options = options;
    this.map = new KeyframeMap(ctx, options);
  }

  get intrinsics(): Intrinsics | null {
    return this.K;
  }

  get denseTracker(): DenseTracker | null {
    return this.tracker;
  }

  /** Validates the frame and builds its tracking pyramid (the tracker's current pyramid). */
  prepare(frame: Frame): PreparedFrame {
    const t0 = performance.now();
    const K = frame.intrinsics;
    if (frame.rgb.length !== frame.width * frame.height * 3) {
      throw new TrackingInputError(`frame ${frame.index}: rgb has ${frame.rgb.length} bytes, expected ${frame.width}×${frame.height}×3`);
    }
    if (K.width !== frame.width || K.height !== frame.height) {
      throw new TrackingInputError(`frame ${frame.index}: intrinsics are for ${K.width}×${K.height} but the frame is ${frame.width}×${frame.height}`);
    }
    if (!this.K) {
      this.K = { ...K };
      this.tracker = new DenseTracker(this.ctx, this.volume, this.K, denseTrackerOptions(this.options));
    } else if (!sameIntrinsics(this.K, K)) {
      throw new TrackingInputError(`frame ${frame.index}: intrinsics changed mid-sequence (${JSON.stringify(K)} after ${JSON.stringify(this.K)})`);
    }
    let validFraction = 0;
    let textureFraction = 0;
    if (frame.depth) {
      if (frame.depth.length !== frame.width * frame.height) {
        throw new TrackingInputError(`frame ${frame.index}: depth has ${frame.depth.length} values, expected ${frame.width * frame.height}`);
      }
      ({ validFraction, textureFraction } = (this.tracker as DenseTracker).prepare(frame.depth, frame.rgb));
    }
    return { frame, validFraction, textureFraction, timings: { prepare: performance.now() - t0 } };
  }

  /** Estimates the pose of a prepared frame (frame-to-model ICP, feature relocalisation when ICP fails). */
  track(p: PreparedFrame): TrackedFrame {
    const t0 = performance.now();
    const tracker = this.tracker as DenseTracker;
    const frame = p.frame;
    this.counts.frames++;
    const done = (info: TrackingInfo, pose?: Pose): TrackedFrame => {
      if (pose) {
        tracker.accept(pose);
        this.counts.tracked++;
        this.lostStreak = 0;
      } else if (info.state === 'lost') {
        this.counts.lost++;
        this.lostStreak++;
      }
      const timings = { ...p.timings, track: performance.now() - t0 };
      return { frame: pose ? { ...frame, pose } : frame, tracking: info, timings };
    };
    if (!frame.depth || p.validFraction < this.options.minValidFraction) {
      const state: TrackingState = tracker.lastTrackedPose ? 'lost' : 'initializing';
      return done({ state, reason: frame.depth ? 'too-few-points' : 'no-depth' });
    }
    if (p.textureFraction < this.options.minTextureFraction) {
      return done({ state: tracker.lastTrackedPose ? 'lost' : 'initializing', reason: 'blank-image' });
    }
    if (!tracker.lastTrackedPose) {
      // the first frame with depth anchors the map at the origin
      return done({ state: 'ok' }, identityPose());
    }
    const relocalise = (): TrackedFrame | null => {
      const reloc: RelocalisationResult | null = this.map.relocalise(frame, tracker);
      if (!reloc) return null;
      const r = tracker.track(reloc.pose, true);
      if (!r.ok) return null;
      tracker.resetMotion();
      this.counts.relocalised++;
      return done({ state: 'ok', icp: r.icp ?? undefined, relocalised: true }, r.pose);
    };
    if (this.lostStreak > 0) {
      // after a loss the last pose says little about this one: the keyframes' features decide first
      tracker.resetMotion();
      const back = relocalise();
      if (back) return back;
      // a short gap (a dropped or blank frame): plain ICP from the last pose, with a stricter overlap gate
      if (this.lostStreak <= 3) {
        const r = tracker.track();
        if (r.ok && r.icp && r.icp.inlierFraction >= this.options.recoverMinInlierFraction) {
          return done({ state: 'ok', icp: r.icp }, r.pose);
        }
      }
      return done({ state: 'lost', reason: 'relocalisation-failed' });
    }
    const res = tracker.track();
    if (res.ok) return done({ state: 'ok', icp: res.icp ?? undefined }, res.pose);
    // ICP failed from the motion model (a large motion or a jump): the features give the guess
    const back = relocalise();
    if (back) return back;
    return done({ state: 'lost', reason: res.reason ?? 'relocalisation-failed', icp: res.icp ?? undefined });
  }

  /** Keyframe decision, feature matching, landmarks and refinement for a tracked frame. */
  keyframes(t: TrackedFrame): TrackedFrame {
    if (!t.frame.pose) return t;
    const t0 = performance.now();
    const event = this.map.consider(t.frame, (this.tracker as DenseTracker));
    const timings = { ...t.timings, keyframes: performance.now() - t0 };
    return { ...t, tracking: event ? { ...t.tracking, keyframe: event } : t.tracking, timings };
  }

  /** frames lost in a row (0 while tracking) */
  get lostFrames(): number {
    return this.lostStreak;
  }

  destroy(): void {
    this.tracker?.destroy();
    this.tracker = null;
    this.map.destroy();
  }
}
