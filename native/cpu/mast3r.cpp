/* CPU launchers for the MASt3R geometry, TSDF refinement and similarity
 * kernels: validate, then run the portable bodies in parallel. */
#include "backend.h"
#include "../common/mast3r_checks.h"
#include "mast3r_common.h"
#include "mast3r_real.h"
#include "mast3r_similarity.h"
#include "mast3r_triangulate.h"
#include "mast3r_tsdf.h"

#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
/* GCC 12 flags the intrinsics' own undefined-passthrough operands */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#if defined(__AVX512F__)
namespace {

/* e^x for x ≤ 0 (log-sum-exp terms): 2^n · p(r), r = x − n·ln2 in [−ln2/2, ln2/2],
 * degree-6 Taylor polynomial (relative error < 2e-7 against float64 exp) */
inline __m512 exp_neg(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

/* rows of src packed 16 per panel, dim-major: panel p holds dim × 16 floats */
std::vector<float> pack_panels(const float* src, uint64_t rows, uint32_t dim, uint32_t panels) {
  std::vector<float> out((size_t)panels * dim * 16, 0.0f);
  for (uint32_t p = 0; p < panels; ++p)
    for (uint32_t l = 0; l < 16; ++l) {
      uint64_t j = (uint64_t)p * 16 + l;
      if (j >= rows) continue;
      for (uint32_t k = 0; k < dim; ++k) out[((size_t)p * dim + k) * 16 + l] = src[j * dim + k];
    }
  return out;
}

/* sims of q against the n packed rows into out[0..n) (as mast3r_sim: one FMA chain, k ascending) */
inline void sim_row(const float* q, const float* panels, uint32_t n, uint32_t dim, uint32_t euc, float* out) {
  uint32_t np = (n + 15) / 16;
  for (uint32_t p = 0; p < np; ++p) {
    const float* B = panels + (size_t)p * dim * 16;
    __m512 acc = _mm512_setzero_ps();
    if (!euc) {
      for (uint32_t k = 0; k < dim; ++k) acc = _mm512_fmadd_ps(_mm512_set1_ps(q[k]), _mm512_loadu_ps(B + k * 16), acc);
    } else {
      for (uint32_t k = 0; k < dim; ++k) {
        __m512 d = _mm512_sub_ps(_mm512_set1_ps(q[k]), _mm512_loadu_ps(B + k * 16));
        acc = _mm512_fmadd_ps(d, d, acc);
      }
      acc = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_sqrt_ps(acc)));
    }
    _mm512_storeu_ps(out + (size_t)p * 16, acc);
  }
}

/* log Σ exp(s_k · inv_t) over out[0..n), float64 sum */
inline double lse_row(float* s, uint32_t n, float inv_t) {
  uint32_t np = (n + 15) / 16;
  __m512 mx = _mm512_set1_ps(-SS_INF);
  for (uint32_t p = 0; p < np; ++p) {
    uint32_t left = n - p * 16;
    __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(mk, s + p * 16), _mm512_set1_ps(inv_t));
    _mm512_mask_storeu_ps(s + p * 16, mk, v);
    /* max(v, mx) keeps mx where v is NaN (vmaxps returns its second operand) */
    mx = _mm512_mask_max_ps(mx, mk, v, mx);
  }
  float m = _mm512_reduce_max_ps(mx);
  /* every similarity NaN: an empty sum, as the portable body */
  if (!(m > -SS_INF)) return -SS_INF;
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  for (uint32_t p = 0; p < np; ++p) {
    uint32_t left = n - p * 16;
    __mmask16 mk = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
    __m512 v = _mm512_loadu_ps(s + p * 16);
    /* NaN similarities count as −∞ (MASt3R: sim[sim.isnan()] = −inf): no term */
    __mmask16 ok = mk & _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
    __m512 e = _mm512_maskz_mov_ps(ok, exp_neg(_mm512_sub_ps(v, _mm512_set1_ps(m))));
    acc0 = _mm512_add_pd(acc0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    acc1 = _mm512_add_pd(acc1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(e, 1)));
  }
  return (double)m + std::log(_mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1)));
}

/* R rows of q (dim floats each) against every packed panel of n columns:
 * out[r·n + j] = sim(q_r, col_j), two panels at a time; stream: full panels
 * by non-temporal stores (64-byte aligned rows) */
