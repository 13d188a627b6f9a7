/* CUDA launchers for the MASt3R kernels. The bodies are the shared ones:
 * per element (mast3r_depthmap.h, mast3r_triangulate.h, mast3r_tsdf.h in
 * float64) and GPU-shaped (mast3r_nn_gpu.h, mast3r_similarity_gpu.h over the
 * tile step of mast3r_tile_gpu.h), the same Metal runs; these kernels only
 * bind arguments. Scratch comes from the stream-ordered pool (kept between
 * calls, so a call allocates nothing after the first). */
#include "backend.cuh"
#include "../common/checks.h"
#include "../common/mast3r_checks.h"
#include "mast3r_real.h"
#include "mast3r_depthmap.h"
#include "mast3r_triangulate.h"
#include "mast3r_tsdf.h"
#include "mast3r_gpu_params.h"
#include "mast3r_tile_gpu.h"
#include "mast3r_nn_gpu.h"
#include "mast3r_similarity_gpu.h"

#include <cmath>

namespace {

constexpr uint32_t kThreads = M3T_THREADS;
constexpr size_t kTileShared = M3T_SHARED_FLOATS * sizeof(float);
/* the nearest-neighbour scan keeps no score tile: As, Bs and G_b (two of each with M3T_NN_PIPELINE),
 * G_a and, for the reciprocal, the column partials (mast3r_nn_gpu.h) */
constexpr size_t kNnShared = M3T_NN_SHARED_FLOATS(0u) * sizeof(float);
constexpr size_t kNnSharedRecip = M3T_NN_SHARED_FLOATS(1u) * sizeof(float);

__global__ void k_m3_depthmap(const ss_mast3r_depthmap_to_pts3d_args a, uint64_t n, const float* depth, const float* intr, float* pts,
                              uint8_t* valid) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) mast3r_depthmap_pixel(a, (uint32_t)i, depth, intr, pts, valid);
}
__global__ void k_m3_triangulate(const ss_mast3r_triangulate_args a, uint64_t n, const float* pts2d, const float* proj, float* out) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) mast3r_triangulate_point(a, (uint32_t)i, pts2d, proj, out);
}
__global__ void k_m3_matches(const ss_mast3r_matches_to_depths_args a, uint64_t n, const float* m, const float* cams, float* pts,
                             float* depths, float* confs) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) mast3r_matches_depth_pixel(a, (uint32_t)i, m, cams, pts, depths, confs);
}
__global__ void k_m3_tsdf(const ss_mast3r_refine_depths_tsdf_args a, uint64_t n, const float* d, const float* c, const float* cams,
                          float* out) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) mast3r_tsdf_refine_pixel(a, (uint32_t)i, d, c, cams, out);
}

__global__ void __launch_bounds__(kThreads) k_m3_maxnorm(uint32_t rows, uint32_t dim, const float* src, float* partial) {
  __shared__ float red[kThreads];
  m3g_max_norm(blockIdx.x, threadIdx.x, kThreads, rows, dim, src, red, partial);
}
__global__ void __launch_bounds__(kThreads) k_m3_maxreduce(uint32_t count, const float* partial, float* target) {
  __shared__ float red[kThreads];
  m3g_max_reduce(threadIdx.x, kThreads, count, partial, red, target);
}
__global__ void __launch_bounds__(kThreads, 2) k_m3_scan(const m3g_nn_params p, const float* A, const int32_t* gather, const float* B,
                                                      float* scratch) {
  extern __shared__ float4 sm4[];
  m3g_nn_scan(p, blockIdx.x, blockIdx.y, threadIdx.x, A, gather, B, scratch, reinterpret_cast<float*>(sm4));
}
__global__ void k_m3_merge_rows(const m3g_nn_params p, const float* A, const int32_t* gather, float* scratch, const float* stats,
                                int32_t* out) {
  m3g_nn_merge_rows(p, blockIdx.x * blockDim.x + threadIdx.x, A, gather, scratch, stats, out);
}
__global__ void k_m3_merge_cols(const m3g_nn_params p, const float* B, float* scratch, const float* stats, int32_t* out) {
  m3g_nn_merge_cols(p, blockIdx.x * blockDim.x + threadIdx.x, B, scratch, stats, out);
}
__global__ void __launch_bounds__(kThreads) k_m3_rescan(const m3g_nn_params p, const float* A, const int32_t* gather, const float* B,
                                                        const float* scratch, const float* stats, int32_t* out_rows,
                                                        int32_t* out_cols) {
  __shared__ float redf[kThreads];
  __shared__ uint32_t redh[kThreads], redl[kThreads];
  __shared__ int32_t redi[kThreads];
  m3g_nn_rescan(p, blockIdx.x, threadIdx.x, kThreads, A, gather, B, scratch, stats, out_rows, out_cols, redf, redh, redl, redi);
}
__global__ void __launch_bounds__(kThreads) k_m3_sim_scan(const m3g_sim_params p, const float* D1, const float* D2, float* out) {
  extern __shared__ float4 sm4[];
  m3g_sim_scan(p, blockIdx.x, blockIdx.y, threadIdx.x, D1, D2, out, reinterpret_cast<float*>(sm4));
}
__global__ void k_m3_infonce(const m3g_infonce_params p, const float* D1, const float* D2, const float* part, float* loss) {
  m3g_infonce_pair(p, blockIdx.x * blockDim.x + threadIdx.x, D1, D2, part, loss);
}

