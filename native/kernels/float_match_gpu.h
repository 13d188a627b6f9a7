/* Reciprocal matching of float descriptors (ss_float_match) shaped for a GPU,
 * with the CPU's float64 winners exactly.
 *
 * The CPU ranks float64 sums in index order (squared L2: d = a − b, d² and
 * the add each rounded; dot: exact products, the adds rounded). A GPU ranks
 * float32 sums F of the same terms instead and bounds how far the CPU's
 * value D can lie from F:
 *   |F − D| ≤ (γ_{n+2} + γ'_{n+3}) · S + underflow,  γ_k ≈ k·2⁻²⁴, γ'_k ≈ k·2⁻⁵³,
 * S = Σ (a−b)² ≤ F/(1 − γ) for L2, S = Σ |a·b| ≤ n · max|a| · max|b| for dot
 * (any order of float32 fma steps obeys it). E below is 2.5× that, so
 * L = F − 2E ≤ D ≤ F + 2E = U for every pair. Per row of X (one thread each):
 *   pass 1: T = the second smallest U over Y (the smallest for a side that
 *           needs only the nearest): the CPU's second best D is ≤ T;
 *   pass 2: the candidates, L ≤ T, in index order: a Y row that is not one
 *           has D > T, so it can be neither the best nor the second best;
 *   exact:  each candidate's D computed as the CPU does, in float64 (CUDA's
 *           double, Metal's integer float64 of compat/metal_ieee.h: the same
 *           bits), ranked with the CPU's strict compares in index order.
 * So nearest indices, best and second best (as float64) and the match
 * decisions are the CPU's for every input, ties and non-finite sums
 * included (a non-finite F or bound makes its pair a candidate). Distances
 * are kept as keys where smaller is nearer: D for L2, −D for dot.
 * Threadgroups of SS_FM_ROWS threads stream X and Y through threadgroup
 * memory in tiles of SS_FM_TILE rows × SS_FM_CHUNK dimensions. Run for
 * (X, Y) = (a, b) and (b, a), then float_match_finalize_row writes out_a and
 * out_b. Written against the GPU vocabulary (DESIGN.md §3 rule 10). */
#ifndef SS_KERNEL_FLOAT_MATCH_GPU_H
#define SS_KERNEL_FLOAT_MATCH_GPU_H

#define SS_FM_ROWS 64
#define SS_FM_TILE 32
#define SS_FM_CHUNK 32
/* candidates a thread keeps in a list; more are found again by a slower scan */
#define SS_FM_LIST 16

/* max |x_k| of row i (the dot bound): one thread per row of a then b */
ss_device_inline float float_match_row_max(ss_global const float* x, uint32_t dim) {
  float m = 0.0f;
  for (uint32_t k = 0; k < dim; ++k) m = ss_fmax(m, ss_fabs(x[k]));
  return m;
}

/* float32 sum of row x against row y, fma steps in index order */
ss_device_inline float float_match_f32(ss_global const float* x, ss_global const float* y, uint32_t dim, bool dot) {
  float acc = 0.0f;
  for (uint32_t k = 0; k < dim; ++k) {
    if (dot) {
      acc = ss_fma(x[k], y[k], acc);
    } else {
      float d = x[k] - y[k];
      acc = ss_fma(d, d, acc);
    }
  }
  return acc;
}

/* [L, U] around the key of a float32 sum `sum` (bound as in the header comment) */
ss_device_inline void float_match_interval(float sum, bool dot, uint32_t dim, float xmax, float ymax, ss_thread float* lo, ss_thread float* hi) {
  const float rel = (float)(dim + 3u) * (1.25f / 16777216.0f), abs_err = (float)(dim + 2u) * 7.5231638e-37f; /* 2⁻¹²⁰ per step */
  const float key = dot ? -sum : sum;
  const float scale = dot ? (float)dim * xmax * ymax : sum;
  const float e = rel * scale + abs_err;
  *lo = key - 2.0f * e;
  *hi = key + 2.0f * e;
  if (!ss_isfinite(*lo) || !ss_isfinite(*hi)) {
    *lo = -SS_INF;
    *hi = SS_INF;
  }
}

/* the CPU's float64 sum of row x against row y, as a key (−sum for dot) */
ss_device_inline ss_f64 float_match_exact(ss_global const float* x, ss_global const float* y, uint32_t dim, bool dot) {
  ss_f64 s = ss_f64_from_bits(0);
  for (uint32_t k = 0; k < dim; ++k) {
    const ss_f64 xd = ss_f64_from_f32(x[k]), yd = ss_f64_from_f32(y[k]);
    if (dot) {
      s = ss_f64_add(s, ss_f64_mul(xd, yd));
    } else {
      const ss_f64 d = ss_f64_sub(xd, yd);
      s = ss_f64_add(s, ss_f64_mul(d, d));
    }
  }
  return dot ? ss_f64_neg(s) : s;
}

