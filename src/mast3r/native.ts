import { defineArgs } from '../native/args';
import { defaultContext, type NativeContext } from '../native/context';

/** ss_mast3r_*_args mirrors (native/include/scanstream.h, "MASt3R post-processing"). */
export const nnArgs = defineArgs('mast3r_nn', {
  n: 'u32', m: 'u32', dim: 'u32', dist: 'u32',
  block: 'u32', flags: 'u32', pad0: 'u32', pad1: 'u32',
});
export const descIndexArgs = defineArgs('mast3r_desc_index', {
  width: 'u32', height: 'u32', dim: 'u32', dist: 'u32',
});
export const nnQueryArgs = defineArgs('mast3r_nn_query', {
  count: 'u32', width: 'u32', height: 'u32', dim: 'u32',
  db_width: 'u32', db_height: 'u32', dist: 'u32', flags: 'u32',
});
export const triangulateArgs = defineArgs('mast3r_triangulate', {
  batch: 'u32', cams: 'u32', points: 'u32', pad0: 'u32',
});
export const tsdfRefineArgs = defineArgs('mast3r_tsdf_refine', {
  images: 'u32', width: 'u32', height: 'u32', samples: 'u32',
  seed_lo: 'u32', seed_hi: 'u32', flags: 'u32', pad0: 'u32',
  tau: 'f32', pad1: 'f32', pad2: 'f32', pad3: 'f32',
});
export const similarityArgs = defineArgs('mast3r_similarity', {
  batch: 'u32', n: 'u32', m: 'u32', dim: 'u32',
  euc: 'u32', pad0: 'u32', pad1: 'u32', pad2: 'u32',
});
export const infonceArgs = defineArgs('mast3r_infonce', {
  batch: 'u32', n: 'u32', dim: 'u32', euc: 'u32',
  temperature: 'f32', eps: 'f32', pad0: 'f32', pad1: 'f32',
});

export const DIST = { dot: 0, l2: 1 } as const;
export type Distance = keyof typeof DIST;
/** SS_MAST3R_FLAG_PORTABLE: run the portable per-element bodies (tests compare both paths). */
export const FLAG_PORTABLE = 1;
/** SS_MAST3R_FLAG_HINTS: ss_mast3r_nn_query's out_idx holds a guess per query on entry. */
export const FLAG_HINTS = 2;

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
