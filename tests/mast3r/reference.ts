/**
 * Plain TypeScript references written from ../shared/mast3r-kernels.md, in
 * float64, straightforward loops, no shared code with src/mast3r or native/.
 */

export type Dist = 'dot' | 'l2';

/** score: bigger is better (dot, or −‖a−b‖) */
function score(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, d: number, dist: Dist): number {
  let s = 0;
  if (dist === 'dot') {
    for (let k = 0; k < d; k++) s += (a[ao + k] as number) * (b[bo + k] as number);
    return s;
  }
  for (let k = 0; k < d; k++) {
    const x = (a[ao + k] as number) - (b[bo + k] as number);
    s += x * x;
  }
  return -Math.sqrt(s);
}

/** bruteforce_reciprocal_nns: running best per row and column, strict update → lowest index on ties */
export function refReciprocalNN(a: Float32Array, b: Float32Array, n: number, m: number, d: number, dist: Dist): { nnA: Int32Array; nnB: Int32Array } {
  const nnA = new Int32Array(n).fill(-1);
  const nnB = new Int32Array(m).fill(-1);
  const bestA = new Float64Array(n).fill(-Infinity);
  const bestB = new Float64Array(m).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const s = score(a, i * d, b, j * d, d, dist);
      if (s > bestA[i]!) {
        bestA[i] = s;
        nnA[i] = j;
      }
      if (s > bestB[j]!) {
        bestB[j] = s;
        nnB[j] = i;
      }
    }
  }
  return { nnA, nnB };
}

/** nearest neighbour of row q of `src` over all rows of `db` */
function nn(src: Float32Array, q: number, db: Float32Array, rows: number, d: number, dist: Dist): number {
  let best = -Infinity;
  let w = -1;
  for (let j = 0; j < rows; j++) {
    const s = score(src, q * d, db, j * d, d, dist);
    if (s > best) {
      best = s;
      w = j;
    }
  }
  return w;
}

export interface RefMatches {
  idx1: number[];
  idx2: number[];
}

/** fast_reciprocal_NNs as the spec states it, then merge_corres */
export function refFastNN(map1: Float32Array, h1: number, w1: number, map2: Float32Array, h2: number, w2: number, d: number,
  opts: { subsample?: number; maxIter?: number; pixelTol?: number; dist?: Dist; seeds?: number[] } = {}): RefMatches {
  const S = opts.subsample ?? 8;
  const maxIter = opts.maxIter ?? 10;
  const tol = opts.pixelTol ?? 0;
  const dist = opts.dist ?? 'dot';
  let seeds: number[];
  if (opts.seeds) seeds = [...new Set(opts.seeds)].sort((a, b) => a - b);
  else {
    seeds = [];
    for (let y = Math.floor(S / 2); y < h1; y += S) for (let x = Math.floor(S / 2); x < w1; x += S) seeds.push(y * w1 + x);
  }
  const xy1 = [...seeds];
  const xy2 = seeds.map(() => -1);
  let old1 = [...xy1];
  let old2 = [...xy2];
  const notyet = seeds.map(() => true);
  let iter = 0;
  while (notyet.some((v) => v)) {
    for (let i = 0; i < seeds.length; i++) if (notyet[i]) xy2[i] = nn(map1, xy1[i]!, map2, h2 * w2, d, dist);
    for (let i = 0; i < seeds.length; i++) if (notyet[i] && old2[i] === xy2[i]) notyet[i] = false;
    for (let i = 0; i < seeds.length; i++) if (notyet[i]) xy1[i] = nn(map2, xy2[i]!, map1, h1 * w1, d, dist);
    for (let i = 0; i < seeds.length; i++) if (notyet[i] && old1[i] === xy1[i]) notyet[i] = false;
    iter++;
    if (iter >= maxIter) break;
    old1 = [...xy1];
    old2 = [...xy2];
  }
  const pairs: [number, number][] = [];
  for (let i = 0; i < seeds.length; i++) {
    if (tol > 0) {
      const s = seeds[i]!;
      const dy = Math.floor(s / w1) - Math.floor(xy1[i]! / w1);
      const dx = (s % w1) - (xy1[i]! % w1);
      if (Math.hypot(dx, dy) < tol) pairs.push([s, xy2[i]!]);
    } else if (!notyet[i]) pairs.push([xy1[i]!, xy2[i]!]);
  }
  return refMerge(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
}

/** merge_corres: unique pairs sorted by idx1 then idx2 */
export function refMerge(idx1: number[], idx2: number[]): RefMatches {
  const keys = new Map<string, [number, number]>();
  for (let i = 0; i < idx1.length; i++) keys.set(`${idx1[i]},${idx2[i]}`, [idx1[i]!, idx2[i]!]);
  const sorted = [...keys.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return { idx1: sorted.map((p) => p[0]), idx2: sorted.map((p) => p[1]) };
}

/** depthmap_to_pts3d for every pixel */
export function refDepthToPts(depth: Float32Array, B: number, H: number, W: number, f: [number, number][], pp: [number, number][]): Float64Array {
  const out = new Float64Array(B * H * W * 3);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < H; v++) {
      for (let u = 0; u < W; u++) {
        const i = (b * H + v) * W + u;
        const d = depth[i]!;
        out[3 * i] = (d * (u - pp[b]![0])) / f[b]![0];
        out[3 * i + 1] = (d * (v - pp[b]![1])) / f[b]![1];
        out[3 * i + 2] = d;
      }
    }
  }
  return out;
}

