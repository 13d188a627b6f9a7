/**
 * Sensor-like noise for synthetic frames, seeded per frame so a frame's noise
 * does not depend on which frames were rendered before it.
 */
import { gaussianGenerator, mixSeed } from './random';

/** depth += N(0, (σ·z²)²) — the quadratic growth of structured-light/ToF depth error (Khoshelham & Elberink 2012). */
export function addDepthNoise(depth: Float32Array, sigma: number, seed: number, frameIndex: number): void {
  if (sigma <= 0) return;
  const g = gaussianGenerator(mixSeed(seed, 2 * frameIndex + 1));
  for (let i = 0; i < depth.length; i++) {
    const z = depth[i]!;
    if (z > 0) {
      const noisy = z + sigma * z * z * g();
      depth[i] = noisy > 0 ? noisy : 0;
    }
  }
}

/** rgb += N(0, σ²) per channel, rounded and clamped to 0..255. */
export function addColourNoise(rgb: Uint8Array, sigma: number, seed: number, frameIndex: number): void {
  if (sigma <= 0) return;
  const g = gaussianGenerator(mixSeed(seed, 2 * frameIndex + 2));
  for (let i = 0; i < rgb.length; i++) {
    const v = Math.round(rgb[i]! + sigma * g());
    rgb[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}