template <int R, bool EUC>
inline void sim_block(const float* q, const float* panels, uint32_t n, uint32_t dim, float* out, bool stream) {
  uint32_t np = (n + 15) / 16;
  for (uint32_t p = 0; p < np; p += 2) {
    const bool two = p + 1 < np;
    const float* B0 = panels + (size_t)p * dim * 16;
    const float* B1 = two ? B0 + (size_t)dim * 16 : B0;
    __m512 acc0[R], acc1[R];
    for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
    for (uint32_t k = 0; k < dim; ++k) {
      __m512 b0 = _mm512_loadu_ps(B0 + k * 16), b1 = _mm512_loadu_ps(B1 + k * 16);
      for (int r = 0; r < R; ++r) {
        __m512 v = _mm512_set1_ps(q[(size_t)r * dim + k]);
        if (EUC) {
          __m512 e0 = _mm512_sub_ps(v, b0), e1 = _mm512_sub_ps(v, b1);
          acc0[r] = _mm512_fmadd_ps(e0, e0, acc0[r]);
          acc1[r] = _mm512_fmadd_ps(e1, e1, acc1[r]);
        } else {
          acc0[r] = _mm512_fmadd_ps(v, b0, acc0[r]);
          acc1[r] = _mm512_fmadd_ps(v, b1, acc1[r]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      __m512 s0 = acc0[r], s1 = acc1[r];
      if (EUC) {
        const __m512 one = _mm512_set1_ps(1.0f);
        s0 = _mm512_div_ps(one, _mm512_add_ps(one, _mm512_sqrt_ps(s0)));
        s1 = _mm512_div_ps(one, _mm512_add_ps(one, _mm512_sqrt_ps(s1)));
      }
      float* row = out + (size_t)r * n + (size_t)p * 16;
      for (int h = 0; h < (two ? 2 : 1); ++h) {
        __m512 v = h ? s1 : s0;
        uint32_t left = n - (p + h) * 16;
        if (left >= 16 && stream) _mm512_stream_ps(row + h * 16, v);
        else if (left >= 16) _mm512_storeu_ps(row + h * 16, v);
        else _mm512_mask_storeu_ps(row + h * 16, (__mmask16)((1u << left) - 1u), v);
      }
    }
  }
}

}  // namespace
#endif

extern "C" {

SS_API ss_status ss_mast3r_triangulate(ss_context* ctx, const ss_mast3r_triangulate_args* args, ss_buffer* pts2d,
                                       ss_buffer* proj, ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_triangulate_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_triangulate(ctx, a, pts2d, proj, out, &n));
  const float* p2 = ss_data<float>(pts2d);
  const float* P = ss_data<float>(proj);
  float* o = ss_data<float>(out);
  ctx->pool->parallel_for((int64_t)n, 2048, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) mast3r_triangulate_point(a, (uint32_t)i, p2, P, o);
  });
  return SS_OK;
}

SS_API ss_status ss_mast3r_matches_to_depths(ss_context* ctx, const ss_mast3r_matches_to_depths_args* args,
                                             ss_buffer* matches, ss_buffer* cams, ss_buffer* points, ss_buffer* depths,
                                             ss_buffer* confs) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_matches_to_depths_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_matches_to_depths(ctx, a, matches, cams, points, depths, confs, &n));
  const float* m = ss_data<float>(matches);
  const float* c = ss_data<float>(cams);
  float* p = ss_data<float>(points);
  float* d = ss_data<float>(depths);
  float* cf = ss_data<float>(confs);
  ctx->pool->parallel_for((int64_t)n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) mast3r_matches_depth_pixel(a, (uint32_t)i, m, c, p, d, cf);
  });
  return SS_OK;
}

SS_API ss_status ss_mast3r_refine_depths_tsdf(ss_context* ctx, const ss_mast3r_refine_depths_tsdf_args* args,
                                              ss_buffer* depths, ss_buffer* confs, ss_buffer* cams,
                                              ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_refine_depths_tsdf_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_refine_depths_tsdf(ctx, a, depths, confs, cams, out, &n));
  const float* d = ss_data<float>(depths);
  const float* c = ss_data<float>(confs);
  const float* k = ss_data<float>(cams);
  float* o = ss_data<float>(out);
  /* no per-sample storage: memory stays O(1) per pixel whatever the batch */
  ctx->pool->parallel_for((int64_t)n, 64, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) mast3r_tsdf_refine_pixel(a, (uint32_t)i, d, c, k, o);
  });
  return SS_OK;
}

