/* Point maps on Metal (metal/pointmaps.metal): the shared argument checks,
 * then one thread per element. */
#include "host.h"
#include "../common/checks.h"

extern "C" {

ss_status ss_metal_depth_to_points(ss_context* ctx, const ss_depth_to_points_args* args, ss_buffer* depth, ss_buffer* points) {
  SS_METAL_ENTRY(ctx, args, "ss_depth_to_points");
  const ss_depth_to_points_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_depth_to_points(ctx, a, depth, points, &n));
  return ss_metal_run_elementwise(ctx, "ss_depth_to_points", "k_depth_to_points", n, &a, sizeof a, {depth, points});
}

ss_status ss_metal_points_to_normals(ss_context* ctx, const ss_points_to_normals_args* args, ss_buffer* points, ss_buffer* normals) {
  SS_METAL_ENTRY(ctx, args, "ss_points_to_normals");
  const ss_points_to_normals_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_points_to_normals(ctx, a, points, normals, &n));
  return ss_metal_run_elementwise(ctx, "ss_points_to_normals", "k_points_to_normals", n, &a, sizeof a, {points, normals});
}

ss_status ss_metal_depth_pyramid_down(ss_context* ctx, const ss_depth_pyramid_down_args* args, ss_buffer* src, ss_buffer* dst) {
  SS_METAL_ENTRY(ctx, args, "ss_depth_pyramid_down");
  const ss_depth_pyramid_down_args a = *args;
  uint64_t dn = 0;
  SS_TRY(ss_check_depth_pyramid_down(ctx, a, src, dst, &dn));
  return ss_metal_run_elementwise(ctx, "ss_depth_pyramid_down", "k_depth_pyramid_down", dn, &a, sizeof a, {src, dst});
}

ss_status ss_metal_image_pyramid_down(ss_context* ctx, const ss_image_pyramid_down_args* args, ss_buffer* src, ss_buffer* dst) {
  SS_METAL_ENTRY(ctx, args, "ss_image_pyramid_down");
  const ss_image_pyramid_down_args a = *args;
  uint64_t dn = 0;
  SS_TRY(ss_check_image_pyramid_down(ctx, a, src, dst, &dn));
  return ss_metal_run_elementwise(ctx, "ss_image_pyramid_down", "k_image_pyramid_down", dn, &a, sizeof a, {src, dst});
}

/* in and out may be the same buffer: each thread reads its point before writing it */
ss_status ss_metal_geotrf(ss_context* ctx, const ss_geotrf_args* args, ss_buffer* in, ss_buffer* out) {
  SS_METAL_ENTRY(ctx, args, "ss_geotrf");
  const ss_geotrf_args a = *args;
  SS_TRY(ss_check_geotrf(ctx, a, in, out));
  return ss_metal_run_elementwise(ctx, "ss_geotrf", "k_geotrf", a.count, &a, sizeof a, {in, out});
}

ss_status ss_metal_mast3r_depthmap_to_pts3d(ss_context* ctx, const ss_mast3r_depthmap_to_pts3d_args* args, ss_buffer* depth,
                                            ss_buffer* intrinsics, ss_buffer* points, ss_buffer* valid) {
  SS_METAL_ENTRY(ctx, args, "ss_mast3r_depthmap_to_pts3d");
  const ss_mast3r_depthmap_to_pts3d_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_depthmap_to_pts3d(ctx, a, depth, intrinsics, intrinsics ? ss_host<float>(intrinsics) : nullptr, points, valid, &n));
  return ss_metal_run_elementwise(ctx, "ss_mast3r_depthmap_to_pts3d", "k_mast3r_depthmap_to_pts3d", n, &a, sizeof a,
                                  {depth, intrinsics, points, valid});
}

}  // extern "C"
