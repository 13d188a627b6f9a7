/* CPU launchers for brute-force reciprocal matching of binary (Hamming) and
 * float (L2 / dot) descriptors. Rows of `a` are split into fixed blocks, one
 * task each; every task scans all of `b` in tiles, keeping the per-row best
 * and second best and a per-task column best, merged in block order: the
 * answer (ties → lowest index) does not depend on threads or tile sizes.
 * Hamming has an AVX-512 VPOPCNTDQ path for 256-bit descriptors (8 columns
 * per vector); everything else runs the portable kernel bodies. */
#include "backend.h"
#include "../common/match_checks.h"
#include "hamming_match.h"
#include "float_match.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <vector>
#if defined(__AVX512F__) && defined(__AVX512VPOPCNTDQ__)
#include <immintrin.h>
#define SS_HAMMING_AVX512 1
/* GCC 12 flags the intrinsics' own _mm*_undefined_* temporaries */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

namespace {

constexpr int64_t kRowBlock = 64;

struct ColBest {
  std::vector<int32_t> dist, idx;
};

#if SS_HAMMING_AVX512
/* b transposed to 4 planes of 64-bit words, 8 descriptors per vector; padded to a multiple of 8 */
void hamming_rows_avx512(const uint64_t* a, const uint64_t* bt, int32_t m, int64_t r0, int64_t r1, int32_t* out_a,
                         int32_t* col_dist, int32_t* col_idx) {
  const int32_t groups = (m + 7) / 8;
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  for (int64_t i = r0; i < r1; ++i) {
    const uint64_t* ai = a + 4 * i;
    const __m512i a0 = _mm512_set1_epi64((long long)ai[0]), a1 = _mm512_set1_epi64((long long)ai[1]);
    const __m512i a2 = _mm512_set1_epi64((long long)ai[2]), a3 = _mm512_set1_epi64((long long)ai[3]);
    __m512i best1 = _mm512_set1_epi64(INT32_MAX), best2 = best1, bidx = _mm512_set1_epi64(-1);
    const __m512i vi = _mm512_set1_epi64(i);
    for (int32_t g = 0; g < groups; ++g) {
      const uint64_t* p = bt + (size_t)g * 32;
      __m512i d = _mm512_popcnt_epi64(_mm512_xor_si512(a0, _mm512_loadu_si512((const void*)p)));
      d = _mm512_add_epi64(d, _mm512_popcnt_epi64(_mm512_xor_si512(a1, _mm512_loadu_si512((const void*)(p + 8)))));
      d = _mm512_add_epi64(d, _mm512_popcnt_epi64(_mm512_xor_si512(a2, _mm512_loadu_si512((const void*)(p + 16)))));
      d = _mm512_add_epi64(d, _mm512_popcnt_epi64(_mm512_xor_si512(a3, _mm512_loadu_si512((const void*)(p + 24)))));
      const __m512i j = _mm512_add_epi64(_mm512_set1_epi64((long long)g * 8), lane);
      const __mmask8 valid = _mm512_cmplt_epi64_mask(j, _mm512_set1_epi64(m));
      /* row: per-lane best / second; a lane sees its columns in increasing order, so strict < keeps the lowest index */
      const __mmask8 lt1 = _mm512_mask_cmplt_epi64_mask(valid, d, best1);
      const __mmask8 lt2 = _mm512_mask_cmplt_epi64_mask(valid & (__mmask8)~lt1, d, best2);
      best2 = _mm512_mask_mov_epi64(best2, lt1, best1);
      best2 = _mm512_mask_mov_epi64(best2, lt2, d);
      best1 = _mm512_mask_mov_epi64(best1, lt1, d);
      bidx = _mm512_mask_mov_epi64(bidx, lt1, j);
      /* columns: strictly better rows only (rows arrive in increasing order) */
      int32_t* cd = col_dist + g * 8;
      int32_t* ci = col_idx + g * 8;
      const __m256i cd32 = _mm256_loadu_si256((const __m256i*)cd);
      const __m512i cdv = _mm512_cvtepi32_epi64(cd32);
      const __mmask8 ltc = _mm512_mask_cmplt_epi64_mask(valid, d, cdv);
      if (ltc) {
        _mm256_storeu_si256((__m256i*)cd, _mm512_cvtepi64_epi32(_mm512_mask_mov_epi64(cdv, ltc, d)));
        const __m512i civ = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i*)ci));
        _mm256_storeu_si256((__m256i*)ci, _mm512_cvtepi64_epi32(_mm512_mask_mov_epi64(civ, ltc, vi)));
      }
    }
    /* lanes → row answer: smallest distance, lowest index among equals; second = next smallest value */
    alignas(64) int64_t b1[8], b2[8], bi[8];
    _mm512_store_si512((void*)b1, best1);
    _mm512_store_si512((void*)b2, best2);
    _mm512_store_si512((void*)bi, bidx);
    int64_t d1 = INT32_MAX, i1 = -1;
    for (int k = 0; k < 8; ++k)
      if (bi[k] >= 0 && (b1[k] < d1 || (b1[k] == d1 && bi[k] < i1))) {
        d1 = b1[k];
        i1 = bi[k];
      }
    int64_t d2 = INT32_MAX;
    for (int k = 0; k < 8; ++k) {
      if (bi[k] < 0) continue;
      if (bi[k] != i1) d2 = std::min(d2, b1[k]);
      d2 = std::min(d2, b2[k]);
    }
    out_a[4 * i] = (int32_t)i1;
    out_a[4 * i + 1] = (int32_t)d1;
    out_a[4 * i + 2] = (int32_t)d2;
  }
}
#endif

