/**
 * Small image helpers for the monocular pipeline: luma, box downsampling and
 * the intrinsics that go with it, and ray directions. Images here are at most
 * 640×480 and touched once per frame, so plain loops are enough.
 */
import type { Intrinsics } from '../geometry/intrinsics';

/** RGB → 8-bit luma, BT.601 weights in 8.8 fixed point (the integers of ss_rgb_to_gray). */
export function rgbToGray(rgb: Uint8Array, width: number, height: number): Uint8Array {
  const n = width * height;
  if (rgb.length !== 3 * n) throw new RangeError(`rgbToGray: ${rgb.length} bytes is not ${width}×${height}×3`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = (77 * (rgb[3 * i] as number) + 150 * (rgb[3 * i + 1] as number) + 29 * (rgb[3 * i + 2] as number) + 128) >> 8;
  }
  return out;
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