/** geotrf for one T (n×n, n = d or d+1) over points of d coordinates */
export function refGeotrf(T: ArrayLike<number>, n: number, pts: Float32Array, d: number, norm: boolean): Float64Array {
  const count = pts.length / d;
  const out = new Float64Array(pts.length);
  for (let i = 0; i < count; i++) {
    const r: number[] = [];
    for (let row = 0; row < n; row++) {
      let s = n === d + 1 ? (T[row * n + d] as number) : 0;
      for (let k = 0; k < d; k++) s += (T[row * n + k] as number) * pts[i * d + k]!;
      r.push(s);
    }
    const last = r[n - 1]!;
    for (let k = 0; k < d; k++) out[i * d + k] = norm ? r[k]! / last : r[k]!;
  }
  return out;
}

/** least squares by normal equations (float64, Cramer's rule on AᵀA) */
export function refTriangulate(pts2d: Float32Array, P: Float32Array, B: number, Nc: number, Np: number): Float64Array {
  const out = new Float64Array(B * Np * 3);
  for (let b = 0; b < B; b++) {
    for (let p = 0; p < Np; p++) {
      const rows: number[][] = [];
      for (let c = 0; c < Nc; c++) {
        const M = Array.from({ length: 12 }, (_, k) => P[(b * Nc + c) * 12 + k]!);
        const x = pts2d[((b * Nc + c) * Np + p) * 2]!;
        const y = pts2d[((b * Nc + c) * Np + p) * 2 + 1]!;
        rows.push([0, 1, 2, 3].map((k) => M[k]! - x * M[8 + k]!));
        rows.push([0, 1, 2, 3].map((k) => M[4 + k]! - y * M[8 + k]!));
      }
      const ata = [0, 1, 2].map((i) => [0, 1, 2].map((j) => rows.reduce((s, r) => s + r[i]! * r[j]!, 0)));
      const atb = [0, 1, 2].map((i) => rows.reduce((s, r) => s - r[i]! * r[3]!, 0));
      const det = (m: number[][]): number => m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) -
        m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) + m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
      const D0 = det(ata);
      for (let k = 0; k < 3; k++) {
        const mk = ata.map((r, i) => r.map((v, j) => (j === k ? atb[i]! : v)));
        out[(b * Np + p) * 3 + k] = det(mk) / D0;
      }
    }
  }
  return out;
}

export function refSimilarity(a: Float32Array, b: Float32Array, B: number, N: number, M: number, d: number, euc: boolean): Float64Array {
  const out = new Float64Array(B * N * M);
  for (let bb = 0; bb < B; bb++) {
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < M; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) {
          const x = a[(bb * N + i) * d + k]!;
          const y = b[(bb * M + j) * d + k]!;
          s += euc ? (x - y) * (x - y) : x * y;
        }
        out[(bb * N + i) * M + j] = euc ? 1 / (1 + Math.sqrt(s)) : s;
      }
    }
  }
  return out;
}

/** InfoNCE 'proper' per pair, exactly as the formula reads (naive exp, float64; a NaN similarity is −∞, as MASt3R sets it; clip keeps NaN, as torch's) */
export function refInfoNCEPairs(a: Float32Array, b: Float32Array, B: number, N: number, d: number, t: number, euc: boolean, eps = 1e-8): Float64Array {
  const sim = refSimilarity(a, b, B, N, N, d, euc);
  const out = new Float64Array(B * N);
  const clip = (v: number): number => (Number.isNaN(v) ? v : Math.max(v, eps));
  for (let bb = 0; bb < B; bb++) {
    for (let i = 0; i < N; i++) {
      const S = (r: number, c: number): number => {
        const v = sim[(bb * N + r) * N + c]!;
        return Number.isNaN(v) ? 0 : Math.exp(v / t);
      };
      let col = 0;
      let row = 0;
      for (let k = 0; k < N; k++) {
        col += S(k, i);
        row += S(i, k);
      }
      const pos = S(i, i);
      out[bb * N + i] = -(Math.log(clip(pos / col)) + Math.log(clip(pos / row)));
    }
  }
  return out;
}

