/**
 * Dense depth for keyframes without a depth sensor: plane-sweep stereo
 * (ss_plane_sweep, one call per keyframe) against neighbouring keyframes and
 * frames with known poses, over the depth range its landmarks span; then
 * filtering (aggregated ZNCC, peak-ratio confidence) and multi-view
 * geometric consistency: a depth survives only where a neighbouring
 * keyframe's depth map, reprojected, agrees with it. A keyframe's depth is
 * computed when the next keyframe exists (so it has views on both sides) and
 * released for fusion when its neighbours' depth maps can vouch for it.
 */
import type { Intrinsics } from '../geometry/intrinsics';
import { invertRigid, multiply, type Pose } from '../geometry/se3';
import type { NativeContext } from '../native/context';
import { PlaneSweep, type PlaneSweepView } from '../native/kernels/planeSweep';
import type { Keyframe, MonoMap } from './map';
import type { MonoOptions } from './options';

/** A tracked frame's small gray image, kept a while as a plane-sweep source. */
export interface SourceFrame {
  index: number;
  gray: Uint8Array;
  /** current camera-to-world estimate */
  pose(): Pose;
}

export interface FusableDepth {
  keyframeId: number;
  frameIndex: number;
  /** metres of the map (0 = none), small resolution; every value finite */
  depth: Float32Array;
  rgb: Uint8Array;
  K: Intrinsics;
  /** camera-to-world at release time (after bundle adjustment) */
  pose: Pose;
  /** pixels with depth after filtering / after the consistency check */
  filtered: number;
  consistent: number;
  sweepMs: number;
}

interface Pending {
  kf: Keyframe;
  depth: Float32Array;
  filtered: number;
  sweepMs: number;
}

function translationDistance(a: Pose, b: Pose): number {
  return Math.hypot((a[3] as number) - (b[3] as number), (a[7] as number) - (b[7] as number), (a[11] as number) - (b[11] as number));
}

export class KeyframeDepth {
  private readonly options: MonoOptions;
  private readonly K: Intrinsics;
  private readonly sweep: PlaneSweep;
  /** computed depth maps, by keyframe id (kept while a neighbour may need them) */
  private readonly maps = new Map<number, Pending>();
  private readonly waiting: Pending[] = [];

  constructor(ctx: NativeContext, options: MonoOptions, Ksmall: Intrinsics) {
    this.options = options;
    this.K = Ksmall;
    this.sweep = new PlaneSweep(ctx);
  }

  /**
   * Called after keyframe `newest` joined the map (and bundle adjustment):
   * sweeps the keyframe before it, and releases the depth maps whose
   * neighbours are now known.
   */
  onKeyframe(map: MonoMap, frames: readonly SourceFrame[]): FusableDepth[] {
    const kfs = map.keyframes;
    if (kfs.length >= 2) {
      const target = kfs[kfs.length - 2] as Keyframe;
      const p = this.compute(map, target, frames);
      if (p) {
        this.maps.set(target.id, p);
        this.waiting.push(p);
      }
    }
    // a depth map is released once the one after it exists (or a later keyframe was swept without it)
    const out: FusableDepth[] = [];
    while (this.waiting.length > 0) {
      const p = this.waiting[0] as Pending;
      const later = [...this.maps.keys()].some((id) => id > p.kf.id);
      if (!later) break;
      this.waiting.shift();
      out.push(this.release(map, p));
    }
    for (const id of [...this.maps.keys()]) if (id < (kfs.length - 6)) this.maps.delete(id);
    return out;
  }

  /** at the end of a stream: sweeps the last keyframe against its predecessors and releases everything */
  flush(map: MonoMap, frames: readonly SourceFrame[]): FusableDepth[] {
    const last = map.lastKeyframe;
    if (last && !this.maps.has(last.id) && map.keyframes.length >= 2) {
      const p = this.compute(map, last, frames);
      if (p) {
        this.maps.set(last.id, p);
        this.waiting.push(p);
      }
    }
    const out = this.waiting.map((p) => this.release(map, p));
    this.waiting.length = 0;
    return out;
  }

