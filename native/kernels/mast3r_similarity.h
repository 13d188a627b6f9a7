/* MASt3R get_similarities and the InfoNCE ('proper') matching loss */
#ifndef SS_KERNEL_MAST3R_SIMILARITY_H
#define SS_KERNEL_MAST3R_SIMILARITY_H

/* d1·d2, or 1/(1 + ‖d1 − d2‖) with euc (MASt3R's "euclidean distance in the
 * same range as similarities") */
ss_device_inline float mast3r_sim(ss_global const float* a, ss_global const float* b, uint32_t dim, uint32_t euc) {
  float s = 0.0f;
  if (!euc) {
    for (uint32_t k = 0; k < dim; ++k) s += a[k] * b[k];
    return s;
  }
  for (uint32_t k = 0; k < dim; ++k) {
    float d = a[k] - b[k];
    s += d * d;
  }
  return 1.0f / (1.0f + ss_sqrt(s));
}

/* i: flat (batch, row, col) output index */
ss_device_inline void mast3r_similarity_elem(const ss_mast3r_similarity_args args, uint64_t i,
                                             ss_global const float* d1, ss_global const float* d2,
                                             ss_global float* out) {
  uint64_t nm = (uint64_t)args.n * args.m;
  uint64_t b = i / nm, r = (i % nm) / args.m, c = i % args.m;
  out[i] = mast3r_sim(d1 + (b * args.n + r) * args.dim, d2 + (b * args.m + c) * args.dim, args.dim, args.euc);
}

/* log Σ_k exp(sim(q, rows_k)/τ) over n rows (NaN similarities count as −∞),
 * two passes so nothing overflows; float64 sum */
ss_device_inline double mast3r_lse(ss_global const float* q, ss_global const float* rows, uint32_t n, uint32_t dim,
                                   uint32_t euc, float inv_t, bool q_is_first) {
  float mx = -SS_INF;
  for (uint32_t k = 0; k < n; ++k) {
    ss_global const float* o = rows + (uint64_t)k * dim;
    float s = (q_is_first ? mast3r_sim(q, o, dim, euc) : mast3r_sim(o, q, dim, euc)) * inv_t;
    if (s > mx) mx = s;
  }
  if (!(mx > -SS_INF)) return -SS_INF;
  double acc = 0.0;
  for (uint32_t k = 0; k < n; ++k) {
    ss_global const float* o = rows + (uint64_t)k * dim;
    float s = (q_is_first ? mast3r_sim(q, o, dim, euc) : mast3r_sim(o, q, dim, euc)) * inv_t;
    if (s == s) acc += mast3r_exp_d((double)(s - mx));
  }
  return (double)mx + mast3r_log_d(acc);
}

/* i: flat (batch, pair) index. loss = −[log clip(S_ii/Σ_k S_ki, eps) + log clip(S_ii/Σ_k S_ik, eps)] */
ss_device_inline void mast3r_infonce_pair(const ss_mast3r_infonce_args args, uint32_t i, ss_global const float* d1,
                                          ss_global const float* d2, ss_global float* loss) {
  uint32_t n = args.n, dim = args.dim;
  uint32_t b = i / n, p = i % n;
  ss_global const float* base1 = d1 + (uint64_t)b * n * dim;
  ss_global const float* base2 = d2 + (uint64_t)b * n * dim;
  ss_global const float* a = base1 + (uint64_t)p * dim;
  ss_global const float* c = base2 + (uint64_t)p * dim;
  float inv_t = 1.0f / args.temperature;
  float pos_f = mast3r_sim(a, c, dim, args.euc) * inv_t;
  double pos = pos_f == pos_f ? (double)pos_f : -SS_INF;
  double log_eps = mast3r_log_d((double)args.eps);
  double col = mast3r_lse(c, base1, n, dim, args.euc, inv_t, false);
  double row = mast3r_lse(a, base2, n, dim, args.euc, inv_t, true);
  double t1 = pos - col, t2 = pos - row;
  /* torch's clip keeps NaN: a pair whose similarities are all NaN is 0/0 */
  t1 = t1 > log_eps || t1 != t1 ? t1 : log_eps;
  t2 = t2 > log_eps || t2 != t2 ? t2 : log_eps;
  loss[i] = (float)(-(t1 + t2));
}

#endif
