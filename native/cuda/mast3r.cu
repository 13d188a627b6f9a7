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
#include "mast3r_nn_tc_gpu.h"
#include "mast3r_similarity_gpu.h"

#include <cmath>
#include <cstdlib>

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
/* steps 2 and 3 a warp per row, column or work item (mast3r_nn_gpu.h); the re-scan's passes loop over
 * work items a block (8 warps) at a time */
constexpr uint32_t kWarpBlock = 256;
__global__ void __launch_bounds__(kWarpBlock) k_m3_merge_rows(const m3g_nn_params p, const float* A, const int32_t* gather, float* scratch,
                                                                  const float* stats, int32_t* out) {
  m3g_nn_merge_rows(p, (blockIdx.x * kWarpBlock + threadIdx.x) / 32u, threadIdx.x % 32u, A, gather, scratch, stats, out);
}
__global__ void __launch_bounds__(kWarpBlock) k_m3_merge_cols(const m3g_nn_params p, const float* B, float* scratch, const float* stats,
                                                                  int32_t* out) {
  m3g_nn_merge_cols(p, (blockIdx.x * kWarpBlock + threadIdx.x) / 32u, threadIdx.x % 32u, B, scratch, stats, out);
}
__global__ void __launch_bounds__(kWarpBlock) k_m3_rescan_best(const m3g_nn_params p, const float* A, const int32_t* gather, const float* B,
                                                              const float* scratch, const float* stats, uint32_t* rkey, int32_t* ridx) {
  const uint64_t total = (uint64_t)reinterpret_cast<const uint32_t*>(scratch)[p.list] * M3G_RESCAN_CHUNKS(p);
  for (uint64_t base = (uint64_t)blockIdx.x * 8u; base < total; base += (uint64_t)gridDim.x * 8u)
    m3g_nn_rescan_best(p, base + threadIdx.x / 32u, threadIdx.x % 32u, A, gather, B, scratch, stats, rkey, ridx);
}
__global__ void __launch_bounds__(kWarpBlock) k_m3_rescan_finish(const m3g_nn_params p, const float* scratch, const uint32_t* rkey,
                                                                const int32_t* ridx, int32_t* out_rows, int32_t* out_cols) {
  const uint32_t count = reinterpret_cast<const uint32_t*>(scratch)[p.list];
  for (uint32_t base = blockIdx.x * 8u; base < count; base += gridDim.x * 8u)
    m3g_nn_rescan_finish(p, base + threadIdx.x / 32u, threadIdx.x % 32u, scratch, rkey, ridx, out_rows, out_cols);
}

/* the tensor-core scan (mast3r_nn_tc_gpu.h): columns split once per call, then the rows against them */
__global__ void k_m3_tc_split(uint64_t words, uint32_t cols, uint32_t dim, uint32_t ks, const float* src, uint32_t* frag) {
  const uint64_t w = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (w < words) m3g_tc_split_word(w, cols, dim, ks, src, frag);
}
__global__ void k_m3_tc_split_g(uint32_t padded, uint32_t cols, uint32_t dim, const float* src, float* G) {
  const uint32_t c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c < padded) m3g_tc_split_g(c, cols, dim, src, G);
}
template <uint32_t KS>
__global__ void __launch_bounds__(M3TC_THREADS, 2) k_m3_tc_scan(const m3tc_params p, const float* A, const int32_t* gather,
                                                                const uint32_t* frag, const float* G, float* scratch) {
  extern __shared__ float4 sm4[];
  m3tc_scan<KS>(p, blockIdx.x, blockIdx.y, threadIdx.x, A, gather, frag, G, scratch, reinterpret_cast<float*>(sm4));
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
    cudaFuncSetAttribute(k_m3_tc_scan<1>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)(M3TC_SHARED_WORDS(1) * 4));
    cudaFuncSetAttribute(k_m3_tc_scan<2>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)(M3TC_SHARED_WORDS(2) * 4));
    cudaFuncSetAttribute(k_m3_tc_scan<3>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)(M3TC_SHARED_WORDS(3) * 4));
    cudaFuncSetAttribute(k_m3_tc_scan<4>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)(M3TC_SHARED_WORDS(4) * 4));
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

/* column splits: about `want` threadgroups in all (the last, partial wave costs little), each split at least
 * 4 tiles long */
void plan_splits(uint32_t row_blocks, uint32_t col_tiles, uint32_t want, uint32_t* splits, uint32_t* per) {
  uint32_t s = (want + row_blocks - 1) / row_blocks;
  uint32_t max_s = (col_tiles + 3) / 4;
  if (s > max_s) s = max_s;
  if (s < 1) s = 1;
  *per = (col_tiles + s - 1) / s;
  *splits = (col_tiles + *per - 1) / *per;
}

/* One nearest-neighbour call's launches and scratch: the tensor-core scan for descriptors of up
 * to 32 floats (SCANSTREAM_CUDA_FFMA=1 keeps the float32 FFMA tile step, to compare), the FFMA
 * one otherwise; then the merges and the re-scan of the ambiguous. Scratch words, in order:
 * `head` words of the caller's (stats, norm partials), row partials, column partials (recip),
 * the ambiguous list, then for the tensor cores each side's split columns and G. */
