/* marching cubes over one voxel block, reading +x/+y/+z neighbour blocks for the seam.
 * The helpers' address spaces are the SIMD-group body's (tsdf_mesh_simd.h): the
 * lattice and its bit rows are shared by the lanes (ss_shared: threadgroup
 * memory on Metal), vertices and indices go to device memory (ss_global); on
 * the CPU and CUDA both words are empty. */
#ifndef SS_KERNEL_TSDF_MESH_H
#define SS_KERNEL_TSDF_MESH_H

#include "mc_tables.h"

#define SS_MESH_LATTICE 9
#define SS_MESH_LATTICE_POINTS 729
/* per-block output bounds: vertices on lattice edges, 5 triangles per cube */
#define SS_MESH_MAX_BLOCK_VERTICES (3 * SS_MESH_LATTICE_POINTS)
#define SS_MESH_MAX_BLOCK_INDICES (SS_BLOCK_VOXELS * SS_MC_MAX_TRI_ENTRIES)

/* lattice coordinates as floats: a load instead of an int→float conversion per vertex axis */
ss_constant_table float SS_MESH_LATTICE_F[SS_MESH_LATTICE + 1] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f};

/* bytes of a block's mesh record: positions, colours padded to 4, indices */
ss_host_device_inline uint32_t ss_mesh_record_bytes(uint32_t nv, uint32_t ni) {
  return 12u * nv + ((3u * nv + 3u) & ~3u) + 4u * ni;
}

ss_device_inline uint32_t mesh_lattice_index(uint32_t x, uint32_t y, uint32_t z) {
  return (z * SS_MESH_LATTICE + y) * SS_MESH_LATTICE + x;
}

/* lattice row lx 0..7 from one block row: values (NaN where unobserved) and
 * bit masks of valid and negative points. A backend may supply a SIMD
 * version by defining SS_MESH_GATHER_ROW8 before including this header. */
#ifndef SS_MESH_GATHER_ROW8
ss_device_inline void mesh_gather_row8(float min_weight, ss_global const float* t, ss_global const float* w, ss_shared float* f,
                                       ss_thread uint32_t* vbits, ss_thread uint32_t* nbits) {
  uint32_t vb = 0, nbt = 0;
  for (uint32_t lx = 0; lx < 8; ++lx) {
    bool ok = w[lx] >= min_weight && w[lx] > 0.0f;
    f[lx] = ok ? t[lx] : SS_NAN;
    vb |= (ok ? 1u : 0u) << lx;
    nbt |= (ok && t[lx] < 0.0f ? 1u : 0u) << lx;
  }
  *vbits = vb;
  *nbits = nbt;
}
#define SS_MESH_GATHER_ROW8 mesh_gather_row8
#endif

/* voxel reference of lattice point (lx,ly,lz) through the neighbour slots */
ss_device_inline int32_t mesh_lattice_ref(ss_shared const int32_t* nb, uint32_t lx, uint32_t ly, uint32_t lz) {
  return nb[(lx >> 3) + 2 * (ly >> 3) + 4 * (lz >> 3)] * SS_BLOCK_VOXELS + (int32_t)((lx & 7) + 8 * (ly & 7) + 64 * (lz & 7));
}

/* colour of a vertex at fraction s from voxel ref0 to ref1 (rgb, rounded to
 * nearest even). A backend may supply a SIMD version by defining
 * SS_MESH_VERTEX_COLOR before including this header. */
#ifndef SS_MESH_VERTEX_COLOR
ss_device_inline void mesh_vertex_color(ss_global const float* pool, int32_t ref0, int32_t ref1, float s,
                                        ss_global uint8_t* col) {
  for (uint32_t k = 0; k < 3; ++k) {
    float a = (float)ss_vox_rgb(pool, ref0, k), b = (float)ss_vox_rgb(pool, ref1, k);
    col[k] = (uint8_t)ss_round_to_int(a + s * (b - a));
  }
}
#define SS_MESH_VERTEX_COLOR mesh_vertex_color
#endif

/* the vertex on the lattice edge from l0 = (px,py,pz) along axis: position
 * by linear interpolation of the TSDF, colour by the same weights (read only
 * for emitted vertices: most lattice points never need it) */