void hamming_rows_portable(const uint32_t* a, const uint32_t* b, uint32_t words, int32_t m, int32_t tile, int64_t r0,
                           int64_t r1, int32_t* out_a, int32_t* col_dist, int32_t* col_idx) {
  for (int64_t i = r0; i < r1; ++i) {
    out_a[4 * i] = -1;
    out_a[4 * i + 1] = INT32_MAX;
    out_a[4 * i + 2] = INT32_MAX;
  }
  for (int32_t j0 = 0; j0 < m; j0 += tile) {
    const int32_t j1 = std::min(m, j0 + tile);
    for (int64_t i = r0; i < r1; ++i) {
      const uint32_t* ai = a + (size_t)i * words;
      int32_t d1 = out_a[4 * i + 1], d2 = out_a[4 * i + 2], i1 = out_a[4 * i];
      for (int32_t j = j0; j < j1; ++j) {
        int32_t d = (int32_t)hamming_distance(ai, b + (size_t)j * words, words);
        if (d < d1) {
          d2 = d1;
          d1 = d;
          i1 = j;
        } else if (d < d2) {
          d2 = d;
        }
        if (d < col_dist[j]) {
          col_dist[j] = d;
          col_idx[j] = (int32_t)i;
        }
      }
      out_a[4 * i] = i1;
      out_a[4 * i + 1] = d1;
      out_a[4 * i + 2] = d2;
    }
  }
}

}  // namespace

