/* ORB pieces (Rublee et al. 2011) as per-element bodies: pyramid resize,
 * Gaussian smoothing, Harris response, intensity-centroid orientation and the
 * steered-BRIEF descriptor over scanstream's own test pattern (orb_pattern.h). */
#ifndef SS_KERNEL_ORB_H
#define SS_KERNEL_ORB_H

/* Every multiply-add below that decides an integer (a source pixel, a ranking, an orientation bin) is an
 * explicit ss_fma, and every such division and square root ss_div_rn / ss_sqrt_rn (correctly rounded
 * everywhere): no backend's result then depends on its compiler's contraction or math library (the fusions
 * are the ones GCC makes on x86-64 with FMA, so the CPU's bits are what they were). */

/* source columns and weight (1/128) of destination column x when resizing sw → dw, pixel centres aligned:
 * x_src = (x + ½)·sw/dw − ½, clamped to the image */
ss_device_inline void orb_resize_coord(uint32_t x, uint32_t sw, uint32_t dw, ss_thread int32_t* x0, ss_thread int32_t* x1,
                                       ss_thread int32_t* a) {
  float f = ss_fma((float)x + 0.5f, ss_div_rn((float)sw, (float)dw), -0.5f);
  f = ss_fmin(ss_fmax(f, 0.0f), (float)(sw - 1));
  *x0 = ss_float_to_int_floor(f);
  *x1 = ss_min_i(*x0 + 1, (int32_t)sw - 1);
  *a = ss_round_to_int((f - (float)*x0) * 128.0f);
}

/* separable bilinear downscale in 8-bit steps: rows first (rounded to 8 bits), then columns */
ss_device_inline uint32_t orb_lerp8(uint32_t p, uint32_t q, int32_t a) {
  return (p * (uint32_t)(128 - a) + q * (uint32_t)a + 64u) >> 7;
}

ss_device_inline void orb_resize_pixel(ss_global const uint8_t* src, uint32_t sw, uint32_t sh, ss_global uint8_t* dst,
                                       uint32_t dw, uint32_t dh, uint32_t i) {
  uint32_t x = i % dw, y = i / dw;
  int32_t x0, x1, ax, y0, y1, ay;
  orb_resize_coord(x, sw, dw, &x0, &x1, &ax);
  orb_resize_coord(y, sh, dh, &y0, &y1, &ay);
  ss_global const uint8_t* r0 = src + (uint32_t)y0 * sw;
  ss_global const uint8_t* r1 = src + (uint32_t)y1 * sw;
  uint32_t c0 = orb_lerp8(r0[x0], r1[x0], ay), c1 = orb_lerp8(r0[x1], r1[x1], ay);
  dst[i] = (uint8_t)orb_lerp8(c0, c1, ax);
}

/* 7-tap Gaussian, σ = 2 (OpenCV ORB smooths with 7×7, σ 2), weights /256; reflect-101 borders */
ss_constant_table int32_t SS_ORB_BLUR[7] = {18, 34, 49, 54, 49, 34, 18};

ss_device_inline int32_t orb_reflect(int32_t v, int32_t n) {
  v = v < 0 ? -v : v;
  return v >= n ? 2 * n - 2 - v : v;
}

/* horizontal pass (dir 0) or vertical pass (dir 1) of the separable blur */
ss_device_inline void orb_blur_pixel(ss_global const uint8_t* src, ss_global uint8_t* dst, uint32_t w, uint32_t h,
                                     uint32_t dir, uint32_t i) {
  int32_t x = (int32_t)(i % w), y = (int32_t)(i / w);
  int32_t acc = 128;
  for (int32_t k = -3; k <= 3; ++k) {
    int32_t xx = dir ? x : orb_reflect(x + k, (int32_t)w);
    int32_t yy = dir ? orb_reflect(y + k, (int32_t)h) : y;
    acc += SS_ORB_BLUR[k + 3] * (int32_t)src[(uint32_t)yy * w + (uint32_t)xx];
  }
  dst[i] = (uint8_t)(acc >> 8);
}

/* Harris response det(M) − k·trace(M)² over a 7×7 window of 3×3 Sobel gradients
 * (as OpenCV ORB's HARRIS_SCORE), gradients scaled to [0, 1] intensities */
