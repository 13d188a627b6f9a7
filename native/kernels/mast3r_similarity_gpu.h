/* MASt3R get_similarities and the InfoNCE loss shaped for a GPU, written once
 * for CUDA and Metal (needs mast3r_tile_gpu.h, mast3r_gpu_params.h).
 * Similarities: one tile per threadgroup step through threadgroup memory to
 * the output; each value one fused multiply-add chain in k order, as the CPU
 * computes it (euc: (a − b)² summed the same way, then 1/(1 + √·)).
 * InfoNCE: the same tiles feed a log-sum-exp per row instead of memory — an
 * online (max, sum) per thread over its columns, the sum a float pair (Metal
 * has no double; the CPU sums in float64), merged in a fixed order, so the
 * result is deterministic and within float rounding of the CPU's. The column sums
 * are the row sums of the swapped problem (sim is symmetric bit for bit:
 * fma(a, b, ·) = fma(b, a, ·), (a − b)² = (b − a)²). */
#ifndef SS_KERNEL_MAST3R_SIMILARITY_GPU_H
#define SS_KERNEL_MAST3R_SIMILARITY_GPU_H

#define M3T_EPT (M3T_TM * M3T_TN / M3T_THREADS)

/* sim(a, b) as one chain (the CPU's mast3r_sim with its multiply-adds fused) */
ss_device_inline float m3g_sim(ss_global const float* a, ss_global const float* b, uint32_t dim, uint32_t euc) {
  float s = 0.0f;
  if (!euc) {
    for (uint32_t k = 0; k < dim; ++k) s = ss_fma(a[k], b[k], s);
    return s;
  }
  for (uint32_t k = 0; k < dim; ++k) {
    float d = a[k] - b[k];
    s = ss_fma(d, d, s);
  }
  return 1.0f / (1.0f + ss_sqrt(s));
}

/* A running log-sum-exp: max m and Σ exp(v − m) as a float pair hi + lo. For a matching pair
 * the loss is log Σ minus the positive (the usual maximum): a few thousandths of a sum near 1,
 * which a single float sum would leave with ~1e-4 relative error; the pair keeps the sum
 * near-exact and m3g_lse_log takes its logarithm from the part above 1. */
typedef struct m3g_lse {
  float m, hi, lo;
} m3g_lse;

ss_device_inline void m3g_two_sum(ss_thread float* hi, ss_thread float* lo, float x) {
  float s = *hi + x;
  float b = s - *hi;
  *lo += (*hi - (s - b)) + (x - b);
  *hi = s;
}
ss_device_inline m3g_lse m3g_lse_empty() {
  m3g_lse l;
  l.m = -SS_INF;
  l.hi = 0.0f;
  l.lo = 0.0f;
  return l;
}
/* (hi, lo) scaled by f, then (h2, l2) added */
ss_device_inline void m3g_lse_rescale_add(ss_thread m3g_lse* l, float f, float h2, float l2) {
  float h = l->hi * f, lo = l->lo * f;
  l->hi = h;
  l->lo = lo;
  m3g_two_sum(&l->hi, &l->lo, h2);
  l->lo += l2;
  float s = l->hi + l->lo;
  l->lo = l->lo - (s - l->hi);
  l->hi = s;
}
/* one more term v (NaN — MASt3R's −∞ — and −∞ add nothing) */
ss_device_inline void m3g_lse_add(ss_thread m3g_lse* l, float v) {
  if (!(v > -SS_INF)) return;
  if (v > l->m) {
    m3g_lse_rescale_add(l, ss_exp(l->m - v), 1.0f, 0.0f);
    l->m = v;
  } else {
    m3g_two_sum(&l->hi, &l->lo, ss_exp(v - l->m));
  }
}
ss_device_inline void m3g_lse_merge(ss_thread m3g_lse* l, float m2, float h2, float l2) {
  if (!(m2 > -SS_INF)) return;
  if (m2 > l->m) {
    m3g_lse_rescale_add(l, ss_exp(l->m - m2), h2, l2);
    l->m = m2;
  } else {
    float f = ss_exp(m2 - l->m);
    m3g_lse_rescale_add(l, 1.0f, h2 * f, l2 * f);
  }
}
/* log(hi + lo) for a sum ≥ 1 (it holds its maximum's exp(0)): below 2, from d = hi − 1 + lo
 * (hi − 1 exact) by log1p(d) = log(u)·d/(u − 1), u = 1 + d (Goldberg), accurate in relative terms */
