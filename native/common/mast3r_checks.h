/* Argument checks of the MASt3R kernels, shared by every backend's launchers
 * (host code): the CPU, CUDA and Metal refuse bad input with the same status
 * and message before they launch anything. Include after status.h (the
 * backend's ss_context and ss_buffer). */
#ifndef SS_COMMON_MAST3R_CHECKS_H
#define SS_COMMON_MAST3R_CHECKS_H

#include "status.h"

#include <cmath>

/* descriptors up to this many dimensions (the CPU bodies keep a row on the stack) */
#define SS_MAST3R_MAX_DIM 256u
#define SS_MAST3R_INDEX_MAGIC 0x5849334du /* "M3IX", as MAST3R_INDEX_MAGIC */
/* as MAST3R_TRI_MAX_CAMS / MAST3R_MATCH_MAX_VIEWS in native/kernels/mast3r_triangulate.h */
#define SS_MAST3R_MAX_CAMS 64u

#define SS_M3_NEED(ctx, buf, bytes, name)                                                     \
  do {                                                                                        \
    if (!ss_check_buffer((ctx), (buf), (uint64_t)(bytes), (name))) return SS_ERR_INVALID_ARGUMENT; \
  } while (0)

/* floats of ss_mast3r_desc_index's output, the header's size rule (mast3r_index_floats) */
inline uint64_t ss_mast3r_index_floats(uint32_t width, uint32_t height, uint32_t dim) {
  uint64_t S = (uint64_t)((width + 31) / 32) * ((height + 31) / 32);
  uint64_t S16 = (S + 15) & ~(uint64_t)15;
  uint64_t d4 = (dim + 3) / 4;
  return 16 + (uint64_t)(dim + 2) * S16 + S * (dim + 2) * 16 + S * 16 * 64 * (uint64_t)(dim + 1) + 64 * S * 16 * (d4 + 1);
}

inline ss_status ss_check_mast3r_reciprocal_nn(ss_context* ctx, const ss_mast3r_reciprocal_nn_args& A, const ss_buffer* a,
                                               const ss_buffer* b, const ss_buffer* nn_a, const ss_buffer* nn_b) {
  if (A.n == 0 || A.m == 0)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_reciprocal_nn: empty input (n=%u, m=%u)", A.n, A.m);
  if (A.dim == 0 || A.dim > SS_MAST3R_MAX_DIM)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_reciprocal_nn: dim must be 1..%u, got %u", SS_MAST3R_MAX_DIM, A.dim);
  if (A.dist != SS_DIST_DOT && A.dist != SS_DIST_L2)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_reciprocal_nn: dist must be 0 (dot) or 1 (l2), got %u", A.dist);
  if (A.n > 0x7fffffffu || A.m > 0x7fffffffu)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_reciprocal_nn: more than 2^31-1 rows");
  SS_M3_NEED(ctx, a, (uint64_t)A.n * A.dim * 4, "a");
  SS_M3_NEED(ctx, b, (uint64_t)A.m * A.dim * 4, "b");
  SS_M3_NEED(ctx, nn_a, (uint64_t)A.n * 4, "nn_a");
  SS_M3_NEED(ctx, nn_b, (uint64_t)A.m * 4, "nn_b");
  return SS_OK;
}

inline ss_status ss_check_mast3r_desc_index(ss_context* ctx, const ss_mast3r_desc_index_args& A, const ss_buffer* map,
                                            const ss_buffer* index) {
  if (A.width == 0 || A.height == 0)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_desc_index: empty map %ux%u", A.width, A.height);
  if (A.dim == 0 || A.dim > SS_MAST3R_MAX_DIM)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_desc_index: dim must be 1..%u, got %u", SS_MAST3R_MAX_DIM, A.dim);
  if (A.dist != SS_DIST_DOT && A.dist != SS_DIST_L2)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_desc_index: dist must be 0 (dot) or 1 (l2), got %u", A.dist);
  uint64_t px = (uint64_t)A.width * A.height;
  if (px > 0x7fffffffu) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_desc_index: map too large");
  SS_M3_NEED(ctx, map, px * A.dim * 4, "map");
  SS_M3_NEED(ctx, index, ss_mast3r_index_floats(A.width, A.height, A.dim) * 4, "index");
  return SS_OK;
}

