/* MASt3R geotrf: pts @ R^T + t (homogeneous (dim+1)×(dim+1) matrix), optional
 * divide by the last output coordinate or by the homogeneous w, then a scale */
#ifndef SS_KERNEL_GEOTRF_H
#define SS_KERNEL_GEOTRF_H

/* i: point index from args.first (launchers run i over [0, count)). Each row is one
 * fused multiply-add chain from the translation, as a float32 matmul computes it
 * (and the CPU's AVX-512 path does): explicit, so no backend depends on contraction. */
ss_device_inline void geotrf_point(const ss_geotrf_args args, uint32_t i, ss_global const float* in,
                                   ss_global float* out) {
  uint32_t d = args.dim, n = d + 1;
  uint64_t at = ((uint64_t)args.first + i) * d;
  float p[3] = {0.0f, 0.0f, 0.0f};
  float r[3] = {0.0f, 0.0f, 0.0f};
  for (uint32_t k = 0; k < d; ++k) p[k] = in[at + k];
  for (uint32_t row = 0; row < d; ++row) {
    float acc = args.t[row * n + d];
    for (uint32_t k = 0; k < d; ++k) acc = ss_fma(args.t[row * n + k], p[k], acc);
    r[row] = acc;
  }
  if (args.normalize) {
    float last = r[d - 1];
    if (args.normalize == SS_GEOTRF_DIVIDE_W) {
      last = args.t[d * n + d];
      for (uint32_t k = 0; k < d; ++k) last = ss_fma(args.t[d * n + k], p[k], last);
    }
    /* MASt3R: pts / pts[..., -1:], then *= norm when norm != 1 (two roundings) */
    for (uint32_t k = 0; k < d; ++k) r[k] = r[k] / last;
    if (args.scale != 0.0f && args.scale != 1.0f)
      for (uint32_t k = 0; k < d; ++k) r[k] = r[k] * args.scale;
  }
  for (uint32_t k = 0; k < d; ++k) out[at + k] = r[k];
}

#endif
