/* Distances of float descriptors for reciprocal matching: squared L2 or dot product */
#ifndef SS_KERNEL_FLOAT_MATCH_H
#define SS_KERNEL_FLOAT_MATCH_H

/* squared L2 (smaller is better) or dot product (larger is better), summed in index order */
ss_device_inline float float_match_score(ss_global const float* a, ss_global const float* b, uint32_t dim, uint32_t dist) {
  float acc = 0.0f;
  if (dist == SS_DIST_DOT) {
    for (uint32_t k = 0; k < dim; ++k) acc += a[k] * b[k];
  } else {
    for (uint32_t k = 0; k < dim; ++k) {
      float d = a[k] - b[k];
      acc += d * d;
    }
  }
  return acc;
}

#endif