/* candidate j of row x into the running best (index order, strict compares: the CPU's rule) */
ss_device_inline void float_match_rank(ss_f64 d, int32_t j, ss_thread ss_f64* d1, ss_thread ss_f64* d2, ss_thread int32_t* i1) {
  if (ss_f64_lt(d, *d1)) {
    *d2 = *d1;
    *d1 = d;
    *i1 = j;
  } else if (ss_f64_lt(d, *d2)) {
    *d2 = d;
  }
}

/* One pass of the tiled float32 sums of the group's X rows against every Y row, calling back per pair:
 * pass 0 narrows the bounds hi1 ≤ hi2, pass 1 lists candidates. Every thread calls it. */
ss_device_inline void float_match_scan(uint32_t pass, uint32_t nx, uint32_t ny, uint32_t dim, bool dot, uint32_t group, uint32_t t,
                                       ss_global const float* X, ss_global const float* Y, ss_global const float* ymax, float xmax,
                                       ss_shared float* xs, ss_shared float* ys, float limit, ss_thread float* hi1, ss_thread float* hi2,
                                       ss_thread int32_t* list, ss_thread uint32_t* listed, ss_thread int32_t* resume) {
  for (uint32_t j0 = 0; j0 < ny; j0 += SS_FM_TILE) {
    float acc[SS_FM_TILE];
    for (uint32_t jj = 0; jj < SS_FM_TILE; ++jj) acc[jj] = 0.0f;
    for (uint32_t k0 = 0; k0 < dim; k0 += SS_FM_CHUNK) {
      ss_threadgroup_sync(); /* the chunk before is read */
      /* dimension k of the group's row r at xs[k · SS_FM_ROWS + r]; zeros past the ends add nothing */
      for (uint32_t e = t; e < SS_FM_ROWS * SS_FM_CHUNK; e += SS_FM_ROWS) {
        const uint32_t r = e / SS_FM_CHUNK, k = e % SS_FM_CHUNK, row = group * SS_FM_ROWS + r;
        xs[k * SS_FM_ROWS + r] = row < nx && k0 + k < dim ? X[(uint64_t)row * dim + k0 + k] : 0.0f;
      }
      for (uint32_t e = t; e < SS_FM_TILE * SS_FM_CHUNK; e += SS_FM_ROWS) {
        const uint32_t r = e / SS_FM_CHUNK, k = e % SS_FM_CHUNK;
        ys[e] = j0 + r < ny && k0 + k < dim ? Y[(uint64_t)(j0 + r) * dim + k0 + k] : 0.0f;
      }
      ss_threadgroup_sync();
      for (uint32_t k = 0; k < SS_FM_CHUNK; ++k) {
        const float xv = xs[k * SS_FM_ROWS + t];
        for (uint32_t jj = 0; jj < SS_FM_TILE; ++jj) {
          const float yv = ys[jj * SS_FM_CHUNK + k];
          if (dot) {
            acc[jj] = ss_fma(xv, yv, acc[jj]);
          } else {
            const float d = xv - yv;
            acc[jj] = ss_fma(d, d, acc[jj]);
          }
        }
      }
    }
    const uint32_t jn = ny - j0 < SS_FM_TILE ? ny - j0 : SS_FM_TILE;
    for (uint32_t jj = 0; jj < jn; ++jj) {
      float lo, hi;
      float_match_interval(acc[jj], dot, dim, xmax, dot ? ymax[j0 + jj] : 0.0f, &lo, &hi);
      if (pass == 0) {
        if (hi < *hi1) {
          *hi2 = *hi1;
          *hi1 = hi;
        } else if (hi < *hi2) {
          *hi2 = hi;
        }
      } else if (lo <= limit && *resume < 0) {
        if (*listed < SS_FM_LIST) list[(*listed)++] = (int32_t)(j0 + jj);
        else *resume = (int32_t)(j0 + jj);
      }
    }
  }
}

/* Every thread of the threadgroup (SS_FM_ROWS of them) calls it. xs: SS_FM_ROWS · SS_FM_CHUNK, ys: SS_FM_TILE ·
 * SS_FM_CHUNK floats of threadgroup memory; xmax/ymax: the rows' max |x| (dot only). Row i = group·SS_FM_ROWS + t
 * of X gets res[3i ..] = {nearest (int32, −1 for none), best key, second best key (float64 bits; +∞ for none)};
 * with_second = 0 bounds by the best only (the side that needs no second best). */
