/* CUDA launchers for the dense-tracking kernels: gray conversion and the
 * guided model ray-cast one thread per pixel, the ICP reduction as Metal runs
 * it (native/kernels/icp_reduce_gpu.h: float-float sums per thread, a fixed
 * tree per block of 64 threads over 8 rows), the blocks' partials then added
 * in float64 in block order on the GPU — what Metal's host does — so CUDA and
 * Metal give the same sums. */
#include "backend.cuh"
#include "../common/checks.h"
#include "vec3.h"
#include "gray.h"
#include "tsdf_common.h"
#include "tsdf_raycast.h"
#include "raycast_guided.h"
#include "icp_reduce.h"
#include "icp_reduce_gpu.h"

/* threads per block of k_icp_reduce (a power of two: the tree halves it) and rows per block, as Metal's host */
#define SS_ICP_THREADS 64
#define SS_ICP_ROWS 8

__global__ void k_rgb_to_gray(uint32_t n, const uint8_t* rgb, uint8_t* gray) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) rgb_to_gray_pixel(i, rgb, gray);
}

__global__ void k_raycast_guided(const ss_tsdf_raycast_guided_args a, uint32_t n, const float* pool, const int32_t* hash, const float* prior,
                                 float* depth, float* normals, uint8_t* gray) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) tsdf_raycast_guided_pixel(a, i, pool, hash, prior, depth, normals, gray);
}

__global__ void __launch_bounds__(SS_ICP_THREADS) k_icp_reduce(const ss_icp_reduce_args a, const float* cur_points, const float* cur_normals,
                                                               const uint8_t* cur_gray, const float* ref_points, const float* ref_normals,
                                                               const uint8_t* ref_gray, float* partials) {
  SS_THREADGROUP_ARRAY(float, tree, 2 * SS_ICP_TERMS * SS_ICP_THREADS);
  icp_reduce_group(a, blockIdx.x, SS_ICP_ROWS, threadIdx.x, blockDim.x, cur_points, cur_normals, cur_gray, ref_points, ref_normals, ref_gray, tree,
                   partials);
}

/* thread k: out[k] = Σ over blocks, in block order, of (double)hi + (double)lo — Metal's host loop */
__global__ void k_icp_finish(uint32_t groups, const float* partials, double* out) {
  const uint32_t k = threadIdx.x;
  if (k >= SS_ICP_TERMS) return;
  double sum = 0.0;
  for (uint32_t g = 0; g < groups; ++g)
    sum = __dadd_rn(sum, __dadd_rn((double)partials[2 * SS_ICP_TERMS * g + k], (double)partials[2 * SS_ICP_TERMS * g + SS_ICP_TERMS + k]));
  out[k] = sum;
}

extern "C" {

SS_API ss_status ss_rgb_to_gray(ss_context* ctx, const ss_rgb_to_gray_args* args, ss_buffer* rgb, ss_buffer* gray) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_rgb_to_gray_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_rgb_to_gray(ctx, a, rgb, gray, &n));
  if (n == 0) return SS_OK;
  if (n > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: %llu pixels do not fit 32-bit indices", __func__, (unsigned long long)n);
  k_rgb_to_gray<<<ss_grid(n), 256, 0, ctx->stream>>>((uint32_t)n, ss_dev<const uint8_t>(rgb), ss_dev<uint8_t>(gray));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_tsdf_raycast_guided(ss_context* ctx, const ss_tsdf_raycast_guided_args* args, ss_buffer* pool, ss_buffer* hash, ss_buffer* prior,
                                        ss_buffer* depth, ss_buffer* normals, ss_buffer* gray) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_raycast_guided_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_raycast_guided(ctx, a, pool, hash, prior, depth, normals, gray, &n));
  if (n == 0) return SS_OK;
  if (n > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: %llu pixels do not fit 32-bit indices", __func__, (unsigned long long)n);
  k_raycast_guided<<<ss_grid(n), 256, 0, ctx->stream>>>(a, (uint32_t)n, ss_dev<const float>(pool), ss_dev<const int32_t>(hash),
                                                        ss_dev<const float>(prior), ss_dev<float>(depth), ss_dev<float>(normals), ss_dev<uint8_t>(gray));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_icp_reduce(ss_context* ctx, const ss_icp_reduce_args* args, ss_buffer* cur_points, ss_buffer* cur_normals, ss_buffer* cur_gray,
                               ss_buffer* ref_points, ss_buffer* ref_normals, ss_buffer* ref_gray, ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_icp_reduce_args a = *args;
  SS_TRY(ss_check_icp_reduce(ctx, a, cur_points, cur_normals, cur_gray, ref_points, ref_normals, ref_gray, out));
  const uint32_t groups = (a.height + SS_ICP_ROWS - 1) / SS_ICP_ROWS;
  void* scratch = nullptr;
  SS_TRY(ss_cuda_scratch(ctx, SS_CUDA_SCRATCH_ICP, (uint64_t)groups * 2 * SS_ICP_TERMS * 4, &scratch, __func__));
  float* partials = static_cast<float*>(scratch);
  /* without colour the body never reads the gray images */
  k_icp_reduce<<<groups, SS_ICP_THREADS, 0, ctx->stream>>>(a, ss_dev<const float>(cur_points), ss_dev<const float>(cur_normals),
                                                           a.use_color ? ss_dev<const uint8_t>(cur_gray) : nullptr, ss_dev<const float>(ref_points),
                                                           ss_dev<const float>(ref_normals), a.use_color ? ss_dev<const uint8_t>(ref_gray) : nullptr,
                                                           partials);
  k_icp_finish<<<1, SS_ICP_TERMS, 0, ctx->stream>>>(groups, partials, ss_dev<double>(out));
  return ss_cuda_launched(ctx, __func__);
}

}  // extern "C"