ss_device_inline float m3g_lse_log(m3g_lse l) {
  if (!(l.hi < 2.0f)) return log(l.hi + l.lo);
  float d = (l.hi - 1.0f) + l.lo;
  float u = 1.0f + d;
  if (u == 1.0f) return d;
  return log(u) * (d / (u - 1.0f));
}

/* threadgroup (rbg = batch · row_blocks + row block, split), thread t; out: the similarities
 * (lse = 0) or the scratch holding the log-sum-exp partials (lse = 1) */
ss_device_inline void m3g_sim_scan(const m3g_sim_params p, uint32_t rbg, uint32_t split, uint32_t t, ss_global const float* D1,
                                   ss_global const float* D2, ss_global float* out, ss_shared float* sm) {
  ss_shared float* As = sm + M3T_AS;
  ss_shared float* Bs = sm + M3T_BS;
  ss_shared float* S = sm + M3T_S;
  const uint32_t b = rbg / p.row_blocks, rb = rbg % p.row_blocks;
  ss_global const float* A = D1 + (uint64_t)b * p.n * p.dim;
  ss_global const float* B = D2 + (uint64_t)b * p.m * p.dim;
  const uint32_t row0 = rb * M3T_TM;
  const uint32_t tile0 = split * p.tiles_per_split;
  const uint32_t tile1 = tile0 + p.tiles_per_split < p.col_tiles ? tile0 + p.tiles_per_split : p.col_tiles;
  const uint32_t chunks = (p.dim + M3T_KC - 1u) / M3T_KC;
  const uint32_t rr = t / M3T_RT, rsub = t % M3T_RT;
  m3g_lse lse = m3g_lse_empty();
  for (uint32_t tile = tile0; tile < tile1; ++tile) {
    const uint32_t col0 = tile * M3T_TN;
    const uint32_t ncols = p.m - col0 < M3T_TN ? p.m - col0 : M3T_TN;
    m3t_acc acc;
    float eacc[M3T_EPT];
    if (!p.euc) m3t_zero(acc);
    else
      for (uint32_t u = 0; u < M3T_EPT; ++u) eacc[u] = 0.0f;
    for (uint32_t chunk = 0; chunk < chunks; ++chunk) {
      const uint32_t k0 = chunk * M3T_KC;
      const uint32_t kc = p.dim - k0 < M3T_KC ? p.dim - k0 : M3T_KC;
      const uint32_t kc8 = (kc + 7u) & ~7u;
      if (chunk > 0) ss_threadgroup_sync();
      if (chunks > 1 || tile == tile0) m3t_load(As, M3T_AP, M3T_TM, A, (ss_global const int32_t*)D1, 0u, row0, p.n, p.dim, k0, kc8, t);
      m3t_load(Bs, M3T_BP, M3T_TN, B, (ss_global const int32_t*)D2, 0u, col0, p.m, p.dim, k0, kc8, t);
      ss_threadgroup_sync();
      if (!p.euc) {
        m3t_accumulate(acc, As, Bs, kc8, t);
      } else {
        for (uint32_t u = 0; u < M3T_EPT; ++u) {
          const uint32_t e = t + M3T_THREADS * u, r = e / M3T_TN, c = e % M3T_TN;
          for (uint32_t k = 0; k < kc8; ++k) {
            float d = As[k * M3T_AP + r] - Bs[k * M3T_BP + c];
            eacc[u] = ss_fma(d, d, eacc[u]);
          }
        }
      }
    }
    if (!p.euc) {
      m3t_store(acc, S, t);
    } else {
      for (uint32_t u = 0; u < M3T_EPT; ++u) {
        const uint32_t e = t + M3T_THREADS * u;
        S[(e / M3T_TN) * M3T_SP + e % M3T_TN] = 1.0f / (1.0f + ss_sqrt(eacc[u]));
      }
    }
    ss_threadgroup_sync();
    if (!p.lse) {
      for (uint32_t e = t; e < M3T_TM * M3T_TN; e += M3T_THREADS) {
        const uint32_t r = e / M3T_TN, c = e % M3T_TN;
        if (row0 + r < p.n && c < ncols) out[((uint64_t)b * p.n + row0 + r) * p.m + col0 + c] = S[r * M3T_SP + c];
      }
    } else if (row0 + rr < p.n) {
      for (uint32_t j = 0; j < M3T_TN / (4u * M3T_RT); ++j)
        for (uint32_t q = 0; q < 4u; ++q) {
          const uint32_t c = 4u * (rsub + M3T_RT * j) + q;
          if (c < ncols) m3g_lse_add(&lse, S[rr * M3T_SP + c] * p.inv_t);
        }
    }
    ss_threadgroup_sync();
  }
  if (p.lse && row0 + rr < p.n) {
    const uint64_t rows = (uint64_t)p.batch * p.n;
    const uint64_t plane = (uint64_t)p.splits * M3T_RT * rows;
    const uint64_t at = (uint64_t)(split * M3T_RT + rsub) * rows + (uint64_t)b * p.n + row0 + rr;
    out[p.lp + at] = lse.m;
    out[p.lp + plane + at] = lse.hi;
    out[p.lp + 2u * plane + at] = lse.lo;
  }
}

