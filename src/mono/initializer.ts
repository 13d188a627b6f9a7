/**
 * Two-view initialisation of the monocular map: the first frame is the
 * reference; every later frame is matched to it, and the essential matrix
 * with cheirality (src/mono/essential.ts) proposes a relative pose. It is
 * accepted only with enough parallax: rays of a rotating-only camera meet at
 * any depth, so the map would be unmeasurable. Until then the initialiser
 * says why it is waiting.
 */
import { relativePose, type RelativePose } from '../geometry/essential';
import type { Intrinsics } from '../geometry/intrinsics';
import { rotationRansac } from '../geometry/rotationRansac';
import type { ReciprocalMatcher } from '../tracking/matching';
import type { FrameFeatures } from './frameFeatures';
import type { MonoOptions } from './options';

export interface InitFrame {
  index: number;
  timestamp: number;
  feats: FrameFeatures;
  small: { gray: Uint8Array; rgb: Uint8Array };
  /** matches with the reference: ref feature, this frame's feature (pairs) */
  pairs?: Int32Array;
}

export type InitAttempt =
  | {
    ready: false;
    reason: string;
    /** world-to-camera rotation of the frame from the rotation-only model (camera centre held at the origin), when measurable */
    rcw?: Float64Array;
  }
  | {
    ready: true; ref: InitFrame; cur: InitFrame; between: InitFrame[]; pairs: Int32Array; rp: RelativePose;
    /** world-to-camera rotation of the reference (identity unless rotation-only tracking went before) */
    refRcw: Float64Array;
  };

function mul3(A: ArrayLike<number>, B: ArrayLike<number>): Float64Array {
  const o = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) o[r * 3 + c] = (A[r * 3] as number) * (B[c] as number) + (A[r * 3 + 1] as number) * (B[3 + c] as number) + (A[r * 3 + 2] as number) * (B[6 + c] as number);
  return o;
}

const IDENTITY3 = new Float64Array([1, 0, 0, 0, 1, 0, 0, 0, 1]);

export class Initializer {
  private readonly options: MonoOptions;
  private readonly K: Intrinsics;
  private readonly matcher: ReciprocalMatcher;
  private ref: InitFrame | null = null;
  /** world-to-camera rotation of the reference (rotation-only chain) */
  private refRcw: Float64Array = IDENTITY3;
  private lastRcw: Float64Array = IDENTITY3;
  private buffer: InitFrame[] = [];

  constructor(options: MonoOptions, K: Intrinsics, matcher: ReciprocalMatcher) {
    this.options = options;
    this.K = K;
    this.matcher = matcher;
  }

  get reference(): InitFrame | null {
    return this.ref;
  }

  reset(): void {
    this.ref = null;
    this.buffer = [];
  }

  private newReference(frame: InitFrame, rcw: Float64Array): void {
    this.ref = frame;
    this.refRcw = rcw;
    this.buffer = [];
  }

  push(frame: InitFrame): InitAttempt {
    const o = this.options;
    if (frame.feats.count < o.minFeatures) {
      return { ready: false, reason: `textureless: ${frame.feats.count} features (< ${o.minFeatures}); point the camera at something with detail` };
    }
    if (!this.ref) {
      this.newReference(frame, this.lastRcw);
      return { ready: false, reason: 'reference frame taken; move the camera sideways to initialise', rcw: this.lastRcw };
    }
    const ref = this.ref;
    const m = this.matcher.matchBinary(ref.feats.descBytes, frame.feats.descBytes, { maxDistance: o.matchMaxDistance, ratio: o.matchRatio });
    const nm = m.pairs.length / 2;
    frame.pairs = m.pairs;
    const x1 = new Float64Array(2 * nm), x2 = new Float64Array(2 * nm);
    for (let k = 0; k < nm; k++) {
      const i = m.pairs[2 * k] as number, j = m.pairs[2 * k + 1] as number;
      x1[2 * k] = ref.feats.un[2 * i] as number;
      x1[2 * k + 1] = ref.feats.un[2 * i + 1] as number;
      x2[2 * k] = frame.feats.un[2 * j] as number;
      x2[2 * k + 1] = frame.feats.un[2 * j + 1] as number;
    }
    // the rotation-only model: the frame's orientation even while there is no parallax
    const rot = nm >= 8 ? rotationRansac(x1, x2, (2.5 * o.initThresholdPx) / this.K.fx, o.seed) : null;
    let rcw: Float64Array | undefined;
    if (rot && rot.inlierCount >= o.minTrackInliers) {
      rcw = mul3(rot.R, this.refRcw);
      this.lastRcw = rcw;
    }
    const waiting = (reason: string): InitAttempt => (rcw ? { ready: false, reason, rcw } : { ready: false, reason });
    if (nm < o.initMinMatches) {
      const reason = `only ${nm} matches with the reference frame ${ref.index} (< ${o.initMinMatches}): taking frame ${frame.index} as the new reference`;
      this.newReference(frame, rcw ?? this.lastRcw);
      return waiting(reason);
    }
    const keep = (reason: string): InitAttempt => {
      this.buffer.push(frame);
      if (this.buffer.length >= o.initMaxFrames) {
        this.newReference(frame, rcw ?? this.lastRcw);
        return waiting(`${reason}; no initialisation within ${o.initMaxFrames} frames: frame ${frame.index} is the new reference`);
      }
      return waiting(reason);
    };
    const thr = o.initThresholdPx / this.K.fx;
    const rp = relativePose(x1, x2, { threshold: thr, seed: o.seed, maxIterations: 500, confidence: 0.999 });
    const rotDeg = rot ? (Math.acos(Math.min(1, Math.max(-1, ((rot.R[0] as number) + (rot.R[4] as number) + (rot.R[8] as number) - 1) / 2))) * 180) / Math.PI : 0;
    if (!rp || rp.medianParallaxDeg < o.initMinParallaxDeg) {
      const par = rp ? rp.medianParallaxDeg : 0;
      const why = rot && rotDeg > Math.max(2, 4 * par)
        ? `pure rotation: the camera turned ${rotDeg.toFixed(1)}° since frame ${ref.index} but rays diverge only ${par.toFixed(2)}° (< ${o.initMinParallaxDeg}°); translate the camera, do not only turn it`
        : `not enough parallax yet: median ray angle ${par.toFixed(2)}° since frame ${ref.index} (< ${o.initMinParallaxDeg}°); keep moving sideways`;
      return keep(why);
    }
    if (rp.validCount < o.initMinPoints) {
      return keep(`only ${rp.validCount} points triangulate in front of both views (< ${o.initMinPoints})`);
    }
    if (rp.secondBestCount > 0.7 * rp.validCount) {
      return keep(`ambiguous two-view geometry (${rp.validCount} vs ${rp.secondBestCount} points for two poses)`);
    }
    return { ready: true, ref, cur: frame, between: this.buffer, pairs: m.pairs, rp, refRcw: this.refRcw };
  }
}
