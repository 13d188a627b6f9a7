/* CUDA launchers for ORB extraction: the shared checks and plan
 * (native/common/orb_plan.h), then the passes of native/kernels/orb_gpu.h
 * (shared with Metal) on the context's stream; the keypoint count stays on
 * the GPU between passes. */
#include "backend.cuh"
#include "../common/orb_plan.h"
#include "fast.h"
#include "orb_pattern.h"
#include "orb.h"
#include "orb_gpu_plan.h"
#include "orb_gpu.h"

__global__ void k_orb_resize(const __grid_constant__ ss_orb_gpu_plan p, uint32_t level, const uint8_t* gray, uint8_t* pyr) {
  orb_gpu_resize(p, level, blockIdx.x * blockDim.x + threadIdx.x, gray, pyr);
}

__global__ void k_orb_blur(const __grid_constant__ ss_orb_gpu_plan p, uint32_t dir, const uint8_t* gray, const uint8_t* pyr, uint8_t* tmp,
                           uint8_t* smooth) {
  orb_gpu_blur(p, dir, blockIdx.x * blockDim.x + threadIdx.x, gray, pyr, tmp, smooth);
}

__global__ void k_orb_fast(const __grid_constant__ ss_orb_gpu_plan p, const uint8_t* gray, const uint8_t* pyr, uint8_t* score, uint32_t* cell_count,
                           uint32_t* level_count) {
  orb_gpu_fast(p, blockIdx.x * blockDim.x + threadIdx.x, gray, pyr, score, cell_count, level_count);
}

__global__ void k_orb_fast_retry(const __grid_constant__ ss_orb_gpu_plan p, const uint8_t* gray, const uint8_t* pyr, uint8_t* score,
                                 const uint32_t* cell_count, const uint32_t* level_count) {
  orb_gpu_fast_retry(p, blockIdx.x * blockDim.x + threadIdx.x, gray, pyr, score, cell_count, level_count);
}

__global__ void __launch_bounds__(SS_ORB_CELL_THREADS) k_orb_cells(const __grid_constant__ ss_orb_gpu_plan p, const uint8_t* gray, const uint8_t* pyr,
                                                                   const uint8_t* score, uint32_t* cand, uint32_t* entries, uint32_t* cell_taken) {
  SS_THREADGROUP_ARRAY(uint32_t, hist, 256);
  SS_THREADGROUP_ARRAY(uint32_t, tot, SS_ORB_CELL_THREADS / 32);
  SS_THREADGROUP_ARRAY(uint32_t, vals, 4);
  orb_gpu_cell(p, blockIdx.x, threadIdx.x, blockDim.x, gray, pyr, score, cand, entries, cell_taken, hist, tot, vals);
}

__global__ void __launch_bounds__(SS_ORB_LEVEL_THREADS) k_orb_levels(const __grid_constant__ ss_orb_gpu_plan p, const uint32_t* cell_taken,
                                                                     uint32_t* level_take, uint32_t* count) {
  SS_THREADGROUP_ARRAY(uint32_t, tot, SS_ORB_LEVEL_THREADS / 32);
  orb_gpu_levels(p, threadIdx.x, blockDim.x, cell_taken, level_take, count, tot);
}

__global__ void __launch_bounds__(SS_ORB_ORDER_THREADS) k_orb_order(const __grid_constant__ ss_orb_gpu_plan p, const uint32_t* entries,
                                                                    const uint32_t* cell_taken, const uint32_t* level_take, uint32_t* selected) {
  SS_THREADGROUP_ARRAY(uint32_t, tot, SS_ORB_ORDER_THREADS / 32);
  orb_gpu_order(p, blockIdx.x, threadIdx.x, blockDim.x, entries, cell_taken, level_take, selected, tot);
}

