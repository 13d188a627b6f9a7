/* Dense tracking on Metal (metal/tracking.metal): the shared argument checks,
 * then the kernels; the ICP reduction's last pass runs here, in float64. */
#include "host.h"
#include "../common/checks.h"

extern "C" {

ss_status ss_metal_rgb_to_gray(ss_context* ctx, const ss_rgb_to_gray_args* args, ss_buffer* rgb, ss_buffer* gray) {
  SS_METAL_ENTRY(ctx, args, "ss_rgb_to_gray");
  const ss_rgb_to_gray_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_rgb_to_gray(ctx, a, rgb, gray, &n));
  return ss_metal_run_elementwise(ctx, "ss_rgb_to_gray", "k_rgb_to_gray", n, &a, sizeof a, {rgb, gray});
}

ss_status ss_metal_tsdf_raycast_guided(ss_context* ctx, const ss_tsdf_raycast_guided_args* args, ss_buffer* pool, ss_buffer* hash,
                                       ss_buffer* prior, ss_buffer* depth, ss_buffer* normals, ss_buffer* gray) {
  SS_METAL_ENTRY(ctx, args, "ss_tsdf_raycast_guided");
  const ss_tsdf_raycast_guided_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_raycast_guided(ctx, a, pool, hash, prior, depth, normals, gray, &n));
  return ss_metal_run_elementwise(ctx, "ss_tsdf_raycast_guided", "k_tsdf_raycast_guided", n, &a, sizeof a,
                                  {pool, hash, prior, depth, normals, gray});
}

/* Threadgroups of up to 64 threads (a power of two: the kernel's tree halves it)
 * over 8 image rows each; each writes 32 float-float sums (hi, lo), added here
 * in float64 in threadgroup order: the same bits every run. */
ss_status ss_metal_icp_reduce(ss_context* ctx, const ss_icp_reduce_args* args, ss_buffer* cur_points, ss_buffer* cur_normals,
                              ss_buffer* cur_gray, ss_buffer* ref_points, ss_buffer* ref_normals, ss_buffer* ref_gray, ss_buffer* out) {
  const char* fn = "ss_icp_reduce";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_icp_reduce_args a = *args;
  SS_TRY(ss_check_icp_reduce(ctx, a, cur_points, cur_normals, cur_gray, ref_points, ref_normals, ref_gray, out));
  const uint32_t rows = 8, groups = (a.height + rows - 1) / rows;
  ss_metal_pipeline_limits lim;
  SS_TRY(ss_metal_limits(ctx, "k_icp_reduce", &lim));
  uint32_t width = 32;
  while (width * 2 <= 64 && width * 2 <= lim.max_threads) width *= 2;
  ss_buffer* partials = nullptr;
  SS_TRY(ss_metal_scratch(ctx, SS_METAL_SCRATCH_REDUCE, (uint64_t)groups * 64 * 4, &partials));
  SS_TRY(ss_metal_begin(ctx));
  /* without colour the kernel never reads the gray images, but Metal wants them bound: the points stand in */
  ss_metal_dispatch(ctx, ss_metal_launch("k_icp_reduce").groups(groups, width).bytes(0, &a, sizeof a).buffer(1, cur_points).buffer(2, cur_normals)
                             .buffer(3, a.use_color ? cur_gray : cur_points).buffer(4, ref_points).buffer(5, ref_normals)
                             .buffer(6, a.use_color ? ref_gray : ref_points).buffer(8, partials).bytes(9, &rows, sizeof rows));
  SS_TRY(ss_metal_end(ctx, fn));
  const float* p = ss_host<const float>(partials);
  double sum[32] = {0};
  for (uint32_t g = 0; g < groups; ++g)
    for (int k = 0; k < 32; ++k) sum[k] += (double)p[64 * g + k] + (double)p[64 * g + 32 + k];
  memcpy(out->contents, sum, sizeof sum);
  return SS_OK;
}

}  // extern "C"