/* *run = false when there is nothing to do (count 0). host_qi, host_index: the host copies of
 * query_idx and db_index (read only after the buffers are known to be large enough) */
inline ss_status ss_check_mast3r_nn_query(ss_context* ctx, const ss_mast3r_nn_query_args& A, const ss_buffer* query_map,
                                          const ss_buffer* query_idx, const int32_t* host_qi, const ss_buffer* db_map,
                                          const ss_buffer* db_index, const uint32_t* host_index, const ss_buffer* out_idx,
                                          bool* run) {
  *run = false;
  if (A.dim == 0 || A.dim > SS_MAST3R_MAX_DIM)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_nn_query: dim must be 1..%u, got %u", SS_MAST3R_MAX_DIM, A.dim);
  if (A.width == 0 || A.height == 0 || A.db_width == 0 || A.db_height == 0)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_nn_query: empty map");
  if (A.dist != SS_DIST_DOT && A.dist != SS_DIST_L2)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_nn_query: dist must be 0 (dot) or 1 (l2), got %u", A.dist);
  if (A.count == 0) return SS_OK;
  uint64_t qpx = (uint64_t)A.width * A.height, dpx = (uint64_t)A.db_width * A.db_height;
  SS_M3_NEED(ctx, query_map, qpx * A.dim * 4, "query_map");
  SS_M3_NEED(ctx, query_idx, (uint64_t)A.count * 4, "query_idx");
  SS_M3_NEED(ctx, db_map, dpx * A.dim * 4, "db_map");
  SS_M3_NEED(ctx, db_index, ss_mast3r_index_floats(A.db_width, A.db_height, A.dim) * 4, "db_index");
  SS_M3_NEED(ctx, out_idx, (uint64_t)A.count * 4, "out_idx");
  const uint32_t* hdr = host_index;
  if (hdr[0] != SS_MAST3R_INDEX_MAGIC || hdr[1] != A.db_width || hdr[2] != A.db_height || hdr[3] != A.dim || hdr[4] != A.dist)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT,
                   "ss_mast3r_nn_query: db_index was not built by ss_mast3r_desc_index for this %ux%ux%u map with dist %u",
                   A.db_width, A.db_height, A.dim, A.dist);
  for (uint32_t i = 0; i < A.count; ++i)
    if (host_qi[i] < 0 || (uint64_t)host_qi[i] >= qpx)
      return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_nn_query: query_idx[%u] = %d is outside the %ux%u map", i, host_qi[i],
                     A.width, A.height);
  *run = true;
  return SS_OK;
}

inline ss_status ss_check_mast3r_triangulate(ss_context* ctx, const ss_mast3r_triangulate_args& a, const ss_buffer* pts2d,
                                             const ss_buffer* proj, const ss_buffer* out, uint64_t* n) {
  if (a.batch == 0 || a.cams == 0 || a.points == 0)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_triangulate: empty input (batch=%u, cams=%u, points=%u)", a.batch,
                   a.cams, a.points);
  if (a.cams > SS_MAST3R_MAX_CAMS)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_triangulate: at most %u cameras, got %u", SS_MAST3R_MAX_CAMS, a.cams);
  *n = (uint64_t)a.batch * a.points;
  if (*n > 0xffffffffu) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_triangulate: too many points");
  SS_M3_NEED(ctx, pts2d, (uint64_t)a.batch * a.cams * a.points * 8, "pts2d");
  SS_M3_NEED(ctx, proj, (uint64_t)a.batch * a.cams * 48, "proj");
  SS_M3_NEED(ctx, out, *n * 12, "out");
  return SS_OK;
}

