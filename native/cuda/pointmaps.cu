/* CUDA launchers for the point-map kernels: the portable bodies, one thread per element */
#include "backend.cuh"
#include "../common/checks.h"
#include "vec3.h"
#include "depth_to_points.h"
#include "geotrf.h"
#include "points_to_normals.h"
#include "pyramid_down.h"

__global__ void k_depth_to_points(const ss_depth_to_points_args a, uint64_t n, const void* d, float* p) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) depth_to_points_pixel(a, (uint32_t)i, d, p);
}
__global__ void k_points_to_normals(const ss_points_to_normals_args a, uint64_t n, const float* p, float* o) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) points_to_normals_pixel(a, (uint32_t)i, p, o);
}
__global__ void k_depth_down(const ss_depth_pyramid_down_args a, uint64_t n, const float* s, float* d) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) depth_pyramid_down_pixel(a, (uint32_t)i, s, d);
}
__global__ void k_image_down(const ss_image_pyramid_down_args a, uint64_t n, const uint8_t* s, uint8_t* d) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) image_pyramid_down_pixel(a, (uint32_t)i, s, d);
}
__global__ void k_geotrf(const ss_geotrf_args a, const float* s, float* d) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < a.count) geotrf_point(a, (uint32_t)i, s, d);
}

extern "C" {

SS_API ss_status ss_depth_to_points(ss_context* ctx, const ss_depth_to_points_args* args, ss_buffer* depth, ss_buffer* points) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_depth_to_points_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_depth_to_points(ctx, a, depth, points, &n));
  k_depth_to_points<<<ss_grid(n), 256, 0, ctx->stream>>>(a, n, depth->device, ss_dev<float>(points));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_points_to_normals(ss_context* ctx, const ss_points_to_normals_args* args, ss_buffer* points, ss_buffer* normals) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_points_to_normals_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_points_to_normals(ctx, a, points, normals, &n));
  k_points_to_normals<<<ss_grid(n), 256, 0, ctx->stream>>>(a, n, ss_dev<float>(points), ss_dev<float>(normals));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_depth_pyramid_down(ss_context* ctx, const ss_depth_pyramid_down_args* args, ss_buffer* src, ss_buffer* dst) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_depth_pyramid_down_args a = *args;
  uint64_t dn = 0;
  SS_TRY(ss_check_depth_pyramid_down(ctx, a, src, dst, &dn));
  k_depth_down<<<ss_grid(dn), 256, 0, ctx->stream>>>(a, dn, ss_dev<float>(src), ss_dev<float>(dst));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_image_pyramid_down(ss_context* ctx, const ss_image_pyramid_down_args* args, ss_buffer* src, ss_buffer* dst) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_image_pyramid_down_args a = *args;
  uint64_t dn = 0;
  SS_TRY(ss_check_image_pyramid_down(ctx, a, src, dst, &dn));
  k_image_down<<<ss_grid(dn), 256, 0, ctx->stream>>>(a, dn, ss_dev<uint8_t>(src), ss_dev<uint8_t>(dst));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_geotrf(ss_context* ctx, const ss_geotrf_args* args, ss_buffer* in, ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_geotrf_args a = *args;
  SS_TRY(ss_check_geotrf(ctx, a, in, out));
  if (a.count == 0) return SS_OK;
  k_geotrf<<<ss_grid(a.count), 256, 0, ctx->stream>>>(a, ss_dev<float>(in), ss_dev<float>(out));
  return ss_cuda_launched(ctx, __func__);
}

}  // extern "C"