struct NnPlan {
  m3g_nn_params p = {};
  m3tc_params rows = {}, cols = {};
  uint64_t frag_b = 0, g_b = 0, frag_a = 0, g_a = 0;
  /* the re-scan's per (entry, chunk) best key (two words) and index */
  uint64_t rkey = 0, ridx = 0, words = 0;
};

bool tc_wanted(uint32_t dim) {
  const char* v = std::getenv("SCANSTREAM_CUDA_FFMA");
  return dim <= 8u * M3TC_MAX_KS && !(v && v[0] == '1');
}

/* rows × cols on the tensor cores */
m3tc_params tc_params(uint32_t rows, uint32_t cols, uint32_t dim, uint32_t dist, uint32_t gather) {
  m3tc_params t = {};
  t.rows = rows;
  t.cols = cols;
  t.dim = dim;
  t.dist = dist;
  t.ks = (dim + 7u) / 8u;
  t.gather = gather;
  t.row_blocks = (rows + M3TC_TM - 1u) / M3TC_TM;
  t.col_tiles = (cols + M3TC_TN - 1u) / M3TC_TN;
  /* 4 waves of 2 threadgroups per SM */
  plan_splits(t.row_blocks, t.col_tiles, (uint32_t)sm_count() * 8u, &t.splits, &t.tiles_per_split);
  return t;
}

NnPlan nn_plan(uint32_t n, uint32_t m, uint32_t dim, uint32_t dist, bool recip, bool gather, uint64_t head) {
  NnPlan P;
  m3g_nn_params& p = P.p;
  p.n = n;
  p.m = m;
  p.dim = dim;
  p.dist = dist;
  p.recip = recip ? 1u : 0u;
  p.gather = gather ? 1u : 0u;
  const bool tc = tc_wanted(dim);
  if (tc) {
    P.rows = tc_params(n, m, dim, dist, p.gather);
    p.splits = P.rows.splits;
    p.tc_ks = P.rows.ks;
    if (recip) {
      P.cols = tc_params(m, n, dim, dist, 0u);
      p.cp_entries = P.cols.splits;
    }
  } else {
    p.row_blocks = (n + M3T_TM - 1) / M3T_TM;
    p.col_tiles = (m + M3T_TN - 1) / M3T_TN;
    /* 8 waves of 2 threadgroups per SM */
    plan_splits(p.row_blocks, p.col_tiles, (uint32_t)sm_count() * 16u, &p.splits, &p.tiles_per_split);
  }
  const uint64_t rp_words = 3ull * p.splits * M3T_NN_RT * n;
  const uint64_t cp_words = recip ? 3ull * (tc ? p.cp_entries : p.row_blocks * M3T_NN_CT) * m : 0;
  uint64_t at = head;
  p.rp = (uint32_t)at;
  at += rp_words;
  p.cp = (uint32_t)at;
  at += cp_words;
  p.list = (uint32_t)at;
  at += 1ull + 2ull * M3G_LIST_CAP(p); /* count, entries, their best scores */
  auto take = [&at](uint64_t w) {
    at = (at + 3u) & ~3ull; /* 16-byte copies, 8-byte keys */
    const uint64_t r = at;
    at += w;
    return r;
  };
  const uint64_t items = (uint64_t)M3G_LIST_CAP(p) * M3G_RESCAN_CHUNKS(p);
  P.rkey = take(2 * items);
  P.ridx = take(items);
  if (tc) {
    const uint64_t pb = (uint64_t)P.rows.col_tiles * M3TC_TN;
    P.frag_b = take(pb * M3TC_COL_WORDS(P.rows.ks));
    P.g_b = take(pb);
    P.rows.out = p.rp;
    if (recip) {
      const uint64_t pa = (uint64_t)P.cols.col_tiles * M3TC_TN;
      P.frag_a = take(pa * M3TC_COL_WORDS(P.cols.ks));
      P.g_a = take(pa);
      P.cols.out = p.cp;
    }
  }
  P.words = at;
  return P;
}

void tc_scan(ss_context* ctx, const m3tc_params& t, const float* A, const int32_t* gather, const float* B, float* scratch, uint64_t frag_at,
             uint64_t g_at) {
  uint32_t* frag = reinterpret_cast<uint32_t*>(scratch + frag_at);
  float* G = scratch + g_at;
  const uint32_t padded = t.col_tiles * M3TC_TN;
  const uint64_t words = (uint64_t)padded * M3TC_COL_WORDS(t.ks);
  k_m3_tc_split<<<(uint32_t)((words + 255u) / 256u), 256, 0, ctx->stream>>>(words, t.cols, t.dim, t.ks, B, frag);
  if (t.dist == SS_DIST_L2) k_m3_tc_split_g<<<(padded + 255u) / 256u, 256, 0, ctx->stream>>>(padded, t.cols, t.dim, B, G);
  const dim3 grid(t.row_blocks, t.splits);
  const size_t shared = M3TC_SHARED_WORDS(t.ks) * 4;
  switch (t.ks) {
    case 1: k_m3_tc_scan<1><<<grid, M3TC_THREADS, shared, ctx->stream>>>(t, A, gather, frag, G, scratch); break;
    case 2: k_m3_tc_scan<2><<<grid, M3TC_THREADS, shared, ctx->stream>>>(t, A, gather, frag, G, scratch); break;
    case 3: k_m3_tc_scan<3><<<grid, M3TC_THREADS, shared, ctx->stream>>>(t, A, gather, frag, G, scratch); break;
    default: k_m3_tc_scan<4><<<grid, M3TC_THREADS, shared, ctx->stream>>>(t, A, gather, frag, G, scratch); break;
  }
}

