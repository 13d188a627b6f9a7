/* Marching cubes with one warp per voxel block (CUDA). The same passes and
 * the same row helpers as tsdf_mesh_block (native/kernels/tsdf_mesh.h),
 * spread over 32 lanes: lattice rows per lane, then warp prefix sums place
 * each lane's vertices and triangles, so the output is the serial body's,
 * in the same order. One thread per block left the GPU nearly idle: a frame
 * meshes a few thousand blocks, a few thousand threads. */
#ifndef SS_CUDA_TSDF_MESH_WARP_CUH
#define SS_CUDA_TSDF_MESH_WARP_CUH

#define SS_MESH_WARPS 3

struct MeshWarpScratch {
  float f[SS_MESH_LATTICE_POINTS];
  uint32_t valid_row[SS_MESH_LATTICE * SS_MESH_LATTICE], neg_row[SS_MESH_LATTICE * SS_MESH_LATTICE];
  uint32_t used[3][SS_MESH_LATTICE * SS_MESH_LATTICE];
  uint32_t cubes[SS_BLOCK_DIM + 2][SS_BLOCK_DIM + 2];
  int32_t vidx[3 * SS_MESH_LATTICE_POINTS];
  int32_t nb[8];
};

/* exclusive prefix sum of v over the warp's lanes; *total = the sum */
static __device__ __forceinline__ uint32_t mesh_warp_scan(uint32_t v, uint32_t lane, uint32_t* total) {
  uint32_t x = v;
  for (uint32_t d = 1; d < 32; d <<= 1) {
    uint32_t y = __shfl_up_sync(0xffffffffu, x, d);
    if (lane >= d) x += y;
  }
  *total = __shfl_sync(0xffffffffu, x, 31);
  return x - v;
}

/* blocks first .. first+count of the list; block k writes its own worst-case region of the scratch and counts[2k..] */
__global__ void __launch_bounds__(32 * SS_MESH_WARPS)
    k_mesh_warp(const ss_tsdf_mesh_blocks_args a, uint32_t first, uint32_t count, const float* pool, const int32_t* hash, const int32_t* blocks,
                float* spos, uint8_t* scol, uint32_t* sidx, uint32_t* counts) {
  __shared__ MeshWarpScratch shared[SS_MESH_WARPS];
  const uint32_t lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
  const uint32_t k = blockIdx.x * SS_MESH_WARPS + warp;
  if (k >= count) return; /* k is the same for the whole warp */
  MeshWarpScratch& s = shared[warp];
  const int32_t* block = blocks + 4 * (first + k);
  const int32_t bx = block[0], by = block[1], bz = block[2];
  if (lane < 8) s.nb[lane] = lane == 0 ? block[3] : ss_hash_find(hash, a.hash_mask, bx + (lane & 1), by + ((lane >> 1) & 1), bz + (lane >> 2));
  __syncwarp();
  const uint32_t rows = SS_MESH_LATTICE * SS_MESH_LATTICE;
  uint32_t any_pos = 0, any_neg = 0;
  for (uint32_t r = lane; r < rows; r += 32) {
    uint32_t vbits, nbits;
    mesh_gather_lattice_row(a, s.nb, pool, r % SS_MESH_LATTICE, r / SS_MESH_LATTICE, s.f, &vbits, &nbits);
    s.valid_row[r] = vbits;
    s.neg_row[r] = nbits;
    any_pos |= vbits & ~nbits;
    any_neg |= nbits;
  }
  if (!__any_sync(0xffffffffu, any_pos != 0) || !__any_sync(0xffffffffu, any_neg != 0)) {
    if (lane == 0) counts[2 * k] = counts[2 * k + 1] = 0;
    return;
  }
  for (uint32_t i = lane; i < (SS_BLOCK_DIM + 2) * (SS_BLOCK_DIM + 2); i += 32) s.cubes[i / (SS_BLOCK_DIM + 2)][i % (SS_BLOCK_DIM + 2)] = 0;
  __syncwarp();
  for (uint32_t i = lane; i < SS_BLOCK_DIM * SS_BLOCK_DIM; i += 32) {
    uint32_t y = i % SS_BLOCK_DIM, z = i / SS_BLOCK_DIM;
    s.cubes[z + 1][y + 1] = mesh_cube_row(s.valid_row, y, z);
  }
  __syncwarp();
  for (uint32_t r = lane; r < rows; r += 32) mesh_used_row(s.cubes, s.neg_row, r, s.used);
  __syncwarp();
  /* vertices: the 243 (axis, row) entries in lattice order, 8 consecutive per lane */
  float* out_pos = spos + (uint64_t)k * 3 * SS_MESH_MAX_BLOCK_VERTICES;
  uint8_t* out_col = scol + (uint64_t)k * 3 * SS_MESH_MAX_BLOCK_VERTICES;
  const uint32_t entries = 3 * rows, per_lane = (entries + 31) / 32;
  uint32_t mine = 0;
  for (uint32_t j = lane * per_lane; j < entries && j < (lane + 1) * per_lane; ++j) mine += (uint32_t)__popc(s.used[j / rows][j % rows]);
  uint32_t nv_total;
  uint32_t nv = mesh_warp_scan(mine, lane, &nv_total);
  const float origin_x = (float)(bx * SS_BLOCK_DIM), origin_y = (float)(by * SS_BLOCK_DIM), origin_z = (float)(bz * SS_BLOCK_DIM);
  for (uint32_t j = lane * per_lane; j < entries && j < (lane + 1) * per_lane; ++j)
    nv = mesh_emit_row(a, s.nb, s.f, s.used[j / rows][j % rows], j / rows, j % rows, origin_x, origin_y, origin_z, pool, s.vidx, out_pos,
                       out_col, nv);
  __syncwarp();
  /* triangles: the 64 cube rows in order (z, y), 2 consecutive per lane */
  uint32_t edge_key[12];
  mesh_edge_keys(edge_key);
  uint32_t* out_idx = sidx + (uint64_t)k * SS_MESH_MAX_BLOCK_INDICES;
  const uint32_t cube_rows = SS_BLOCK_DIM * SS_BLOCK_DIM, rows_per_lane = cube_rows / 32;
  uint32_t count_mine = 0;
  for (uint32_t i = lane * rows_per_lane; i < (lane + 1) * rows_per_lane; ++i)
    count_mine += mesh_row_index_count(s.valid_row, s.neg_row, i % SS_BLOCK_DIM, i / SS_BLOCK_DIM);
  uint32_t ni_total;
  uint32_t ni = mesh_warp_scan(count_mine, lane, &ni_total);
  for (uint32_t i = lane * rows_per_lane; i < (lane + 1) * rows_per_lane; ++i)
    ni = mesh_row_triangles(s.valid_row, s.neg_row, s.vidx, edge_key, i % SS_BLOCK_DIM, i / SS_BLOCK_DIM, out_idx, ni);
  if (lane == 0) {
    counts[2 * k] = nv_total;
    counts[2 * k + 1] = ni_total;
  }
}

#endif
