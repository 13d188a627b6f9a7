/* ORB extraction on Metal (metal/orb.metal): the shared checks and plan
 * (native/common/orb_plan.h), then every pass of native/kernels/orb_gpu.h in
 * one command buffer; the keypoint count never comes back to the host between
 * passes (the last passes read it on the GPU). */
#include "host.h"
#include "../common/orb_plan.h"

/* as SS_ORB_*_THREADS in native/kernels/orb_gpu.h */
static const uint32_t kCellThreads = 128, kLevelThreads = 256, kOrderThreads = 128;

extern "C" {

ss_status ss_metal_orb_extract(ss_context* ctx, const ss_orb_extract_args* args, ss_buffer* gray, ss_buffer* keypoints, ss_buffer* descriptors,
                               ss_buffer* count) {
  const char* fn = "ss_orb_extract";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_orb_extract_args a = *args;
  int32_t edge = 0;
  SS_TRY(ss_check_orb_extract(ctx, a, gray, keypoints, descriptors, count, &edge));
  ss_orb_gpu_plan plan;
  ss_orb_gpu_layout lay;
  SS_TRY(ss_orb_gpu_prepare(ctx, a, edge, &plan, &lay));
  /* the threadgroup passes need their full width and 32-lane SIMD-groups */
  ss_metal_pipeline_limits lim[4];
  SS_TRY(ss_metal_limits(ctx, "k_orb_cells", &lim[0]));
  SS_TRY(ss_metal_limits(ctx, "k_orb_levels", &lim[1]));
  SS_TRY(ss_metal_limits(ctx, "k_orb_order", &lim[2]));
  SS_TRY(ss_metal_limits(ctx, "k_orb_describe", &lim[3]));
  const uint32_t width[4] = {kCellThreads, kLevelThreads, kOrderThreads, 64};
  for (int k = 0; k < 4; ++k)
    if (lim[k].simd_width != 32 || lim[k].max_threads < width[k])
      return ss_fail(ctx, SS_ERR_BACKEND, "%s: a pass needs %u threads per threadgroup in SIMD-groups of 32 (its pipeline allows %u, width %u)", fn,
                     width[k], lim[k].max_threads, lim[k].simd_width);
  uint32_t resize_w = 0, blur_w = 0, fast_w = 0, retry_w = 0;
  SS_TRY(ss_metal_group_width(ctx, "k_orb_resize", 256, &resize_w));
  SS_TRY(ss_metal_group_width(ctx, "k_orb_blur", 256, &blur_w));
  SS_TRY(ss_metal_group_width(ctx, "k_orb_fast", 256, &fast_w));
  SS_TRY(ss_metal_group_width(ctx, "k_orb_fast_retry", 256, &retry_w));
  ss_buffer* s = nullptr;
  SS_TRY(ss_metal_scratch(ctx, SS_METAL_SCRATCH_ORB, lay.bytes, &s));
  /* the atomic counts start at zero (unified memory; no GPU work is in flight between calls) */
  memset(static_cast<char*>(s->contents) + lay.cell_count, 0, (size_t)(lay.level_count + SS_ORB_GPU_LEVELS * 4 - lay.cell_count));
  static const uint32_t kDir[2] = {0, 1};
  uint32_t level_index[SS_ORB_GPU_LEVELS];
  SS_TRY(ss_metal_begin(ctx));
  for (uint32_t l = 1; l < plan.levels; ++l) {
    level_index[l] = l;
    ss_metal_dispatch(ctx, ss_metal_launch("k_orb_resize").threads(plan.level[l].w * plan.level[l].h, 1, 1, resize_w).bytes(0, &plan, sizeof plan)
                               .buffer(1, gray).buffer(5, s, lay.pyr).bytes(13, &level_index[l], 4));
  }
  for (uint32_t d = 0; d < 2; ++d)
    ss_metal_dispatch(ctx, ss_metal_launch("k_orb_blur").threads(plan.pixels, 1, 1, blur_w).bytes(0, &plan, sizeof plan).buffer(1, gray)
                               .buffer(5, s, lay.pyr).buffer(6, s, lay.tmp).buffer(7, s, lay.smooth).bytes(13, &kDir[d], 4));
  ss_metal_dispatch(ctx, ss_metal_launch("k_orb_fast").threads(plan.pixels, 1, 1, fast_w).bytes(0, &plan, sizeof plan).buffer(1, gray)
                             .buffer(5, s, lay.pyr).buffer(8, s, lay.score).buffer(9, s, lay.cell_count).buffer(10, s, lay.level_count));
  if (a.fast_min_threshold < a.fast_threshold)
    ss_metal_dispatch(ctx, ss_metal_launch("k_orb_fast_retry").threads(plan.pixels, 1, 1, retry_w).bytes(0, &plan, sizeof plan).buffer(1, gray)
                               .buffer(5, s, lay.pyr).buffer(8, s, lay.score).buffer(9, s, lay.cell_count).buffer(10, s, lay.level_count));
  ss_metal_dispatch(ctx, ss_metal_launch("k_orb_cells").groups(plan.cells, kCellThreads).bytes(0, &plan, sizeof plan).buffer(1, gray)
                             .buffer(5, s, lay.pyr).buffer(8, s, lay.score).buffer(11, s, lay.cell_taken).buffer(12, s, lay.cand)
                             .buffer(14, s, lay.entries));
  ss_metal_dispatch(ctx, ss_metal_launch("k_orb_levels").groups(1, kLevelThreads).bytes(0, &plan, sizeof plan).buffer(4, count)
                             .buffer(11, s, lay.cell_taken).buffer(15, s, lay.level_take));
  ss_metal_dispatch(ctx, ss_metal_launch("k_orb_order").groups(plan.rounds, kOrderThreads).bytes(0, &plan, sizeof plan).buffer(11, s, lay.cell_taken)
                             .buffer(14, s, lay.entries).buffer(15, s, lay.level_take).buffer(16, s, lay.selected));
  ss_metal_dispatch(ctx, ss_metal_launch("k_orb_describe").groups((a.max_features + 1) / 2, 64).bytes(0, &plan, sizeof plan).buffer(1, gray)
                             .buffer(2, keypoints).buffer(3, descriptors).buffer(4, count).buffer(5, s, lay.pyr).buffer(7, s, lay.smooth)
                             .buffer(16, s, lay.selected));
  return ss_metal_end(ctx, fn);
}

}  // extern "C"
