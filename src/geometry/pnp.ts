/**
 * Perspective-n-Point: EPnP (Lepetit, Moreno-Noguer & Fua, IJCV 2009) for the
 * closed-form estimate, then Gauss-Newton on the reprojection error, and a
 * seeded RANSAC around both. Poses returned camera-to-world like every pose
 * in scanstream; `worldToCamera` is there too because that is what projects.
 */
import type { Pinhole } from './intrinsics';
import { invert3, leastSquares, solveSpd, symmetricEigen } from './linalg';
import { linearizeProjection, projectionLinearization } from './projection';
import { ransac, type RansacOptions, type RansacResult } from './ransac';
import { invertRigid, multiply, type Pose, se3FromTwist } from './se3';
import { umeyama } from './umeyama';

export interface PnpSolution {
  worldToCamera: Pose;
  cameraToWorld: Pose;
  /** RMS reprojection error in pixels over the points used */
  rmsPixels: number;
}

const PAIRS: readonly (readonly [number, number])[] = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]];

function reprojRms(Tcw: ArrayLike<number>, world: ArrayLike<number>, pixels: ArrayLike<number>, K: Pinhole,
  idx: ArrayLike<number>): number {
  let e = 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k] as number;
    const r = reprojError2(Tcw, world, pixels, K, i);
    e += r;
  }
  return Math.sqrt(e / Math.max(1, idx.length));
}

/** squared reprojection error of point i (Infinity behind the camera) */
export function reprojError2(Tcw: ArrayLike<number>, world: ArrayLike<number>, pixels: ArrayLike<number>, K: Pinhole,
  i: number): number {
  const x = world[3 * i] as number, y = world[3 * i + 1] as number, z = world[3 * i + 2] as number;
  const X = (Tcw[0] as number) * x + (Tcw[1] as number) * y + (Tcw[2] as number) * z + (Tcw[3] as number);
  const Y = (Tcw[4] as number) * x + (Tcw[5] as number) * y + (Tcw[6] as number) * z + (Tcw[7] as number);
  const Z = (Tcw[8] as number) * x + (Tcw[9] as number) * y + (Tcw[10] as number) * z + (Tcw[11] as number);
  if (!(Z > 1e-9)) return Infinity;
  const du = K.fx * (X / Z) + K.cx - (pixels[2 * i] as number);
  const dv = K.fy * (Y / Z) + K.cy - (pixels[2 * i + 1] as number);
  return du * du + dv * dv;
}

/**
 * EPnP from n ≥ 4 points: world xyz (n×3) and their pixels (n×2). Tries the
 * N = 1, 2, 3 null-space approximations, each polished by Gauss-Newton on
 * the betas, and keeps the one with the lowest reprojection error.
 */
