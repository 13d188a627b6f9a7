/**
 * ORB features (FAST-9 + Harris ranking + grid bucketing + steered BRIEF over
 * scanstream's own seeded pattern) in one native call per image.
 */
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { ORB_DESCRIPTOR_BYTES, ORB_KEYPOINT_FLOATS, TRACKING_FLAG_PORTABLE } from '../native/kernels/trackingFeatures';

export interface OrbOptions {
  maxFeatures: number;
  levels: number;
  scaleFactor: number;
  fastThreshold: number;
  fastMinThreshold: number;
  /** grid cell edge in pixels (per level) for bucketing */
  gridCell: number;
  /** keypoints stay this many pixels inside their level (≥ 16) */
  edge: number;
  harrisK: number;
  /** run the portable kernel bodies instead of the backend's SIMD paths (same output; for parity tests) */
  portable: boolean;
}

export const defaultOrbOptions: OrbOptions = {
  maxFeatures: 1000, levels: 8, scaleFactor: 1.2, fastThreshold: 20, fastMinThreshold: 7, gridCell: 32, edge: 19, harrisK: 0.04, portable: false,
};

/** Features of one image: keypoints in level-0 pixels, 256-bit descriptors. */
export interface Features {
  count: number;
  /** x, y per feature */
  xy: Float32Array;
  level: Uint8Array;
  /** orientation, radians */
  angle: Float32Array;
  response: Float32Array;
  /** 32 bytes per feature */
  descriptors: Uint8Array;
}

export class OrbExtractor {
  readonly options: OrbOptions;
  private readonly ctx: NativeContext;
  private readonly kp: NativeBuffer;
  private readonly desc: NativeBuffer;
  private readonly count: NativeBuffer;
  private gray: NativeBuffer | null = null;
  private destroyed = false;

  constructor(ctx: NativeContext, options: Partial<OrbOptions> = {}) {
    this.ctx = ctx;
    this.options = { ...defaultOrbOptions, ...options };
    if (!Number.isInteger(this.options.maxFeatures) || this.options.maxFeatures < 1) {
      throw new RangeError(`ORB maxFeatures must be a positive integer, got ${this.options.maxFeatures}`);
    }
    this.kp = ctx.buffer(this.options.maxFeatures * ORB_KEYPOINT_FLOATS * 4);
    this.desc = ctx.buffer(this.options.maxFeatures * ORB_DESCRIPTOR_BYTES);
    this.count = ctx.buffer(4);
  }

  /** Extracts from an 8-bit gray image already in a native buffer (e.g. a tracking pyramid's full-resolution gray). */
  extractFromBuffer(gray: NativeBuffer, width: number, height: number): Features {
    if (this.destroyed) throw new Error('OrbExtractor was used after destroy()');
    if (gray.bytes < width * height) throw new RangeError(`ORB: gray buffer holds ${gray.bytes} bytes, ${width}×${height} needs ${width * height}`);
    const o = this.options;
    this.ctx.call('ss_orb_extract', {
      width, height, levels: o.levels, max_features: o.maxFeatures, fast_threshold: o.fastThreshold,
      fast_min_threshold: o.fastMinThreshold, grid_cell: o.gridCell, edge: o.edge, scale_factor: o.scaleFactor, harris_k: o.harrisK,
      flags: o.portable ? TRACKING_FLAG_PORTABLE : 0,
    }, { gray, keypoints: this.kp, descriptors: this.desc, count: this.count });
    this.count.download();
    const n = this.count.u32(0, 1)[0] as number;
    this.kp.download(0, n * ORB_KEYPOINT_FLOATS * 4);
    this.desc.download(0, n * ORB_DESCRIPTOR_BYTES);
    const kp = this.kp.f32(0, n * ORB_KEYPOINT_FLOATS);
    const xy = new Float32Array(2 * n);
    const level = new Uint8Array(n);
    const angle = new Float32Array(n);
    const response = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const o8 = i * ORB_KEYPOINT_FLOATS;
      xy[2 * i] = kp[o8] as number;
      xy[2 * i + 1] = kp[o8 + 1] as number;
      level[i] = kp[o8 + 2] as number;
      angle[i] = Math.atan2(kp[o8 + 4] as number, kp[o8 + 3] as number);
      response[i] = kp[o8 + 5] as number;
    }
    return { count: n, xy, level, angle, response, descriptors: this.desc.u8(0, n * ORB_DESCRIPTOR_BYTES).slice() };
  }

  /** Extracts from an 8-bit gray image in JS memory. */
  extract(gray: Uint8Array, width: number, height: number): Features {
    if (gray.length !== width * height) throw new RangeError(`ORB: gray image has ${gray.length} bytes, ${width}×${height} needs ${width * height}`);
    if (!this.gray || this.gray.bytes < gray.length) {
      this.gray?.destroy();
      this.gray = this.ctx.buffer(gray.length);
    }
    this.gray.write(gray);
    return this.extractFromBuffer(this.gray, width, height);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of [this.kp, this.desc, this.count, this.gray]) b?.destroy();
  }
}