/* one row's log-sum-exp from its partials (entries of them, merged in order) at lp */
ss_device_inline m3g_lse m3g_lse_finish(ss_global const float* part, uint32_t lp, uint32_t entries, uint64_t rows, uint64_t i) {
  const uint64_t plane = (uint64_t)entries * rows;
  m3g_lse l = m3g_lse_empty();
  for (uint32_t e = 0; e < entries; ++e) {
    uint64_t at = lp + (uint64_t)e * rows + i;
    m3g_lse_merge(&l, part[at], part[at + plane], part[at + 2u * plane]);
  }
  return l;
}

/* log(S_ii / Σ S) = (pos − m) − log Σ exp(· − m), in that order (pos − m is exact near the maximum) */
ss_device_inline float m3g_log_ratio(float pos, m3g_lse l) {
  if (!(l.m > -SS_INF)) return pos - l.m;
  return (pos - l.m) - m3g_lse_log(l);
}

/* pair i of batch · n (one thread each): −[log clip(S_ii/Σ_k S_ki, eps) + log clip(S_ii/Σ_k S_ik, eps)] */
ss_device_inline void m3g_infonce_pair(const m3g_infonce_params p, uint32_t i, ss_global const float* D1, ss_global const float* D2,
                                       ss_global const float* part, ss_global float* loss) {
  const uint64_t rows = (uint64_t)p.batch * p.n;
  if (i >= rows) return;
  float pos = m3g_sim(D1 + (uint64_t)i * p.dim, D2 + (uint64_t)i * p.dim, p.dim, p.euc) * p.inv_t;
  if (!(pos == pos)) pos = -SS_INF;
  float t1 = m3g_log_ratio(pos, m3g_lse_finish(part, p.lp_col, p.entries, rows, i));
  float t2 = m3g_log_ratio(pos, m3g_lse_finish(part, p.lp_row, p.entries, rows, i));
  /* torch's clip keeps NaN: a pair whose similarities are all NaN is 0/0 */
  t1 = t1 > p.log_eps || t1 != t1 ? t1 : p.log_eps;
  t2 = t2 > p.log_eps || t2 != t2 ? t2 : p.log_eps;
  loss[i] = -(t1 + t2);
}

#endif
