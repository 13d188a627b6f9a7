/* Plane-sweep multi-view stereo for one reference keyframe (Collins 1996;
 * Gallup et al., CVPR 2007), as per-element bodies over the compat vocabulary.
 *
 * Fronto-parallel planes of the reference camera, uniform in inverse depth
 * (equal disparity steps: the sampling a ray's epipolar line needs). For each
 * plane and source view the source image is warped into the reference by the
 * plane's homography H = K R K⁻¹ + (1/d) K t e₃ᵀ (one bilinear sample per
 * pixel), and ZNCC over a (2r+1)² window comes from separable window sums of
 * w, w² and r·w, so the cost of a pixel is O(r), not O(r²), per plane. Views
 * are aggregated by the mean of the best k costs (Kang, Szeliski & Chai,
 * CVPR 2001: the occluded views are the worst ones), then winner-take-all
 * with a parabola through the neighbouring planes, and a peak-ratio
 * confidence (Hu & Mordohai, PAMI 2012: best vs second local minimum).
 *
 * Intensities are centred on 128 before the sums: float32 window sums of
 * squares then lose ~7 fewer bits to cancellation.
 *
 * Multiply-adds are explicit ss_fma (the fusions GCC makes on x86-64 with
 * FMA), the rest plain operations with nothing left to contract, so every
 * backend computes the same floats in the same order; the per-value helpers
 * (plane_sweep_warp_value, _hsum_step, _view_cost_from_sums) are what the
 * GPU body (plane_sweep_gpu.h) shares. */
#ifndef SS_KERNEL_PLANE_SWEEP_H
#define SS_KERNEL_PLANE_SWEEP_H

/* inverse depth of plane k: k = 0 is the far plane, planes - 1 the near one */
ss_device_inline float plane_sweep_inv_depth(const ss_plane_sweep_args a, uint32_t k) {
  float inv_far = 1.0f / a.max_depth, inv_near = 1.0f / a.min_depth;
  float step = a.planes > 1 ? (inv_near - inv_far) / (float)(a.planes - 1) : 0.0f;
  return ss_fma(step, (float)k, inv_far);
}

/* 3×3 homography (row-major) taking reference pixels to view v's pixels for
 * the plane at inverse depth inv_d: K R K⁻¹ + inv_d K t e₃ᵀ */
ss_device_inline void plane_sweep_homography(const ss_plane_sweep_args a, uint32_t v, float inv_d, ss_thread float* H) {
  ss_constant float* m = a.ref_to_src + 12 * v;
  float ifx = 1.0f / a.fx, ify = 1.0f / a.fy;
  /* M = R K⁻¹, K⁻¹ = [1/fx 0 −cx/fx; 0 1/fy −cy/fy; 0 0 1] */
  float M[9];
  for (int r = 0; r < 3; ++r) {
    float r0 = m[4 * r], r1 = m[4 * r + 1], r2 = m[4 * r + 2];
    M[3 * r] = r0 * ifx;
    M[3 * r + 1] = r1 * ify;
    M[3 * r + 2] = ss_fma(inv_d, m[4 * r + 3], ss_fma(-(r1 * a.cy), ify, ss_fma(-(r0 * a.cx), ifx, r2)));
  }
  for (int c = 0; c < 3; ++c) {
    H[c] = ss_fma(a.fx, M[c], a.cx * M[6 + c]);
    H[3 + c] = ss_fma(a.fy, M[3 + c], a.cy * M[6 + c]);
    H[6 + c] = M[6 + c];
  }
}

/* reference window statistics of pixel i: stats[i] = Σr, stats[n + i] =
 * 1/√(Σr² − (Σr)²/count) (0 when the window leaves the image or its variance
 * per pixel is below min_variance: textureless) */
ss_device_inline void plane_sweep_ref_stats_pixel(const ss_plane_sweep_args a, int32_t x, int32_t y,
                                                  ss_global const uint8_t* ref, ss_global float* stats) {
  int32_t w = (int32_t)a.width, h = (int32_t)a.height, r = (int32_t)a.radius;
  uint32_t i = (uint32_t)(y * w + x), np = a.width * a.height;
  stats[i] = 0.0f;
  stats[np + i] = 0.0f;
  if (x < r || y < r || x + r >= w || y + r >= h) return;
  float s = 0.0f, ss = 0.0f;
  for (int32_t dy = -r; dy <= r; ++dy) {
    for (int32_t dx = -r; dx <= r; ++dx) {
      float v = (float)ref[(y + dy) * w + x + dx] - 128.0f;
      s += v;
      ss = ss_fma(v, v, ss);
    }
  }
  float n = (float)((2 * r + 1) * (2 * r + 1));
  float var = ss - s * s / n;
  stats[i] = s;
  stats[np + i] = var > a.min_variance * n ? 1.0f / ss_sqrt(var) : 0.0f;
}

