/* CPU launchers for dense tracking: gray conversion, guided model ray-cast, ICP reduction */
#include "backend.h"
#include "vec3.h"
#include "tsdf_common.h"
#include "tsdf_raycast.h"
#include "raycast_guided.h"
#include "gray.h"
#include "icp_reduce.h"

#include <vector>

static bool tracking_finite(const float* m, int n) {
  for (int i = 0; i < n; ++i)
    if (!std::isfinite(m[i])) return false;
  return true;
}

extern "C" {

SS_API ss_status ss_rgb_to_gray(ss_context* ctx, const ss_rgb_to_gray_args* args, ss_buffer* rgb, ss_buffer* gray) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_rgb_to_gray_args a = *args;
  uint64_t n = (uint64_t)a.width * a.height;
  if (n == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_rgb_to_gray: empty image %ux%u", a.width, a.height);
  SS_REQUIRE_BUFFER(ctx, rgb, n * 3);
  SS_REQUIRE_BUFFER(ctx, gray, n);
  const uint8_t* s = ss_data<uint8_t>(rgb);
  uint8_t* d = ss_data<uint8_t>(gray);
  ctx->pool->parallel_for((int64_t)n, 32768, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) rgb_to_gray_pixel((uint32_t)i, s, d);
  });
  return SS_OK;
}

