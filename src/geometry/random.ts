/**
 * mulberry32 (Tommy Ettinger): a tiny seeded generator, uniform in [0, 1),
 * and the draws RANSAC and the tests need on top of it (integers, normals,
 * samples without repetition). The same seed gives the same sequence on
 * every run, which is what makes replays, RANSAC and surface sampling
 * deterministic.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
