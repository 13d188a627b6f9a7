/* Marching cubes with one warp per voxel block (CUDA): the entry points of the
 * SIMD-group body shared with Metal (native/kernels/tsdf_mesh_simd.h); they
 * only bind arguments. */
#ifndef SS_CUDA_TSDF_MESH_WARP_CUH
#define SS_CUDA_TSDF_MESH_WARP_CUH

#include "tsdf_mesh_simd.h"

#define SS_MESH_WARPS 3

/* blocks first .. first+count of the list; block k writes its own worst-case region of the scratch and counts[2k..] */
__global__ void __launch_bounds__(32 * SS_MESH_WARPS)
    k_mesh_warp(const ss_tsdf_mesh_blocks_args a, uint32_t first, uint32_t count, const float* pool, const int32_t* hash, const int32_t* blocks,
                float* spos, uint8_t* scol, uint32_t* sidx, uint32_t* counts) {
  __shared__ MeshSimdScratch shared[SS_MESH_WARPS];
  const uint32_t lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
  const uint32_t k = blockIdx.x * SS_MESH_WARPS + warp;
  if (k >= count) return; /* k is the same for the whole warp */
  tsdf_mesh_block_simd(a, blocks + 4 * (first + k), lane, pool, hash, &shared[warp], spos + (uint64_t)k * 3 * SS_MESH_MAX_BLOCK_VERTICES,
                       scol + (uint64_t)k * 3 * SS_MESH_MAX_BLOCK_VERTICES, sidx + (uint64_t)k * SS_MESH_MAX_BLOCK_INDICES, counts + 2 * k);
}

/* one CUDA block per mesh block: its record at its byte offset */
__global__ void k_mesh_compact(uint32_t count, const uint32_t* ranges_batch, const float* spos, const uint8_t* scol, const uint32_t* sidx,
                               uint8_t* mesh) {
  uint32_t k = blockIdx.x;
  tsdf_mesh_compact_block(ranges_batch + 4 * k, spos + (uint64_t)k * 3 * SS_MESH_MAX_BLOCK_VERTICES, scol + (uint64_t)k * 3 * SS_MESH_MAX_BLOCK_VERTICES,
                          sidx + (uint64_t)k * SS_MESH_MAX_BLOCK_INDICES, mesh, threadIdx.x, blockDim.x);
}

#endif