export function epnp(world: ArrayLike<number>, pixels: ArrayLike<number>, K: Pinhole,
  indices?: ArrayLike<number>): PnpSolution | null {
  const idx = indices ?? Int32Array.from({ length: world.length / 3 }, (_, i) => i);
  const n = idx.length;
  if (n < 4) return null;
  // control points: centroid + principal axes
  const c0 = [0, 0, 0];
  for (let k = 0; k < n; k++) for (let j = 0; j < 3; j++) c0[j]! += (world[3 * (idx[k] as number) + j] as number) / n;
  const cov = new Float64Array(9);
  for (let k = 0; k < n; k++) {
    const i = idx[k] as number;
    const d = [0, 1, 2].map((j) => (world[3 * i + j] as number) - c0[j]!);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) cov[r * 3 + c]! += d[r]! * d[c]!;
  }
  const pca = symmetricEigen(cov, 3);
  const cw: number[][] = [c0];
  for (let a = 2; a >= 0; a--) {
    const k = Math.sqrt(Math.max(pca.values[a] as number, 0) / n);
    cw.push([0, 1, 2].map((j) => c0[j]! + k * (pca.vectors[j * 3 + a] as number)));
  }
  // barycentric coordinates: X − c0 = Σ_{j≥1} α_j (c_j − c0)
  const B = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let j = 0; j < 3; j++) B[r * 3 + j] = cw[j + 1]![r]! - c0[r]!;
  const Binv = invert3(B);
  if (!Binv) return null;
  const alphas = new Float64Array(4 * n);
  for (let k = 0; k < n; k++) {
    const i = idx[k] as number;
    const d = [0, 1, 2].map((j) => (world[3 * i + j] as number) - c0[j]!);
    let sum = 0;
    for (let j = 0; j < 3; j++) {
      const a = (Binv[j * 3] as number) * d[0]! + (Binv[j * 3 + 1] as number) * d[1]! + (Binv[j * 3 + 2] as number) * d[2]!;
      alphas[4 * k + j + 1] = a;
      sum += a;
    }
    alphas[4 * k] = 1 - sum;
  }
  // MᵀM accumulated row pair by row pair (M is 2n × 12)
  const MtM = new Float64Array(144);
  const row = new Float64Array(12);
  for (let k = 0; k < n; k++) {
    const i = idx[k] as number;
    const u = pixels[2 * i] as number, v = pixels[2 * i + 1] as number;
    for (let pass = 0; pass < 2; pass++) {
      row.fill(0);
      for (let j = 0; j < 4; j++) {
        const a = alphas[4 * k + j] as number;
        if (pass === 0) {
          row[3 * j] = a * K.fx;
          row[3 * j + 2] = a * (K.cx - u);
        } else {
          row[3 * j + 1] = a * K.fy;
          row[3 * j + 2] = a * (K.cy - v);
        }
      }
      for (let r = 0; r < 12; r++) {
        const x = row[r] as number;
        if (x === 0) continue;
        for (let c = 0; c < 12; c++) MtM[r * 12 + c]! += x * (row[c] as number);
      }
    }
  }
  const eig = symmetricEigen(MtM, 12);
  const vecs: Float64Array[] = [0, 1, 2, 3].map((k) => Float64Array.from({ length: 12 }, (_, r) => eig.vectors[r * 12 + k] as number));
  // L (6×10) and rho
  const L = new Float64Array(60);
  const rho = new Float64Array(6);
  for (let p = 0; p < 6; p++) {
    const [a, b] = PAIRS[p]!;
    const dv = vecs.map((v) => [0, 1, 2].map((j) => (v[3 * a + j] as number) - (v[3 * b + j] as number)));
    const dot = (x: number, y: number): number => dv[x]![0]! * dv[y]![0]! + dv[x]![1]! * dv[y]![1]! + dv[x]![2]! * dv[y]![2]!;
    const l = [dot(0, 0), 2 * dot(0, 1), dot(1, 1), 2 * dot(0, 2), 2 * dot(1, 2), dot(2, 2), 2 * dot(0, 3), 2 * dot(1, 3),
      2 * dot(2, 3), dot(3, 3)];
    for (let c = 0; c < 10; c++) L[p * 10 + c] = l[c]!;
    rho[p] = (cw[a]![0]! - cw[b]![0]!) ** 2 + (cw[a]![1]! - cw[b]![1]!) ** 2 + (cw[a]![2]! - cw[b]![2]!) ** 2;
  }
  const sub = (cols: number[]): Float64Array => {
    const out = new Float64Array(6 * cols.length);
    for (let r = 0; r < 6; r++) cols.forEach((c, j) => (out[r * cols.length + j] = L[r * 10 + c] as number));
    return out;
  };
  const candidates: number[][] = [];
  const b4 = leastSquares(sub([0, 1, 3, 6]), rho, 6, 4);
  if (b4) {
    const s = (b4[0] as number) < 0 ? -1 : 1;
    const b0 = Math.sqrt(Math.abs(b4[0] as number));
    if (b0 > 0) candidates.push([b0, (s * (b4[1] as number)) / b0, (s * (b4[2] as number)) / b0, (s * (b4[3] as number)) / b0]);
  }
  const b3 = leastSquares(sub([0, 1, 2]), rho, 6, 3);
  if (b3) candidates.push([...firstBetas(b3), 0, 0]);
  const b5 = leastSquares(sub([0, 1, 2, 3, 4]), rho, 6, 5);
  if (b5) {
    const [b0, b1] = firstBetas(b5);
    if (b0 !== 0) candidates.push([b0, b1, (b5[3] as number) / b0, 0]);
  }
  let best: PnpSolution | null = null;
  for (const betas0 of candidates) {
    const betas = gaussNewtonBetas(L, rho, betas0);
    const sol = poseFromBetas(betas, vecs, alphas, world, idx, n);
    if (!sol) continue;
    const rms = reprojRms(sol, world, pixels, K, idx);
    if (!best || rms < best.rmsPixels) best = { worldToCamera: sol, cameraToWorld: invertRigid(sol), rmsPixels: rms };
  }
  return best;
}


