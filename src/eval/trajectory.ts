/**
 * Trajectory metrics as the TUM RGB-D benchmark defines them (Sturm et al.
 * 2012, tools evaluate_ate.py and evaluate_rpe.py):
 *  - ATE: associate estimate and truth by timestamp (associate.py: unique,
 *    greedy by smallest difference, ≤ 0.02 s), align the estimated positions
 *    to the true ones by Horn's method (rigid; `sim3` adds Umeyama's scale,
 *    for monocular runs), report RMSE/mean/median/std/min/max of the
 *    position differences.
 *  - RPE: for pairs of estimated poses (i, j), the error of the relative
 *    motion inv(inv(Eᵢ)Eⱼ)·inv(Gᵢ)Gⱼ against the truth at the nearest true
 *    timestamps; all pairs (or a seeded sample of max_pairs), or with
 *    fixedDelta the pairs one `delta` apart (s, m, rad, deg or frames).
 */
import { associateTimestamps } from '../frames/associate';
import { SeededRandom } from '../geometry/random';
import { invertRigid, multiply } from '../geometry/se3';
import { umeyama } from '../geometry/umeyama';

export interface TimedPose {
  timestamp: number;
  pose: ArrayLike<number>;
}

export interface ErrorStats {
  rmse: number;
  mean: number;
  median: number;
  std: number;
  min: number;
  max: number;
}

export interface AteResult extends ErrorStats {
  /** associated pairs */
  pairs: number;
  /** 4×4 [sR | t] mapping estimate → truth */
  alignment: Float64Array;
  scale: number;
  /** per associated pair: estimate timestamp, truth timestamp, aligned estimate xyz, truth xyz, error */
  matches: { estTime: number; truthTime: number; est: [number, number, number]; truth: [number, number, number]; error: number }[];
}

export interface AteOptions {
  maxDifference?: number;
  /** added to estimate timestamps before association */
  offset?: number;
  /** estimate positions are multiplied by this first (TUM --scale) */
  scale?: number;
  /** estimate a scale too (Umeyama Sim3) */
  sim3?: boolean;
}

export function errorStats(values: readonly number[]): ErrorStats {
  const n = values.length;
  if (n === 0) return { rmse: NaN, mean: NaN, median: NaN, std: NaN, min: NaN, max: NaN };
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const sq = s.reduce((a, b) => a + b * b, 0) / n;
  // numpy.median: mean of the two middle values for even n
  const median = n % 2 ? (s[n >> 1] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
  return {
    rmse: Math.sqrt(sq), mean, median, std: Math.sqrt(Math.max(0, sq - mean * mean)), min: s[0] as number, max: s[n - 1] as number,
  };
}

export class TrajectoryEvalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrajectoryEvalError';
  }
}

export function absoluteTrajectoryError(est: readonly TimedPose[], truth: readonly TimedPose[], options: AteOptions = {}): AteResult {
  const offset = options.offset ?? 0;
  const scale = options.scale ?? 1;
  const assoc = associateTimestamps(truth.map((t) => t.timestamp), est.map((e) => e.timestamp + offset), options.maxDifference ?? 0.02);
  if (assoc.length < 3) {
    throw new TrajectoryEvalError(`only ${assoc.length} estimated poses lie within ${options.maxDifference ?? 0.02} s of a true one: ` +
      'need 3 to align (timestamps in the same clock? try --offset)');
  }
  const n = assoc.length;
  const src = new Float64Array(3 * n);
  const dst = new Float64Array(3 * n);
  assoc.forEach((a, k) => {
    const e = est[a.second]!.pose, g = truth[a.first]!.pose;
    for (let r = 0; r < 3; r++) {
      src[3 * k + r] = scale * (e[r * 4 + 3] as number);
      dst[3 * k + r] = g[r * 4 + 3] as number;
    }
  });
  const fit = umeyama(src, dst, { withScale: options.sim3 ?? false });
  if (!fit) throw new TrajectoryEvalError('the estimated positions are degenerate (all on one line or point): the alignment is undetermined');
  const errors: number[] = [];
  const matches: AteResult['matches'] = [];
  const T = fit.T;
  assoc.forEach((a, k) => {
    const x = src[3 * k] as number, y = src[3 * k + 1] as number, z = src[3 * k + 2] as number;
    const p: [number, number, number] = [0, 1, 2].map((r) => (T[r * 4] as number) * x + (T[r * 4 + 1] as number) * y + (T[r * 4 + 2] as number) * z +
      (T[r * 4 + 3] as number)) as [number, number, number];
    const g: [number, number, number] = [dst[3 * k] as number, dst[3 * k + 1] as number, dst[3 * k + 2] as number];
    const err = Math.hypot(p[0] - g[0], p[1] - g[1], p[2] - g[2]);
    errors.push(err);
    matches.push({ estTime: est[a.second]!.timestamp, truthTime: truth[a.first]!.timestamp, est: p, truth: g, error: err });
  });
  return { ...errorStats(errors), pairs: n, alignment: T, scale: fit.scale, matches };
}

