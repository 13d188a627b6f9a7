/* Marching cubes on Metal: one SIMD-group per voxel block (the body shared
 * with CUDA's warp kernel, native/kernels/tsdf_mesh_simd.h), into worst-case
 * regions of a scratch buffer; the host places the records (prefix of the
 * counts) and a second kernel copies each into the mesh buffer. */
#include "../native/compat/metal.h"
#include "../native/include/scanstream.h"
#include "../native/kernels/tsdf_common.h"
#include "../native/kernels/tsdf_mesh.h"
#include "../native/kernels/tsdf_mesh_simd.h"

/* SIMD-groups per threadgroup: two scratches fit Metal's 32 KiB of threadgroup memory */
#define SS_MESH_SIMD_GROUPS 2

/* batch = {first, count}: blocks first .. first + count of the list; block k of the batch
 * writes the k-th worst-case region of spos / scol / sidx and counts[2k], counts[2k + 1] */
kernel void k_tsdf_mesh_blocks(constant ss_tsdf_mesh_blocks_args& args [[buffer(0)]], device const float* pool [[buffer(1)]],
                               device const int* hash [[buffer(2)]], device const int* blocks [[buffer(3)]], device float* spos [[buffer(4)]],
                               device uchar* scol [[buffer(5)]], device uint* sidx [[buffer(6)]], device uint* counts [[buffer(7)]],
                               constant uint* batch [[buffer(8)]], uint group [[threadgroup_position_in_grid]],
                               uint simd [[simdgroup_index_in_threadgroup]], uint simds [[simdgroups_per_threadgroup]],
                               uint lane [[thread_index_in_simdgroup]]) {
  SS_THREADGROUP_ARRAY(MeshSimdScratch, scratch, SS_MESH_SIMD_GROUPS);
  const uint k = group * simds + simd;
  if (k >= batch[1]) return; /* the same k for the whole SIMD-group */
  const ss_tsdf_mesh_blocks_args a = args;
  tsdf_mesh_block_simd(a, blocks + 4 * (batch[0] + k), lane, pool, hash, &scratch[simd], spos + (ulong)k * 3 * SS_MESH_MAX_BLOCK_VERTICES,
                       scol + (ulong)k * 3 * SS_MESH_MAX_BLOCK_VERTICES, sidx + (ulong)k * SS_MESH_MAX_BLOCK_INDICES, counts + 2 * k);
}

/* one threadgroup per block of the batch: its record at ranges[first + k]'s byte offset */
kernel void k_tsdf_mesh_compact(device const uint* ranges [[buffer(1)]], device const float* spos [[buffer(2)]],
                                device const uchar* scol [[buffer(3)]], device const uint* sidx [[buffer(4)]], device uchar* mesh [[buffer(5)]],
                                constant uint* batch [[buffer(8)]], uint k [[threadgroup_position_in_grid]],
                                uint t [[thread_position_in_threadgroup]], uint n [[threads_per_threadgroup]]) {
  tsdf_mesh_compact_block(ranges + 4 * (batch[0] + k), spos + (ulong)k * 3 * SS_MESH_MAX_BLOCK_VERTICES,
                          scol + (ulong)k * 3 * SS_MESH_MAX_BLOCK_VERTICES, sidx + (ulong)k * SS_MESH_MAX_BLOCK_INDICES, mesh, t, n);
}