SS_API ss_status ss_tsdf_raycast_guided(ss_context* ctx, const ss_tsdf_raycast_guided_args* args, ss_buffer* pool,
                                        ss_buffer* hash, ss_buffer* prior, ss_buffer* depth, ss_buffer* normals,
                                        ss_buffer* gray) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_raycast_guided_args a = *args;
  uint64_t n = (uint64_t)a.width * a.height;
  if (n == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: empty image %ux%u", __func__, a.width, a.height);
  if (!(a.fx > 0.0f) || !(a.fy > 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: focal lengths must be > 0", __func__);
  if (!(a.voxel_size > 0.0f) || !(a.sdf_trunc > 0.0f))
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: voxel_size and sdf_trunc must be > 0", __func__);
  if (!(a.band > 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: band must be > 0 metres", __func__);
  if (!(a.max_depth > a.min_depth)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: max_depth must exceed min_depth", __func__);
  if (((a.hash_mask + 1) & a.hash_mask) != 0)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: hash_mask + 1 must be a power of two", __func__);
  if (!tracking_finite(a.cam_to_world, 12)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: pose is not finite", __func__);
  SS_REQUIRE_BUFFER(ctx, hash, ((uint64_t)a.hash_mask + 1) * 16);
  SS_REQUIRE_BUFFER(ctx, pool, (uint64_t)SS_BLOCK_BYTES);
  SS_REQUIRE_BUFFER(ctx, prior, n * 4);
  SS_REQUIRE_BUFFER(ctx, depth, n * 4);
  SS_REQUIRE_BUFFER(ctx, normals, n * 12);
  SS_REQUIRE_BUFFER(ctx, gray, n);
  const float* p = ss_data<const float>(pool);
  const int32_t* h = ss_data<const int32_t>(hash);
  const float* pr = ss_data<const float>(prior);
  float* d = ss_data<float>(depth);
  float* nm = ss_data<float>(normals);
  uint8_t* g = ss_data<uint8_t>(gray);
  ctx->pool->parallel_for((int64_t)n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) tsdf_raycast_guided_pixel(a, (uint32_t)i, p, h, pr, d, nm, g);
  });
  return SS_OK;
}

SS_API ss_status ss_icp_reduce(ss_context* ctx, const ss_icp_reduce_args* args, ss_buffer* cur_points,
                               ss_buffer* cur_normals, ss_buffer* cur_gray, ss_buffer* ref_points,
                               ss_buffer* ref_normals, ss_buffer* ref_gray, ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_icp_reduce_args a = *args;
  uint64_t n = (uint64_t)a.width * a.height;
  if (a.width < 4 || a.height < 4) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: image %ux%u is smaller than 4x4", __func__, a.width, a.height);
  if (!(a.fx > 0.0f) || !(a.fy > 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: focal lengths must be > 0", __func__);
  if (!(a.max_dist > 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: max_dist must be > 0", __func__);
  if (!tracking_finite(a.cur_to_ref, 12)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: cur_to_ref is not finite", __func__);
  SS_REQUIRE_BUFFER(ctx, cur_points, n * 12);
  SS_REQUIRE_BUFFER(ctx, cur_normals, n * 12);
  SS_REQUIRE_BUFFER(ctx, ref_points, n * 12);
  SS_REQUIRE_BUFFER(ctx, ref_normals, n * 12);
  if (a.use_color) {
    SS_REQUIRE_BUFFER(ctx, cur_gray, n);
    SS_REQUIRE_BUFFER(ctx, ref_gray, n);
  }
  SS_REQUIRE_BUFFER(ctx, out, 32 * 8);
  const float* cp = ss_data<const float>(cur_points);
  const float* cn = ss_data<const float>(cur_normals);
  const uint8_t* cg = a.use_color ? ss_data<const uint8_t>(cur_gray) : nullptr;
  const float* rp = ss_data<const float>(ref_points);
  const float* rn = ss_data<const float>(ref_normals);
  const uint8_t* rgray = a.use_color ? ss_data<const uint8_t>(ref_gray) : nullptr;
  /* fixed chunks of rows, each summed on its own, then the chunks in order in float64:
   * the result does not depend on which thread ran which chunk */
  const uint32_t rows_per_chunk = 8;
  const int64_t chunks = (a.height + rows_per_chunk - 1) / rows_per_chunk;
  std::vector<double> partial((size_t)chunks * 32, 0.0);
  ctx->pool->parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    /* rows of Jacobians are batched 16 at a time and their outer products summed lane-wise in float32
     * (vectorised), the lanes then added in float64 per chunk: fixed order, so still deterministic */
    constexpr int L = 16;
    alignas(64) float J[6][L], R[L], W[L];
    alignas(64) float H[21][L], G[6][L];
    int n = 0;
    auto flush = [&]() {
      for (int l = n; l < L; ++l) {
        W[l] = 0.0f;
        R[l] = 0.0f;
        for (int r = 0; r < 6; ++r) J[r][l] = 0.0f;
      }
      int k = 0;
      for (int r = 0; r < 6; ++r) {
        float wj[L];
        for (int l = 0; l < L; ++l) wj[l] = W[l] * J[r][l];
        for (int s2 = r; s2 < 6; ++s2, ++k)
          for (int l = 0; l < L; ++l) H[k][l] += wj[l] * J[s2][l];
        for (int l = 0; l < L; ++l) G[r][l] += wj[l] * R[l];
      }
      n = 0;
    };
    auto push = [&](const float* j, float r, float w) {
      for (int q = 0; q < 6; ++q) J[q][n] = j[q];
      R[n] = r;
      W[n] = w;
      if (++n == L) flush();
    };
    for (int64_t c = cb; c < ce; ++c) {
      double acc[32] = {0};
      for (int k = 0; k < 21; ++k)
        for (int l = 0; l < L; ++l) H[k][l] = 0.0f;
      for (int k = 0; k < 6; ++k)
        for (int l = 0; l < L; ++l) G[k][l] = 0.0f;
      n = 0;
      uint32_t y0 = (uint32_t)c * rows_per_chunk;
      uint32_t y1 = y0 + rows_per_chunk < a.height ? y0 + rows_per_chunk : a.height;
      for (uint32_t i = y0 * a.width; i < y1 * a.width; ++i) {
        float jg[6], jc[6], rg = 0, wg = 0, rc = 0, wc = 0;
        uint32_t bits = icp_pixel_terms(a, i, cp, cn, cg, rp, rn, rgray, jg, &rg, &wg, jc, &rc, &wc);
        if (!bits) continue;
        acc[31] += 1.0;
        if (bits & SS_ICP_GEOMETRIC) {
          push(jg, rg, wg);
          acc[27] += (double)wg * rg * rg;
          acc[28] += 1.0;
        }
        if (bits & SS_ICP_PHOTOMETRIC) {
          push(jc, rc, wc);
          acc[29] += (double)wc * rc * rc;
          acc[30] += 1.0;
        }
      }
      if (n > 0) flush();
      for (int k = 0; k < 21; ++k)
        for (int l = 0; l < L; ++l) acc[k] += (double)H[k][l];
      for (int k = 0; k < 6; ++k)
        for (int l = 0; l < L; ++l) acc[21 + k] += (double)G[k][l];
      double* dst = &partial[(size_t)c * 32];
      for (int k = 0; k < 32; ++k) dst[k] = acc[k];
    }
  });
  double* o = ss_data<double>(out);
  for (int k = 0; k < 32; ++k) o[k] = 0.0;
  for (int64_t c = 0; c < chunks; ++c)
    for (int k = 0; k < 32; ++k) o[k] += partial[(size_t)c * 32 + k];
  return SS_OK;
}

}  // extern "C"