/** the mean of refInfoNCEPairs (MASt3R's reduction) */
export function refInfoNCE(a: Float32Array, b: Float32Array, B: number, N: number, d: number, t: number, euc: boolean, eps = 1e-8): number {
  return refInfoNCEPairs(a, b, B, N, d, t, euc, eps).reduce((s, v) => s + v, 0) / (B * N);
}

// ---- Philox4x32-10 and the TSDF refinement ------------------------------------------------
function mulhilo(a: number, b: number): [number, number] {
  const lo = Math.imul(a, b) >>> 0;
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const hi = (p11 + Math.floor(p01 / 65536) + Math.floor(p10 / 65536) + Math.floor(mid / 65536)) >>> 0;
  return [hi, lo];
}

export function philox4x32_10(ctr: [number, number, number, number], key: [number, number]): [number, number, number, number] {
  let [c0, c1, c2, c3] = ctr.map((v) => v >>> 0) as [number, number, number, number];
  let [k0, k1] = key.map((v) => v >>> 0) as [number, number];
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

/** the documented sample normal: Box–Muller on Philox words 0, 1 of counter (s/2, pixel, image, 0) */
export function refNormal(seed: [number, number], image: number, pixel: number, s: number): number {
  const w = philox4x32_10([s >>> 1, pixel, image, 0], seed);
  const u1 = (w[0] + 1) * 2.3283064365386963e-10;
  const u2 = w[1] * 2.3283064365386963e-10;
  const r = Math.sqrt(-2 * Math.log(u1));
  return s & 1 ? r * Math.sin(2 * Math.PI * u2) : r * Math.cos(2 * Math.PI * u2);
}

/** torch.round: half to even */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** cams: per image cam→world 3×4 rows then fx, fy, cx, cy */
export function refRefineTSDF(depths: Float32Array, confs: Float32Array, cams: Float32Array, N: number, H: number, W: number,
  tau: number, samples: number, seed: [number, number]): Float32Array {
  const out = new Float32Array(N * H * W);
  const tf = Math.fround(tau);
  for (let img = 0; img < N; img++) {
    const ci = cams.subarray(img * 16, img * 16 + 16);
    for (let pix = 0; pix < H * W; pix++) {
      const d = depths[img * H * W + pix]!;
      const x = pix % W, y = Math.floor(pix / W);
      let best = Infinity;
      let bestd = 0;
      let allbad = true;
      for (let s = 0; s < samples; s++) {
        const dc = d + (refNormal(seed, img, pix, s) - 1) * tau;
        const X = dc * ((x - ci[14]!) / ci[12]!), Y = dc * ((y - ci[15]!) / ci[13]!), Z = dc;
        const p = [0, 1, 2].map((r) => ci[4 * r]! * X + ci[4 * r + 1]! * Y + ci[4 * r + 2]! * Z + ci[4 * r + 3]!);
        let ws = 0;
        let vs = 0;
        for (let j = 0; j < N; j++) {
          const cj = cams.subarray(j * 16, j * 16 + 16);
          const dp = [p[0]! - cj[3]!, p[1]! - cj[7]!, p[2]! - cj[11]!];
          const q = [0, 1, 2].map((c) => cj[c]! * dp[0]! + cj[4 + c]! * dp[1]! + cj[8 + c]! * dp[2]!);
          const u = (cj[12]! * q[0]! + cj[14]! * q[2]!) / q[2]!;
          const v = (cj[13]! * q[1]! + cj[15]! * q[2]!) / q[2]!;
          if (!Number.isFinite(u) || !Number.isFinite(v)) continue;
          const ur = roundHalfEven(u), vr = roundHalfEven(v);
          if (!(ur >= 0 && ur < W && vr >= 0 && vr < H)) continue;
          const at = j * H * W + vr * W + ur;
          const sdf = depths[at]! - q[2]!;
          if (sdf < -tau) continue;
          const w = Math.exp(confs[at]!);
          ws += w;
          vs += w * Math.min(sdf, 1e20);
        }
        const a = ws !== 0 ? Math.abs(Math.fround(vs / ws)) : Infinity;
        if (s === 0 || a < best) {
          best = a;
          bestd = dc;
        }
        if (a !== tf) allbad = false;
      }
      out[img * H * W + pix] = allbad ? d : bestd;
    }
  }
  return out;
}
