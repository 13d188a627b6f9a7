import { Mast3rInputError } from './errors';
import { contextOf, type KernelOptions } from './native';
import { shapeString, type NdArray } from './ndarray';
import { floatData, requireFinite, requireNonEmpty, requireRank } from './validate';

export interface SimilarityOptions extends KernelOptions {
  /** 1/(1 + ‖d1 − d2‖) instead of d1·d2 */
  euc?: boolean;
}

function batchedDescriptors(name: string, arr: NdArray): { data: Float32Array; batch: number; rows: number; dim: number } {
  requireRank(name, arr, [2, 3], `${name} [N, D] or [B, N, D]`);
  requireNonEmpty(name, arr);
  const data = floatData(name, arr);
  requireFinite(name, data, arr.shape);
  const [batch, rows, dim] = (arr.shape.length === 2 ? [1, ...arr.shape] : arr.shape) as [number, number, number];
  return { data, batch, rows, dim };
}

/** MASt3R's get_similarities: desc1 [B, N, D], desc2 [B, M, D] → [B, N, M] (2-d inputs give [N, M]). */
export function similarities(desc1: NdArray, desc2: NdArray, opts: SimilarityOptions = {}): NdArray<Float32Array> {
  const a = batchedDescriptors('desc1', desc1);
  const b = batchedDescriptors('desc2', desc2);
  if (a.batch !== b.batch || a.dim !== b.dim || desc1.shape.length !== desc2.shape.length) {
    throw new Mast3rInputError(`desc1 ${shapeString(desc1.shape)} and desc2 ${shapeString(desc2.shape)} must share the batch and D`);
  }
  const ctx = contextOf(opts);
  const ba = ctx.bufferFrom(a.data);
  const bb = ctx.bufferFrom(b.data);
  const total = a.batch * a.rows * b.rows;
  const out = ctx.buffer(total * 4);
  try {
    ctx.call('ss_mast3r_similarity', { batch: a.batch, n: a.rows, m: b.rows, dim: a.dim, euc: opts.euc ? 1 : 0 },
      { desc1: ba, desc2: bb, out });
    const shape = desc1.shape.length === 2 ? [a.rows, b.rows] : [a.batch, a.rows, b.rows];
    return { data: out.download().f32().slice(0, total), shape };
  } finally {
    ba.destroy();
    bb.destroy();
    out.destroy();
  }
}

export interface InfoNCEOptions extends SimilarityOptions {
  /** softmax temperature; 0.05 as in MASt3R's training command (the class default is 0.07) */
  temperature?: number;
  /** clip of the ratios before the log (MASt3R: 1e-8) */
  eps?: number;
}

export interface InfoNCE {
  /** mean over all pairs (MASt3R's reduction 'mean') */
  loss: number;
  /** [B, N] per-pair loss */
  perPair: NdArray<Float32Array>;
}

/**
 * MASt3R's InfoNCE, mode 'proper': row i of desc1 matches row i of desc2;
 * S = exp(sim/τ); loss_i = −[log(S_ii/Σ_k S_ki) + log(S_ii/Σ_k S_ik)], each
 * ratio clipped at eps. The N×N matrix is never stored.
 */
export function infoNCELoss(desc1: NdArray, desc2: NdArray, opts: InfoNCEOptions = {}): InfoNCE {
  const a = batchedDescriptors('desc1', desc1);
  const b = batchedDescriptors('desc2', desc2);
  if (a.batch !== b.batch || a.rows !== b.rows || a.dim !== b.dim) {
    throw new Mast3rInputError(`desc1 ${shapeString(desc1.shape)} and desc2 ${shapeString(desc2.shape)} must have the same shape (row i matches row i)`);
  }
  const temperature = opts.temperature ?? 0.05;
  const eps = opts.eps ?? 1e-8;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Mast3rInputError(`temperature must be > 0, got ${temperature}`);
  if (!(eps > 0)) throw new Mast3rInputError(`eps must be > 0, got ${eps}`);
  const ctx = contextOf(opts);
  const ba = ctx.bufferFrom(a.data);
  const bb = ctx.bufferFrom(b.data);
  const n = a.batch * a.rows;
  const out = ctx.buffer(n * 4);
  try {
    ctx.call('ss_mast3r_infonce', { batch: a.batch, n: a.rows, dim: a.dim, euc: opts.euc ? 1 : 0, temperature, eps },
      { desc1: ba, desc2: bb, loss: out });
    const per = out.download().f32().slice(0, n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += per[i] as number;
    return { loss: sum / n, perPair: { data: per, shape: [a.batch, a.rows] } };
  } finally {
    ba.destroy();
    bb.destroy();
    out.destroy();
  }
}