inline ss_status ss_check_mast3r_matches_to_depths(ss_context* ctx, const ss_mast3r_matches_to_depths_args& a,
                                                   const ss_buffer* matches, const ss_buffer* cams, const ss_buffer* points,
                                                   const ss_buffer* depths, const ss_buffer* confs, uint64_t* n) {
  if (a.batch == 0 || a.views == 0 || a.width == 0 || a.height == 0)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_matches_to_depths: empty input (batch=%u, views=%u, %ux%u)", a.batch,
                   a.views, a.width, a.height);
  if (a.views > SS_MAST3R_MAX_CAMS)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_matches_to_depths: at most %u views, got %u", SS_MAST3R_MAX_CAMS,
                   a.views);
  *n = (uint64_t)a.batch * a.width * a.height;
  if (*n * a.views > 0xffffffffu)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_matches_to_depths: too many matches");
  SS_M3_NEED(ctx, matches, *n * a.views * 20, "matches");
  SS_M3_NEED(ctx, cams, (uint64_t)a.batch * ((a.views + 1) * 12 + 4) * 4, "cams");
  SS_M3_NEED(ctx, points, *n * 12, "points");
  SS_M3_NEED(ctx, depths, *n * 4, "depths");
  SS_M3_NEED(ctx, confs, *n * 4, "confs");
  return SS_OK;
}

inline ss_status ss_check_mast3r_refine_depths_tsdf(ss_context* ctx, const ss_mast3r_refine_depths_tsdf_args& a,
                                                    const ss_buffer* depths, const ss_buffer* confs, const ss_buffer* cams,
                                                    const ss_buffer* out, uint64_t* n) {
  if (a.images == 0 || a.width == 0 || a.height == 0)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_refine_depths_tsdf: empty input (%u images of %ux%u)", a.images,
                   a.width, a.height);
  if (a.samples == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_refine_depths_tsdf: samples must be >= 1");
  if (!(a.tau > 0.0f) || !std::isfinite(a.tau))
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_refine_depths_tsdf: tau must be a finite value > 0, got %g",
                   (double)a.tau);
  *n = (uint64_t)a.images * a.width * a.height;
  if (*n > 0xffffffffu) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_refine_depths_tsdf: too many pixels");
  SS_M3_NEED(ctx, depths, *n * 4, "depths");
  SS_M3_NEED(ctx, confs, *n * 4, "confs");
  SS_M3_NEED(ctx, cams, (uint64_t)a.images * 64, "cams");
  SS_M3_NEED(ctx, out, *n * 4, "out");
  return SS_OK;
}

inline ss_status ss_check_mast3r_similarity(ss_context* ctx, const ss_mast3r_similarity_args& a, const ss_buffer* desc1,
                                            const ss_buffer* desc2, const ss_buffer* out, uint64_t* total) {
  if (a.batch == 0 || a.n == 0 || a.m == 0 || a.dim == 0)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_similarity: empty input (batch=%u, n=%u, m=%u, dim=%u)", a.batch,
                   a.n, a.m, a.dim);
  *total = (uint64_t)a.batch * a.n * a.m;
  SS_M3_NEED(ctx, desc1, (uint64_t)a.batch * a.n * a.dim * 4, "desc1");
  SS_M3_NEED(ctx, desc2, (uint64_t)a.batch * a.m * a.dim * 4, "desc2");
  SS_M3_NEED(ctx, out, *total * 4, "out");
  return SS_OK;
}

inline ss_status ss_check_mast3r_infonce(ss_context* ctx, const ss_mast3r_infonce_args& a, const ss_buffer* desc1,
                                         const ss_buffer* desc2, const ss_buffer* loss, uint64_t* n) {
  if (a.batch == 0 || a.n == 0 || a.dim == 0)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_infonce: empty input (batch=%u, n=%u, dim=%u)", a.batch, a.n, a.dim);
  if (!(a.temperature > 0.0f) || !std::isfinite(a.temperature))
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_infonce: temperature must be > 0, got %g", (double)a.temperature);
  if (!(a.eps > 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_infonce: eps must be > 0");
  *n = (uint64_t)a.batch * a.n;
  SS_M3_NEED(ctx, desc1, *n * a.dim * 4, "desc1");
  SS_M3_NEED(ctx, desc2, *n * a.dim * 4, "desc2");
  SS_M3_NEED(ctx, loss, *n * 4, "loss");
  return SS_OK;
}

#endif
