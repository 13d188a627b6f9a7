/* Marching cubes with one SIMD-group (CUDA: warp) of 32 lanes per voxel
 * block, for the GPU backends: the passes and row helpers of tsdf_mesh.h
 * spread over the lanes (lattice rows per lane, then SIMD-group prefix sums
 * place each lane's vertices and triangles), so a block's output is the
 * serial body's, in the same order. One thread per block left a GPU nearly
 * idle: a frame meshes a few thousand blocks. Written against the GPU
 * vocabulary of compat/cuda.h and compat/metal.h (DESIGN.md §3 rule 10); the
 * CUDA and Metal entry points only bind arguments. Needs tsdf_common.h and
 * tsdf_mesh.h first. */
#ifndef SS_KERNEL_TSDF_MESH_SIMD_H
#define SS_KERNEL_TSDF_MESH_SIMD_H

/* one SIMD-group's share of threadgroup memory: 13,716 bytes (Metal allows 32 KiB per threadgroup) */
struct MeshSimdScratch {
  float f[SS_MESH_LATTICE_POINTS];
  uint32_t valid_row[SS_MESH_LATTICE * SS_MESH_LATTICE], neg_row[SS_MESH_LATTICE * SS_MESH_LATTICE];
  uint32_t used[3][SS_MESH_LATTICE * SS_MESH_LATTICE];
  uint32_t cubes[SS_BLOCK_DIM + 2][SS_BLOCK_DIM + 2];
  int32_t vidx[3 * SS_MESH_LATTICE_POINTS];
  int32_t nb[8];
};

/* block: {bx,by,bz,slot}; lane: 0..31, every lane of the SIMD-group calls this
 * for the same block. Writes the block's vertices and indices at out_pos,
 * out_col, out_idx (room for SS_MESH_MAX_BLOCK_VERTICES / _INDICES) and
 * counts = {vertices, indices}. */