void nn_launch(ss_context* ctx, const NnPlan& P, const float* A, const int32_t* gather, const float* B, float* scratch, const float* stats,
               int32_t* out_rows, int32_t* out_cols) {
  const m3g_nn_params& p = P.p;
  cudaMemsetAsync(scratch + p.list, 0, 4, ctx->stream);
  if (p.tc_ks) {
    tc_scan(ctx, P.rows, A, gather, B, scratch, P.frag_b, P.g_b);
    if (p.recip) tc_scan(ctx, P.cols, B, nullptr, A, scratch, P.frag_a, P.g_a);
  } else {
    k_m3_scan<<<dim3(p.row_blocks, p.splits), kThreads, p.recip ? kNnSharedRecip : kNnShared, ctx->stream>>>(p, A, gather, B, scratch);
  }
  k_m3_merge_rows<<<(uint32_t)(((uint64_t)p.n * 32u + kWarpBlock - 1u) / kWarpBlock), kWarpBlock, 0, ctx->stream>>>(p, A, gather, scratch,
                                                                                                                   stats, out_rows);
  if (p.recip)
    k_m3_merge_cols<<<(uint32_t)(((uint64_t)p.m * 32u + kWarpBlock - 1u) / kWarpBlock), kWarpBlock, 0, ctx->stream>>>(p, B, scratch, stats,
                                                                                                                     out_cols);
  uint32_t* rkey = reinterpret_cast<uint32_t*>(scratch + P.rkey);
  int32_t* ridx = reinterpret_cast<int32_t*>(scratch + P.ridx);
  const uint32_t grid = (uint32_t)sm_count() * 8u;
  k_m3_rescan_best<<<grid, kWarpBlock, 0, ctx->stream>>>(p, A, gather, B, scratch, stats, rkey, ridx);
  k_m3_rescan_finish<<<grid, kWarpBlock, 0, ctx->stream>>>(p, scratch, rkey, ridx, out_rows, out_cols);
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
  const uint32_t ga = (A.n + kThreads - 1) / kThreads, gb = (A.m + kThreads - 1) / kThreads;
  /* words: stats (amax, bmax) | norm partials | the plan's */
  const uint64_t part_at = 2;
  NnPlan P = nn_plan(A.n, A.m, A.dim, A.dist, true, false, part_at + ga + gb);
  if (P.words > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_reciprocal_nn: n x m too large for one call");
  P.p.omax_row = 1; /* B's largest norm bounds a row's scores */
  P.p.omax_col = 0;
  Scratch s(ctx);
  SS_TRY(s.alloc(__func__, P.words));
  const float* pa = ss_dev<float>(a);
  const float* pb = ss_dev<float>(b);
  k_m3_maxnorm<<<ga, kThreads, 0, ctx->stream>>>(A.n, A.dim, pa, s.p + part_at);
  k_m3_maxnorm<<<gb, kThreads, 0, ctx->stream>>>(A.m, A.dim, pb, s.p + part_at + ga);
  k_m3_maxreduce<<<1, kThreads, 0, ctx->stream>>>(ga, s.p + part_at, s.p);
  k_m3_maxreduce<<<1, kThreads, 0, ctx->stream>>>(gb, s.p + part_at + ga, s.p + 1);
  nn_launch(ctx, P, pa, reinterpret_cast<const int32_t*>(pa), pb, s.p, s.p, ss_dev<int32_t>(nn_a), ss_dev<int32_t>(nn_b));
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
  NnPlan P = nn_plan(A.count, A.db_width * A.db_height, A.dim, A.dist, false, true, 0);
  if (P.words > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_mast3r_nn_query: count x db pixels too large for one call");
  P.p.omax_row = 8; /* the index header's largest norm */
  Scratch s(ctx);
  SS_TRY(s.alloc(__func__, P.words));
  int32_t* out = ss_dev<int32_t>(out_idx);
  nn_launch(ctx, P, ss_dev<float>(query_map), ss_dev<int32_t>(query_idx), ss_dev<float>(db_map), s.p, ss_dev<float>(db_index), out, out);
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
  plan_splits(a.batch * p.row_blocks, p.col_tiles, (uint32_t)sm_count() * 16u, &p.splits, &p.tiles_per_split);
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