SS_API ss_status ss_mast3r_similarity(ss_context* ctx, const ss_mast3r_similarity_args* args, ss_buffer* desc1,
                                      ss_buffer* desc2, ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_similarity_args a = *args;
  uint64_t total = 0;
  SS_TRY(ss_check_mast3r_similarity(ctx, a, desc1, desc2, out, &total));
  const float* d1 = ss_data<float>(desc1);
  const float* d2 = ss_data<float>(desc2);
  float* o = ss_data<float>(out);
#if defined(__AVX512F__)
  if (a.m >= 16) {
    /* desc2 packed in 16-column panels, dim-major (one aligned load per k and
     * panel), then 8 rows × 2 panels of accumulators per step: each loaded
     * panel value feeds 8 FMAs and each broadcast row value 2. Every output is
     * still one FMA chain, k ascending, as in the portable body. */
    uint32_t panels = (a.m + 15) / 16;
    std::vector<float> packed((size_t)a.batch * panels * a.dim * 16);
    ctx->pool->parallel_for((int64_t)a.batch * panels, 16, [&](int64_t s, int64_t e) {
      for (int64_t t = s; t < e; ++t) {
        uint64_t b = (uint64_t)t / panels, p = (uint64_t)t % panels;
        float* dst = packed.data() + (size_t)t * a.dim * 16;
        for (uint32_t l = 0; l < 16; ++l) {
          uint64_t j = p * 16 + l;
          for (uint32_t k = 0; k < a.dim; ++k)
            dst[k * 16 + l] = j < a.m ? d2[(b * a.m + j) * a.dim + k] : 0.0f;
        }
      }
    });
    /* an output far larger than the caches goes around them (no read for
     * ownership); rows must start 64-byte aligned for streaming stores */
    const bool stream = total * 4 >= (16u << 20) && a.m % 16 == 0 && ((uintptr_t)o & 63) == 0;
    const uint32_t blocks_per_batch = (a.n + 7) / 8;
    ctx->pool->parallel_for((int64_t)a.batch * blocks_per_batch, 4, [&](int64_t s, int64_t e) {
      for (int64_t t = s; t < e; ++t) {
        uint64_t b = (uint64_t)t / blocks_per_batch;
        uint32_t r0 = (uint32_t)(t % blocks_per_batch) * 8;
        uint32_t rows = a.n - r0 < 8 ? a.n - r0 : 8;
        const float* q = d1 + (b * a.n + r0) * a.dim;
        float* orow = o + (b * a.n + r0) * a.m;
        const float* pk = packed.data() + (size_t)b * panels * a.dim * 16;
        if (rows == 8) {
          if (a.euc) sim_block<8, true>(q, pk, a.m, a.dim, orow, stream);
          else sim_block<8, false>(q, pk, a.m, a.dim, orow, stream);
        } else {
          for (uint32_t r = 0; r < rows; ++r) {
            if (a.euc) sim_block<1, true>(q + (uint64_t)r * a.dim, pk, a.m, a.dim, orow + (uint64_t)r * a.m, stream);
            else sim_block<1, false>(q + (uint64_t)r * a.dim, pk, a.m, a.dim, orow + (uint64_t)r * a.m, stream);
          }
        }
      }
      if (stream) _mm_sfence();
    });
    return SS_OK;
  }
#endif
  ctx->pool->parallel_for((int64_t)total, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) mast3r_similarity_elem(a, (uint64_t)i, d1, d2, o);
  });
  return SS_OK;
}

SS_API ss_status ss_mast3r_infonce(ss_context* ctx, const ss_mast3r_infonce_args* args, ss_buffer* desc1,
                                   ss_buffer* desc2, ss_buffer* loss) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_infonce_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_infonce(ctx, a, desc1, desc2, loss, &n));
  const float* d1 = ss_data<float>(desc1);
  const float* d2 = ss_data<float>(desc2);
  float* l = ss_data<float>(loss);
#if defined(__AVX512DQ__)
  if (a.n >= 16) {
    /* both similarity rows of a pair once each into scratch, then a vectorised
     * log-sum-exp (float exp, float64 sum) */
    uint32_t panels = (a.n + 15) / 16;
    std::vector<std::vector<float>> p1(a.batch), p2(a.batch);
    ctx->pool->parallel_for((int64_t)a.batch * 2, 1, [&](int64_t s, int64_t e) {
      for (int64_t t = s; t < e; ++t) {
        uint64_t b = (uint64_t)t / 2;
        if (t % 2 == 0) p1[b] = pack_panels(d1 + b * a.n * a.dim, a.n, a.dim, panels);
        else p2[b] = pack_panels(d2 + b * a.n * a.dim, a.n, a.dim, panels);
      }
    });
    const float inv_t = 1.0f / a.temperature;
    const double log_eps = std::log((double)a.eps);
    ctx->pool->parallel_for((int64_t)n, 8, [&](int64_t s, int64_t e) {
      std::vector<float> scratch((size_t)panels * 16);
      for (int64_t i = s; i < e; ++i) {
        uint64_t b = (uint64_t)i / a.n, p = (uint64_t)i % a.n;
        sim_row(d1 + (uint64_t)i * a.dim, p2[b].data(), a.n, a.dim, a.euc, scratch.data());
        float pos_f = scratch[p] * inv_t;
        double pos = pos_f == pos_f ? (double)pos_f : -(double)SS_INF;
        double row = lse_row(scratch.data(), a.n, inv_t);
        sim_row(d2 + (uint64_t)i * a.dim, p1[b].data(), a.n, a.dim, a.euc, scratch.data());
        double col = lse_row(scratch.data(), a.n, inv_t);
        double t1 = pos - col, t2 = pos - row;
        /* torch's clip keeps NaN: a pair whose similarities are all NaN is 0/0 */
        t1 = t1 > log_eps || t1 != t1 ? t1 : log_eps;
        t2 = t2 > log_eps || t2 != t2 ? t2 : log_eps;
        l[i] = (float)(-(t1 + t2));
      }
    });
    return SS_OK;
  }
#endif
  ctx->pool->parallel_for((int64_t)n, 8, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) mast3r_infonce_pair(a, (uint32_t)i, d1, d2, l);
  });
  return SS_OK;
}

}  // extern "C"