/* view image bilinearly sampled where reference pixel (x, y) lands under H, centred on 128; NaN outside the view */
ss_device_inline float plane_sweep_warp_value(const ss_plane_sweep_args a, int32_t x, int32_t y, ss_thread const float* H,
                                              ss_global const uint8_t* src) {
  float u = (float)x, v = (float)y;
  float qz = ss_fma(H[6], u, H[7] * v) + H[8];
  float iz = 1.0f / qz;
  float sx = (ss_fma(H[0], u, H[1] * v) + H[2]) * iz;
  float sy = (ss_fma(H[3], u, H[4] * v) + H[5]) * iz;
  float xmax = (float)(a.width - 1), ymax = (float)(a.height - 1);
  bool inside = (qz > 0.0f) & (sx >= 0.0f) & (sy >= 0.0f) & (sx <= xmax) & (sy <= ymax);
  /* loads stay unconditional (clamped into the image), the result is masked: no data-dependent branch */
  sx = inside ? sx : 0.0f;
  sy = inside ? sy : 0.0f;
  int32_t x0 = ss_min_i((int32_t)sx, (int32_t)a.width - 2), y0 = ss_min_i((int32_t)sy, (int32_t)a.height - 2);
  float fx = sx - (float)x0, fy = sy - (float)y0;
  int32_t o = y0 * (int32_t)a.width + x0;
  float p00 = (float)src[o], p01 = (float)src[o + 1];
  float p10 = (float)src[o + (int32_t)a.width], p11 = (float)src[o + (int32_t)a.width + 1];
  float top = ss_fma(fx, p01 - p00, p00);
  float bot = ss_fma(fx, p11 - p10, p10);
  float val = ss_fma(fy, bot - top, top) - 128.0f;
  return inside ? val : SS_NAN;
}

ss_device_inline void plane_sweep_warp_pixel(const ss_plane_sweep_args a, int32_t x, int32_t y, ss_thread const float* H,
                                             ss_global const uint8_t* src, ss_global float* warped) {
  warped[(uint64_t)y * a.width + (uint64_t)x] = plane_sweep_warp_value(a, x, y, H, src);
}

/* one sample (warped wv, reference rv) into the window sums Σw, Σw², Σr·w */
ss_device_inline void plane_sweep_hsum_step(float wv, float rv, ss_thread float* s, ss_thread float* ss, ss_thread float* sr) {
  *s += wv;
  *ss = ss_fma(wv, wv, *ss);
  *sr = ss_fma(rv, wv, *sr);
}

/* horizontal window sums of w, w², r·w at pixel (x, y) (NaN where the window
 * leaves the row or holds a sample outside the view). r = a.radius, passed
 * apart so a backend may make it a compile-time constant (unrolled, vectorised). */
ss_device_inline void plane_sweep_hsum_pixel(const ss_plane_sweep_args a, int32_t r, int32_t x, int32_t y,
                                             ss_global const uint8_t* ref, ss_global const float* warped,
                                             ss_global float* hs) {
  /* row pointers and a signed column: simple strides, so a backend can vectorise across x */
  uint64_t n = (uint64_t)a.width * a.height, row = (uint64_t)y * a.width;
  ss_global const float* wr = warped + row;
  ss_global const uint8_t* rr = ref + row;
  float s = SS_NAN, ss = SS_NAN, sr = SS_NAN;
  if (x >= r && x + r < (int32_t)a.width) {
    s = 0.0f;
    ss = 0.0f;
    sr = 0.0f;
    for (int32_t d = -r; d <= r; ++d) plane_sweep_hsum_step(wr[x + d], (float)rr[x + d] - 128.0f, &s, &ss, &sr);
  }
  hs[row + x] = s;
  hs[n + row + x] = ss;
  hs[2 * n + row + x] = sr;
}

/* 1 − ZNCC from a pixel's window sums Σw, Σw², Σr·w (vertical sums of the horizontal ones) and its reference
 * statistics (Σr, 1/√var_r): 1, i.e. ZNCC 0, where undefined (off-view window, textureless either side) */
ss_device_inline float plane_sweep_view_cost_from_sums(const ss_plane_sweep_args a, int32_t r, float s, float ss, float sr, float ref_s,
                                                       float inv_sr) {
  float cnt = (float)((2 * r + 1) * (2 * r + 1));
  float var = ss - s * s / cnt;
  float zncc = (sr - ref_s * s / cnt) * inv_sr / ss_sqrt(ss_fmax(var, 1e-30f));
  float c = 1.0f - ss_fmax(-1.0f, ss_fmin(1.0f, zncc));
  /* NaN sums (a sample off the view) fail the variance test too */
  return (inv_sr > 0.0f && var > a.min_variance * cnt) ? c : 1.0f;
}