export type DeltaUnit = 's' | 'm' | 'rad' | 'deg' | 'f';

export interface RpeOptions {
  /** TUM --fixed_delta: pairs one delta apart; otherwise all pairs (or a sample of maxPairs) */
  fixedDelta?: boolean;
  delta?: number;
  deltaUnit?: DeltaUnit;
  maxPairs?: number;
  offset?: number;
  scale?: number;
  /** for the pair sample (TUM uses Python's unseeded random) */
  seed?: number;
}

export interface RpeResult {
  pairs: number;
  /** metres */
  translation: ErrorStats;
  /** degrees */
  rotationDeg: ErrorStats;
}

function closestIndex(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return 0;
  if (lo === sorted.length) return sorted.length - 1;
  return t - (sorted[lo - 1] as number) <= (sorted[lo] as number) - t ? lo - 1 : lo;
}

function angleOf(T: ArrayLike<number>): number {
  return Math.acos(Math.min(1, Math.max(-1, ((T[0] as number) + (T[5] as number) + (T[10] as number) - 1) / 2)));
}

export function relativePoseError(est: readonly TimedPose[], truth: readonly TimedPose[], options: RpeOptions = {}): RpeResult {
  const offset = options.offset ?? 0;
  const scale = options.scale ?? 1;
  const maxPairs = options.maxPairs ?? 10000;
  const delta = options.delta ?? 1;
  const unit = options.deltaUnit ?? 's';
  const E = [...est].sort((a, b) => a.timestamp - b.timestamp);
  const G = [...truth].sort((a, b) => a.timestamp - b.timestamp);
  if (E.length < 2 || G.length < 2) throw new TrajectoryEvalError('RPE needs at least 2 estimated and 2 true poses');
  const gs = G.map((g) => g.timestamp);
  // the index each pose has along the chosen delta unit
  let index: number[];
  if (unit === 's') index = E.map((e) => e.timestamp);
  else if (unit === 'f') index = E.map((_, i) => i);
  else {
    index = [0];
    for (let i = 1; i < E.length; i++) {
      const a = E[i - 1]!.pose, b = E[i]!.pose;
      const step = unit === 'm'
        ? Math.hypot((b[3] as number) - (a[3] as number), (b[7] as number) - (a[7] as number), (b[11] as number) - (a[11] as number))
        : angleOf(multiply(invertRigid(a), b)) * (unit === 'deg' ? 180 / Math.PI : 1);
      index.push(index[i - 1]! + step);
    }
  }
  const rng = new SeededRandom(options.seed ?? 1);
  let pairs: [number, number][] = [];
  if (options.fixedDelta) {
    for (let i = 0; i < E.length; i++) {
      const j = closestIndex(index, index[i]! + delta);
      if (j !== E.length - 1) pairs.push([i, j]);
    }
    if (maxPairs !== 0 && pairs.length > maxPairs) {
      for (let k = pairs.length - 1; k > 0; k--) {
        const r = rng.int(k + 1);
        [pairs[k], pairs[r]] = [pairs[r]!, pairs[k]!];
      }
      pairs = pairs.slice(0, maxPairs);
    }
  } else if (maxPairs === 0 || E.length < Math.sqrt(maxPairs)) {
    for (let i = 0; i < E.length; i++) for (let j = 0; j < E.length; j++) pairs.push([i, j]);
  } else {
    for (let k = 0; k < maxPairs; k++) pairs.push([rng.int(E.length), rng.int(E.length)]);
  }
  const intervals = gs.slice(1).map((t, i) => t - gs[i]!).sort((a, b) => a - b);
  const gtInterval = intervals.length % 2 ? intervals[intervals.length >> 1]! : (intervals[intervals.length / 2 - 1]! + intervals[intervals.length / 2]!) / 2;
  const maxDt = 2 * gtInterval;
  const trans: number[] = [];
  const rot: number[] = [];
  for (const [i, j] of pairs) {
    const t0 = E[i]!.timestamp + offset, t1 = E[j]!.timestamp + offset;
    const g0 = closestIndex(gs, t0), g1 = closestIndex(gs, t1);
    if (Math.abs(gs[g0]! - t0) > maxDt || Math.abs(gs[g1]! - t1) > maxDt) continue;
    const relEst = multiply(invertRigid(E[i]!.pose), E[j]!.pose);
    for (const k of [3, 7, 11]) relEst[k] = (relEst[k] as number) * scale;
    const relGt = multiply(invertRigid(G[g0]!.pose), G[g1]!.pose);
    const err = multiply(invertRigid(relEst), relGt);
    trans.push(Math.hypot(err[3] as number, err[7] as number, err[11] as number));
    rot.push((angleOf(err) * 180) / Math.PI);
  }
  if (trans.length < 2) throw new TrajectoryEvalError("couldn't find matching timestamp pairs between the estimated and true trajectories");
  return { pairs: trans.length, translation: errorStats(trans), rotationDeg: errorStats(rot) };
}