/* the device's SM count and the opt-in shared memory of the tile kernels, once per process */
int sm_count() {
  static int count = 0;
  if (count == 0) {
    int dev = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, dev);
    if (count <= 0) count = 1;
    cudaFuncSetAttribute(k_m3_scan, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)kNnSharedRecip);
    cudaFuncSetAttribute(k_m3_sim_scan, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)kTileShared);
    /* keep freed scratch in the stream-ordered pool instead of returning it at every synchronisation */
    cudaMemPool_t pool;
    if (cudaDeviceGetDefaultMemPool(&pool, dev) == cudaSuccess) {
      uint64_t keep = UINT64_MAX;
      cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
    }
  }
  return count;
}

/* a call's scratch, back to the pool when the call ends */
struct Scratch {
  ss_context* ctx;
  float* p = nullptr;
  explicit Scratch(ss_context* c) : ctx(c) {}
  ss_status alloc(const char* fn, uint64_t words) {
    if (cudaMallocAsync(reinterpret_cast<void**>(&p), (words ? words : 1) * 4, ctx->stream) != cudaSuccess) {
      cudaGetLastError();
      p = nullptr;
      return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "%s: cannot allocate %llu bytes of GPU scratch", fn, (unsigned long long)words * 4);
    }
    return SS_OK;
  }
  ~Scratch() {
    if (p) cudaFreeAsync(p, ctx->stream);
  }
};

/* column splits: enough threadgroups for 8 waves of 2 per SM (the last, partial wave costs little), each split at
 * least 4 tiles long */
void plan_splits(uint32_t row_blocks, uint32_t col_tiles, uint32_t* splits, uint32_t* per) {
  uint32_t want = (uint32_t)sm_count() * 16;
  uint32_t s = (want + row_blocks - 1) / row_blocks;
  uint32_t max_s = (col_tiles + 3) / 4;
  if (s > max_s) s = max_s;
  if (s < 1) s = 1;
  *per = (col_tiles + s - 1) / s;
  *splits = (col_tiles + *per - 1) / *per;
}

/* the tiled scan, the merges and the re-scan of the ambiguous (scratch laid out by the caller) */
void nn_launch(ss_context* ctx, const m3g_nn_params& p, const float* A, const int32_t* gather, const float* B, float* scratch,
               const float* stats, int32_t* out_rows, int32_t* out_cols) {
  cudaMemsetAsync(scratch + p.list, 0, 4, ctx->stream);
  k_m3_scan<<<dim3(p.row_blocks, p.splits), kThreads, p.recip ? kNnSharedRecip : kNnShared, ctx->stream>>>(p, A, gather, B, scratch);
  k_m3_merge_rows<<<ss_grid(p.n), 256, 0, ctx->stream>>>(p, A, gather, scratch, stats, out_rows);
  if (p.recip) k_m3_merge_cols<<<ss_grid(p.m), 256, 0, ctx->stream>>>(p, B, scratch, stats, out_cols);
  k_m3_rescan<<<p.groups, kThreads, 0, ctx->stream>>>(p, A, gather, B, scratch, stats, out_rows, out_cols);
}

