/* CUDA launchers for plane-sweep stereo: the reference statistics and the
 * winner-take-all one thread per pixel (plane_sweep.h), the cost volume one
 * block per tile and plane (plane_sweep_gpu.h, shared with Metal). */
#include "backend.cuh"
#include "../common/plane_sweep_checks.h"
#include "plane_sweep.h"
#include "plane_sweep_gpu.h"

__global__ void k_plane_sweep_stats(const ss_plane_sweep_args a, uint32_t n, const uint8_t* ref, float* stats) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) plane_sweep_ref_stats_pixel(a, (int32_t)(i % a.width), (int32_t)(i / a.width), ref, stats);
}

__global__ void __launch_bounds__(SS_PS_TILE * SS_PS_TILE) k_plane_sweep_tiles(const ss_plane_sweep_args a, uint32_t tiles_x, uint32_t tiles_y,
                                                                               const uint8_t* ref, const uint8_t* src, const float* stats, float* cost) {
  SS_THREADGROUP_ARRAY(float, warped, SS_PS_WARPED_FLOATS);
  SS_THREADGROUP_ARRAY(float, hs, SS_PS_HSUM_FLOATS);
  SS_THREADGROUP_ARRAY(float, vcost, SS_PS_COST_FLOATS);
  plane_sweep_tile_group(a, tiles_x, tiles_y, blockIdx.x, threadIdx.x, blockDim.x, ref, src, stats, warped, hs, vcost, cost);
}

__global__ void k_plane_sweep_select(const ss_plane_sweep_args a, uint32_t n, const float* cost, const float* stats, float* depth, float* quality) {
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) plane_sweep_select_pixel(a, i, cost, stats, depth, quality);
}

extern "C" {

SS_API ss_status ss_plane_sweep(ss_context* ctx, const ss_plane_sweep_args* args, ss_buffer* ref, ss_buffer* src, ss_buffer* cost,
                                ss_buffer* depth, ss_buffer* quality) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_plane_sweep_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_plane_sweep(ctx, a, ref, src, cost, depth, quality, &n));
  if (n > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: %llu pixels do not fit 32-bit indices", __func__, (unsigned long long)n);
  const uint32_t tiles_x = (a.width + SS_PS_TILE - 1) / SS_PS_TILE, tiles_y = (a.height + SS_PS_TILE - 1) / SS_PS_TILE;
  const uint64_t groups = (uint64_t)tiles_x * tiles_y * a.planes;
  if (groups > 0x7fffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: %llu tiles × planes are too many", __func__, (unsigned long long)groups);
  void* scratch = nullptr;
  SS_TRY(ss_cuda_scratch(ctx, SS_CUDA_SCRATCH_SWEEP, 2 * n * 4, &scratch, __func__));
  float* stats = static_cast<float*>(scratch);
  k_plane_sweep_stats<<<ss_grid(n), 256, 0, ctx->stream>>>(a, (uint32_t)n, ss_dev<const uint8_t>(ref), stats);
  k_plane_sweep_tiles<<<(unsigned)groups, SS_PS_TILE * SS_PS_TILE, 0, ctx->stream>>>(a, tiles_x, tiles_y, ss_dev<const uint8_t>(ref),
                                                                                      ss_dev<const uint8_t>(src), stats, ss_dev<float>(cost));
  k_plane_sweep_select<<<ss_grid(n), 256, 0, ctx->stream>>>(a, (uint32_t)n, ss_dev<const float>(cost), stats, ss_dev<float>(depth),
                                                            ss_dev<float>(quality));
  return ss_cuda_launched(ctx, __func__);
}

}  // extern "C"
