import { Mast3rInputError } from './errors';
import { contextOf, DIST, FLAG_PORTABLE, type Distance, type KernelOptions } from './native';
import { shapeString, type NdArray } from './ndarray';
import { floatData, requireFinite, requireNonEmpty, requireRank } from './validate';

export interface ReciprocalNNOptions extends KernelOptions {
  /** 'l2' (MASt3R's default): min ‖a−b‖; 'dot': max a·b */
  dist?: Distance;
  /** column tile of the native scan; results never depend on it */
  blockSize?: number;
}

export interface ReciprocalNN {
  /** nnA[i]: index in B of A[i]'s nearest neighbour */
  nnA: Int32Array;
  /** nnB[j]: index in A of B[j]'s nearest neighbour */
  nnB: Int32Array;
}

/** Checks an [N, D] descriptor matrix: float, finite, non-empty. */
export function descriptorMatrix(name: string, arr: NdArray): Float32Array {
  requireRank(name, arr, [2], 'an [N, D] descriptor matrix');
  requireNonEmpty(name, arr);
  const data = floatData(name, arr);
  requireFinite(name, data, arr.shape);
  return data;
}

/**
 * MASt3R's bruteforce_reciprocal_nns: each row's nearest neighbour in the other
 * set, exact (float64 re-rank of float32 near-ties), lowest index on ties.
 * Memory O(N + M): the N×M matrix is never formed.
 */
export function reciprocalNN(A: NdArray, B: NdArray, opts: ReciprocalNNOptions = {}): ReciprocalNN {
  const dist = opts.dist ?? 'l2';
  if (!(dist in DIST)) throw new Mast3rInputError(`dist must be 'dot' or 'l2', got '${String(dist)}'`);
  const a = descriptorMatrix('A', A);
  const b = descriptorMatrix('B', B);
  const [n, dim] = A.shape as [number, number];
  const [m, dimB] = B.shape as [number, number];
  if (dim !== dimB) {
    throw new Mast3rInputError(`A and B must have the same descriptor size D: A is ${shapeString(A.shape)}, B is ${shapeString(B.shape)}`);
  }
  const block = opts.blockSize ?? 0;
  if (!Number.isSafeInteger(block) || block < 0) throw new Mast3rInputError(`blockSize must be a positive integer, got ${block}`);
  const ctx = contextOf(opts);
  const ba = ctx.bufferFrom(a);
  const bb = ctx.bufferFrom(b);
  const oa = ctx.buffer(n * 4);
  const ob = ctx.buffer(m * 4);
  try {
    ctx.call('ss_mast3r_reciprocal_nn', {
      n, m, dim, dist: DIST[dist], block: Math.min(block, 0x7fffffff), flags: opts.portable ? FLAG_PORTABLE : 0,
    }, { a: ba, b: bb, nn_a: oa, nn_b: ob });
    return { nnA: oa.download().i32().slice(0, n), nnB: ob.download().i32().slice(0, m) };
  } finally {
    ba.destroy();
    bb.destroy();
    oa.destroy();
    ob.destroy();
  }
}

/** 1 where i is a reciprocal pair (nnB[nnA[i]] == i). */
export function reciprocalMask(nnA: Int32Array, nnB: Int32Array): Uint8Array {
  const out = new Uint8Array(nnA.length);
  for (let i = 0; i < nnA.length; i++) out[i] = nnB[nnA[i] as number] === i ? 1 : 0;
  return out;
}
