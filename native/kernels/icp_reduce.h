/* Per-pixel terms of point-to-plane ICP (+ photometric) with projective data
 * association, as in KinectFusion (Newcombe et al. 2011) and the intensity
 * term of Kerl/Steinbrücker dense RGB-D odometry. The backend sums the terms
 * (CPU: float64 per fixed chunk, then chunks in order). Jacobians are for a
 * left-multiplied twist ξ = (ω, v): q' = q + ω × q + v.
 *
 * Every weight and Jacobian is a continuous function of the pose wherever it
 * can be: the image gradient is interpolated like the intensity; the
 * association gates taper a pair's weight to 0 at the gate instead of cutting
 * it off at full weight (3D distance: (1 − d²/D²)², both rows; angle between
 * normals: 1 − ((1 − cos)/(1 − cos max))², the geometric row only: it is about
 * the planes, and the photometric row does not use them); and the photometric
 * row fades out towards reference pixels without a point or normal (depth
 * edges, holes), see icp_valid_weight. With hard cuts the normal equations
 * jumped as pixels crossed a gate, and Gauss-Newton on poorly constrained
 * frames cycled between poses millimetres apart (TUM fr1_rpy frames 44-53,
 * where the tracking reference is 10 frames old); where the fixed iteration
 * count stopped it in the cycle depended on float rounding, so backends and
 * builds of the same code differed by 1.5 mm ATE over 60 frames. */
#ifndef SS_KERNEL_ICP_REDUCE_H
#define SS_KERNEL_ICP_REDUCE_H

#define SS_ICP_CUR_VALID 1u
#define SS_ICP_GEOMETRIC 2u
#define SS_ICP_PHOTOMETRIC 4u

/* bilinear uint8 sample ÷ 255 at (u, v); needs 0 ≤ u < w−1, 0 ≤ v < h−1 */
ss_device_inline float icp_bilinear_gray(ss_global const uint8_t* img, uint32_t w, float u, float v) {
  int32_t u0 = ss_float_to_int_floor(u), v0 = ss_float_to_int_floor(v);
  float fu = u - (float)u0, fv = v - (float)v0;
  ss_global const uint8_t* p = img + (uint32_t)v0 * w + (uint32_t)u0;
  float a = (float)p[0] * (1.0f - fu) + (float)p[1] * fu;
  float b = (float)p[w] * (1.0f - fu) + (float)p[w + 1] * fu;
  return (a * (1.0f - fv) + b * fv) * (1.0f / 255.0f);
}

/* image gradient at (u, v) ÷ 255 per pixel: central differences at the four pixels around
 * (u, v), blended bilinearly with the weights of icp_bilinear_gray, so the photometric
 * Jacobian moves continuously with the pose as the residual does (DVO); needs
 * 1 ≤ u < w−2, 1 ≤ v < h−2 */
ss_device_inline void icp_bilinear_gradient(ss_global const uint8_t* img, uint32_t w, float u, float v,
                                            ss_thread float* gx, ss_thread float* gy) {
  int32_t u0 = ss_float_to_int_floor(u), v0 = ss_float_to_int_floor(v);
  float fu = u - (float)u0, fv = v - (float)v0;
  ss_global const uint8_t* p = img + (uint32_t)v0 * w + (uint32_t)u0;
  const int32_t W = (int32_t)w;
  float dx00 = (float)p[1] - (float)p[-1], dx01 = (float)p[2] - (float)p[0];
  float dx10 = (float)p[W + 1] - (float)p[W - 1], dx11 = (float)p[W + 2] - (float)p[W];
  float dy00 = (float)p[W] - (float)p[-W], dy01 = (float)p[W + 1] - (float)p[1 - W];
  float dy10 = (float)p[2 * W] - (float)p[0], dy11 = (float)p[2 * W + 1] - (float)p[1];
  float ax = dx00 * (1.0f - fu) + dx01 * fu, bx = dx10 * (1.0f - fu) + dx11 * fu;
  float ay = dy00 * (1.0f - fu) + dy01 * fu, by = dy10 * (1.0f - fu) + dy11 * fu;
  *gx = (ax * (1.0f - fv) + bx * fv) * (0.5f / 255.0f);
  *gy = (ay * (1.0f - fv) + by * fv) * (0.5f / 255.0f);
}

/* 2b − 1 clamped to [0, 1], b = the bilinear weights at (u, v) of the four surrounding
 * reference pixels that have a point and a normal: 1 inside the valid region, falling to 0
 * half a pixel from an invalid pixel, where the nearest pixel becomes that one (exactly along
 * a row or column; a small step remains near corners) */
ss_device_inline float icp_valid_weight(ss_global const float* ref_points, ss_global const float* ref_normals,
                                        uint32_t w, uint32_t h, float u, float v) {
  int32_t u0 = ss_float_to_int_floor(u), v0 = ss_float_to_int_floor(v);
  float fu = u - (float)u0, fv = v - (float)v0;
  float b = 0.0f;
  for (int32_t dy = 0; dy < 2; ++dy)
    for (int32_t dx = 0; dx < 2; ++dx) {
      int32_t x = u0 + dx, y = v0 + dy;
      if (x < 0 || y < 0 || x >= (int32_t)w || y >= (int32_t)h) continue;
      uint32_t k = (uint32_t)y * w + (uint32_t)x;
      if (!ss_isfinite(ref_points[3 * k + 2]) || !ss_isfinite(ref_normals[3 * k])) continue;
      b += (dx ? fu : 1.0f - fu) * (dy ? fv : 1.0f - fv);
    }
  float a = 2.0f * b - 1.0f;
  return a > 0.0f ? a : 0.0f;
}