ss_device_inline void mesh_emit_vertex(const ss_tsdf_mesh_blocks_args args, ss_shared const int32_t* nb, ss_shared const float* f,
                                       uint32_t l0, uint32_t px, uint32_t py, uint32_t pz, uint32_t axis, float origin_x,
                                       float origin_y, float origin_z, ss_global const float* pool, ss_global float* pos,
                                       ss_global uint8_t* col) {
  uint32_t l1 = l0 + (axis == 0 ? 1u : axis == 1 ? (uint32_t)SS_MESH_LATTICE : (uint32_t)(SS_MESH_LATTICE * SS_MESH_LATTICE));
  float f0 = f[l0], f1 = f[l1];
  float s = f0 / (f0 - f1);
  float fx = SS_MESH_LATTICE_F[px], fy = SS_MESH_LATTICE_F[py], fz = SS_MESH_LATTICE_F[pz];
  if (axis == 0) fx += s;
  else if (axis == 1) fy += s;
  else fz += s;
  pos[0] = (origin_x + fx) * args.voxel_size;
  pos[1] = (origin_y + fy) * args.voxel_size;
  pos[2] = (origin_z + fz) * args.voxel_size;
  uint32_t qx = px + (axis == 0 ? 1u : 0u), qy = py + (axis == 1 ? 1u : 0u), qz = pz + (axis == 2 ? 1u : 0u);
  int32_t ref0 = mesh_lattice_ref(nb, px, py, pz), ref1 = mesh_lattice_ref(nb, qx, qy, qz);
  SS_MESH_VERTEX_COLOR(pool, ref0, ref1, s, col);
}

/* pass 2 for one row of used edges (axis, lattice row r): one vertex per
 * edge from x = 0 up, numbered from nv; vidx[3·l + axis] = its number.
 * Returns the next number. */
ss_device_inline uint32_t mesh_emit_row(const ss_tsdf_mesh_blocks_args args, ss_shared const int32_t* nb, ss_shared const float* f, uint32_t m,
                                        uint32_t axis, uint32_t r, float origin_x, float origin_y, float origin_z,
                                        ss_global const float* pool, ss_shared int32_t* vidx, ss_global float* out_pos,
                                        ss_global uint8_t* out_col, uint32_t nv) {
  for (; m != 0; m &= m - 1) {
    uint32_t px = ss_ctz(m), py = r % SS_MESH_LATTICE, pz = r / SS_MESH_LATTICE;
    uint32_t l0 = mesh_lattice_index(px, py, pz);
    vidx[3 * l0 + axis] = (int32_t)nv;
    mesh_emit_vertex(args, nb, f, l0, px, py, pz, axis, origin_x, origin_y, origin_z, pool, out_pos + 3 * nv, out_col + 3 * nv);
    ++nv;
  }
  return nv;
}

/* The serial forms below (the CPU's) keep the lattice in a thread's own
 * memory; on Metal the helpers above take it in threadgroup memory, where the
 * SIMD-group body (tsdf_mesh_simd.h) keeps it, so these are not compiled there. */
#ifndef SS_BACKEND_METAL_COMPILE
/* pass 2: one vertex per used lattice edge, in lattice order (axis, row,
 * x). Returns the count. A backend may supply a SIMD version by defining
 * SS_MESH_EMIT_VERTICES before including this header (it must give
 * bit-identical vertices). */
#ifndef SS_MESH_EMIT_VERTICES
ss_device_inline uint32_t mesh_emit_vertices(const ss_tsdf_mesh_blocks_args args, ss_thread const int32_t* nb, ss_thread const float* f,
                                             ss_thread const uint32_t (*used)[SS_MESH_LATTICE * SS_MESH_LATTICE], float origin_x,
                                             float origin_y, float origin_z, ss_global const float* pool, ss_thread int32_t* vidx,
                                             ss_thread float* out_pos, ss_thread uint8_t* out_col) {
  uint32_t nv = 0;
  for (uint32_t axis = 0; axis < 3; ++axis)
    for (uint32_t r = 0; r < SS_MESH_LATTICE * SS_MESH_LATTICE; ++r)
      nv = mesh_emit_row(args, nb, f, used[axis][r], axis, r, origin_x, origin_y, origin_z, pool, vidx, out_pos, out_col, nv);
  return nv;
}
#define SS_MESH_EMIT_VERTICES mesh_emit_vertices
#endif

#endif

