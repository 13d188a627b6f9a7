/**
 * Small deterministic generators: the same seed gives the same numbers on
 * every run (bit-for-bit), which is what makes synthetic frames replayable.
 */
import { mulberry32 } from '../../geometry/random';

/** splitmix32-style mixing of (seed, stream) into one 32-bit state. */
export function mixSeed(seed: number, stream: number): number {
  let h = Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((stream | 0) + 0x632be5ab, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** mulberry32: uniform in [0, 1). */
export const uniformGenerator = mulberry32;

/** Standard normal samples (Box–Muller, both outputs used). */
export function gaussianGenerator(seed: number): () => number {
  const uniform = uniformGenerator(seed);
  let spare = 0;
  let hasSpare = false;
  return (): number => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    const u = 1 - uniform(); // (0, 1]: log stays finite
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** Integer lattice hash → [0, 1): value noise without tables. */
export function latticeHash(ix: number, iy: number, iz: number, salt: number): number {
  let h = Math.imul(ix, 0x8da6b343) ^ Math.imul(iy, 0xd8163841) ^ Math.imul(iz, 0xcb1ab31f) ^ salt;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}
