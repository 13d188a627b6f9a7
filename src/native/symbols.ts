import { FFIType } from 'bun:ffi';

const { ptr, u32, i32, u64, cstring, void: none } = FFIType;

/** Every symbol of the C ABI, in one table (DESIGN.md §7, after opentui). */
export const symbols = {
  ss_abi_version: { args: [], returns: u32 },
  ss_args_sizeof: { args: [ptr], returns: u32 },
  ss_context_create: { args: [i32, i32, ptr], returns: i32 },
  ss_context_destroy: { args: [ptr], returns: none },
  ss_last_error: { args: [ptr], returns: cstring },
  ss_backend_name: { args: [ptr], returns: cstring },
  ss_context_threads: { args: [ptr], returns: i32 },
  ss_buffer_create: { args: [ptr, u64, ptr], returns: i32 },
  ss_buffer_destroy: { args: [ptr, ptr], returns: none },
  ss_buffer_size: { args: [ptr], returns: u64 },
  ss_buffer_host_ptr: { args: [ptr], returns: ptr },
  ss_buffer_upload: { args: [ptr, ptr, u64, u64], returns: i32 },
  ss_buffer_download: { args: [ptr, ptr, u64, u64], returns: i32 },
  ss_buffer_fill: { args: [ptr, ptr, u64, u64, u32], returns: i32 },

  ss_depth_to_points: { args: [ptr, ptr, ptr, ptr], returns: i32 },
  ss_points_to_normals: { args: [ptr, ptr, ptr, ptr], returns: i32 },
  ss_depth_pyramid_down: { args: [ptr, ptr, ptr, ptr], returns: i32 },
  ss_image_pyramid_down: { args: [ptr, ptr, ptr, ptr], returns: i32 },
  ss_geotrf: { args: [ptr, ptr, ptr, ptr], returns: i32 },

  ss_tsdf_touched_blocks: { args: [ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_tsdf_integrate: { args: [ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_tsdf_mesh_blocks: { args: [ptr, ptr, ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_tsdf_raycast: { args: [ptr, ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_tsdf_clear_blocks: { args: [ptr, ptr, ptr, ptr], returns: i32 },

  // ---- tracking (src/tracking) ----
  ss_rgb_to_gray: { args: [ptr, ptr, ptr, ptr], returns: i32 },
  ss_tsdf_raycast_guided: { args: [ptr, ptr, ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_icp_reduce: { args: [ptr, ptr, ptr, ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_orb_extract: { args: [ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_hamming_match: { args: [ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_float_match: { args: [ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },

  // ---- MASt3R post-processing (src/mast3r) ----
  ss_mast3r_reciprocal_nn: { args: [ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_mast3r_desc_index: { args: [ptr, ptr, ptr, ptr], returns: i32 },
  ss_mast3r_nn_query: { args: [ptr, ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_mast3r_triangulate: { args: [ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_mast3r_refine_depths_tsdf: { args: [ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_mast3r_similarity: { args: [ptr, ptr, ptr, ptr, ptr], returns: i32 },
  ss_mast3r_infonce: { args: [ptr, ptr, ptr, ptr, ptr], returns: i32 },

  // ---- monocular: plane-sweep stereo (src/mono) ----
  ss_plane_sweep: { args: [ptr, ptr, ptr, ptr, ptr, ptr, ptr], returns: i32 },
} as const;

/** Symbols that are not kernels: context, buffers, version and error plumbing. */
export const coreSymbols = [
  'ss_abi_version', 'ss_args_sizeof', 'ss_context_create', 'ss_context_destroy', 'ss_last_error', 'ss_backend_name',
  'ss_context_threads', 'ss_buffer_create', 'ss_buffer_destroy', 'ss_buffer_size', 'ss_buffer_host_ptr',
  'ss_buffer_upload', 'ss_buffer_download', 'ss_buffer_fill',
] as const;

/** Kernel entry points: every `ss_*` taking (ctx, args, ...buffers) and returning a status. */
export type KernelSymbol = Exclude<keyof typeof symbols, (typeof coreSymbols)[number]>;

export function kernelSymbols(): KernelSymbol[] {
  const core = new Set<string>(coreSymbols);
  return Object.keys(symbols).filter((s) => !core.has(s)) as KernelSymbol[];
}