m3g_nn_params nn_params(uint32_t n, uint32_t m, uint32_t dim, uint32_t dist) {
  m3g_nn_params p = {};
  p.n = n;
  p.m = m;
  p.dim = dim;
  p.dist = dist;
  p.row_blocks = (n + M3T_TM - 1) / M3T_TM;
  p.col_tiles = (m + M3T_TN - 1) / M3T_TN;
  plan_splits(p.row_blocks, p.col_tiles, &p.splits, &p.tiles_per_split);
  p.groups = (uint32_t)sm_count() * 2;
  return p;
}

}  // namespace

extern "C" {

SS_API ss_status ss_mast3r_depthmap_to_pts3d(ss_context* ctx, const ss_mast3r_depthmap_to_pts3d_args* args, ss_buffer* depth,
                                             ss_buffer* intrinsics, ss_buffer* points, ss_buffer* valid) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_depthmap_to_pts3d_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_depthmap_to_pts3d(ctx, a, depth, intrinsics, intrinsics ? ss_host<float>(intrinsics) : nullptr, points, valid, &n));
  k_m3_depthmap<<<ss_grid(n), 256, 0, ctx->stream>>>(a, n, ss_dev<float>(depth), ss_dev<float>(intrinsics), ss_dev<float>(points),
                                                     ss_dev<uint8_t>(valid));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_mast3r_triangulate(ss_context* ctx, const ss_mast3r_triangulate_args* args, ss_buffer* pts2d, ss_buffer* proj,
                                       ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_triangulate_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_triangulate(ctx, a, pts2d, proj, out, &n));
  /* 128 threads: each keeps its float64 system (up to 128 × 4) in local memory */
  k_m3_triangulate<<<ss_grid(n, 128), 128, 0, ctx->stream>>>(a, n, ss_dev<float>(pts2d), ss_dev<float>(proj), ss_dev<float>(out));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_mast3r_matches_to_depths(ss_context* ctx, const ss_mast3r_matches_to_depths_args* args, ss_buffer* matches,
                                             ss_buffer* cams, ss_buffer* points, ss_buffer* depths, ss_buffer* confs) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_matches_to_depths_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_matches_to_depths(ctx, a, matches, cams, points, depths, confs, &n));
  k_m3_matches<<<ss_grid(n, 128), 128, 0, ctx->stream>>>(a, n, ss_dev<float>(matches), ss_dev<float>(cams), ss_dev<float>(points),
                                                          ss_dev<float>(depths), ss_dev<float>(confs));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_mast3r_refine_depths_tsdf(ss_context* ctx, const ss_mast3r_refine_depths_tsdf_args* args, ss_buffer* depths,
                                              ss_buffer* confs, ss_buffer* cams, ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_refine_depths_tsdf_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_refine_depths_tsdf(ctx, a, depths, confs, cams, out, &n));
  k_m3_tsdf<<<ss_grid(n, 128), 128, 0, ctx->stream>>>(a, n, ss_dev<float>(depths), ss_dev<float>(confs), ss_dev<float>(cams),
                                                       ss_dev<float>(out));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_mast3r_reciprocal_nn(ss_context* ctx, const ss_mast3r_reciprocal_nn_args* args, ss_buffer* a, ss_buffer* b,
                                         ss_buffer* nn_a, ss_buffer* nn_b) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_reciprocal_nn_args A = *args;
  SS_TRY(ss_check_mast3r_reciprocal_nn(ctx, A, a, b, nn_a, nn_b));
  m3g_nn_params p = nn_params(A.n, A.m, A.dim, A.dist);
  p.recip = 1;
  const uint32_t ga = (A.n + kThreads - 1) / kThreads, gb = (A.m + kThreads - 1) / kThreads;
  /* words: stats (amax, bmax) | norm partials | row partials | column partials | list */
  const uint64_t rp_words = 3ull * p.splits * M3T_NN_RT * A.n, cp_words = 3ull * p.row_blocks * M3T_NN_CT * A.m;
  const uint64_t part_at = 2, rp_at = part_at + ga + gb, cp_at = rp_at + rp_words, list_at = cp_at + cp_words;
  const uint64_t words = list_at + 1 + (uint64_t)A.n + A.m;
  if (words > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_reciprocal_nn: n x m too large for one call");
  p.rp = (uint32_t)rp_at;
  p.cp = (uint32_t)cp_at;
  p.list = (uint32_t)list_at;
  p.omax_row = 1; /* B's largest norm bounds a row's scores */
  p.omax_col = 0;
  Scratch s(ctx);
  SS_TRY(s.alloc(__func__, words));
  const float* pa = ss_dev<float>(a);
  const float* pb = ss_dev<float>(b);
  k_m3_maxnorm<<<ga, kThreads, 0, ctx->stream>>>(A.n, A.dim, pa, s.p + part_at);
  k_m3_maxnorm<<<gb, kThreads, 0, ctx->stream>>>(A.m, A.dim, pb, s.p + part_at + ga);
  k_m3_maxreduce<<<1, kThreads, 0, ctx->stream>>>(ga, s.p + part_at, s.p);
  k_m3_maxreduce<<<1, kThreads, 0, ctx->stream>>>(gb, s.p + part_at + ga, s.p + 1);
  nn_launch(ctx, p, pa, reinterpret_cast<const int32_t*>(pa), pb, s.p, s.p, ss_dev<int32_t>(nn_a), ss_dev<int32_t>(nn_b));
  return ss_cuda_launched(ctx, __func__);
}