/** β₀, β₁ from the fitted products (β₀², β₀β₁, β₁², …) of EPnP's N = 2 and N = 3 approximations */
function firstBetas(b: Float64Array): [number, number] {
  let b0: number, b1: number;
  if ((b[0] as number) < 0) {
    b0 = Math.sqrt(-(b[0] as number));
    b1 = (b[2] as number) < 0 ? Math.sqrt(-(b[2] as number)) : 0;
  } else {
    b0 = Math.sqrt(b[0] as number);
    b1 = (b[2] as number) > 0 ? Math.sqrt(b[2] as number) : 0;
  }
  if ((b[1] as number) < 0) b0 = -b0;
  return [b0, b1];
}

function gaussNewtonBetas(L: Float64Array, rho: Float64Array, init: number[]): number[] {
  const b = [...init];
  const A = new Float64Array(24);
  const r = new Float64Array(6);
  for (let it = 0; it < 5; it++) {
    for (let p = 0; p < 6; p++) {
      const l = (c: number): number => L[p * 10 + c] as number;
      A[p * 4] = 2 * l(0) * b[0]! + l(1) * b[1]! + l(3) * b[2]! + l(6) * b[3]!;
      A[p * 4 + 1] = l(1) * b[0]! + 2 * l(2) * b[1]! + l(4) * b[2]! + l(7) * b[3]!;
      A[p * 4 + 2] = l(3) * b[0]! + l(4) * b[1]! + 2 * l(5) * b[2]! + l(8) * b[3]!;
      A[p * 4 + 3] = l(6) * b[0]! + l(7) * b[1]! + l(8) * b[2]! + 2 * l(9) * b[3]!;
      r[p] = (rho[p] as number) - (l(0) * b[0]! ** 2 + l(1) * b[0]! * b[1]! + l(2) * b[1]! ** 2 + l(3) * b[0]! * b[2]! +
        l(4) * b[1]! * b[2]! + l(5) * b[2]! ** 2 + l(6) * b[0]! * b[3]! + l(7) * b[1]! * b[3]! + l(8) * b[2]! * b[3]! +
        l(9) * b[3]! ** 2);
    }
    const dx = leastSquares(A, r, 6, 4);
    if (!dx) break;
    for (let k = 0; k < 4; k++) b[k]! += dx[k] as number;
  }
  return b;
}