/* the crossing cubes of lattice row r0 = z·9 + y, as bits x: a cube is
 * meshable when its 8 corners are valid, and crosses the surface when they
 * are neither all negative nor all positive (rows r0, r0+1, r0+9, r0+10 hold
 * its corners) */
ss_device_inline uint32_t mesh_row_cubes(ss_shared const uint32_t* valid_row, ss_shared const uint32_t* neg_row, uint32_t r0) {
  uint32_t r1 = r0 + 1, r2 = r0 + SS_MESH_LATTICE, r3 = r2 + 1;
  uint32_t v4 = valid_row[r0] & valid_row[r1] & valid_row[r2] & valid_row[r3];
  uint32_t n_and = neg_row[r0] & neg_row[r1] & neg_row[r2] & neg_row[r3];
  uint32_t n_or = neg_row[r0] | neg_row[r1] | neg_row[r2] | neg_row[r3];
  uint32_t cubes = v4 & (v4 >> 1) & 0xffu;
  uint32_t all_neg = n_and & (n_and >> 1);
  uint32_t any_neg = n_or | (n_or >> 1);
  return cubes & any_neg & ~all_neg;
}

/* marching-cubes config of cube x of row r0: corner c is inside when its lattice point is negative */
ss_device_inline uint32_t mesh_cube_config(ss_shared const uint32_t* neg_row, uint32_t r0, uint32_t x) {
  uint32_t r1 = r0 + 1, r2 = r0 + SS_MESH_LATTICE, r3 = r2 + 1;
  return ((neg_row[r0] >> x) & 3u) | (((neg_row[r1] >> x) & 3u) << 2) | (((neg_row[r2] >> x) & 3u) << 4) |
         (((neg_row[r3] >> x) & 3u) << 6);
}

/* the lattice edges that crossing cubes use, as bit rows per axis: used[a][r]
 * bit x is the edge from lattice point (x, r) along axis a. A cube's
 * marching-cubes edges are exactly its edges whose corners differ in sign
 * (SS_MC_EDGE_MASK), so an edge is used when its corners differ and a
 * meshable cube (8 valid corners) contains it: whole rows at a time, with no
 * per-cube loop. */
/* the meshable cubes of cube row (y, z) (8 observed corners), as bits x */
ss_device_inline uint32_t mesh_cube_row(ss_shared const uint32_t* valid_row, uint32_t y, uint32_t z) {
  uint32_t r0 = z * SS_MESH_LATTICE + y;
  uint32_t v4 = valid_row[r0] & valid_row[r0 + 1] & valid_row[r0 + SS_MESH_LATTICE] & valid_row[r0 + SS_MESH_LATTICE + 1];
  return v4 & (v4 >> 1) & 0xffu;
}

/* used[a][r] for lattice row r = lz·9 + ly, from the meshable cube rows at
 * cubes[z + 1][y + 1] (zero around them) */
ss_device_inline void mesh_used_row(ss_shared const uint32_t (*cubes)[SS_BLOCK_DIM + 2], ss_shared const uint32_t* neg_row, uint32_t r,
                                    ss_shared uint32_t (*used)[SS_MESH_LATTICE * SS_MESH_LATTICE]) {
  uint32_t ly = r % SS_MESH_LATTICE, lz = r / SS_MESH_LATTICE;
  /* cubes whose corner rows include this one: (ly, lz), (ly−1, lz), (ly, lz−1), (ly−1, lz−1) */
  uint32_t c00 = cubes[lz + 1][ly + 1], c10 = cubes[lz + 1][ly], c01 = cubes[lz][ly + 1], c11 = cubes[lz][ly];
  uint32_t n = neg_row[r];
  uint32_t cy = c00 | c01, cz = c00 | c10;
  used[0][r] = (n ^ (n >> 1)) & (cz | c01 | c11);
  /* rows are r = lz·9 + ly: +y is the next row, +z nine on */
  used[1][r] = ly < SS_BLOCK_DIM ? (n ^ neg_row[r + 1]) & (cy | (cy << 1)) : 0u;
  used[2][r] = lz < SS_BLOCK_DIM ? (n ^ neg_row[r + SS_MESH_LATTICE]) & (cz | (cz << 1)) : 0u;
}