/* one warp per keypoint, two per block */
__global__ void __launch_bounds__(64) k_orb_describe(const __grid_constant__ ss_orb_gpu_plan p, const uint8_t* gray, const uint8_t* pyr,
                                                     const uint8_t* smooth, const uint32_t* selected, const uint32_t* count, float* keypoints,
                                                     uint8_t* descriptors) {
  const uint32_t i = blockIdx.x * 2u + (threadIdx.x >> 5);
  if (i >= count[0]) return; /* the same i for the whole warp */
  orb_gpu_describe(p, i, threadIdx.x & 31u, gray, pyr, smooth, selected, keypoints, descriptors);
}

extern "C" SS_API ss_status ss_orb_extract(ss_context* ctx, const ss_orb_extract_args* args, ss_buffer* gray, ss_buffer* keypoints,
                                           ss_buffer* descriptors, ss_buffer* count) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_orb_extract_args a = *args;
  int32_t edge = 0;
  SS_TRY(ss_check_orb_extract(ctx, a, gray, keypoints, descriptors, count, &edge));
  ss_orb_gpu_plan plan;
  ss_orb_gpu_layout lay;
  SS_TRY(ss_orb_gpu_prepare(ctx, a, edge, &plan, &lay));
  void* scratch = nullptr;
  SS_TRY(ss_cuda_scratch(ctx, SS_CUDA_SCRATCH_ORB, lay.bytes, &scratch, __func__));
  uint8_t* s = static_cast<uint8_t*>(scratch);
  uint8_t* pyr = s + lay.pyr;
  uint8_t* tmp = s + lay.tmp;
  uint8_t* smooth = s + lay.smooth;
  uint8_t* score = s + lay.score;
  uint32_t* cell_count = reinterpret_cast<uint32_t*>(s + lay.cell_count);
  uint32_t* level_count = reinterpret_cast<uint32_t*>(s + lay.level_count);
  uint32_t* cell_taken = reinterpret_cast<uint32_t*>(s + lay.cell_taken);
  uint32_t* cand = reinterpret_cast<uint32_t*>(s + lay.cand);
  uint32_t* entries = reinterpret_cast<uint32_t*>(s + lay.entries);
  uint32_t* level_take = reinterpret_cast<uint32_t*>(s + lay.level_take);
  uint32_t* selected = reinterpret_cast<uint32_t*>(s + lay.selected);
  const uint8_t* g = ss_dev<const uint8_t>(gray);
  uint32_t* cnt = ss_dev<uint32_t>(count);
  cudaStream_t st = ctx->stream;
  /* the atomic counts start at zero */
  cudaMemsetAsync(s + lay.cell_count, 0, lay.level_count + SS_ORB_GPU_LEVELS * 4 - lay.cell_count, st);
  for (uint32_t l = 1; l < plan.levels; ++l) k_orb_resize<<<ss_grid((uint64_t)plan.level[l].w * plan.level[l].h), 256, 0, st>>>(plan, l, g, pyr);
  for (uint32_t d = 0; d < 2; ++d) k_orb_blur<<<ss_grid(plan.pixels), 256, 0, st>>>(plan, d, g, pyr, tmp, smooth);
  k_orb_fast<<<ss_grid(plan.pixels), 256, 0, st>>>(plan, g, pyr, score, cell_count, level_count);
  if (a.fast_min_threshold < a.fast_threshold) k_orb_fast_retry<<<ss_grid(plan.pixels), 256, 0, st>>>(plan, g, pyr, score, cell_count, level_count);
  k_orb_cells<<<plan.cells, SS_ORB_CELL_THREADS, 0, st>>>(plan, g, pyr, score, cand, entries, cell_taken);
  k_orb_levels<<<1, SS_ORB_LEVEL_THREADS, 0, st>>>(plan, cell_taken, level_take, cnt);
  k_orb_order<<<plan.rounds, SS_ORB_ORDER_THREADS, 0, st>>>(plan, entries, cell_taken, level_take, selected);
  k_orb_describe<<<(a.max_features + 1) / 2, 64, 0, st>>>(plan, g, pyr, smooth, selected, cnt, ss_dev<float>(keypoints), ss_dev<uint8_t>(descriptors));
  return ss_cuda_launched(ctx, __func__);
}