function poseFromBetas(betas: number[], vecs: Float64Array[], alphas: Float64Array, world: ArrayLike<number>,
  idx: ArrayLike<number>, n: number): Pose | null {
  const ccs = new Float64Array(12);
  for (let k = 0; k < 4; k++) for (let r = 0; r < 12; r++) ccs[r]! += betas[k]! * (vecs[k]![r] as number);
  const pcs = new Float64Array(3 * n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let c = 0; c < 4; c++) s += (alphas[4 * k + c] as number) * (ccs[3 * c + j] as number);
      pcs[3 * k + j] = s;
    }
  }
  if ((pcs[2] as number) < 0) for (let i = 0; i < pcs.length; i++) pcs[i] = -(pcs[i] as number);
  const src = new Float64Array(3 * n);
  for (let k = 0; k < n; k++) for (let j = 0; j < 3; j++) src[3 * k + j] = world[3 * (idx[k] as number) + j] as number;
  const fit = umeyama(src, pcs);
  return fit ? fit.T : null;
}

/**
 * Gauss-Newton on the pixel reprojection error over the given points, from
 * an initial world-to-camera pose (left-multiplied twist updates).
 */
export function refinePnp(Tcw0: Pose, world: ArrayLike<number>, pixels: ArrayLike<number>, K: Pinhole,
  indices?: ArrayLike<number>, iterations = 10): PnpSolution {
  const idx = indices ?? Int32Array.from({ length: world.length / 3 }, (_, i) => i);
  let T = Tcw0;
  let cost = reprojRms(T, world, pixels, K, idx);
  const lin = projectionLinearization();
  for (let it = 0; it < iterations; it++) {
    const H = new Float64Array(36);
    const g = new Float64Array(6);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number;
      if (!linearizeProjection(T, K, world[3 * i] as number, world[3 * i + 1] as number, world[3 * i + 2] as number,
        pixels[2 * i] as number, pixels[2 * i + 1] as number, 1e-9, lin)) continue;
      const ru = lin.ru, rv = lin.rv, J = lin.pose;
      for (let r = 0; r < 6; r++) {
        g[r]! += (J[r] as number) * ru + (J[6 + r] as number) * rv;
        for (let s = 0; s < 6; s++) H[r * 6 + s]! += (J[r] as number) * (J[s] as number) + (J[6 + r] as number) * (J[6 + s] as number);
      }
    }
    for (let r = 0; r < 6; r++) g[r] = -(g[r] as number);
    const dx = solveSpd(H, g, 6);
    if (!dx) break;
    const next = multiply(se3FromTwist(dx), T);
    const nextCost = reprojRms(next, world, pixels, K, idx);
    if (!(nextCost <= cost)) break;
    const done = cost - nextCost < 1e-9 * Math.max(1, cost);
    T = next;
    cost = nextCost;
    if (done) break;
  }
  return { worldToCamera: T, cameraToWorld: invertRigid(T), rmsPixels: cost };
}

/** EPnP then Gauss-Newton. */
export function solvePnp(world: ArrayLike<number>, pixels: ArrayLike<number>, K: Pinhole,
  indices?: ArrayLike<number>): PnpSolution | null {
  const init = epnp(world, pixels, K, indices);
  if (!init) return null;
  return refinePnp(init.worldToCamera, world, pixels, K, indices);
}

/**
 * RANSAC over EPnP samples of 6 points (fewer makes EPnP's N-approximations
 * unstable), threshold in pixels; the best model is re-fit on its inliers
 * with EPnP + Gauss-Newton.
 */
export function pnpRansac(world: ArrayLike<number>, pixels: ArrayLike<number>, K: Pinhole,
  options: RansacOptions): RansacResult<PnpSolution> {
  const n = world.length / 3;
  const thr2 = options.threshold * options.threshold;
  return ransac<PnpSolution>({
    count: n,
    sampleSize: 6,
    fit: (sample) => epnp(world, pixels, K, sample),
    error: (m, i) => reprojError2(m.worldToCamera, world, pixels, K, i),
    refit: (inliers, model) => {
      const init = epnp(world, pixels, K, inliers);
      const start = init && init.rmsPixels < model.rmsPixels + options.threshold ? init.worldToCamera : model.worldToCamera;
      return refinePnp(start, world, pixels, K, inliers);
    },
  }, { ...options, threshold: thr2 });
}
