/* The TSDF voxel-block volume on Metal: touched blocks (a 32-bit set in two
 * passes: tsdf_touched_gpu.h), integration (one thread per voxel), ray-cast
 * (one thread per pixel), clearing blocks, writing and looking up block-hash entries. Meshing is tsdf_mesh.metal.
 * Buffer 0 is the args struct, the ABI's buffers follow in table order, then
 * what the host logic adds. */
#include "../native/compat/metal.h"
#include "../native/include/scanstream.h"
#include "../native/kernels/vec3.h"
#include "../native/kernels/tsdf_common.h"
#include "../native/kernels/tsdf_integrate.h"
#include "../native/kernels/tsdf_raycast.h"
#include "../native/kernels/tsdf_touched.h"
#include "../native/kernels/tsdf_touched_gpu.h"

/* pass 1: bounds = int32 {min x, y, z, max x, y, z} of the visited blocks (the host starts them empty) */
kernel void k_tsdf_touched_bounds(constant ss_tsdf_touched_blocks_args& args [[buffer(0)]], device const float* depth [[buffer(1)]],
                                  device int* bounds [[buffer(5)]], constant uint& samples [[buffer(6)]],
                                  uint i [[thread_position_in_grid]], uint lane [[thread_index_in_simdgroup]]) {
  const ss_tsdf_touched_blocks_args a = args;
  tsdf_touched_bounds_pixel(a, i, i < samples, depth, bounds, lane);
}

/* pass 2, one window: set = the first hash_capacity words of scratch (cleared by the host);
 * state[6] counts the keys that did not fit; window = int32 {x0, y0, z0, 0} */
kernel void k_tsdf_touched_insert(constant ss_tsdf_touched_blocks_args& args [[buffer(0)]], device const float* depth [[buffer(1)]],
                                  device uint* set [[buffer(2)]], device uint* state [[buffer(5)]], constant int* window [[buffer(6)]],
                                  uint i [[thread_position_in_grid]]) {
  const ss_tsdf_touched_blocks_args a = args;
  uint32_t dropped = tsdf_touched_insert_pixel(a, i, depth, set, window[0], window[1], window[2]);
  if (dropped) ss_atomic_add_u32(state + 6, dropped);
}

/* voxel gid.x of listed block gid.y */
kernel void k_tsdf_integrate(constant ss_tsdf_integrate_args& args [[buffer(0)]], device const float* depth [[buffer(1)]],
                             device const uchar* color [[buffer(2)]], device const int* blocks [[buffer(3)]], device float* pool [[buffer(4)]],
                             uint2 gid [[thread_position_in_grid]]) {
  tsdf_integrate_voxel(args, blocks + 4 * gid.y, gid.x, depth, color, pool);
}

kernel void k_tsdf_raycast(constant ss_tsdf_raycast_args& args [[buffer(0)]], device const float* pool [[buffer(1)]],
                           device const int* hash [[buffer(2)]], device float* depth [[buffer(3)]], device float* normals [[buffer(4)]],
                           device uchar* color [[buffer(5)]], uint i [[thread_position_in_grid]]) {
  tsdf_raycast_pixel(args, i, pool, hash, depth, normals, color);
}

kernel void k_tsdf_hash_scatter(constant ss_tsdf_hash_scatter_args& args [[buffer(0)]], device const int* entries [[buffer(1)]],
                                device int* hash [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  if (i < args.count) tsdf_hash_scatter_entry(i, entries, hash);
}

kernel void k_tsdf_hash_lookup(constant ss_tsdf_hash_lookup_args& args [[buffer(0)]], device const int* hash [[buffer(1)]],
                               device const int* coords [[buffer(2)]], device int* slots [[buffer(3)]], uint i [[thread_position_in_grid]]) {
  if (i < args.count) slots[i] = tsdf_hash_lookup_entry(i, args.hash_mask, hash, coords);
}

/* float gid.x of listed block gid.y's voxels (tsdf, weight, colour) to 0 */
kernel void k_tsdf_clear_blocks(device const int* blocks [[buffer(1)]], device float* pool [[buffer(2)]], uint2 gid [[thread_position_in_grid]]) {
  pool[(ulong)blocks[4 * gid.y + 3] * SS_BLOCK_FLOATS + gid.x] = 0.0f;
}
