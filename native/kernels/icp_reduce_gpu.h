/* The ICP reduction shaped for a GPU threadgroup (needs icp_reduce.h): each
 * thread sums the terms of its pixels of the threadgroup's rows in pixel
 * order; the threadgroup then adds the threads' sums pairwise in a tree in
 * threadgroup memory (fixed order: deterministic on any GPU and in any thread
 * order), and writes one partial of 32 float-float sums, which the host adds
 * in float64 (the ABI's float64[32]). Written against the
 * GPU vocabulary (compat/metal.h). */
#ifndef SS_KERNEL_ICP_REDUCE_GPU_H
#define SS_KERNEL_ICP_REDUCE_GPU_H

#define SS_ICP_TERMS 32

/* Sums are float-float pairs (hi + lo, about 48 bits): Metal has no double, and
 * the CPU sums in float lanes then float64, so exact sums of the same terms
 * land nearest to its result (tracking amplifies differences where ICP is
 * poorly conditioned). Two-sum has no multiply for a compiler to fuse. */
ss_device_inline void ff_add(ss_thread float* hi, ss_thread float* lo, float x) {
  float s = *hi + x;
  float b = s - *hi;
  *lo += (*hi - (s - b)) + (x - b);
  *hi = s;
}
/* += a·b, the product's rounding error kept (fma gives it exactly); the product rounded on its own, so
 * that no compiler fuses it into the two-sum's first add */
ss_device_inline void ff_add_product(ss_thread float* hi, ss_thread float* lo, float a, float b) {
  float p = ss_mul_rn(a, b);
  ff_add(hi, lo, p);
  *lo += ss_fma(a, b, -p);
}

/* one row (j, residual r, weight w) into the normal equations: upper triangle of w·J·Jᵀ, w·J·r */
ss_device_inline void icp_accumulate_row(ss_thread float* hi, ss_thread float* lo, ss_thread const float* j, float r, float w) {
  uint32_t k = 0;
  for (uint32_t a = 0; a < 6; ++a) {
    float wj = w * j[a];
    for (uint32_t b = a; b < 6; ++b, ++k) ff_add_product(hi + k, lo + k, wj, j[b]);
    ff_add_product(hi + 21 + a, lo + 21 + a, wj, r);
  }
}

/* Threadgroup `group` sums rows [group·rows, (group+1)·rows); thread t of n (a power of two);
 * tree: 2·32·n floats of threadgroup memory; partials[64·group ..] = the threadgroup's sums in the
 * ABI's order as 32 hi then 32 lo (counts are exact). Every thread calls it. */
ss_device_inline void icp_reduce_group(const ss_icp_reduce_args a, uint32_t group, uint32_t rows, uint32_t t, uint32_t n,
                                       ss_global const float* cur_points, ss_global const float* cur_normals, ss_global const uint8_t* cur_gray,
                                       ss_global const float* ref_points, ss_global const float* ref_normals, ss_global const uint8_t* ref_gray,
                                       ss_shared float* tree, ss_global float* partials) {
  float hi[SS_ICP_TERMS], lo[SS_ICP_TERMS];
  for (uint32_t k = 0; k < SS_ICP_TERMS; ++k) hi[k] = lo[k] = 0.0f;
  const uint32_t y0 = group * rows, y1 = y0 + rows < a.height ? y0 + rows : a.height;
  for (uint32_t i = y0 * a.width + t; i < y1 * a.width; i += n) {
    float jg[6], jc[6], rg = 0.0f, wg = 0.0f, rc = 0.0f, wc = 0.0f;
    uint32_t bits = icp_pixel_terms(a, i, cur_points, cur_normals, cur_gray, ref_points, ref_normals, ref_gray, jg, &rg, &wg, jc, &rc, &wc);
    if (!bits) continue;
    hi[31] += 1.0f;
    if (bits & SS_ICP_GEOMETRIC) {
      icp_accumulate_row(hi, lo, jg, rg, wg);
      ff_add_product(hi + 27, lo + 27, wg * rg, rg);
      hi[28] += 1.0f;
    }
    if (bits & SS_ICP_PHOTOMETRIC) {
      icp_accumulate_row(hi, lo, jc, rc, wc);
      ff_add_product(hi + 29, lo + 29, wc * rc, rc);
      hi[30] += 1.0f;
    }
  }
  /* tree[k·n + t] = hi, tree[(32 + k)·n + t] = lo */
  for (uint32_t k = 0; k < SS_ICP_TERMS; ++k) {
    tree[k * n + t] = hi[k];
    tree[(SS_ICP_TERMS + k) * n + t] = lo[k];
  }
  ss_threadgroup_sync();
  for (uint32_t stride = n / 2; stride > 0; stride >>= 1) {
    if (t < stride)
      for (uint32_t k = 0; k < SS_ICP_TERMS; ++k) {
        float h = tree[k * n + t], l = tree[(SS_ICP_TERMS + k) * n + t] + tree[(SS_ICP_TERMS + k) * n + t + stride];
        ff_add(&h, &l, tree[k * n + t + stride]);
        tree[k * n + t] = h;
        tree[(SS_ICP_TERMS + k) * n + t] = l;
      }
    ss_threadgroup_sync();
  }
  /* 64 sums, whatever n is (a pipeline may allow only 32 threads) */
  for (uint32_t j = t; j < 2 * SS_ICP_TERMS; j += n) partials[2 * SS_ICP_TERMS * group + j] = tree[j * n];
}

#endif