/**
 * SVG: left, the top view (the two axes along which the truth spreads most)
 * of the true and the aligned estimated trajectory with error segments;
 * right, the position error over time.
 */
export function trajectorySvg(ate: AteResult, title = 'trajectory'): string {
  const m = ate.matches;
  const spread = [0, 1, 2].map((k) => {
    const v = m.map((p) => p.truth[k] as number);
    const mean = v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
    return v.reduce((a, b) => a + (b - mean) ** 2, 0);
  });
  const [ax, ay] = [0, 1, 2].sort((a, b) => spread[b]! - spread[a]!).slice(0, 2).sort() as [number, number];
  const X = (v: readonly number[]): number => v[ax] as number;
  const Y = (v: readonly number[]): number => v[ay] as number;
  const names = ['x', 'y', 'z'];
  const W = 420, H = 420, pad = 40;
  const xs = m.flatMap((p) => [X(p.truth), X(p.est)]);
  const ys = m.flatMap((p) => [Y(p.truth), Y(p.est)]);
  const minX = Math.min(...xs), maxX = Math.max(...xs), minY = Math.min(...ys), maxY = Math.max(...ys);
  const span = Math.max(maxX - minX, maxY - minY, 1e-6);
  const sx = (v: number): number => pad + ((v - minX) / span) * (W - 2 * pad);
  const sy = (v: number): number => H - pad - ((v - minY) / span) * (H - 2 * pad);
  const path = (pick: (p: AteResult['matches'][number]) => [number, number, number]): string =>
    m.map((p, i) => `${i ? 'L' : 'M'}${sx(X(pick(p))).toFixed(1)},${sy(Y(pick(p))).toFixed(1)}`).join(' ');
  const segs = m.map((p) => `<line x1="${sx(X(p.truth)).toFixed(1)}" y1="${sy(Y(p.truth)).toFixed(1)}" x2="${sx(X(p.est)).toFixed(1)}" y2="${sy(Y(p.est)).toFixed(1)}"/>`).join('');
  const t0 = m.length ? m[0]!.truthTime : 0;
  const tMax = Math.max(1e-6, ...m.map((p) => p.truthTime - t0));
  const eMax = Math.max(1e-6, ...m.map((p) => p.error));
  const ex = (t: number): number => W + pad + ((t - t0) / tMax) * (W - 2 * pad);
  const ey = (e: number): number => H - pad - (e / eMax) * (H - 2 * pad);
  const errPath = m.map((p, i) => `${i ? 'L' : 'M'}${ex(p.truthTime).toFixed(1)},${ey(p.error).toFixed(1)}`).join(' ');
  const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 30}" viewBox="0 0 ${2 * W} ${H + 30}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${pad}" y="20" font-size="14">${esc(title)} — ATE RMSE ${(ate.rmse * 1000).toFixed(1)} mm over ${ate.pairs} poses${ate.scale !== 1 ? `, scale ${ate.scale.toFixed(4)}` : ''}</text>
<g stroke="#e8a0a0" stroke-width="0.7">${segs}</g>
<path d="${path((p) => p.truth)}" fill="none" stroke="#222" stroke-width="1.6"/>
<path d="${path((p) => p.est)}" fill="none" stroke="#1f6fd1" stroke-width="1.6"/>
<rect x="${pad}" y="${pad}" width="${W - 2 * pad}" height="${H - 2 * pad}" fill="none" stroke="#999"/>
<text x="${W / 2}" y="${H - 10}" text-anchor="middle">${names[ax]} (m), top view, ${(span).toFixed(2)} m across</text>
<text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${names[ay]} (m)</text>
<text x="${pad}" y="${pad - 6}" fill="#222">— truth</text><text x="${pad + 60}" y="${pad - 6}" fill="#1f6fd1">— estimate (aligned)</text>
<rect x="${W + pad}" y="${pad}" width="${W - 2 * pad}" height="${H - 2 * pad}" fill="none" stroke="#999"/>
<path d="${errPath}" fill="none" stroke="#c0392b" stroke-width="1.4"/>
<text x="${W + W / 2}" y="${H - 10}" text-anchor="middle">time (s), ${tMax.toFixed(2)} s</text>
<text x="${W + pad}" y="${pad - 6}">position error, max ${(eMax * 1000).toFixed(1)} mm</text>
</svg>
`;
}