ss_device_inline void float_match_rows_group(uint32_t nx, uint32_t ny, uint32_t dim, bool dot, uint32_t with_second, uint32_t group, uint32_t t,
                                             ss_global const float* X, ss_global const float* Y, ss_global const float* xmax_rows,
                                             ss_global const float* ymax_rows, ss_shared float* xs, ss_shared float* ys, ss_global uint64_t* res) {
  const uint32_t i = group * SS_FM_ROWS + t;
  const bool live = i < nx;
  const float xmax = dot && live ? xmax_rows[i] : 0.0f;
  float hi1 = SS_INF, hi2 = SS_INF;
  int32_t list[SS_FM_LIST];
  uint32_t listed = 0;
  int32_t resume = -1;
  float_match_scan(0, nx, ny, dim, dot, group, t, X, Y, ymax_rows, xmax, xs, ys, 0.0f, &hi1, &hi2, list, &listed, &resume);
  const float limit = with_second ? hi2 : hi1;
  float_match_scan(1, nx, ny, dim, dot, group, t, X, Y, ymax_rows, xmax, xs, ys, limit, &hi1, &hi2, list, &listed, &resume);
  if (!live) return;
  ss_global const float* x = X + (uint64_t)i * dim;
  ss_f64 d1 = ss_f64_inf(), d2 = ss_f64_inf();
  int32_t i1 = -1;
  for (uint32_t c = 0; c < listed; ++c) float_match_rank(float_match_exact(x, Y + (uint64_t)list[c] * dim, dim, dot), list[c], &d1, &d2, &i1);
  /* more candidates than the list holds (many near-equal rows): the rest, found again one by one */
  for (int32_t j = resume; j >= 0 && j < (int32_t)ny; ++j) {
    ss_global const float* y = Y + (uint64_t)j * dim;
    float lo, hi;
    float_match_interval(float_match_f32(x, y, dim, dot), dot, dim, xmax, dot ? ymax_rows[j] : 0.0f, &lo, &hi);
    if (lo <= limit) float_match_rank(float_match_exact(x, y, dim, dot), j, &d1, &d2, &i1);
  }
  res[3 * (uint64_t)i] = (uint64_t)(uint32_t)i1;
  res[3 * (uint64_t)i + 1] = ss_f64_bits(d1);
  res[3 * (uint64_t)i + 2] = ss_f64_bits(d2);
}

/* row r < n: out_a[r] = {nn, best, second, match} (16 bytes); r − n < m: out_b[r − n] = {nn, best} (8 bytes).
 * res_a / res_b: the rows passes of (a, b) and (b, a). The CPU's tests, in float64. */
ss_device_inline void float_match_finalize_row(ss_args_ref(ss_float_match_args) p, uint32_t r, ss_global const uint64_t* res_a,
                                               ss_global const uint64_t* res_b, ss_global int32_t* out_a, ss_global int32_t* out_b) {
  const bool dot = p.dist == SS_DIST_DOT;
  if (r >= p.n) {
    const uint64_t j = r - p.n;
    const ss_f64 key = ss_f64_from_bits(res_b[3 * j + 1]);
    out_b[2 * j] = (int32_t)(uint32_t)res_b[3 * j];
    out_b[2 * j + 1] = ss_float_as_int(ss_f64_to_f32(dot ? ss_f64_neg(key) : key));
    return;
  }
  const int32_t j = (int32_t)(uint32_t)res_a[3 * (uint64_t)r];
  ss_f64 b1 = ss_f64_from_bits(res_a[3 * (uint64_t)r + 1]), b2 = ss_f64_from_bits(res_a[3 * (uint64_t)r + 2]);
  if (dot) {
    b1 = ss_f64_neg(b1);
    b2 = ss_f64_neg(b2);
  }
  const ss_f64 thr = ss_f64_from_f32(p.threshold);
  bool ok = j >= 0 && (int32_t)(uint32_t)res_b[3 * (uint64_t)j] == (int32_t)r && (dot ? ss_f64_le(thr, b1) : ss_f64_le(b1, thr));
  if (ok && !dot && p.ratio > 0.0f && p.ratio < 1.0f && ss_f64_isfinite(b2)) {
    const ss_f64 rd = ss_f64_from_f32(p.ratio);
    ok = ss_f64_lt(b1, ss_f64_mul(ss_f64_mul(rd, rd), b2));
  }
  out_a[4 * (uint64_t)r] = j;
  out_a[4 * (uint64_t)r + 1] = ss_float_as_int(ss_f64_to_f32(b1));
  out_a[4 * (uint64_t)r + 2] = ss_float_as_int(ss_f64_to_f32(b2));
  out_a[4 * (uint64_t)r + 3] = ok ? 1 : 0;
}

#endif
