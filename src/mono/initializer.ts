/**
 * Two-view initialisation of the monocular map: the first frame is the
 * reference; every later frame is matched to it, and the essential matrix
 * with cheirality (src/mono/essential.ts) proposes a relative pose. It is
 * accepted only with enough parallax: rays of a rotating-only camera meet at
 * any depth, so the map would be unmeasurable. Until then the initialiser
 * says why it is waiting.
 */
import type { Intrinsics } from '../frames/frame';
import type { ReciprocalMatcher } from '../tracking/matching';
import { relativePose, svd3, type RelativePose } from './essential';
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
  | { ready: false; reason: string }
  | { ready: true; ref: InitFrame; cur: InitFrame; between: InitFrame[]; pairs: Int32Array; rp: RelativePose };

/**
 * Rotation that best maps bearings b₁ → b₂ (Kabsch on unit vectors), and
 * the median angle left between R b₁ and b₂: what a purely rotating
 * camera explains, and the parallax it does not.
 */
export function rotationOnlyResidualDeg(x1: ArrayLike<number>, x2: ArrayLike<number>, mask?: Uint8Array): { R: Float64Array; medianDeg: number } {
  const n = x1.length / 2;
  const unit = (x: number, y: number): [number, number, number] => {
    const s = 1 / Math.hypot(x, y, 1);
    return [x * s, y * s, s];
  };
  const fit = (use: (i: number) => boolean): Float64Array => {
    const H = new Float64Array(9);
    for (let i = 0; i < n; i++) {
      if (!use(i)) continue;
      const a = unit(x1[2 * i] as number, x1[2 * i + 1] as number), b = unit(x2[2 * i] as number, x2[2 * i + 1] as number);
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) H[r * 3 + c] = (H[r * 3 + c] as number) + b[r]! * a[c]!;
    }
    // R = U Vᵀ of H = Σ b aᵀ (U, V proper rotations: no reflection)
    const { U, V } = svd3(H);
    const R = new Float64Array(9);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) R[r * 3 + c] = (U[r * 3] as number) * (V[c * 3] as number) + (U[r * 3 + 1] as number) * (V[c * 3 + 1] as number) + (U[r * 3 + 2] as number) * (V[c * 3 + 2] as number);
    return R;
  };
  const residuals = (R: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = unit(x1[2 * i] as number, x1[2 * i + 1] as number), b = unit(x2[2 * i] as number, x2[2 * i + 1] as number);
      const ra = [0, 1, 2].map((r) => (R[r * 3] as number) * a[0] + (R[r * 3 + 1] as number) * a[1] + (R[r * 3 + 2] as number) * a[2]);
      const c = ra[0]! * b[0] + ra[1]! * b[1] + ra[2]! * b[2];
      out[i] = (Math.acos(Math.min(1, Math.max(-1, c))) * 180) / Math.PI;
    }
    return out;
  };
  const median = (v: Float64Array, use: (i: number) => boolean): number => {
    const s = Array.from(v).filter((_, i) => use(i)).sort((a, b) => a - b);
    return s.length ? (s[s.length >> 1] as number) : Infinity;
  };
  const base = (i: number): boolean => !mask || mask[i] === 1;
  let R = fit(base);
  // one re-fit without the worst half (outliers and the far side of the parallax)
  const r0 = residuals(R);
  const m0 = median(r0, base);
  R = fit((i) => base(i) && (r0[i] as number) <= m0);
  return { R, medianDeg: median(residuals(R), base) };
}

export class Initializer {
  private readonly options: MonoOptions;
  private readonly K: Intrinsics;
  private readonly matcher: ReciprocalMatcher;
  private ref: InitFrame | null = null;
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

  push(frame: InitFrame): InitAttempt {
    const o = this.options;
    if (frame.feats.count < o.minFeatures) {
      return { ready: false, reason: `textureless: ${frame.feats.count} features (< ${o.minFeatures}); point the camera at something with detail` };
    }
    if (!this.ref) {
      this.ref = frame;
      return { ready: false, reason: 'reference frame taken; move the camera sideways to initialise' };
    }
    const m = this.matcher.matchBinary(this.ref.feats.descBytes, frame.feats.descBytes, { maxDistance: o.matchMaxDistance, ratio: o.matchRatio });
    const nm = m.pairs.length / 2;
    if (nm < o.initMinMatches) {
      const reason = `only ${nm} matches with the reference frame ${this.ref.index} (< ${o.initMinMatches}): taking frame ${frame.index} as the new reference`;
      this.ref = frame;
      this.buffer = [];
      return { ready: false, reason };
    }
    frame.pairs = m.pairs;
    const x1 = new Float64Array(2 * nm), x2 = new Float64Array(2 * nm);
    for (let k = 0; k < nm; k++) {
      const i = m.pairs[2 * k] as number, j = m.pairs[2 * k + 1] as number;
      x1[2 * k] = this.ref.feats.un[2 * i] as number;
      x1[2 * k + 1] = this.ref.feats.un[2 * i + 1] as number;
      x2[2 * k] = frame.feats.un[2 * j] as number;
      x2[2 * k + 1] = frame.feats.un[2 * j + 1] as number;
    }
    const keep = (reason: string): InitAttempt => {
      this.buffer.push(frame);
      if (this.buffer.length >= o.initMaxFrames) {
        this.ref = frame;
        this.buffer = [];
        return { ready: false, reason: `${reason}; no initialisation within ${o.initMaxFrames} frames: frame ${frame.index} is the new reference` };
      }
      return { ready: false, reason };
    };
    const thr = o.initThresholdPx / this.K.fx;
    const rp = relativePose(x1, x2, { threshold: thr, seed: o.seed, maxIterations: 500, confidence: 0.999 });
    const rot = rotationOnlyResidualDeg(x1, x2, rp?.inliers);
    const rotDeg = (Math.acos(Math.min(1, Math.max(-1, ((rot.R[0] as number) + (rot.R[4] as number) + (rot.R[8] as number) - 1) / 2))) * 180) / Math.PI;
    if (!rp || rp.medianParallaxDeg < o.initMinParallaxDeg) {
      const par = rp ? rp.medianParallaxDeg : rot.medianDeg;
      const why = rot.medianDeg < o.initMinParallaxDeg / 2 && rotDeg > 2 * par
        ? `pure rotation: the camera turned ${rotDeg.toFixed(1)}° since frame ${this.ref.index} but rays diverge only ${par.toFixed(2)}° (< ${o.initMinParallaxDeg}°); translate the camera, do not only turn it`
        : `not enough parallax yet: median ray angle ${par.toFixed(2)}° since frame ${this.ref.index} (< ${o.initMinParallaxDeg}°); keep moving sideways`;
      return keep(why);
    }
    if (rp.validCount < o.initMinPoints) {
      return keep(`only ${rp.validCount} points triangulate in front of both views (< ${o.initMinPoints})`);
    }
    if (rp.secondBestCount > 0.7 * rp.validCount) {
      return keep(`ambiguous two-view geometry (${rp.validCount} vs ${rp.secondBestCount} points for two poses)`);
    }
    return { ready: true, ref: this.ref, cur: frame, between: this.buffer, pairs: m.pairs, rp };
  }
}
