/* CPU launchers for the point-map kernels: validate, then run the portable bodies in parallel */
#include "backend.h"
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
  if (a.width == 0 || a.height == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_depth_to_points: empty image");
  if (!(a.fx != 0.0f) || !(a.fy != 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_depth_to_points: focal length is 0");
  if (a.depth_u16 && !(a.depth_scale > 0.0f))
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_depth_to_points: depth_scale must be > 0 for uint16 depth");
  uint64_t n = (uint64_t)a.width * a.height * (a.batch ? a.batch : 1);
  SS_REQUIRE_BUFFER(ctx, depth, n * (a.depth_u16 ? 2 : 4));
  SS_REQUIRE_BUFFER(ctx, points, n * 12);
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
  uint64_t n = (uint64_t)a.width * a.height;
  if (n == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_points_to_normals: empty image");
  SS_REQUIRE_BUFFER(ctx, points, n * 12);
  SS_REQUIRE_BUFFER(ctx, normals, n * 12);
  const float* p = ss_data<float>(points);
  float* out = ss_data<float>(normals);
  ctx->pool->parallel_for((int64_t)n, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) points_to_normals_pixel(a, (uint32_t)i, p, out);
  });
  return SS_OK;
}

SS_API ss_status ss_depth_pyramid_down(ss_context* ctx, const ss_pyramid_down_args* args, ss_buffer* src,
                                       ss_buffer* dst) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_pyramid_down_args a = *args;
  if (a.src_width < 2 || a.src_height < 2)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_depth_pyramid_down: source %ux%u is smaller than 2x2", a.src_width, a.src_height);
  uint64_t dn = (uint64_t)(a.src_width / 2) * (a.src_height / 2);
  SS_REQUIRE_BUFFER(ctx, src, (uint64_t)a.src_width * a.src_height * 4);
  SS_REQUIRE_BUFFER(ctx, dst, dn * 4);
  const float* s = ss_data<float>(src);
  float* d = ss_data<float>(dst);
  ctx->pool->parallel_for((int64_t)dn, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) depth_pyramid_down_pixel(a, (uint32_t)i, s, d);
  });
  return SS_OK;
}

SS_API ss_status ss_image_pyramid_down(ss_context* ctx, const ss_pyramid_down_args* args, ss_buffer* src,
                                       ss_buffer* dst) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_pyramid_down_args a = *args;
  if (a.src_width < 2 || a.src_height < 2)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_image_pyramid_down: source %ux%u is smaller than 2x2", a.src_width, a.src_height);
  if (a.channels < 1 || a.channels > 4)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_image_pyramid_down: channels must be 1..4, got %u", a.channels);
  uint64_t dn = (uint64_t)(a.src_width / 2) * (a.src_height / 2);
  SS_REQUIRE_BUFFER(ctx, src, (uint64_t)a.src_width * a.src_height * a.channels);
  SS_REQUIRE_BUFFER(ctx, dst, dn * a.channels);
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
  if (a.dim != 2 && a.dim != 3) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_geotrf: dim must be 2 or 3, got %u", a.dim);
  if (a.count == 0) return SS_OK;
  SS_REQUIRE_BUFFER(ctx, in, (uint64_t)a.count * a.dim * 4);
  SS_REQUIRE_BUFFER(ctx, out, (uint64_t)a.count * a.dim * 4);
  const float* s = ss_data<float>(in);
  float* d = ss_data<float>(out);
  ctx->pool->parallel_for((int64_t)a.count, 8192, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) geotrf_point(a, (uint32_t)i, s, d);
  });
  return SS_OK;
}

}  // extern "C"
