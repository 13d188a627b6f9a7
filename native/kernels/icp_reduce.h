/* Per-pixel terms of point-to-plane ICP (+ photometric) with projective data
 * association, as in KinectFusion (Newcombe et al. 2011) and the intensity
 * term of Kerl/Steinbrücker dense RGB-D odometry. The backend sums the terms
 * (CPU: float64 per fixed chunk, then chunks in order). Jacobians are for a
 * left-multiplied twist ξ = (ω, v): q' = q + ω × q + v. */
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

ss_device_inline float icp_huber_weight(float r, float delta) {
  float a = ss_fabs(r);
  return (delta > 0.0f && a > delta) ? delta / a : 1.0f;
}

/* Writes the geometric row (jg[6], rg, wg) and the photometric row (jc[6],
 * rc, wc) of pixel i; returns which of them are valid (SS_ICP_* bits). */
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
  if (v3_dot(d, d) > args.max_dist * args.max_dist) return bits;
  ss_float3 nc = ss_make_float3(cur_normals[3 * i], cur_normals[3 * i + 1], cur_normals[3 * i + 2]);
  if (ss_isfinite(nc.x)) {
    if (v3_dot(v3_rotate(T, nc), n) < args.min_normal_cos) return bits;
  } else if (args.min_normal_cos > -1.0f) {
    return bits;
  }
  float res = v3_dot(n, d);
  ss_float3 w = v3_cross(q, n);
  jg[0] = w.x;
  jg[1] = w.y;
  jg[2] = w.z;
  jg[3] = n.x;
  jg[4] = n.y;
  jg[5] = n.z;
  *rg = res;
  *wg = icp_huber_weight(res, args.huber_delta);
  bits |= SS_ICP_GEOMETRIC;

  if (args.use_color && u >= 1.0f && v >= 1.0f && u < (float)args.width - 2.0f && v < (float)args.height - 2.0f) {
    float iref = icp_bilinear_gray(ref_gray, args.width, u, v);
    /* gradient by central differences at the nearest pixel (DVO-style Jacobian; the residual stays bilinear) */
    ss_global const uint8_t* g = ref_gray + j;
    float gx = 0.5f * (1.0f / 255.0f) * ((float)g[1] - (float)g[-1]);
    float gy = 0.5f * (1.0f / 255.0f) * ((float)g[args.width] - (float)g[-(int32_t)args.width]);
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
    *wc = icp_huber_weight(pr, args.color_huber_delta);
    bits |= SS_ICP_PHOTOMETRIC;
  }
  return bits;
}

#endif
