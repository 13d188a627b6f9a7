import { mulberry32 } from '../geometry/random';
import type { NdArray } from './ndarray';

const uniform = mulberry32;

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() || 1e-300)) * Math.cos(2 * Math.PI * r());
}

/** rows of unit-norm Gaussian vectors: the "random unit-norm inputs" of the spec */
export function randomUnitRows(rows: number, dim: number, seed: number): Float32Array {
  const r = uniform(seed);
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = 0; k < dim; k++) {
      const v = gaussian(r);
      out[i * dim + k] = v;
      s += v * v;
    }
    s = Math.sqrt(s);
    for (let k = 0; k < dim; k++) out[i * dim + k] = (out[i * dim + k] as number) / s;
  }
  return out;
}

interface Level {
  step: number;
  weight: number;
  gw: number;
  gh: number;
  grid: Float32Array;
}

export interface SyntheticPairOptions {
  /** iid Gaussian noise added per component before normalising (default 0.15) */
  noise?: number;
  /** map 2 samples the field at R·s·(x, y) + t: rotation in degrees (default 8), scale (1.05), shift px (24, -16) */
  rotationDeg?: number;
  scale?: number;
  shift?: [number, number];
}

/**
 * Two H×W×D descriptor maps of one smooth random field (a sum of bilinearly
 * interpolated random grids at 64, 16 and 4 px), the second seen through a
 * similarity warp, both with iid noise and normalised per pixel: what MASt3R's
 * descriptor heads produce for two views, spatially coherent and locally
 * distinctive. Deterministic for a seed.
 */
export function syntheticDescriptorPair(height: number, width: number, dim: number, seed: number,
  opts: SyntheticPairOptions = {}): [NdArray<Float32Array>, NdArray<Float32Array>] {
  const r = uniform(seed);
  const noise = opts.noise ?? 0.15;
  const rot = ((opts.rotationDeg ?? 8) * Math.PI) / 180;
  const scale = opts.scale ?? 1.05;
  const [tx, ty] = opts.shift ?? [24, -16];
  const extent = 2 * Math.max(width, height) + 64;
  const levels: Level[] = [[64, 1], [16, 0.7], [4, 0.45]].map(([step, weight]) => {
    const gw = Math.ceil(extent / (step as number)) + 2;
    const gh = gw;
    const grid = new Float32Array(gw * gh * dim);
    for (let i = 0; i < grid.length; i++) grid[i] = gaussian(r);
    return { step: step as number, weight: weight as number, gw, gh, grid };
  });
  const origin = extent / 2 - Math.max(width, height) / 2;
  const sample = (x: number, y: number, out: Float32Array, o: number): void => {
    for (let k = 0; k < dim; k++) out[o + k] = 0;
    for (const L of levels) {
      const gx = (x + origin) / L.step;
      const gy = (y + origin) / L.step;
      const x0 = Math.max(0, Math.min(L.gw - 2, Math.floor(gx)));
      const y0 = Math.max(0, Math.min(L.gh - 2, Math.floor(gy)));
      const fx = gx - x0;
      const fy = gy - y0;
      const w00 = (1 - fx) * (1 - fy) * L.weight, w10 = fx * (1 - fy) * L.weight;
      const w01 = (1 - fx) * fy * L.weight, w11 = fx * fy * L.weight;
      const b00 = (y0 * L.gw + x0) * dim, b10 = b00 + dim, b01 = b00 + L.gw * dim, b11 = b01 + dim;
      for (let k = 0; k < dim; k++) {
        out[o + k] = (out[o + k] as number) + w00 * (L.grid[b00 + k] as number) + w10 * (L.grid[b10 + k] as number) +
          w01 * (L.grid[b01 + k] as number) + w11 * (L.grid[b11 + k] as number);
      }
    }
  };
  const make = (warp: boolean): NdArray<Float32Array> => {
    const data = new Float32Array(height * width * dim);
    const c = Math.cos(rot) * scale, s = Math.sin(rot) * scale;
    const cx = width / 2, cy = height / 2;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * dim;
        if (warp) sample(c * (x - cx) - s * (y - cy) + cx + tx, s * (x - cx) + c * (y - cy) + cy + ty, data, o);
        else sample(x, y, data, o);
        let n2 = 0;
        for (let k = 0; k < dim; k++) {
          const v = (data[o + k] as number) + noise * gaussian(r);
          data[o + k] = v;
          n2 += v * v;
        }
        const inv = 1 / Math.sqrt(n2);
        for (let k = 0; k < dim; k++) data[o + k] = (data[o + k] as number) * inv;
      }
    }
    return { data, shape: [height, width, dim] };
  };
  return [make(false), make(true)];
}
