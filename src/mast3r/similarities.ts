import { Mast3rInputError } from './errors';
import { contextOf, type KernelOptions } from './native';
import { shapeString, sizeOf, type NdArray } from './ndarray';
import { CallBuffers, requireDistinct, tensorShape, type OutputOptions, type TensorInput } from './tensor';

export interface SimilarityOptions extends KernelOptions, OutputOptions {
  /** 1/(1 + ‖d1 − d2‖) instead of d1·d2 */
  euc?: boolean;
}

interface Descriptors {
  batch: number;
  rows: number;
  dim: number;
}

function batchedDescriptors(name: string, t: TensorInput): Descriptors {
  const shape = tensorShape(name, t);
  if (shape.length !== 2 && shape.length !== 3) throw new Mast3rInputError(`${name}: expected ${name} [N, D] or [B, N, D], got shape ${shapeString(shape)}`);
  if (sizeOf(shape) === 0) throw new Mast3rInputError(`${name}: is empty (shape ${shapeString(shape)})`);
  const [batch, rows, dim] = (shape.length === 2 ? [1, ...shape] : shape) as [number, number, number];
  return { batch, rows, dim };
}

/**
 * MASt3R's get_similarities: desc1 [B, N, D], desc2 [B, M, D] → [B, N, M]
 * (2-d inputs give [N, M]); NaN descriptors give NaN similarities, as in
 * MASt3R. Inputs may be NativeTensors (read in place); with `out` the result
 * is a view of that buffer, else a fresh array (the kernel's output copied once).
 */
export function similarities(desc1: TensorInput, desc2: TensorInput, opts: SimilarityOptions = {}): NdArray<Float32Array> {
  const a = batchedDescriptors('desc1', desc1);
  const b = batchedDescriptors('desc2', desc2);
  if (a.batch !== b.batch || a.dim !== b.dim || desc1.shape.length !== desc2.shape.length) {
    throw new Mast3rInputError(`desc1 ${shapeString(desc1.shape)} and desc2 ${shapeString(desc2.shape)} must share the batch and D`);
  }
  requireDistinct('out', opts.out, { desc1, desc2 });
  const total = a.batch * a.rows * b.rows;
  const bufs = new CallBuffers(contextOf(opts));
  try {
    const out = bufs.output('out', opts.out, 4 * total);
    bufs.ctx.call('ss_mast3r_similarity', { batch: a.batch, n: a.rows, m: b.rows, dim: a.dim, euc: opts.euc ? 1 : 0 },
      { desc1: bufs.input(desc1), desc2: bufs.input(desc2), out });
    const shape = desc1.shape.length === 2 ? [a.rows, b.rows] : [a.batch, a.rows, b.rows];
    return { data: bufs.f32(out, total), shape };
  } finally {
    bufs.release();
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
  /** [B, N] per-pair loss (a view of `out` when given) */
  perPair: NdArray<Float32Array>;
}

/**
 * MASt3R's InfoNCE, mode 'proper': row i of desc1 matches row i of desc2;
 * S = exp(sim/τ) with NaN similarities ignored (MASt3R sets them to −∞);
 * loss_i = −[log(S_ii/Σ_k S_ki) + log(S_ii/Σ_k S_ik)], each ratio clipped at
 * eps. The N×N matrix is never stored. `out` takes the [B, N] per-pair loss.
 */
export function infoNCELoss(desc1: TensorInput, desc2: TensorInput, opts: InfoNCEOptions = {}): InfoNCE {
  const a = batchedDescriptors('desc1', desc1);
  const b = batchedDescriptors('desc2', desc2);
  if (a.batch !== b.batch || a.rows !== b.rows || a.dim !== b.dim) {
    throw new Mast3rInputError(`desc1 ${shapeString(desc1.shape)} and desc2 ${shapeString(desc2.shape)} must have the same shape (row i matches row i)`);
  }
  const temperature = opts.temperature ?? 0.05;
  const eps = opts.eps ?? 1e-8;
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Mast3rInputError(`temperature must be > 0, got ${temperature}`);
  if (!(eps > 0)) throw new Mast3rInputError(`eps must be > 0, got ${eps}`);
  requireDistinct('out', opts.out, { desc1, desc2 });
  const n = a.batch * a.rows;
  const bufs = new CallBuffers(contextOf(opts));
  try {
    const out = bufs.output('out', opts.out, 4 * n);
    bufs.ctx.call('ss_mast3r_infonce', { batch: a.batch, n: a.rows, dim: a.dim, euc: opts.euc ? 1 : 0, temperature, eps },
      { desc1: bufs.input(desc1), desc2: bufs.input(desc2), loss: out });
    const per = bufs.f32(out, n);
    // the mean is a reduction of the kernel's output, as MASt3R's loss.mean()
    let sum = 0;
    for (let i = 0; i < n; i++) sum += per[i] as number;
    return { loss: sum / n, perPair: { data: per, shape: [a.batch, a.rows] } };
  } finally {
    bufs.release();
  }
}
