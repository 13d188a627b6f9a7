/**
 * Procedural albedo by world position: two octaves of trilinear value noise
 * (blobs at several scales) times a checker (corners), so FAST/ORB finds
 * features and photometric terms have gradients, on every surface and from
 * every viewpoint. View-independent: the same point has the same colour in
 * every frame.
 */
import { latticeHash } from './random';
import type { Material } from './scene';

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/**
 * Trilinear value noise in [0, 1) with smoothstep weights. Neighbouring pixels
 * mostly fall in the same lattice cell, so the cell's 8 corner hashes are kept
 * in `cache` (one per octave) and reused: same values, a third of the work.
 */
export class NoiseCell {
  private ix = NaN;
  private iy = NaN;
  private iz = NaN;
  private salt = NaN;
  private readonly c = new Float64Array(8);

  sample(x: number, y: number, z: number, salt: number): number {
    const ix = Math.floor(x), iy = Math.floor(y), iz = Math.floor(z);
    const c = this.c;
    if (ix !== this.ix || iy !== this.iy || iz !== this.iz || salt !== this.salt) {
      this.ix = ix; this.iy = iy; this.iz = iz; this.salt = salt;
      c[0] = latticeHash(ix, iy, iz, salt); c[1] = latticeHash(ix + 1, iy, iz, salt);
      c[2] = latticeHash(ix, iy + 1, iz, salt); c[3] = latticeHash(ix + 1, iy + 1, iz, salt);
      c[4] = latticeHash(ix, iy, iz + 1, salt); c[5] = latticeHash(ix + 1, iy, iz + 1, salt);
      c[6] = latticeHash(ix, iy + 1, iz + 1, salt); c[7] = latticeHash(ix + 1, iy + 1, iz + 1, salt);
    }
    const fx = smooth(x - ix), fy = smooth(y - iy), fz = smooth(z - iz);
    const x00 = c[0]! + (c[1]! - c[0]!) * fx, x10 = c[2]! + (c[3]! - c[2]!) * fx;
    const x01 = c[4]! + (c[5]! - c[4]!) * fx, x11 = c[6]! + (c[7]! - c[6]!) * fx;
    const y0 = x00 + (x10 - x00) * fy, y1 = x01 + (x11 - x01) * fy;
    return y0 + (y1 - y0) * fz;
  }
}

/** Albedo samplers with their own noise caches (one per renderer: no shared state). */
export interface AlbedoSampler {
  /** multiplier in [0, 1] of `material` at world point (x, y, z) */
  factor(m: Material, salt: number, x: number, y: number, z: number): number;
}

export function createAlbedoSampler(): AlbedoSampler {
  const coarse = new NoiseCell();
  const fine = new NoiseCell();
  return {
    factor(m: Material, salt: number, x: number, y: number, z: number): number {
      const s = 1 / m.noiseCell;
      const n = 0.65 * coarse.sample(x * s, y * s, z * s, salt) + 0.35 * fine.sample(x * s * 3.1, y * s * 3.1, z * s * 3.1, salt ^ 0x5bd1e995);
      let f = 1 - m.noiseAmount + m.noiseAmount * n;
      if (m.checker > 0) {
        const c = 1 / m.checker;
        if ((Math.floor(x * c) + Math.floor(y * c) + Math.floor(z * c)) & 1) f *= 1 - m.checkerContrast;
      }
      return f;
    },
  };
}
