import { abiConstants } from '../native/abi.generated';
import { defaultContext, type NativeContext } from '../native/context';

export const DIST = { dot: abiConstants.SS_DIST_DOT, l2: abiConstants.SS_DIST_L2 } as const;
export type Distance = keyof typeof DIST;
/** SS_FLAG_PORTABLE: run the portable per-element bodies (tests compare both paths). */
export const FLAG_PORTABLE = abiConstants.SS_FLAG_PORTABLE;
/** SS_FLAG_HINTS: ss_mast3r_nn_query's out_idx holds a guess per query on entry. */
export const FLAG_HINTS = abiConstants.SS_FLAG_HINTS;

/** Options every MASt3R kernel call takes. */
export interface KernelOptions {
  /** backend context (default: the process-wide one) */
  ctx?: NativeContext;
  /** run the portable kernel bodies instead of the backend's hot path */
  portable?: boolean;
}

export function contextOf(opts: KernelOptions): NativeContext {
  return opts.ctx ?? defaultContext();
}

/** Float count of ss_mast3r_desc_index's output (mast3r_index_floats in native/kernels/mast3r_nn.h). */
export function descIndexFloats(width: number, height: number, dim: number): number {
  const S = Math.ceil(width / 32) * Math.ceil(height / 32);
  const S16 = Math.ceil(S / 16) * 16;
  const p8 = 64 * S;
  const d4 = Math.ceil(dim / 4);
  return 16 + (dim + 2) * S16 + S * (dim + 2) * 16 + S * 16 * 64 * (dim + 1) + p8 * 16 * (d4 + 1);
}