/* vertical sums of the horizontal ones → 1 − ZNCC of pixel (x, y) for one view */
ss_device_inline float plane_sweep_view_cost(const ss_plane_sweep_args a, int32_t r, int32_t x, int32_t y,
                                             ss_global const float* hs, ss_global const float* stats) {
  if (y < r || y + r >= (int32_t)a.height) return 1.0f;
  uint64_t n = (uint64_t)a.width * a.height, i = (uint64_t)y * a.width + (uint64_t)x;
  int64_t wd = (int64_t)a.width;
  ss_global const float* c0 = hs + i;
  ss_global const float* c1 = hs + n + i;
  ss_global const float* c2 = hs + 2 * n + i;
  float s = 0.0f, ss = 0.0f, sr = 0.0f;
  for (int32_t d = -r; d <= r; ++d) {
    s += c0[d * wd];
    ss += c1[d * wd];
    sr += c2[d * wd];
  }
  return plane_sweep_view_cost_from_sums(a, r, s, ss, sr, stats[i], stats[n + i]);
}

/* aggregated cost of a pixel on one plane: mean of the best k of the views'
 * costs c0..c3 (those past a.views ignored); a min/max sorting network, so no
 * branch depends on the data */
ss_device_inline float plane_sweep_aggregate4(const ss_plane_sweep_args a, float c0, float c1, float c2, float c3) {
  c1 = a.views > 1 ? c1 : 1e30f;
  c2 = a.views > 2 ? c2 : 1e30f;
  c3 = a.views > 3 ? c3 : 1e30f;
  float t;
  t = ss_fmin(c0, c1); c1 = ss_fmax(c0, c1); c0 = t;
  t = ss_fmin(c2, c3); c3 = ss_fmax(c2, c3); c2 = t;
  t = ss_fmin(c0, c2); c2 = ss_fmax(c0, c2); c0 = t;
  t = ss_fmin(c1, c3); c3 = ss_fmax(c1, c3); c1 = t;
  t = ss_fmin(c1, c2); c2 = ss_fmax(c1, c2); c1 = t;
  uint32_t k = a.best_views > 0 && a.best_views < a.views ? a.best_views : a.views;
  float sum = c0;
  if (k > 1) sum += c1;
  if (k > 2) sum += c2;
  if (k > 3) sum += c3;
  return sum / (float)k;
}

/* the same over view v's cost at view_costs[v * stride] */
ss_device_inline float plane_sweep_aggregate(const ss_plane_sweep_args a, ss_global const float* view_costs, uint32_t stride) {
  return plane_sweep_aggregate4(a, view_costs[0], a.views > 1 ? view_costs[stride] : 0.0f, a.views > 2 ? view_costs[2 * stride] : 0.0f,
                                a.views > 3 ? view_costs[3 * stride] : 0.0f);
}

/* winner-take-all over the planes of pixel i, parabolic sub-plane refinement,
 * confidence: depth (0 = none), quality {1 − best cost, 1 − best / second local minimum} */
ss_device_inline void plane_sweep_select_pixel(const ss_plane_sweep_args a, uint32_t i, ss_global const float* cost,
                                               ss_global const float* stats, ss_global float* depth,
                                               ss_global float* quality) {
  uint32_t n = a.width * a.height, P = a.planes;
  depth[i] = 0.0f;
  quality[2 * i] = 0.0f;
  quality[2 * i + 1] = 0.0f;
  if (!(stats[n + i] > 0.0f)) return;
  uint32_t best = 0;
  float c1 = cost[i];
  for (uint32_t k = 1; k < P; ++k) {
    float c = cost[(uint64_t)k * n + i];
    if (c < c1) {
      c1 = c;
      best = k;
    }
  }
  /* second-lowest local minimum (the ends count when they slope inwards) */
  float c2 = 2.0f;
  for (uint32_t k = 0; k < P; ++k) {
    if (k == best) continue;
    float c = cost[(uint64_t)k * n + i];
    bool lo = k == 0 || c <= cost[(uint64_t)(k - 1) * n + i];
    bool hi = k + 1 == P || c <= cost[(uint64_t)(k + 1) * n + i];
    if (lo && hi && c < c2) c2 = c;
  }
  quality[2 * i] = 1.0f - c1;
  quality[2 * i + 1] = c2 > 0.0f ? 1.0f - c1 / c2 : 0.0f;
  /* a minimum on the first or last plane lies outside the swept range */
  if (best == 0 || best + 1 >= P || !(c1 < 1.0f)) return;
  float cm = cost[(uint64_t)(best - 1) * n + i], cp = cost[(uint64_t)(best + 1) * n + i];
  float den = ss_fma(-2.0f, c1, cm) + cp;
  float off = den > 0.0f ? 0.5f * (cm - cp) / den : 0.0f;
  off = ss_fmax(-0.5f, ss_fmin(0.5f, off));
  float inv0 = plane_sweep_inv_depth(a, best), inv1 = plane_sweep_inv_depth(a, best + 1);
  float inv_d = ss_fma(off, inv1 - inv0, inv0);
  depth[i] = inv_d > 0.0f ? 1.0f / inv_d : 0.0f;
}

#endif