#ifndef SS_BACKEND_METAL_COMPILE
ss_device_inline void mesh_used_edges(ss_thread const uint32_t* valid_row, ss_thread const uint32_t* neg_row,
                                      ss_thread uint32_t (*used)[SS_MESH_LATTICE * SS_MESH_LATTICE]) {
  uint32_t cubes[SS_BLOCK_DIM + 2][SS_BLOCK_DIM + 2];
  for (uint32_t z = 0; z < SS_BLOCK_DIM + 2; ++z)
    for (uint32_t y = 0; y < SS_BLOCK_DIM + 2; ++y) cubes[z][y] = 0;
  for (uint32_t z = 0; z < SS_BLOCK_DIM; ++z)
    for (uint32_t y = 0; y < SS_BLOCK_DIM; ++y) cubes[z + 1][y + 1] = mesh_cube_row(valid_row, y, z);
  for (uint32_t r = 0; r < SS_MESH_LATTICE * SS_MESH_LATTICE; ++r) mesh_used_row(cubes, neg_row, r, used);
}

#endif

/* lattice row (ly, lz), 9 points: values (NaN where unobserved) into f and
 * bit masks of valid and negative points; lx 0..7 from the block of this row
 * (a straight 8-float run), lx 8 from its +x neighbour */
ss_device_inline void mesh_gather_lattice_row(const ss_tsdf_mesh_blocks_args args, ss_shared const int32_t* nb, ss_global const float* pool,
                                              uint32_t ly, uint32_t lz, ss_shared float* f, ss_thread uint32_t* vbits_out,
                                              ss_thread uint32_t* nbits_out) {
  uint32_t li = mesh_lattice_index(0, ly, lz);
  uint32_t row = 2 * (ly >> 3) + 4 * (lz >> 3);
  uint32_t v0 = 8 * (ly & 7) + 64 * (lz & 7);
  uint32_t vbits = 0, nbits = 0;
  int32_t slot = nb[row];
  if (slot >= 0) {
    ss_global const float* t = pool + (uint64_t)slot * SS_BLOCK_FLOATS + v0;
    SS_MESH_GATHER_ROW8(args.min_weight, t, t + SS_BLOCK_VOXELS, f + li, &vbits, &nbits);
  } else {
    for (uint32_t lx = 0; lx < 8; ++lx) f[li + lx] = SS_NAN;
  }
  int32_t xslot = nb[row + 1];
  f[li + 8] = SS_NAN;
  if (xslot >= 0) {
    /* no branch on the values: whether a seam point is observed is as good as random */
    ss_global const float* t = pool + (uint64_t)xslot * SS_BLOCK_FLOATS + v0;
    float w = t[SS_BLOCK_VOXELS], v = t[0];
    uint32_t ok = (w >= args.min_weight && w > 0.0f) ? 1u : 0u;
    f[li + 8] = ok ? v : SS_NAN;
    vbits |= ok << 8;
    nbits |= (ok & (v < 0.0f ? 1u : 0u)) << 8;
  }
  *vbits_out = vbits;
  *nbits_out = nbits;
}

/* per cube edge e: key offset from the cube's lowest corner (3·lattice index + axis) */
ss_device_inline void mesh_edge_keys(ss_thread uint32_t* edge_key) {
  for (uint32_t e = 0; e < 12; ++e) {
    uint32_t c0 = (uint32_t)SS_MC_EDGE_CORNER[e][0];
    edge_key[e] = 3u * mesh_lattice_index(c0 & 1u, (c0 >> 1) & 1u, c0 >> 2) + (uint32_t)SS_MC_EDGE_AXIS[e];
  }
}

/* index entries of cube row (y, z)'s triangles */
ss_device_inline uint32_t mesh_row_index_count(ss_shared const uint32_t* valid_row, ss_shared const uint32_t* neg_row, uint32_t y,
                                               uint32_t z) {
  uint32_t r0 = z * SS_MESH_LATTICE + y, n = 0;
  for (uint32_t cubes = mesh_row_cubes(valid_row, neg_row, r0); cubes != 0; cubes &= cubes - 1)
    n += 3u * SS_MC_TRI_COUNT[mesh_cube_config(neg_row, r0, ss_ctz(cubes))];
  return n;
}