/* The GPU scans the whole db map for every query (no tile bounds to skip with: a brute-force
 * pass is a few ms here), so the index holds the header and the map's largest norm only;
 * the header goes to the host mirror as well, where ss_mast3r_nn_query checks it. */
SS_API ss_status ss_mast3r_desc_index(ss_context* ctx, const ss_mast3r_desc_index_args* args, ss_buffer* map, ss_buffer* index) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_desc_index_args A = *args;
  SS_TRY(ss_check_mast3r_desc_index(ctx, A, map, index));
  const uint32_t px = A.width * A.height;
  uint32_t* hdr = ss_host<uint32_t>(index);
  for (int i = 0; i < 16; ++i) hdr[i] = 0;
  hdr[0] = SS_MAST3R_INDEX_MAGIC;
  hdr[1] = A.width;
  hdr[2] = A.height;
  hdr[3] = A.dim;
  hdr[4] = A.dist;
  cudaMemcpyAsync(index->device, hdr, 64, cudaMemcpyHostToDevice, ctx->stream);
  const uint32_t groups = (px + kThreads - 1) / kThreads;
  Scratch s(ctx);
  SS_TRY(s.alloc(__func__, groups));
  k_m3_maxnorm<<<groups, kThreads, 0, ctx->stream>>>(px, A.dim, ss_dev<float>(map), s.p);
  k_m3_maxreduce<<<1, kThreads, 0, ctx->stream>>>(groups, s.p, ss_dev<float>(index) + 8);
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_mast3r_nn_query(ss_context* ctx, const ss_mast3r_nn_query_args* args, ss_buffer* query_map, ss_buffer* query_idx,
                                    ss_buffer* db_map, ss_buffer* db_index, ss_buffer* out_idx) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_nn_query_args A = *args;
  bool run = false;
  SS_TRY(ss_check_mast3r_nn_query(ctx, A, query_map, query_idx, query_idx ? ss_host<int32_t>(query_idx) : nullptr, db_map, db_index,
                                  db_index ? ss_host<uint32_t>(db_index) : nullptr, out_idx, &run));
  if (!run) return SS_OK;
  m3g_nn_params p = nn_params(A.count, A.db_width * A.db_height, A.dim, A.dist);
  p.gather = 1;
  p.omax_row = 8; /* the index header's largest norm */
  const uint64_t rp_words = 3ull * p.splits * M3T_NN_RT * A.count;
  p.rp = 0;
  p.list = (uint32_t)rp_words;
  Scratch s(ctx);
  SS_TRY(s.alloc(__func__, rp_words + 1 + A.count));
  int32_t* out = ss_dev<int32_t>(out_idx);
  nn_launch(ctx, p, ss_dev<float>(query_map), ss_dev<int32_t>(query_idx), ss_dev<float>(db_map), s.p, ss_dev<float>(db_index), out, out);
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_mast3r_similarity(ss_context* ctx, const ss_mast3r_similarity_args* args, ss_buffer* desc1, ss_buffer* desc2,
                                      ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_similarity_args a = *args;
  uint64_t total = 0;
  SS_TRY(ss_check_mast3r_similarity(ctx, a, desc1, desc2, out, &total));
  m3g_sim_params p = {};
  p.batch = a.batch;
  p.n = a.n;
  p.m = a.m;
  p.dim = a.dim;
  p.euc = a.euc;
  p.row_blocks = (a.n + M3T_TM - 1) / M3T_TM;
  p.col_tiles = (a.m + M3T_TN - 1) / M3T_TN;
  /* one tile per threadgroup: the output is what costs */
  p.tiles_per_split = 1;
  p.splits = p.col_tiles;
  if ((uint64_t)a.batch * p.row_blocks > 0x7fffffffu || p.splits > 65535)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_similarity: too many tiles for one call");
  sm_count();
  k_m3_sim_scan<<<dim3(a.batch * p.row_blocks, p.splits), kThreads, kTileShared, ctx->stream>>>(p, ss_dev<float>(desc1), ss_dev<float>(desc2),
                                                                                               ss_dev<float>(out));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_mast3r_infonce(ss_context* ctx, const ss_mast3r_infonce_args* args, ss_buffer* desc1, ss_buffer* desc2, ss_buffer* loss) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_infonce_args a = *args;
  uint64_t rows = 0;
  SS_TRY(ss_check_mast3r_infonce(ctx, a, desc1, desc2, loss, &rows));
  m3g_sim_params p = {};
  p.batch = a.batch;
  p.n = a.n;
  p.m = a.n;
  p.dim = a.dim;
  p.euc = a.euc;
  p.lse = 1;
  p.row_blocks = (a.n + M3T_TM - 1) / M3T_TM;
  p.col_tiles = (a.n + M3T_TN - 1) / M3T_TN;
  plan_splits(a.batch * p.row_blocks, p.col_tiles, &p.splits, &p.tiles_per_split);
  p.inv_t = 1.0f / a.temperature;
  const uint64_t entries = (uint64_t)p.splits * M3T_RT, half = 3 * entries * rows;
  if (2 * half > 0xffffffffull || (uint64_t)a.batch * p.row_blocks > 0x7fffffffu)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_infonce: batch x n too large for one call");
  Scratch s(ctx);
  SS_TRY(s.alloc(__func__, 2 * half));
  const float* d1 = ss_dev<float>(desc1);
  const float* d2 = ss_dev<float>(desc2);
  /* rows: desc1 against desc2; columns: desc2 against desc1 */
  p.lp = 0;
  k_m3_sim_scan<<<dim3(a.batch * p.row_blocks, p.splits), kThreads, kTileShared, ctx->stream>>>(p, d1, d2, s.p);
  p.lp = (uint32_t)half;
  k_m3_sim_scan<<<dim3(a.batch * p.row_blocks, p.splits), kThreads, kTileShared, ctx->stream>>>(p, d2, d1, s.p);
  m3g_infonce_params q = {};
  q.batch = a.batch;
  q.n = a.n;
  q.dim = a.dim;
  q.euc = a.euc;
  q.entries = (uint32_t)entries;
  q.lp_row = 0;
  q.lp_col = (uint32_t)half;
  q.inv_t = p.inv_t;
  q.log_eps = (float)std::log((double)a.eps);
  k_m3_infonce<<<ss_grid(rows), 256, 0, ctx->stream>>>(q, d1, d2, s.p, ss_dev<float>(loss));
  return ss_cuda_launched(ctx, __func__);
}

}  // extern "C"
