/**
 * Plane-sweep stereo for a keyframe (ss_plane_sweep): one native call per
 * keyframe, buffers kept between calls and grown only when the image size,
 * view count or plane count grows.
 */
import type { Intrinsics } from '../../geometry/intrinsics';
import { invertRigid, multiply, type Pose } from '../../geometry/se3';
import { abiConstants } from '../abi.generated';
import type { NativeBuffer } from '../buffer';
import type { NativeContext } from '../context';

/** SS_PLANE_SWEEP_MAX_VIEWS */
export const PLANE_SWEEP_MAX_VIEWS = abiConstants.SS_PLANE_SWEEP_MAX_VIEWS;
export const PLANE_SWEEP_MAX_PLANES = abiConstants.SS_PLANE_SWEEP_MAX_PLANES;

export interface PlaneSweepView {
  /** 8-bit gray, width × height */
  gray: Uint8Array;
  /** camera-to-world */
  pose: Pose;
}

export interface PlaneSweepParams {
  minDepth: number;
  maxDepth: number;
  /** fronto-parallel planes, uniform in inverse depth */
  planes: number;
  /** ZNCC window is (2 radius + 1)² */
  radius: number;
  /** views aggregated per plane: mean of the best k costs (0 = all) */
  bestViews: number;
  /** a window with less variance per pixel (gray levels²) is textureless */
  minVariance: number;
}

export const defaultPlaneSweepParams: Omit<PlaneSweepParams, 'minDepth' | 'maxDepth'> = {
  planes: 64, radius: 2, bestViews: 2, minVariance: 4,
};

export interface PlaneSweepResult {
  /** metres along the optical axis, 0 = none */
  depth: Float32Array;
  /** 1 − best aggregated cost: the mean ZNCC of the best views, −1..1 */
  zncc: Float32Array;
  /** peak ratio 1 − best / second local minimum, 0..1 */
  confidence: Float32Array;
}

/** 3×4 rigid transform from the reference camera to a source camera, both camera-to-world. */
export function refToSource(ref: Pose, src: Pose): Float64Array {
  return multiply(invertRigid(src), ref).subarray(0, 12);
}

export class PlaneSweep {
  private readonly ctx: NativeContext;
  private bufs: Record<'ref' | 'src' | 'cost' | 'depth' | 'quality', NativeBuffer | null> = {
    ref: null, src: null, cost: null, depth: null, quality: null,
  };
  private destroyed = false;

  constructor(ctx: NativeContext) {
    this.ctx = ctx;
  }

  private buf(name: keyof PlaneSweep['bufs'], bytes: number): NativeBuffer {
    const cur = this.bufs[name];
    if (cur && cur.bytes >= bytes) return cur;
    cur?.destroy();
    const next = this.ctx.buffer(bytes);
    this.bufs[name] = next;
    return next;
  }

  /**
   * Depth of `ref` (8-bit gray, camera-to-world `refPose`) against 1..4
   * source views of the same camera `K` (whose width/height are the images').
   */
  run(ref: Uint8Array, refPose: Pose, views: readonly PlaneSweepView[], K: Intrinsics, params: Partial<PlaneSweepParams> &
    Pick<PlaneSweepParams, 'minDepth' | 'maxDepth'>): PlaneSweepResult {
    if (this.destroyed) throw new Error('PlaneSweep was used after destroy()');
    const p = { ...defaultPlaneSweepParams, ...params };
    const w = K.width, h = K.height, n = w * h;
    if (views.length < 1 || views.length > PLANE_SWEEP_MAX_VIEWS) {
      throw new RangeError(`plane sweep needs 1..${PLANE_SWEEP_MAX_VIEWS} source views, got ${views.length}`);
    }
    if (ref.length !== n) throw new RangeError(`plane sweep: reference image has ${ref.length} pixels, K says ${w}×${h}`);
    const ts = new Float32Array(48);
    views.forEach((v, k) => {
      if (v.gray.length !== n) throw new RangeError(`plane sweep: view ${k} has ${v.gray.length} pixels, K says ${w}×${h}`);
      ts.set(refToSource(refPose, v.pose), 12 * k);
    });
    const refBuf = this.buf('ref', n).write(ref);
    const srcBuf = this.buf('src', n * views.length);
    views.forEach((v, k) => srcBuf.write(v.gray, k * n));
    const cost = this.buf('cost', n * p.planes * 4);
    const depth = this.buf('depth', n * 4), quality = this.buf('quality', n * 8);
    this.ctx.call('ss_plane_sweep', {
      width: w, height: h, views: views.length, planes: p.planes, radius: p.radius, best_views: p.bestViews,
      fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy, min_depth: p.minDepth, max_depth: p.maxDepth, min_variance: p.minVariance,
      ref_to_src: ts,
    }, { ref: refBuf, src: srcBuf, cost, depth, quality });
    depth.download(0, n * 4);
    quality.download(0, n * 8);
    const q = quality.f32(0, 2 * n);
    const zncc = new Float32Array(n), confidence = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      zncc[i] = q[2 * i] as number;
      confidence[i] = q[2 * i + 1] as number;
    }
    return { depth: depth.f32(0, n).slice(), zncc, confidence };
  }

  /** the aggregated cost volume of the last run (planes × pixels), for tests and inspection */
  costVolume(pixels: number, planes: number): Float32Array {
    const c = this.bufs.cost;
    if (!c || c.bytes < pixels * planes * 4) throw new RangeError('plane sweep: no cost volume of that size yet');
    c.download(0, pixels * planes * 4);
    return c.f32(0, pixels * planes).slice();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of Object.values(this.bufs)) b?.destroy();
  }
}