ss_device_inline float orb_harris(ss_global const uint8_t* img, int32_t stride, int32_t x, int32_t y, float k) {
  float a = 0.0f, b = 0.0f, c = 0.0f;
  for (int32_t dy = -3; dy <= 3; ++dy) {
    for (int32_t dx = -3; dx <= 3; ++dx) {
      ss_global const uint8_t* p = img + (y + dy) * stride + (x + dx);
      int32_t ix = ((int32_t)p[-stride + 1] + 2 * (int32_t)p[1] + (int32_t)p[stride + 1]) -
                   ((int32_t)p[-stride - 1] + 2 * (int32_t)p[-1] + (int32_t)p[stride - 1]);
      int32_t iy = ((int32_t)p[stride - 1] + 2 * (int32_t)p[stride] + (int32_t)p[stride + 1]) -
                   ((int32_t)p[-stride - 1] + 2 * (int32_t)p[-stride] + (int32_t)p[-stride + 1]);
      float fx = (float)ix * (1.0f / 1020.0f), fy = (float)iy * (1.0f / 1020.0f);
      a = ss_fma(fx, fx, a);
      b = ss_fma(fy, fy, b);
      c = ss_fma(fx, fy, c);
    }
  }
  float tr = a + b;
  return ss_fma(-(k * tr), tr, ss_fma(a, b, -(c * c)));
}

/* the unit vector (cos, sin) of atan2(m01, m10); (1, 0) for a flat patch */
ss_device_inline void orb_orientation_from_moments(int32_t m10, int32_t m01, ss_thread float* cs, ss_thread float* sn) {
  float fx = (float)m10, fy = (float)m01;
  float n = ss_sqrt_rn(ss_fma(fx, fx, fy * fy));
  if (n > 0.0f) {
    *cs = ss_div_rn(fx, n);
    *sn = ss_div_rn(fy, n);
  } else {
    *cs = 1.0f;
    *sn = 0.0f;
  }
}

/* half-width of row v of the orientation disc: the largest u with u² + v² ≤ 15² + 15 (a rounded disc, like
 * ORB's umax; 240 − v² is never a perfect square, so any faithful square root floors alike) */
ss_device_inline int32_t orb_disc_span(int32_t v) { return (int32_t)ss_floor(ss_sqrt((float)(240 - v * v))); }

/* intensity-centroid direction over the disc of radius 15 (ORB's HALF_PATCH_SIZE) */
ss_device_inline void orb_orientation(ss_global const uint8_t* img, int32_t stride, int32_t x, int32_t y,
                                      ss_thread float* cs, ss_thread float* sn) {
  int32_t m10 = 0, m01 = 0;
  for (int32_t v = -15; v <= 15; ++v) {
    int32_t span = orb_disc_span(v);
    ss_global const uint8_t* row = img + (y + v) * stride + x;
    int32_t sum = 0, wsum = 0;
    for (int32_t u = -span; u <= span; ++u) {
      int32_t val = row[u];
      sum += val;
      wsum += u * val;
    }
    m10 += wsum;
    m01 += v * sum;
  }
  orb_orientation_from_moments(m10, m01, cs, sn);
}

/* orientation bin of a direction (cs, sn): the bin vector with the largest dot product (ties → lower bin) */
ss_device_inline int32_t orb_angle_bin(float cs, float sn) {
  int32_t best = 0;
  float bd = -2.0f;
  for (int32_t k = 0; k < SS_ORB_BINS; ++k) {
    float d = ss_fma(cs, SS_ORB_BIN_DIR[k][0], sn * SS_ORB_BIN_DIR[k][1]);
    if (d > bd) {
      bd = d;
      best = k;
    }
  }
  return best;
}

/* byte `byte` of the steered BRIEF descriptor: tests 8·byte … 8·byte + 7 of the pattern pre-rotated for the
 * orientation bin, on the smoothed image around (x, y) */
ss_device_inline uint32_t orb_describe_byte(ss_global const uint8_t* smooth, int32_t stride, int32_t x, int32_t y, int32_t bin, int32_t byte) {
  ss_global const uint8_t* c = smooth + y * stride + x;
  uint32_t bits = 0u;
  for (int32_t bit = 0; bit < 8; ++bit) {
    int32_t k = 8 * byte + bit;
    int32_t p1 = SS_ORB_PATTERN_ROT[bin][1][k] * stride + SS_ORB_PATTERN_ROT[bin][0][k];
    int32_t p2 = SS_ORB_PATTERN_ROT[bin][3][k] * stride + SS_ORB_PATTERN_ROT[bin][2][k];
    bits |= (uint32_t)(c[p1] < c[p2]) << bit;
  }
  return bits;
}

/* steered BRIEF → 32 bytes */
ss_device_inline void orb_describe(ss_global const uint8_t* smooth, int32_t stride, int32_t x, int32_t y, int32_t bin,
                                   ss_global uint8_t* out) {
  for (int32_t byte = 0; byte < 32; ++byte) out[byte] = (uint8_t)orb_describe_byte(smooth, stride, x, y, bin, byte);
}

#endif
