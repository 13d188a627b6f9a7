/**
 * The seeded generator of the geometry code (mulberry32, src/geometry/random.ts)
 * with the draws RANSAC and the tests need: integers, normals, samples
 * without repetition. Same seed, same sequence: replays stay deterministic.
 */
import { mulberry32 } from '../geometry/random';

export class SeededRandom {
  /** uniform in [0, 1) */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** uniform integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** standard normal (Box–Muller) */
  gaussian(): number {
    const u = Math.max(this.next(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** k distinct indices from [0, n) into out (k ≤ n) */
  sample(n: number, k: number, out: Int32Array): Int32Array {
    for (let i = 0; i < k; i++) {
      let v: number;
      let dup: boolean;
      do {
        v = this.int(n);
        dup = false;
        for (let j = 0; j < i; j++) if (out[j] === v) dup = true;
      } while (dup);
      out[i] = v;
    }
    return out;
  }
}
