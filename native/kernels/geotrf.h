/* MASt3R geotrf: pts @ R^T + t (homogeneous (dim+1)×(dim+1) matrix), optional perspective divide */
#ifndef SS_KERNEL_GEOTRF_H
#define SS_KERNEL_GEOTRF_H

ss_device_inline void geotrf_point(const ss_geotrf_args args, uint32_t i, ss_global const float* in,
                                   ss_global float* out) {
  uint32_t d = args.dim, n = d + 1;
  float p[3] = {0.0f, 0.0f, 0.0f};
  float r[3] = {0.0f, 0.0f, 0.0f};
  for (uint32_t k = 0; k < d; ++k) p[k] = in[(uint64_t)i * d + k];
  for (uint32_t row = 0; row < d; ++row) {
    float acc = args.t[row * n + d];
    for (uint32_t k = 0; k < d; ++k) acc += args.t[row * n + k] * p[k];
    r[row] = acc;
  }
  if (args.normalize) {
    float last = r[d - 1];
    for (uint32_t k = 0; k < d; ++k) r[k] = r[k] / last;
  }
  for (uint32_t k = 0; k < d; ++k) out[(uint64_t)i * d + k] = r[k];
}

#endif