ss_device_inline float icp_huber_weight(float r, float delta) {
  float a = ss_fabs(r);
  return (delta > 0.0f && a > delta) ? delta / a : 1.0f;
}

/* Writes the geometric row (jg[6], rg, wg) and the photometric row (jc[6],
 * rc, wc) of pixel i; returns which of them are valid (SS_ICP_* bits; the angle gate is
 * the geometric row's alone, so a photometric row may come without a geometric one). */
ss_device_inline uint32_t icp_pixel_terms(const ss_icp_reduce_args args, uint32_t i,
                                          ss_global const float* cur_points, ss_global const float* cur_normals,
                                          ss_global const uint8_t* cur_gray, ss_global const float* ref_points,
                                          ss_global const float* ref_normals, ss_global const uint8_t* ref_gray,
                                          ss_thread float* jg, ss_thread float* rg, ss_thread float* wg,
                                          ss_thread float* jc, ss_thread float* rc, ss_thread float* wc) {
  ss_float3 p = ss_make_float3(cur_points[3 * i], cur_points[3 * i + 1], cur_points[3 * i + 2]);
  if (!ss_isfinite(p.z)) return 0u;
  uint32_t bits = SS_ICP_CUR_VALID;
  ss_constant float* T = args.cur_to_ref;
  ss_float3 q = v3_transform(T, p);
  if (!(q.z > 0.0f)) return bits;
  float u = args.fx * q.x / q.z + args.cx;
  float v = args.fy * q.y / q.z + args.cy;
  int32_t ui = ss_round_to_int(u), vi = ss_round_to_int(v);
  if (ui < 0 || vi < 0 || ui >= (int32_t)args.width || vi >= (int32_t)args.height) return bits;
  uint32_t j = (uint32_t)vi * args.width + (uint32_t)ui;
  ss_float3 r = ss_make_float3(ref_points[3 * j], ref_points[3 * j + 1], ref_points[3 * j + 2]);
  ss_float3 n = ss_make_float3(ref_normals[3 * j], ref_normals[3 * j + 1], ref_normals[3 * j + 2]);
  if (!ss_isfinite(r.z) || !ss_isfinite(n.x)) return bits;
  ss_float3 d = v3_sub(q, r);
  float dd = v3_dot(d, d), md2 = args.max_dist * args.max_dist;
  if (dd > md2) return bits;
  /* the gates taper the weights to 0 instead of cutting a pair off at full weight: a pair
   * crossing a gate as the pose moves then changes the normal equations continuously, so
   * Gauss-Newton settles instead of cycling between two poses (see the file comment) */
  float taper = 1.0f - dd / md2;
  taper *= taper;
  ss_float3 nc = ss_make_float3(cur_normals[3 * i], cur_normals[3 * i + 1], cur_normals[3 * i + 2]);
  bool geo = true;
  float tn = 1.0f;
  if (ss_isfinite(nc.x)) {
    float c = v3_dot(v3_rotate(T, nc), n);
    float span = 1.0f - args.min_normal_cos;
    if (c < args.min_normal_cos) {
      geo = false; /* the photometric row stays: the angle gate is about the plane, not the pixel */
    } else if (args.min_normal_cos > -1.0f && span > 0.0f) {
      float x = (1.0f - c) / span; /* ≈ (angle / largest angle)² */
      tn = 1.0f - x * x;
    }
  } else if (args.min_normal_cos > -1.0f) {
    return bits; /* no normal: a depth edge, where neither row is trustworthy */
  }
  if (geo) {
    float res = v3_dot(n, d);
    ss_float3 w = v3_cross(q, n);
    jg[0] = w.x;
    jg[1] = w.y;
    jg[2] = w.z;
    jg[3] = n.x;
    jg[4] = n.y;
    jg[5] = n.z;
    *rg = res;
    *wg = taper * tn * icp_huber_weight(res, args.huber_delta);
    bits |= SS_ICP_GEOMETRIC;
  }

  if (args.use_color && u >= 1.0f && v >= 1.0f && u < (float)args.width - 2.0f && v < (float)args.height - 2.0f) {
    float iref = icp_bilinear_gray(ref_gray, args.width, u, v);
    float gx, gy;
    icp_bilinear_gradient(ref_gray, args.width, u, v, &gx, &gy);
    float iz = 1.0f / q.z;
    /* dI/dq = ∇I · dπ/dq */
    ss_float3 dq = ss_make_float3(gx * args.fx * iz, gy * args.fy * iz,
                                  -(gx * args.fx * q.x + gy * args.fy * q.y) * iz * iz);
    ss_float3 wq = v3_cross(q, dq);
    float s = args.color_weight;
    float pr = iref - (float)cur_gray[i] * (1.0f / 255.0f);
    jc[0] = s * wq.x;
    jc[1] = s * wq.y;
    jc[2] = s * wq.z;
    jc[3] = s * dq.x;
    jc[4] = s * dq.y;
    jc[5] = s * dq.z;
    *rc = s * pr;
    *wc = taper * icp_valid_weight(ref_points, ref_normals, args.width, args.height, u, v) *
          icp_huber_weight(pr, args.color_huber_delta);
    bits |= SS_ICP_PHOTOMETRIC;
  }
  return bits;
}

#endif