  private compute(map: MonoMap, kf: Keyframe, frames: readonly SourceFrame[]): Pending | null {
    const o = this.options;
    const depths = map.landmarkDepths(kf);
    if (depths.length < 20) return null;
    const q = (f: number): number => depths[Math.min(depths.length - 1, Math.floor(f * (depths.length - 1)))] as number;
    const median = q(0.5);
    const minDepth = Math.max(0.05 * median, 0.7 * q(0.02));
    const maxDepth = Math.max(minDepth * 1.5, 1.4 * q(0.98));
    // sources: nearby keyframes and tracked frames whose baseline is a useful fraction of the depth
    const ref = kf.pose;
    const candidates: { view: PlaneSweepView; score: number; key: string }[] = [];
    const consider = (gray: Uint8Array, pose: Pose, key: string): void => {
      const b = translationDistance(pose, ref) / median;
      if (b < 0.015 || b > 0.4) return;
      candidates.push({ view: { gray, pose }, score: Math.abs(Math.log(b / 0.06)), key });
    };
    for (const other of map.keyframes) {
      if (other.id === kf.id || Math.abs(other.id - kf.id) > 3) continue;
      consider(other.small.gray, other.pose, `kf${other.id}`);
    }
    const next = map.keyframe(kf.id + 1);
    for (const f of frames) {
      if (f.index <= kf.frameIndex - 30 || (next && f.index >= next.frameIndex) || f.index === kf.frameIndex) continue;
      consider(f.gray, f.pose(), `f${f.index}`);
    }
    if (candidates.length === 0) return null;
    candidates.sort((a, b) => a.score - b.score || (a.key < b.key ? -1 : 1));
    const views: PlaneSweepView[] = [];
    // prefer views on both sides of the keyframe (occlusions differ), then the best baselines
    const picked = new Set<string>();
    const kfNext = candidates.find((c) => c.key === `kf${kf.id + 1}`);
    const kfPrev = candidates.find((c) => c.key === `kf${kf.id - 1}`);
    for (const c of [kfNext, kfPrev, ...candidates]) {
      if (!c || picked.has(c.key) || views.length >= o.depthViews) continue;
      picked.add(c.key);
      views.push(c.view);
    }
    const t0 = performance.now();
    const r = this.sweep.run(kf.small.gray, ref, views, this.K, {
      minDepth, maxDepth, planes: o.depthPlanes, radius: o.depthRadius, bestViews: Math.min(o.depthBestViews, views.length),
    });
    const sweepMs = performance.now() - t0;
    let filtered = 0;
    const depth = r.depth;
    for (let i = 0; i < depth.length; i++) {
      const d = depth[i] as number;
      const ok = Number.isFinite(d) && d > 0 && (r.zncc[i] as number) >= o.depthMinZncc && (r.confidence[i] as number) >= o.depthMinConfidence;
      if (ok) filtered++;
      else depth[i] = 0;
    }
    return { kf, depth, filtered, sweepMs };
  }

  /** keeps the depths that a neighbouring keyframe's depth map confirms */
  private release(map: MonoMap, p: Pending): FusableDepth {
    const o = this.options;
    const K = this.K, w = K.width, h = K.height;
    const neighbours = [p.kf.id - 1, p.kf.id + 1, p.kf.id - 2, p.kf.id + 2]
      .map((id) => this.maps.get(id))
      .filter((x): x is Pending => x !== undefined);
    const out = new Float32Array(p.depth.length);
    let consistent = 0;
    if (o.depthConsistency > 0 && neighbours.length > 0) {
      const transforms = neighbours.map((nb) => multiply(invertRigid(nb.kf.pose), p.kf.pose));
      for (let v = 0; v < h; v++) {
        for (let u = 0; u < w; u++) {
          const i = v * w + u;
          const d = p.depth[i] as number;
          if (!(d > 0)) continue;
          const X = ((u - K.cx) / K.fx) * d, Y = ((v - K.cy) / K.fy) * d;
          let ok = false;
          for (let k = 0; k < neighbours.length && !ok; k++) {
            const T = transforms[k] as Float64Array;
            const x = (T[0] as number) * X + (T[1] as number) * Y + (T[2] as number) * d + (T[3] as number);
            const y = (T[4] as number) * X + (T[5] as number) * Y + (T[6] as number) * d + (T[7] as number);
            const z = (T[8] as number) * X + (T[9] as number) * Y + (T[10] as number) * d + (T[11] as number);
            if (!(z > 0)) continue;
            const pu = Math.round((K.fx * x) / z + K.cx), pv = Math.round((K.fy * y) / z + K.cy);
            if (pu < 0 || pv < 0 || pu >= w || pv >= h) continue;
            const dn = (neighbours[k] as Pending).depth[pv * w + pu] as number;
            if (dn > 0 && Math.abs(dn - z) <= o.depthConsistency * dn) ok = true;
          }
          if (ok) {
            out[i] = d;
            consistent++;
          }
        }
      }
    } else {
      out.set(p.depth);
      consistent = p.filtered;
    }
    for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i] as number)) out[i] = 0;
    return {
      keyframeId: p.kf.id, frameIndex: p.kf.frameIndex, depth: out, rgb: p.kf.small.rgb, K, pose: p.kf.pose,
      filtered: p.filtered, consistent, sweepMs: p.sweepMs,
    };
  }

  destroy(): void {
    this.sweep.destroy();
  }
}