extern "C" {

SS_API ss_status ss_hamming_match(ss_context* ctx, const ss_hamming_match_args* args, ss_buffer* a, ss_buffer* b,
                                  ss_buffer* out_a, ss_buffer* out_b) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_hamming_match_args p = *args;
  SS_TRY(ss_check_hamming_match(ctx, p, a, b, out_a, out_b));
  const uint32_t* A = ss_data<const uint32_t>(a);
  const uint32_t* B = ss_data<const uint32_t>(b);
  int32_t* oa = ss_data<int32_t>(out_a);
  int32_t* ob = ss_data<int32_t>(out_b);
  const int64_t blocks = ((int64_t)p.n + kRowBlock - 1) / kRowBlock;
  const int32_t m = (int32_t)p.m;
  const int32_t tile = p.block ? (int32_t)p.block : 512;
  std::vector<ColBest> cols((size_t)blocks);
#if SS_HAMMING_AVX512
  const bool simd = p.words == 8 && !(p.flags & SS_FLAG_PORTABLE);
  std::vector<uint64_t> bt;
  if (simd) {
    const int32_t groups = (m + 7) / 8;
    bt.assign((size_t)groups * 32, 0);
    const uint64_t* B64 = reinterpret_cast<const uint64_t*>(B);
    for (int32_t j = 0; j < m; ++j)
      for (int k = 0; k < 4; ++k) bt[(size_t)(j / 8) * 32 + k * 8 + (j % 8)] = B64[4 * j + k];
  }
#endif
  /* one task per row block: memory is O(m) per block, never n × m */
  ctx->pool->parallel_for(blocks, 1, [&](int64_t bb, int64_t be) {
    for (int64_t blk = bb; blk < be; ++blk) {
      ColBest& c = cols[(size_t)blk];
      c.dist.assign((size_t)((m + 7) / 8) * 8, INT32_MAX);
      c.idx.assign(c.dist.size(), -1);
      const int64_t r0 = blk * kRowBlock, r1 = std::min<int64_t>(p.n, r0 + kRowBlock);
#if SS_HAMMING_AVX512
      if (simd) {
        hamming_rows_avx512(reinterpret_cast<const uint64_t*>(A), bt.data(), m, r0, r1, oa, c.dist.data(), c.idx.data());
        continue;
      }
#endif
      hamming_rows_portable(A, B, p.words, m, tile, r0, r1, oa, c.dist.data(), c.idx.data());
    }
  });
  for (int32_t j = 0; j < m; ++j) {
    int32_t d = INT32_MAX, i = -1;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const ColBest& c = cols[(size_t)blk];
      if (c.dist[j] < d) {
        d = c.dist[j];
        i = c.idx[j];
      }
    }
    ob[2 * j] = i;
    ob[2 * j + 1] = d;
  }
  const bool ratio = p.ratio > 0.0f && p.ratio < 1.0f;
  for (uint32_t i = 0; i < p.n; ++i) {
    const int32_t j = oa[4 * i], d1 = oa[4 * i + 1], d2 = oa[4 * i + 2];
    bool ok = j >= 0 && ob[2 * j] == (int32_t)i && d1 <= (int32_t)p.max_distance;
    if (ok && ratio && d2 != INT32_MAX) ok = (float)d1 < p.ratio * (float)d2;
    oa[4 * i + 3] = ok ? 1 : 0;
  }
  return SS_OK;
}

