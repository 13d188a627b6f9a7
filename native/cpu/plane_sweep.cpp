/* CPU launcher for plane-sweep stereo: validate, then run the portable
 * bodies of plane_sweep.h. Planes are independent, so threads take whole
 * planes (each with its own warp and window-sum scratch, all views of the
 * plane in cache), then pixels for the winner-take-all pass. */
#include "backend.h"
#include "../common/plane_sweep_checks.h"
#include "plane_sweep.h"

#include <cmath>
#include <vector>

namespace {

struct SweepScratch {
  std::vector<float> warped, hs, view_cost;
};
SweepScratch& sweep_scratch() {
  static thread_local SweepScratch s;
  return s;
}

/* every plane's aggregated cost; R = a.radius as a constant, so the window
 * loops unroll and the per-pixel loops vectorise across x (same arithmetic
 * per pixel, so the same bits as any other radius dispatch) */
template <int R>
void sweep_planes(ss_context* ctx, const ss_plane_sweep_args& args, const uint8_t* r, const uint8_t* s, const float* st,
                  float* c) {
  ctx->pool->parallel_for((int64_t)args.planes, 1, [&](int64_t pb, int64_t pe) {
    /* a local copy: float stores through the scratch pointers cannot alias it, so its fields stay in registers */
    const ss_plane_sweep_args a = args;
    const uint64_t n = (uint64_t)a.width * a.height;
    const int32_t W = (int32_t)a.width, Hh = (int32_t)a.height;
    SweepScratch& sc = sweep_scratch();
    sc.warped.resize(n);
    sc.hs.resize(3 * n);
    sc.view_cost.resize(n * a.views);
    float* wp = sc.warped.data();
    float* hs = sc.hs.data();
    float* vc = sc.view_cost.data();
    for (int64_t k = pb; k < pe; ++k) {
      float inv_d = plane_sweep_inv_depth(a, (uint32_t)k);
      for (uint32_t v = 0; v < a.views; ++v) {
        float H[9];
        plane_sweep_homography(a, v, inv_d, H);
        const uint8_t* sv = s + n * v;
        for (int32_t y = 0; y < Hh; ++y)
          for (int32_t x = 0; x < W; ++x) plane_sweep_warp_pixel(a, x, y, H, sv, wp);
        /* interior columns apart from the border ones: there the window test is provably true */
        for (int32_t y = 0; y < Hh; ++y) {
          for (int32_t x = 0; x < R; ++x) plane_sweep_hsum_pixel(a, R, x, y, r, wp, hs);
          for (int32_t x = R; x < W - R; ++x) plane_sweep_hsum_pixel(a, R, x, y, r, wp, hs);
          for (int32_t x = W - R; x < W; ++x) plane_sweep_hsum_pixel(a, R, x, y, r, wp, hs);
        }
        float* vcv = vc + n * v;
        for (int32_t y = 0; y < Hh; ++y)
          for (int32_t x = 0; x < W; ++x) vcv[y * W + x] = plane_sweep_view_cost(a, R, x, y, hs, st);
      }
      float* ck = c + (uint64_t)k * n;
      for (uint64_t i = 0; i < n; ++i) ck[i] = plane_sweep_aggregate(a, vc + i, (uint32_t)n);
    }
  });
}

}  // namespace

extern "C" {

SS_API ss_status ss_plane_sweep(ss_context* ctx, const ss_plane_sweep_args* args, ss_buffer* ref, ss_buffer* src,
                                ss_buffer* cost, ss_buffer* depth, ss_buffer* quality) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_plane_sweep_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_plane_sweep(ctx, a, ref, src, cost, depth, quality, &n));
  const uint8_t* r = ss_data<uint8_t>(ref);
  const uint8_t* s = ss_data<uint8_t>(src);
  float* c = ss_data<float>(cost);
  float* d = ss_data<float>(depth);
  float* q = ss_data<float>(quality);

  /* reference window sums, once per call: they do not depend on the plane */
  std::vector<float> stats(2 * n);
  float* st = stats.data();
  const int32_t W = (int32_t)a.width, Hh = (int32_t)a.height;
  ctx->pool->parallel_for(Hh, 8, [&](int64_t b, int64_t e) {
    for (int32_t y = (int32_t)b; y < (int32_t)e; ++y)
      for (int32_t x = 0; x < W; ++x) plane_sweep_ref_stats_pixel(a, x, y, r, st);
  });

  switch (a.radius) {
    case 1: sweep_planes<1>(ctx, a, r, s, st, c); break;
    case 2: sweep_planes<2>(ctx, a, r, s, st, c); break;
    case 3: sweep_planes<3>(ctx, a, r, s, st, c); break;
    case 4: sweep_planes<4>(ctx, a, r, s, st, c); break;
    case 5: sweep_planes<5>(ctx, a, r, s, st, c); break;
    case 6: sweep_planes<6>(ctx, a, r, s, st, c); break;
    default: sweep_planes<7>(ctx, a, r, s, st, c); break;
  }

  ctx->pool->parallel_for((int64_t)n, 2048, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) plane_sweep_select_pixel(a, (uint32_t)i, c, st, d, q);
  });
  return SS_OK;
}

}  // extern "C"
