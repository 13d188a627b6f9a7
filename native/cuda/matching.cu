/* CUDA launchers for reciprocal matching: the GPU bodies shared with Metal
 * (native/kernels/hamming_match_gpu.h, float_match_gpu.h), blocks of 64 rows;
 * per side one rows pass, then the match flags. */
#include "backend.cuh"
#include "../common/match_checks.h"
#include "hamming_match_gpu.h"
#include "float_match_gpu.h"

__global__ void __launch_bounds__(SS_HAM_ROWS) k_hamming_rows(uint32_t words, uint32_t nx, uint32_t ny, const uint32_t* X, const uint32_t* Y,
                                                              int32_t* out, uint32_t stride, uint32_t with_second) {
  SS_THREADGROUP_ARRAY(uint32_t, xs, SS_HAM_ROWS * SS_HAM_MAX_WORDS);
  SS_THREADGROUP_ARRAY(uint32_t, ys, SS_HAM_TILE * SS_HAM_MAX_WORDS);
  hamming_rows_group(nx, ny, words, blockIdx.x, threadIdx.x, X, Y, xs, ys, out, stride, with_second);
}

__global__ void k_hamming_finalize(const __grid_constant__ ss_hamming_match_args p, int32_t* out_a, const int32_t* out_b) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < p.n) hamming_finalize_row(p, i, out_a, out_b);
}

__global__ void k_float_match_row_max(uint32_t n, uint32_t m, uint32_t dim, const float* a, const float* b, float* a_max, float* b_max) {
  const uint64_t r = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (r < n) a_max[r] = float_match_row_max(a + r * dim, dim);
  else if (r < (uint64_t)n + m) b_max[r - n] = float_match_row_max(b + (r - n) * dim, dim);
}

__global__ void __launch_bounds__(SS_FM_ROWS) k_float_match_rows(uint32_t dim, uint32_t dot, uint32_t nx, uint32_t ny, uint32_t with_second,
                                                                 const float* X, const float* Y, const float* xmax, const float* ymax, uint64_t* res) {
  SS_THREADGROUP_ARRAY(float, xs, SS_FM_ROWS * SS_FM_CHUNK);
  SS_THREADGROUP_ARRAY(float, ys, SS_FM_TILE * SS_FM_CHUNK);
  float_match_rows_group(nx, ny, dim, dot != 0, with_second, blockIdx.x, threadIdx.x, X, Y, xmax, ymax, xs, ys, res);
}

__global__ void k_float_match_finalize(const __grid_constant__ ss_float_match_args p, const uint64_t* res_a, const uint64_t* res_b, int32_t* out_a,
                                       int32_t* out_b) {
  const uint64_t r = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (r < (uint64_t)p.n + p.m) float_match_finalize_row(p, (uint32_t)r, res_a, res_b, out_a, out_b);
}

static unsigned groups_for(uint32_t rows) { return (rows + 63u) / 64u; }

extern "C" {

SS_API ss_status ss_hamming_match(ss_context* ctx, const ss_hamming_match_args* args, ss_buffer* a, ss_buffer* b, ss_buffer* out_a,
                                  ss_buffer* out_b) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_hamming_match_args p = *args;
  SS_TRY(ss_check_hamming_match(ctx, p, a, b, out_a, out_b));
  const uint32_t* A = ss_dev<const uint32_t>(a);
  const uint32_t* B = ss_dev<const uint32_t>(b);
  int32_t* oa = ss_dev<int32_t>(out_a);
  int32_t* ob = ss_dev<int32_t>(out_b);
  k_hamming_rows<<<groups_for(p.n), SS_HAM_ROWS, 0, ctx->stream>>>(p.words, p.n, p.m, A, B, oa, 4, 1);
  k_hamming_rows<<<groups_for(p.m), SS_HAM_ROWS, 0, ctx->stream>>>(p.words, p.m, p.n, B, A, ob, 2, 0);
  k_hamming_finalize<<<ss_grid(p.n), 256, 0, ctx->stream>>>(p, oa, ob);
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_float_match(ss_context* ctx, const ss_float_match_args* args, ss_buffer* a, ss_buffer* b, ss_buffer* out_a,
                                ss_buffer* out_b) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_float_match_args p = *args;
  SS_TRY(ss_check_float_match(ctx, p, a, b, out_a, out_b));
  /* scratch in 256-byte aligned parts: max |x| per row of a, of b (floats); 3 × uint64 per row of a, of b */
  const auto part = [](uint64_t bytes) { return (bytes + 255) / 256 * 256; };
  const uint64_t b_max_at = part((uint64_t)p.n * 4), res_a_at = b_max_at + part((uint64_t)p.m * 4), res_b_at = res_a_at + part((uint64_t)p.n * 24);
  void* scratch = nullptr;
  SS_TRY(ss_cuda_scratch(ctx, SS_CUDA_SCRATCH_MATCH, res_b_at + (uint64_t)p.m * 24, &scratch, __func__));
  char* s = static_cast<char*>(scratch);
  float* a_max = reinterpret_cast<float*>(s);
  float* b_max = reinterpret_cast<float*>(s + b_max_at);
  uint64_t* res_a = reinterpret_cast<uint64_t*>(s + res_a_at);
  uint64_t* res_b = reinterpret_cast<uint64_t*>(s + res_b_at);
  const float* A = ss_dev<const float>(a);
  const float* B = ss_dev<const float>(b);
  const uint32_t dot = p.dist == SS_DIST_DOT ? 1u : 0u;
  const uint64_t rows = (uint64_t)p.n + p.m;
  /* the dot bound's max |x| (L2 bounds by the sum itself) */
  if (dot) k_float_match_row_max<<<ss_grid(rows), 256, 0, ctx->stream>>>(p.n, p.m, p.dim, A, B, a_max, b_max);
  k_float_match_rows<<<groups_for(p.n), SS_FM_ROWS, 0, ctx->stream>>>(p.dim, dot, p.n, p.m, 1, A, B, a_max, b_max, res_a);
  k_float_match_rows<<<groups_for(p.m), SS_FM_ROWS, 0, ctx->stream>>>(p.dim, dot, p.m, p.n, 0, B, A, b_max, a_max, res_b);
  k_float_match_finalize<<<ss_grid(rows), 256, 0, ctx->stream>>>(p, res_a, res_b, ss_dev<int32_t>(out_a), ss_dev<int32_t>(out_b));
  return ss_cuda_launched(ctx, __func__);
}

}  // extern "C"
