/**
 * Seeded RANSAC with an MSAC score (Torr & Zisserman 2000: inliers cost their
 * error, outliers the threshold) and the adaptive stopping rule
 * N = log(1 − p) / log(1 − wˢ). The same seed gives the same model, so
 * replays stay bit-for-bit deterministic.
 */
import { SeededRandom } from './random';

export interface RansacProblem<M> {
  /** number of correspondences */
  count: number;
  /** minimal sample size */
  sampleSize: number;
  /** model from a minimal sample (indices into the correspondences), or null if degenerate */
  fit(sample: Int32Array): M | null;
  /** error of correspondence i under a model, in the threshold's units (e.g. squared pixels) */
  error(model: M, i: number): number;
  /** optional least-squares re-fit on every inlier of the best model */
  refit?(inliers: Int32Array, model: M): M | null;
}

export interface RansacOptions {
  /** an error below this is an inlier */
  threshold: number;
  maxIterations?: number;
  /** probability of having drawn one all-inlier sample before stopping */
  confidence?: number;
  seed?: number;
  /** fewer inliers than this → no model */
  minInliers?: number;
}

export interface RansacResult<M> {
  model: M | null;
  /** 1 where the correspondence is an inlier of the returned model */
  inliers: Uint8Array;
  inlierCount: number;
  iterations: number;
}

function score<M>(problem: RansacProblem<M>, model: M, threshold: number, mask: Uint8Array): { cost: number; count: number } {
  let cost = 0;
  let count = 0;
  for (let i = 0; i < problem.count; i++) {
    const e = problem.error(model, i);
    if (e < threshold) {
      cost += e;
      count++;
      mask[i] = 1;
    } else {
      cost += threshold;
      mask[i] = 0;
    }
  }
  return { cost, count };
}

export function ransac<M>(problem: RansacProblem<M>, options: RansacOptions): RansacResult<M> {
  const threshold = options.threshold;
  const maxIterations = options.maxIterations ?? 1000;
  const confidence = options.confidence ?? 0.999;
  const minInliers = Math.max(problem.sampleSize, options.minInliers ?? problem.sampleSize);
  const n = problem.count;
  const empty: RansacResult<M> = { model: null, inliers: new Uint8Array(n), inlierCount: 0, iterations: 0 };
  if (n < problem.sampleSize) return empty;
  const rng = new SeededRandom(options.seed ?? 0x5eed);
  const sample = new Int32Array(problem.sampleSize);
  let best: M | null = null;
  let bestCost = Infinity;
  let bestCount = 0;
  let bestMask = new Uint8Array(n);
  let mask = new Uint8Array(n);
  let needed = maxIterations;
  let it = 0;
  for (; it < needed && it < maxIterations; it++) {
    rng.sample(n, problem.sampleSize, sample);
    const model = problem.fit(sample);
    if (model === null) continue;
    const s = score(problem, model, threshold, mask);
    if (s.cost < bestCost) {
      bestCost = s.cost;
      bestCount = s.count;
      best = model;
      [bestMask, mask] = [mask, bestMask];
      const w = s.count / n;
      const pAll = w ** problem.sampleSize;
      if (pAll >= 1) needed = it + 1;
      else if (pAll > 0) needed = Math.min(maxIterations, Math.ceil(Math.log(1 - confidence) / Math.log(1 - pAll)));
    }
  }
  if (best === null || bestCount < minInliers) return { ...empty, iterations: it };
  if (problem.refit) {
    // two rounds: the re-fit model may gather inliers the sample model missed
    for (let round = 0; round < 2; round++) {
      const idx = new Int32Array(bestCount);
      let k = 0;
      for (let i = 0; i < n; i++) if (bestMask[i]) idx[k++] = i;
      const refined = problem.refit(idx, best);
      if (refined === null) break;
      const s = score(problem, refined, threshold, mask);
      if (s.count < bestCount) break;
      best = refined;
      bestCount = s.count;
      [bestMask, mask] = [mask, bestMask];
    }
  }
  return { model: best, inliers: bestMask, inlierCount: bestCount, iterations: it };
}
