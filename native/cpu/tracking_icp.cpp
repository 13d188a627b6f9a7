/* CPU launchers for dense tracking: gray conversion, guided model ray-cast, ICP reduction */
#include "backend.h"
#include "../common/checks.h"
#include "vec3.h"
#include "tsdf_common.h"
#include "tsdf_raycast.h"
#include "raycast_guided.h"
#include "gray.h"
#include "icp_reduce.h"

#include <vector>

extern "C" {

SS_API ss_status ss_rgb_to_gray(ss_context* ctx, const ss_rgb_to_gray_args* args, ss_buffer* rgb, ss_buffer* gray) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_rgb_to_gray_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_rgb_to_gray(ctx, a, rgb, gray, &n));
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
  uint64_t n = 0;
  SS_TRY(ss_check_raycast_guided(ctx, a, pool, hash, prior, depth, normals, gray, &n));
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
  SS_TRY(ss_check_icp_reduce(ctx, a, cur_points, cur_normals, cur_gray, ref_points, ref_normals, ref_gray, out));
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