ss_device_inline void tsdf_mesh_block_simd(const ss_tsdf_mesh_blocks_args a, ss_global const int32_t* block, uint32_t lane,
                                           ss_global const float* pool, ss_global const int32_t* hash, ss_shared MeshSimdScratch* s,
                                           ss_global float* out_pos, ss_global uint8_t* out_col, ss_global uint32_t* out_idx,
                                           ss_global uint32_t* counts) {
  const int32_t bx = block[0], by = block[1], bz = block[2];
  if (lane < 8)
    s->nb[lane] = lane == 0 ? block[3]
                            : ss_hash_find(hash, a.hash_mask, bx + (int32_t)(lane & 1u), by + (int32_t)((lane >> 1) & 1u),
                                           bz + (int32_t)(lane >> 2));
  ss_simd_sync();
  const uint32_t rows = SS_MESH_LATTICE * SS_MESH_LATTICE;
  uint32_t any_pos = 0, any_neg = 0;
  for (uint32_t r = lane; r < rows; r += SS_SIMD_WIDTH) {
    uint32_t vbits, nbits;
    mesh_gather_lattice_row(a, s->nb, pool, r % SS_MESH_LATTICE, r / SS_MESH_LATTICE, s->f, &vbits, &nbits);
    s->valid_row[r] = vbits;
    s->neg_row[r] = nbits;
    any_pos |= vbits & ~nbits;
    any_neg |= nbits;
  }
  /* no zero crossing anywhere in the lattice: no surface (most blocks of the truncation band) */
  bool has_pos = ss_simd_any(any_pos != 0u);
  bool has_neg = ss_simd_any(any_neg != 0u);
  if (!has_pos || !has_neg) {
    if (lane == 0) counts[0] = counts[1] = 0;
    return;
  }
  for (uint32_t i = lane; i < (SS_BLOCK_DIM + 2) * (SS_BLOCK_DIM + 2); i += SS_SIMD_WIDTH) s->cubes[i / (SS_BLOCK_DIM + 2)][i % (SS_BLOCK_DIM + 2)] = 0;
  ss_simd_sync();
  for (uint32_t i = lane; i < SS_BLOCK_DIM * SS_BLOCK_DIM; i += SS_SIMD_WIDTH) {
    uint32_t y = i % SS_BLOCK_DIM, z = i / SS_BLOCK_DIM;
    s->cubes[z + 1][y + 1] = mesh_cube_row(s->valid_row, y, z);
  }
  ss_simd_sync();
  for (uint32_t r = lane; r < rows; r += SS_SIMD_WIDTH) mesh_used_row(s->cubes, s->neg_row, r, s->used);
  ss_simd_sync();
  /* vertices: the 243 (axis, row) entries in lattice order, 8 consecutive per lane */
  const uint32_t entries = 3 * rows, per_lane = (entries + SS_SIMD_WIDTH - 1) / SS_SIMD_WIDTH;
  uint32_t mine = 0;
  for (uint32_t j = lane * per_lane; j < entries && j < (lane + 1) * per_lane; ++j) mine += ss_popcount(s->used[j / rows][j % rows]);
  uint32_t nv = ss_simd_prefix_exclusive_sum_u32(mine);
  uint32_t nv_total = ss_simd_sum_u32(mine);
  const float origin_x = (float)(bx * SS_BLOCK_DIM), origin_y = (float)(by * SS_BLOCK_DIM), origin_z = (float)(bz * SS_BLOCK_DIM);
  for (uint32_t j = lane * per_lane; j < entries && j < (lane + 1) * per_lane; ++j)
    nv = mesh_emit_row(a, s->nb, s->f, s->used[j / rows][j % rows], j / rows, j % rows, origin_x, origin_y, origin_z, pool, s->vidx, out_pos,
                       out_col, nv);
  /* every vertex number is written before any lane reads it */
  ss_simd_sync();
  /* triangles: the 64 cube rows in order (z, y), 2 consecutive per lane */
  uint32_t edge_key[12];
  mesh_edge_keys(edge_key);
  const uint32_t cube_rows = SS_BLOCK_DIM * SS_BLOCK_DIM, rows_per_lane = cube_rows / SS_SIMD_WIDTH;
  uint32_t count_mine = 0;
  for (uint32_t i = lane * rows_per_lane; i < (lane + 1) * rows_per_lane; ++i)
    count_mine += mesh_row_index_count(s->valid_row, s->neg_row, i % SS_BLOCK_DIM, i / SS_BLOCK_DIM);
  uint32_t ni = ss_simd_prefix_exclusive_sum_u32(count_mine);
  uint32_t ni_total = ss_simd_sum_u32(count_mine);
  for (uint32_t i = lane * rows_per_lane; i < (lane + 1) * rows_per_lane; ++i)
    ni = mesh_row_triangles(s->valid_row, s->neg_row, s->vidx, edge_key, i % SS_BLOCK_DIM, i / SS_BLOCK_DIM, out_idx, ni);
  if (lane == 0) {
    counts[0] = nv_total;
    counts[1] = ni_total;
  }
}

/* Copies one block's record from its worst-case regions to its place in the
 * mesh buffer: positions, colours zero-padded to 4 bytes, indices (the
 * MeshBlock sections). range: {byte_offset, vertices, indices, record_bytes};
 * thread t of n threads. */
ss_device_inline void tsdf_mesh_compact_block(ss_global const uint32_t* range, ss_global const float* spos, ss_global const uint8_t* scol,
                                              ss_global const uint32_t* sidx, ss_global uint8_t* mesh, uint32_t t, uint32_t n) {
  uint32_t nv = range[1], ni = range[2];
  if (range[3] == 0) return;
  ss_global float* pos = (ss_global float*)(mesh + range[0]);
  ss_global uint8_t* col = mesh + range[0] + 12u * nv;
  uint32_t cb = (3u * nv + 3u) & ~3u;
  ss_global uint32_t* idx = (ss_global uint32_t*)(col + cb);
  for (uint32_t i = t; i < 3 * nv; i += n) pos[i] = spos[i];
  for (uint32_t i = t; i < cb; i += n) col[i] = i < 3 * nv ? scol[i] : (uint8_t)0;
  for (uint32_t i = t; i < ni; i += n) idx[i] = sidx[i];
}

#endif
