/* CPU launchers for the point-map kernels: shared checks, then the portable bodies in parallel */
#include "backend.h"
#include "../common/checks.h"
#include "vec3.h"
#include "depth_to_points.h"
#include "geotrf.h"
#include "points_to_normals.h"
#include "pyramid_down.h"

static const int64_t kPixelGrain = 4096;

extern "C" {

SS_API ss_status ss_depth_to_points(ss_context* ctx, const ss_depth_to_points_args* args, ss_buffer* depth,
                                    ss_buffer* points) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_depth_to_points_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_depth_to_points(ctx, a, depth, points, &n));
  const void* d = depth->data;
  float* p = ss_data<float>(points);
  ctx->pool->parallel_for((int64_t)n, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) depth_to_points_pixel(a, (uint32_t)i, d, p);
  });
  return SS_OK;
}

SS_API ss_status ss_points_to_normals(ss_context* ctx, const ss_points_to_normals_args* args, ss_buffer* points,
                                      ss_buffer* normals) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_points_to_normals_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_points_to_normals(ctx, a, points, normals, &n));
  const float* p = ss_data<float>(points);
  float* out = ss_data<float>(normals);
  ctx->pool->parallel_for((int64_t)n, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) points_to_normals_pixel(a, (uint32_t)i, p, out);
  });
  return SS_OK;
}

SS_API ss_status ss_depth_pyramid_down(ss_context* ctx, const ss_depth_pyramid_down_args* args, ss_buffer* src,
                                       ss_buffer* dst) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_depth_pyramid_down_args a = *args;
  uint64_t dn = 0;
  SS_TRY(ss_check_depth_pyramid_down(ctx, a, src, dst, &dn));
  const float* s = ss_data<float>(src);
  float* d = ss_data<float>(dst);
  ctx->pool->parallel_for((int64_t)dn, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) depth_pyramid_down_pixel(a, (uint32_t)i, s, d);
  });
  return SS_OK;
}

SS_API ss_status ss_image_pyramid_down(ss_context* ctx, const ss_image_pyramid_down_args* args, ss_buffer* src,
                                       ss_buffer* dst) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_image_pyramid_down_args a = *args;
  uint64_t dn = 0;
  SS_TRY(ss_check_image_pyramid_down(ctx, a, src, dst, &dn));
  const uint8_t* s = ss_data<uint8_t>(src);
  uint8_t* d = ss_data<uint8_t>(dst);
  ctx->pool->parallel_for((int64_t)dn, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) image_pyramid_down_pixel(a, (uint32_t)i, s, d);
  });
  return SS_OK;
}

SS_API ss_status ss_geotrf(ss_context* ctx, const ss_geotrf_args* args, ss_buffer* in, ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_geotrf_args a = *args;
  SS_TRY(ss_check_geotrf(ctx, a, in, out));
  if (a.count == 0) return SS_OK;
  const float* s = ss_data<float>(in);
  float* d = ss_data<float>(out);
  ctx->pool->parallel_for((int64_t)a.count, 8192, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) geotrf_point(a, (uint32_t)i, s, d);
  });
  return SS_OK;
}

}  // extern "C"