/* pass 3 for cube row (y, z): its triangles' vertex numbers from out_idx[ni] on; returns the next ni */
ss_device_inline uint32_t mesh_row_triangles(ss_shared const uint32_t* valid_row, ss_shared const uint32_t* neg_row,
                                             ss_shared const int32_t* vidx, ss_thread const uint32_t* edge_key, uint32_t y, uint32_t z,
                                             ss_global uint32_t* out_idx, uint32_t ni) {
  uint32_t r0 = z * SS_MESH_LATTICE + y;
  for (uint32_t cubes = mesh_row_cubes(valid_row, neg_row, r0); cubes != 0; cubes &= cubes - 1) {
    uint32_t x = ss_ctz(cubes);
    uint32_t config = mesh_cube_config(neg_row, r0, x);
    uint32_t base = 3u * mesh_lattice_index(x, y, z);
    uint32_t entries = 3u * SS_MC_TRI_COUNT[config];
    for (uint32_t t = 0; t < entries; ++t) out_idx[ni++] = (uint32_t)vidx[base + edge_key[SS_MC_TRIS[config][t]]];
  }
  return ni;
}

#ifndef SS_BACKEND_METAL_COMPILE
/* block: {bx,by,bz,slot}. Scratch: f[729], vidx[729*3].
 * Writes block-local vertices/indices and their counts. */
ss_device_inline void tsdf_mesh_block(const ss_tsdf_mesh_blocks_args args, ss_global const int32_t* block,
                                      ss_global const float* pool, ss_global const int32_t* hash,
                                      ss_thread float* f, ss_thread int32_t* vidx,
                                      ss_thread float* out_pos, ss_thread uint8_t* out_col, ss_thread uint32_t* out_idx,
                                      ss_thread uint32_t* n_vert, ss_thread uint32_t* n_idx) {
  int32_t bx = block[0], by = block[1], bz = block[2];
  int32_t nb[8];
  for (int32_t n = 0; n < 8; ++n) {
    nb[n] = n == 0 ? block[3] : ss_hash_find(hash, args.hash_mask, bx + (n & 1), by + ((n >> 1) & 1), bz + (n >> 2));
  }
  *n_vert = 0;
  *n_idx = 0;
  /* gather the 9³ lattice (own voxels plus the first layer of the neighbours)
   * and, per lattice row (ly, lz), bit masks of valid and of negative points */
  uint32_t valid_row[SS_MESH_LATTICE * SS_MESH_LATTICE], neg_row[SS_MESH_LATTICE * SS_MESH_LATTICE];
  uint32_t any_pos = 0, any_neg = 0;
  for (uint32_t lz = 0; lz < SS_MESH_LATTICE; ++lz)
    for (uint32_t ly = 0; ly < SS_MESH_LATTICE; ++ly) {
      uint32_t vbits, nbits;
      mesh_gather_lattice_row(args, nb, pool, ly, lz, f, &vbits, &nbits);
      valid_row[lz * SS_MESH_LATTICE + ly] = vbits;
      neg_row[lz * SS_MESH_LATTICE + ly] = nbits;
      any_pos |= vbits & ~nbits;
      any_neg |= nbits;
    }
  /* no zero crossing anywhere in the lattice: no surface (most blocks of the truncation band) */
  if (!any_pos || !any_neg) return;
  /* three passes, none with a data-dependent branch per edge: (1) the lattice
   * edges the crossing cubes use, as bit rows per axis; (2) one vertex per
   * used edge, in lattice order (so vidx needs no reset: every entry read in
   * (3) was written in (2)); (3) the triangles. */
  uint32_t used[3][SS_MESH_LATTICE * SS_MESH_LATTICE];
  mesh_used_edges(valid_row, neg_row, used);
  float origin_x = (float)(bx * SS_BLOCK_DIM), origin_y = (float)(by * SS_BLOCK_DIM), origin_z = (float)(bz * SS_BLOCK_DIM);
  uint32_t nv = SS_MESH_EMIT_VERTICES(args, nb, f, used, origin_x, origin_y, origin_z, pool, vidx, out_pos, out_col);
  uint32_t edge_key[12];
  mesh_edge_keys(edge_key);
  uint32_t ni = 0;
  for (uint32_t z = 0; z < SS_BLOCK_DIM; ++z)
    for (uint32_t y = 0; y < SS_BLOCK_DIM; ++y) ni = mesh_row_triangles(valid_row, neg_row, vidx, edge_key, y, z, out_idx, ni);
  *n_vert = nv;
  *n_idx = ni;
}

#endif

#endif