SS_API ss_status ss_float_match(ss_context* ctx, const ss_float_match_args* args, ss_buffer* a, ss_buffer* b,
                                ss_buffer* out_a, ss_buffer* out_b) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_float_match_args p = *args;
  SS_TRY(ss_check_float_match(ctx, p, a, b, out_a, out_b));
  const float* A = ss_data<const float>(a);
  const float* B = ss_data<const float>(b);
  const bool dot = p.dist == SS_DIST_DOT;
  /* nearer(x, y): x beats y (strictly) */
  auto nearer = [dot](double x, double y) { return dot ? x > y : x < y; };
  const double worst = dot ? -HUGE_VAL : HUGE_VAL;
  const int64_t blocks = ((int64_t)p.n + kRowBlock - 1) / kRowBlock;
  const int32_t m = (int32_t)p.m, tile = p.block ? (int32_t)p.block : 256;
  struct ColF {
    std::vector<double> best;
    std::vector<int32_t> idx;
  };
  std::vector<ColF> cols((size_t)blocks);
  std::vector<double> b1((size_t)p.n), b2((size_t)p.n);
  std::vector<int32_t> i1((size_t)p.n);
  ctx->pool->parallel_for(blocks, 1, [&](int64_t bb, int64_t be) {
    std::vector<double> acc((size_t)tile);
    for (int64_t blk = bb; blk < be; ++blk) {
      ColF& c = cols[(size_t)blk];
      c.best.assign((size_t)m, worst);
      c.idx.assign((size_t)m, -1);
      const int64_t r0 = blk * kRowBlock, r1 = std::min<int64_t>(p.n, r0 + kRowBlock);
      for (int64_t i = r0; i < r1; ++i) {
        b1[i] = worst;
        b2[i] = worst;
        i1[i] = -1;
      }
      for (int32_t j0 = 0; j0 < m; j0 += tile) {
        const int32_t j1 = std::min(m, j0 + tile);
        for (int64_t i = r0; i < r1; ++i) {
          const float* ai = A + (size_t)i * p.dim;
          /* float64 sums in index order: exact products, one rounding per add, no dependence on blocking */
          for (int32_t j = j0; j < j1; ++j) {
            const float* bj = B + (size_t)j * p.dim;
            double s = 0.0;
            if (dot) {
              for (uint32_t k = 0; k < p.dim; ++k) s += (double)ai[k] * (double)bj[k];
            } else {
              /* d² rounded, then added: fma(d, d, 0) has no product left for a compiler to fuse into the add
               * (whether GCC fuses a loop-carried d·d + s depends on -march's tuning), so the GPUs can match */
              for (uint32_t k = 0; k < p.dim; ++k) {
                double d = (double)ai[k] - (double)bj[k];
                s += std::fma(d, d, 0.0);
              }
            }
            acc[(size_t)(j - j0)] = s;
          }
          double d1 = b1[i], d2 = b2[i];
          int32_t k1 = i1[i];
          for (int32_t j = j0; j < j1; ++j) {
            const double s = acc[(size_t)(j - j0)];
            if (nearer(s, d1)) {
              d2 = d1;
              d1 = s;
              k1 = j;
            } else if (nearer(s, d2)) {
              d2 = s;
            }
            if (nearer(s, c.best[j])) {
              c.best[j] = s;
              c.idx[j] = (int32_t)i;
            }
          }
          b1[i] = d1;
          b2[i] = d2;
          i1[i] = k1;
        }
      }
    }
  });
  uint8_t* oa = ss_data<uint8_t>(out_a);
  uint8_t* ob = ss_data<uint8_t>(out_b);
  std::vector<int32_t> nnb((size_t)m);
  for (int32_t j = 0; j < m; ++j) {
    double d = worst;
    int32_t i = -1;
    for (int64_t blk = 0; blk < blocks; ++blk)
      if (nearer(cols[(size_t)blk].best[j], d)) {
        d = cols[(size_t)blk].best[j];
        i = cols[(size_t)blk].idx[j];
      }
    nnb[j] = i;
    const float df = (float)d;
    memcpy(ob + 8 * (size_t)j, &i, 4);
    memcpy(ob + 8 * (size_t)j + 4, &df, 4);
  }
  const bool ratio = !dot && p.ratio > 0.0f && p.ratio < 1.0f;
  const double r2 = (double)p.ratio * (double)p.ratio;
  for (uint32_t i = 0; i < p.n; ++i) {
    const int32_t j = i1[i];
    bool ok = j >= 0 && nnb[j] == (int32_t)i && (dot ? b1[i] >= (double)p.threshold : b1[i] <= (double)p.threshold);
    if (ok && ratio && std::isfinite(b2[i])) ok = b1[i] < r2 * b2[i];
    const float f1 = (float)b1[i], f2 = (float)b2[i];
    const int32_t flag = ok ? 1 : 0;
    memcpy(oa + 16 * (size_t)i, &j, 4);
    memcpy(oa + 16 * (size_t)i + 4, &f1, 4);
    memcpy(oa + 16 * (size_t)i + 8, &f2, 4);
    memcpy(oa + 16 * (size_t)i + 12, &flag, 4);
  }
  return SS_OK;
}

}  // extern "C"
