/**
 * Small image helpers for the monocular pipeline: luma (on the native
 * kernel), box downsampling and a texture measure. Images here are at most
 * 640×480 and touched once per frame, so plain loops are enough.
 */
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { rgbToGray } from '../native/kernels/tracking';

/**
 * RGB → 8-bit luma on the native kernel (ss_rgb_to_gray: BT.601 in 8.8 fixed
 * point, the same integers on every backend), into buffers kept between
 * frames.
 */
export class GrayConverter {
  private readonly ctx: NativeContext;
  private rgb: NativeBuffer | null = null;
  private gray: NativeBuffer | null = null;

  constructor(ctx: NativeContext) {
    this.ctx = ctx;
  }

  /** The gray image in a native buffer (for kernels) and as a view of it, both valid until the next convert(). */
  convert(rgb: Uint8Array, width: number, height: number): { buffer: NativeBuffer; pixels: Uint8Array } {
    const n = width * height;
    if (rgb.length !== 3 * n) throw new RangeError(`rgb → gray: ${rgb.length} bytes is not ${width}×${height}×3`);
    if (!this.gray || this.gray.bytes < n) {
      this.destroy();
      this.rgb = this.ctx.buffer(3 * n);
      this.gray = this.ctx.buffer(n);
    }
    const gray = this.gray;
    rgbToGray(this.ctx, width, height, (this.rgb as NativeBuffer).write(rgb), gray);
    gray.download(0, n);
    return { buffer: gray, pixels: gray.u8(0, n) };
  }

  destroy(): void {
    this.rgb?.destroy();
    this.gray?.destroy();
    this.rgb = this.gray = null;
  }
}

/** One RGB image → a gray copy (tests, one-off conversions). */
export function grayImage(ctx: NativeContext, rgb: Uint8Array, width: number, height: number): Uint8Array {
  const converter = new GrayConverter(ctx);
  try {
    return converter.convert(rgb, width, height).pixels.slice();
  } finally {
    converter.destroy();
  }
}

/** factor × factor box mean (rounded) of a 1- or 3-channel 8-bit image; size floor(w / f) × floor(h / f). */
export function boxDownsample(img: Uint8Array, width: number, height: number, channels: number, factor: number): Uint8Array {
  if (factor === 1) return img.slice();
  const w = Math.floor(width / factor), h = Math.floor(height / factor);
  const out = new Uint8Array(w * h * channels);
  const area = factor * factor, half = area >> 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let dy = 0; dy < factor; dy++) {
          const row = (y * factor + dy) * width;
          for (let dx = 0; dx < factor; dx++) s += img[(row + x * factor + dx) * channels + c] as number;
        }
        out[(y * w + x) * channels + c] = Math.floor((s + half) / area);
      }
    }
  }
  return out;
}

/** Fraction of pixels whose 3×3 neighbourhood spans more than `minRange` gray levels. */
export function textureFraction(gray: Uint8Array, width: number, height: number, minRange = 8, step = 2): number {
  let textured = 0, total = 0;
  for (let y = 1; y < height - 1; y += step) {
    for (let x = 1; x < width - 1; x += step) {
      let lo = 255, hi = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const v = gray[(y + dy) * width + x + dx] as number;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      if (hi - lo > minRange) textured++;
      total++;
    }
  }
  return total ? textured / total : 0;
}
