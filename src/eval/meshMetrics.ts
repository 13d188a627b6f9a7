import { mulberry32 } from '../geometry/random';
import { TriangleGrid } from './triangleGrid';

export interface MeshLike {
  positions: Float32Array;
  indices?: Uint32Array;
}

export interface MeshAccuracyReport {
  /** reconstruction → truth distances, metres */
  accuracy: { mean: number; median: number; p90: number; max: number; samples: number; capped: number };
  /** fraction of truth samples within `completenessThreshold` of the reconstruction */
  completeness: number;
  completenessThreshold: number;
  truthSamples: number;
  /** distances are capped here (points farther count as this far) */
  maxDistance: number;
}

export interface MeshEvalOptions {
  /** voxel size of the reconstruction; completeness threshold = 2 voxels */
  voxelSize: number;
  /** cap for accuracy distances (default 20 voxels) */
  maxDistance?: number;
  /** truth points sampled per m² when the truth is a mesh (default 1 per (voxel/2)², at most maxTruthSamples) */
  maxTruthSamples?: number;
  seed?: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const at = Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))));
  return sorted[at] as number;
}


/** area-uniform samples on a triangle mesh, or the vertices of a point cloud */
export function surfaceSamples(mesh: MeshLike, count: number, seed = 1): Float32Array {
  const idx = mesh.indices;
  if (!idx || idx.length === 0) return mesh.positions;
  const p = mesh.positions;
  const nt = idx.length / 3;
  const cum = new Float64Array(nt);
  let total = 0;
  for (let t = 0; t < nt; t++) {
    const a = 3 * (idx[3 * t] as number), b = 3 * (idx[3 * t + 1] as number), c = 3 * (idx[3 * t + 2] as number);
    const ux = (p[b] as number) - (p[a] as number), uy = (p[b + 1] as number) - (p[a + 1] as number), uz = (p[b + 2] as number) - (p[a + 2] as number);
    const vx = (p[c] as number) - (p[a] as number), vy = (p[c + 1] as number) - (p[a + 1] as number), vz = (p[c + 2] as number) - (p[a + 2] as number);
    const cx = uy * vz - uz * vy, cy = uz * vx - ux * vz, cz = ux * vy - uy * vx;
    total += 0.5 * Math.sqrt(cx * cx + cy * cy + cz * cz);
    cum[t] = total;
  }
  const out = new Float32Array(count * 3);
  const rand = mulberry32(seed);
  for (let s = 0; s < count; s++) {
    const target = rand() * total;
    let lo = 0, hi = nt - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cum[mid] as number) < target) lo = mid + 1;
      else hi = mid;
    }
    let r1 = rand(), r2 = rand();
    if (r1 + r2 > 1) {
      r1 = 1 - r1;
      r2 = 1 - r2;
    }
    const a = 3 * (idx[3 * lo] as number), b = 3 * (idx[3 * lo + 1] as number), c = 3 * (idx[3 * lo + 2] as number);
    for (let k = 0; k < 3; k++) {
      const A = p[a + k] as number;
      out[3 * s + k] = A + r1 * ((p[b + k] as number) - A) + r2 * ((p[c + k] as number) - A);
    }
  }
  return out;
}

export function surfaceArea(mesh: MeshLike): number {
  const idx = mesh.indices;
  if (!idx) return 0;
  const p = mesh.positions;
  let total = 0;
  for (let t = 0; t < idx.length; t += 3) {
    const a = 3 * (idx[t] as number), b = 3 * (idx[t + 1] as number), c = 3 * (idx[t + 2] as number);
    const ux = (p[b] as number) - (p[a] as number), uy = (p[b + 1] as number) - (p[a + 1] as number), uz = (p[b + 2] as number) - (p[a + 2] as number);
    const vx = (p[c] as number) - (p[a] as number), vy = (p[c + 1] as number) - (p[a + 1] as number), vz = (p[c + 2] as number) - (p[a + 2] as number);
    const cx = uy * vz - uz * vy, cy = uz * vx - ux * vz, cz = ux * vy - uy * vx;
    total += 0.5 * Math.sqrt(cx * cx + cy * cy + cz * cz);
  }
  return total;
}

/**
 * Accuracy = distances from the reconstruction's vertices to the truth
 * surface (mean, median); completeness = fraction of truth surface samples
 * within 2 voxels of the reconstruction's surface.
 */
export function evaluateMesh(recon: MeshLike, truth: MeshLike, options: MeshEvalOptions): MeshAccuracyReport {
  const voxel = options.voxelSize;
  if (!(voxel > 0)) throw new RangeError('voxelSize must be > 0');
  const maxDistance = options.maxDistance ?? 20 * voxel;
  const threshold = 2 * voxel;
  if (!truth.indices || truth.indices.length === 0) {
    throw new RangeError('the truth must be a triangle mesh (a PLY with faces) to measure distances to its surface');
  }
  const truthGrid = new TriangleGrid(truth.positions, truth.indices, Math.max(threshold, 0.02));
  const nv = recon.positions.length / 3;
  const acc = new Float64Array(nv);
  let capped = 0;
  let sum = 0;
  for (let i = 0; i < nv; i++) {
    const d = truthGrid.distance(recon.positions[3 * i] as number, recon.positions[3 * i + 1] as number,
      recon.positions[3 * i + 2] as number, maxDistance);
    if (d >= maxDistance) capped++;
    acc[i] = d;
    sum += d;
  }
  acc.sort();

  const maxSamples = options.maxTruthSamples ?? 200_000;
  const wanted = Math.min(maxSamples, Math.ceil(surfaceArea(truth) / ((voxel / 2) * (voxel / 2))));
  const samples = surfaceSamples(truth, wanted, options.seed ?? 1);
  let near = 0;
  const ns = samples.length / 3;
  if (recon.indices && recon.indices.length > 0) {
    const reconGrid = new TriangleGrid(recon.positions, recon.indices, Math.max(threshold, 0.02));
    for (let s = 0; s < ns; s++) {
      const d = reconGrid.distance(samples[3 * s] as number, samples[3 * s + 1] as number, samples[3 * s + 2] as number, threshold * 1.0001);
      if (d <= threshold) near++;
    }
  }
  return {
    accuracy: {
      mean: nv ? sum / nv : NaN, median: quantile(acc, 0.5), p90: quantile(acc, 0.9), max: nv ? (acc[nv - 1] as number) : NaN,
      samples: nv, capped,
    },
    completeness: ns ? near / ns : 0,
    completenessThreshold: threshold,
    truthSamples: ns,
    maxDistance,
  };
}
