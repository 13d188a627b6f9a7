/* CPU launchers for MASt3R nearest neighbours: brute-force reciprocal NN
 * (an AVX-512 register-blocked scan with running top-2 per row and column,
 * exact float64 re-rank of the rare near-ties) and indexed queries for
 * fast_reciprocal_NNs (AVX-512 VNNI: branch and bound over ball bounds of
 * 32×32 and 8×8 pixel tiles with an int8 scan of the tiles kept, or a
 * streamed int8 scan of everything where the bounds do not bite; float64
 * re-rank either way). The portable bodies in mast3r_nn.h are the reference
 * and the fallback without AVX-512. */
#include "backend.h"
#include "../common/mast3r_checks.h"
#include "mast3r_nn.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <new>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
/* GCC 12 flags the intrinsics' own undefined-passthrough operands */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace {

const uint32_t kCandCap = 512;

/* 64-byte aligned float scratch, freed on scope exit */
template <typename T>
struct Aligned {
  T* p = nullptr;
  size_t n = 0;
  bool alloc(size_t count) {
    n = count;
    size_t bytes = ((count * sizeof(T) + 63) / 64) * 64;
    p = static_cast<T*>(std::aligned_alloc(64, bytes ? bytes : 64));
    return p != nullptr;
  }
  ~Aligned() { std::free(p); }
  T& operator[](size_t i) { return p[i]; }
  const T& operator[](size_t i) const { return p[i]; }
};

float max_norm(ss_context* ctx, const float* v, uint32_t rows, uint32_t dim, float* norms) {
  std::vector<float> part(64, 0.0f);
  int64_t grain = 4096;
  int64_t chunks = ((int64_t)rows + grain - 1) / grain;
  part.assign((size_t)chunks, 0.0f);
  ctx->pool->parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      float mx = 0.0f;
      int64_t e = (c + 1) * grain < rows ? (c + 1) * grain : rows;
      for (int64_t i = c * grain; i < e; ++i) {
        float nrm = mast3r_norm(v + (uint64_t)i * dim, dim);
        if (norms) norms[i] = nrm;
        if (nrm > mx) mx = nrm;
      }
      part[(size_t)c] = mx;
    }
  });
  float mx = 0.0f;
  for (float x : part) mx = x > mx ? x : mx;
  return mx;
}

/* threshold E (twice the per-score error bound) for a query of norm qn, score a·b or −‖a−b‖²/2 */
inline float blocked_E(uint32_t dim, uint32_t dist, float qn, float other_max) {
  float e = dist == SS_DIST_DOT ? 2.0f * mast3r_gamma(dim + 2) * qn * other_max
                                       : mast3r_gamma(dim + 4) * (qn + other_max) * (qn + other_max);
  return 2.0f * e + 1e-30f;
}

#if defined(__AVX512F__)

struct Prep {
  uint32_t n, m, dim, dist, n_pad, panels;
  Aligned<float> ap, h, bp, g, an, bn;
  float amax, bmax;
};

inline void upd(__m512& m1, __m512& m2, __m512i& id, __m512 s, __m512i jv) {
  __mmask16 gt = _mm512_cmp_ps_mask(s, m1, _CMP_GT_OQ);
  m2 = _mm512_max_ps(m2, _mm512_min_ps(m1, s));
  m1 = _mm512_max_ps(m1, s);
  id = _mm512_mask_mov_epi32(id, gt, jv);
}

/* rows [r0, r1) (multiples of 4) against every column. Row lane stats in
 * rs (rows × 48: m1[16] m2[16] idx[16]); column stats cm1/cm2/cid (m_pad). */
template <int DIMC>
void scan_slot(const Prep& P, uint32_t r0, uint32_t r1, uint32_t block_panels, float* rs, float* cm1, float* cm2,
               int32_t* cid) {
  const uint32_t dim = DIMC ? (uint32_t)DIMC : P.dim;
  const __m512 ninf = _mm512_set1_ps(-SS_INF);
  const __m512i neg1 = _mm512_set1_epi32(-1);
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (uint32_t r = r0; r < r1; ++r) {
    float* row = rs + (size_t)(r - r0) * 48;
    _mm512_store_ps(row, ninf);
    _mm512_store_ps(row + 16, ninf);
    _mm512_store_si512((__m512i*)(row + 32), neg1);
  }
  for (uint32_t p = 0; p < P.panels; ++p) {
    _mm512_store_ps(cm1 + p * 16, ninf);
    _mm512_store_ps(cm2 + p * 16, ninf);
    _mm512_store_si512((__m512i*)(cid + p * 16), neg1);
  }
  for (uint32_t pb = 0; pb < P.panels; pb += block_panels) {
    uint32_t pe = pb + block_panels < P.panels ? pb + block_panels : P.panels;
    for (uint32_t r = r0; r < r1; r += 4) {
      float* rowp = rs + (size_t)(r - r0) * 48;
      __m512 m1[4], m2[4];
      __m512i id[4], iv[4];
      __m512 hn[4];
      const float* a[4];
      for (int q = 0; q < 4; ++q) {
        m1[q] = _mm512_load_ps(rowp + q * 48);
        m2[q] = _mm512_load_ps(rowp + q * 48 + 16);
        id[q] = _mm512_load_si512((const __m512i*)(rowp + q * 48 + 32));
        iv[q] = _mm512_set1_epi32((int)(r + q));
        hn[q] = _mm512_set1_ps(-P.h[r + q]);
        a[q] = P.ap.p + (size_t)(r + q) * dim;
      }
      for (uint32_t p = pb; p < pe; p += 2) {
        const float* B0 = P.bp.p + (size_t)p * dim * 16;
        const float* B1 = B0 + (size_t)dim * 16;
        __m512 g0 = _mm512_load_ps(P.g.p + p * 16), g1 = _mm512_load_ps(P.g.p + p * 16 + 16);
        __m512 c00 = _mm512_add_ps(g0, hn[0]), c01 = _mm512_add_ps(g1, hn[0]);
        __m512 c10 = _mm512_add_ps(g0, hn[1]), c11 = _mm512_add_ps(g1, hn[1]);
        __m512 c20 = _mm512_add_ps(g0, hn[2]), c21 = _mm512_add_ps(g1, hn[2]);
        __m512 c30 = _mm512_add_ps(g0, hn[3]), c31 = _mm512_add_ps(g1, hn[3]);
#pragma GCC unroll 8
        for (uint32_t k = 0; k < dim; ++k) {
          __m512 b0 = _mm512_load_ps(B0 + k * 16), b1 = _mm512_load_ps(B1 + k * 16);
          __m512 x0 = _mm512_set1_ps(a[0][k]);
          c00 = _mm512_fmadd_ps(x0, b0, c00);
          c01 = _mm512_fmadd_ps(x0, b1, c01);
          __m512 x1 = _mm512_set1_ps(a[1][k]);
          c10 = _mm512_fmadd_ps(x1, b0, c10);
          c11 = _mm512_fmadd_ps(x1, b1, c11);
          __m512 x2 = _mm512_set1_ps(a[2][k]);
          c20 = _mm512_fmadd_ps(x2, b0, c20);
          c21 = _mm512_fmadd_ps(x2, b1, c21);
          __m512 x3 = _mm512_set1_ps(a[3][k]);
          c30 = _mm512_fmadd_ps(x3, b0, c30);
          c31 = _mm512_fmadd_ps(x3, b1, c31);
        }
        __m512i j0 = _mm512_add_epi32(_mm512_set1_epi32((int)(p * 16)), iota);
        __m512i j1 = _mm512_add_epi32(j0, _mm512_set1_epi32(16));
        upd(m1[0], m2[0], id[0], c00, j0);
        upd(m1[0], m2[0], id[0], c01, j1);
        upd(m1[1], m2[1], id[1], c10, j0);
        upd(m1[1], m2[1], id[1], c11, j1);
        upd(m1[2], m2[2], id[2], c20, j0);
        upd(m1[2], m2[2], id[2], c21, j1);
        upd(m1[3], m2[3], id[3], c30, j0);
        upd(m1[3], m2[3], id[3], c31, j1);
        {
          __m512 x1 = _mm512_load_ps(cm1 + p * 16), x2 = _mm512_load_ps(cm2 + p * 16);
          __m512i xi = _mm512_load_si512((const __m512i*)(cid + p * 16));
          upd(x1, x2, xi, c00, iv[0]);
          upd(x1, x2, xi, c10, iv[1]);
          upd(x1, x2, xi, c20, iv[2]);
          upd(x1, x2, xi, c30, iv[3]);
          _mm512_store_ps(cm1 + p * 16, x1);
          _mm512_store_ps(cm2 + p * 16, x2);
          _mm512_store_si512((__m512i*)(cid + p * 16), xi);
        }
        {
          __m512 x1 = _mm512_load_ps(cm1 + p * 16 + 16), x2 = _mm512_load_ps(cm2 + p * 16 + 16);
          __m512i xi = _mm512_load_si512((const __m512i*)(cid + p * 16 + 16));
          upd(x1, x2, xi, c01, iv[0]);
          upd(x1, x2, xi, c11, iv[1]);
          upd(x1, x2, xi, c21, iv[2]);
          upd(x1, x2, xi, c31, iv[3]);
          _mm512_store_ps(cm1 + p * 16 + 16, x1);
          _mm512_store_ps(cm2 + p * 16 + 16, x2);
          _mm512_store_si512((__m512i*)(cid + p * 16 + 16), xi);
        }
      }
      for (int q = 0; q < 4; ++q) {
        _mm512_store_ps(rowp + q * 48, m1[q]);
        _mm512_store_ps(rowp + q * 48 + 16, m2[q]);
        _mm512_store_si512((__m512i*)(rowp + q * 48 + 32), id[q]);
      }
    }
  }
}

/* top-2 over 16 lanes: winner (lowest index among equal maxima) and the runner-up score */
inline void reduce_lanes(const float* m1, const float* m2, const int32_t* id, float* best, float* second,
                         int32_t* win) {
  float b = -SS_INF;
  int32_t w = -1;
  int wl = -1;
  for (int l = 0; l < 16; ++l) {
    if (id[l] < 0) continue;
    if (m1[l] > b || (m1[l] == b && id[l] < w)) {
      b = m1[l];
      w = id[l];
      wl = l;
    }
  }
  float s2 = -SS_INF;
  for (int l = 0; l < 16; ++l) {
    if (id[l] < 0) continue;
    float c = l == wl ? m2[l] : m1[l];
    if (c > s2) s2 = c;
  }
  *best = b;
  *second = s2;
  *win = w;
}

ss_status reciprocal_avx512(ss_context* ctx, const ss_mast3r_reciprocal_nn_args& A, const float* a, const float* b,
                            int32_t* nn_a, int32_t* nn_b) {
  Prep P;
  P.n = A.n;
  P.m = A.m;
  P.dim = A.dim;
  P.dist = A.dist;
  P.n_pad = (A.n + 3) & ~3u;
  P.panels = ((A.m + 31) & ~31u) / 16;
  uint32_t dim = A.dim, m_pad = P.panels * 16;
  if (!P.ap.alloc((size_t)P.n_pad * dim) || !P.h.alloc(P.n_pad) || !P.bp.alloc((size_t)m_pad * dim) ||
      !P.g.alloc(m_pad) || !P.an.alloc(P.n_pad) || !P.bn.alloc(m_pad))
    return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_mast3r_reciprocal_nn: out of memory for packed inputs");
  P.amax = max_norm(ctx, a, A.n, dim, P.an.p);
  P.bmax = max_norm(ctx, b, A.m, dim, P.bn.p);
  bool l2 = A.dist == SS_DIST_L2;
  ctx->pool->parallel_for(P.n_pad, 1024, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      float* dst = P.ap.p + (size_t)i * dim;
      if ((uint32_t)i >= A.n) {
        for (uint32_t k = 0; k < dim; ++k) dst[k] = 0.0f;
        P.h[i] = SS_INF;
        continue;
      }
      const float* src = a + (size_t)i * dim;
      double nn = 0.0;
      for (uint32_t k = 0; k < dim; ++k) {
        dst[k] = src[k];
        nn += (double)src[k] * src[k];
      }
      P.h[i] = l2 ? (float)(0.5 * nn) : 0.0f;
    }
  });
  ctx->pool->parallel_for(P.panels, 16, [&](int64_t s, int64_t e) {
    for (int64_t p = s; p < e; ++p) {
      for (uint32_t l = 0; l < 16; ++l) {
        uint32_t j = (uint32_t)p * 16 + l;
        float* gp = P.g.p + j;
        if (j >= A.m) {
          for (uint32_t k = 0; k < dim; ++k) P.bp[((size_t)p * dim + k) * 16 + l] = 0.0f;
          *gp = -SS_INF;
          continue;
        }
        const float* src = b + (size_t)j * dim;
        double nn = 0.0;
        for (uint32_t k = 0; k < dim; ++k) {
          P.bp[((size_t)p * dim + k) * 16 + l] = src[k];
          nn += (double)src[k] * src[k];
        }
        *gp = l2 ? (float)(-0.5 * nn) : 0.0f;
      }
    }
  });

  uint32_t block_panels = A.block ? ((A.block + 31) / 32) * 2 : 64;
  int threads = ctx->pool->size();
  uint32_t groups = P.n_pad / 4;
  uint32_t slots = (uint32_t)threads * 4;
  if (slots > groups) slots = groups;
  if (slots < 1) slots = 1;
  std::vector<uint32_t> bounds(slots + 1);
  for (uint32_t s = 0; s <= slots; ++s) bounds[s] = (uint32_t)(((uint64_t)groups * s / slots) * 4);
  Aligned<float> cm1, cm2, rs;
  Aligned<int32_t> cid;
  if (!cm1.alloc((size_t)slots * m_pad) || !cm2.alloc((size_t)slots * m_pad) || !cid.alloc((size_t)slots * m_pad) ||
      !rs.alloc((size_t)P.n_pad * 48))
    return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_mast3r_reciprocal_nn: out of memory for running stats");
  std::vector<uint8_t> amb_a(A.n, 0), amb_b(A.m, 0);
  ctx->pool->parallel_for(slots, 1, [&](int64_t sb, int64_t se) {
    for (int64_t s = sb; s < se; ++s) {
      uint32_t r0 = bounds[(size_t)s], r1 = bounds[(size_t)s + 1];
      if (r0 == r1) continue;
      float* rsp = rs.p + (size_t)r0 * 48;
      if (dim == 24)
        scan_slot<24>(P, r0, r1, block_panels, rsp, cm1.p + (size_t)s * m_pad, cm2.p + (size_t)s * m_pad,
                      cid.p + (size_t)s * m_pad);
      else
        scan_slot<0>(P, r0, r1, block_panels, rsp, cm1.p + (size_t)s * m_pad, cm2.p + (size_t)s * m_pad,
                     cid.p + (size_t)s * m_pad);
      for (uint32_t i = r0; i < r1 && i < A.n; ++i) {
        const float* row = rsp + (size_t)(i - r0) * 48;
        float best, second;
        int32_t win;
        reduce_lanes(row, row + 16, (const int32_t*)(row + 32), &best, &second, &win);
        nn_a[i] = win;
        if (!(second < best - blocked_E(dim, A.dist, P.an[i], P.bmax))) amb_a[i] = 1;
      }
    }
  });
  /* columns: merge the slots in row order (strict >, so the lowest row wins among equals) */
  ctx->pool->parallel_for(A.m, 2048, [&](int64_t jb, int64_t je) {
    for (int64_t j = jb; j < je; ++j) {
      float b1 = -SS_INF, b2 = -SS_INF;
      int32_t w = -1;
      for (uint32_t s = 0; s < slots; ++s) {
        size_t at = (size_t)s * m_pad + (size_t)j;
        float x1 = cm1[at], x2 = cm2[at];
        int32_t xi = cid[at];
        if (xi < 0) continue;
        if (x1 > b1) {
          b2 = b1 > x2 ? b1 : x2;
          b1 = x1;
          w = xi;
        } else {
          float c = x1 > b2 ? x1 : b2;
          b2 = c;
        }
      }
      nn_b[j] = w;
      if (!(b2 < b1 - blocked_E(dim, A.dist, P.bn[j], P.amax))) amb_b[(size_t)j] = 1;
    }
  });
  std::vector<uint32_t> ra, rb;
  for (uint32_t i = 0; i < A.n; ++i)
    if (amb_a[i]) ra.push_back(i);
  for (uint32_t j = 0; j < A.m; ++j)
    if (amb_b[j]) rb.push_back(j);
  int64_t total = (int64_t)ra.size() + (int64_t)rb.size();
  ctx->pool->parallel_for(total, 1, [&](int64_t s, int64_t e) {
    for (int64_t t = s; t < e; ++t) {
      if (t < (int64_t)ra.size()) {
        uint32_t i = ra[(size_t)t];
        nn_a[i] = mast3r_nn_exact(a + (size_t)i * dim, b, A.m, dim, A.dist, P.bmax);
      } else {
        uint32_t j = rb[(size_t)(t - (int64_t)ra.size())];
        nn_b[j] = mast3r_nn_exact(b + (size_t)j * dim, a, A.n, dim, A.dist, P.amax);
      }
    }
  });
  return SS_OK;
}

#endif

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)

/* ---- int8 (AVX-512 VNNI) queries over the tile-ordered int8 copy ---------
 * Raw score acc = Σ (B+128)·Q + G_int, i.e. (Q·B + G_int) + off_q with
 * off_q = 128·ΣQ per query. Error of a raw score in real units (unit = sq·sb):
 * |q·b − sq·sb·Q·B| ≤ (sb/2)‖q‖₁ + (sq/2)‖b‖₁ + dim·sq·sb/4, plus sq·sb/2 for
 * the rounded l2 offset G. Candidates: acc ≥ best − E, E ≥ 2e/unit. */
struct I8State {
  int32_t best, E;
  uint32_t count, overflow;
  int32_t* idx;
  int32_t* acc;
};

const uint32_t kI8Cap = 256;
/* queries × panels per register tile of the full scan (16 accumulators) */
#ifndef SS_M3_QB
#define SS_M3_QB 4
#endif
#ifndef SS_M3_PB
#define SS_M3_PB 4
#endif
const int kQB = SS_M3_QB, kPB = SS_M3_PB;

inline void i8_offer(I8State& st, int32_t j, int32_t a) {
  if (a < st.best - st.E) return;
  if (a > st.best) st.best = a;
  if (st.count == kI8Cap) {
    uint32_t w = 0;
    for (uint32_t i = 0; i < st.count; ++i)
      if (st.acc[i] >= st.best - st.E) {
        st.idx[w] = st.idx[i];
        st.acc[w] = st.acc[i];
        ++w;
      }
    st.count = w;
    if (w == kI8Cap) {
      st.overflow = 1;
      return;
    }
  }
  st.idx[st.count] = j;
  st.acc[st.count] = a;
  st.count++;
}

inline int32_t panel_pixel(const mast3r_index_view& v, uint64_t P, uint32_t lane) {
  return mast3r_tile_pixel(v, (uint32_t)(P / 64), (uint32_t)((P % 64) / 4), (uint32_t)((P % 4) * 16 + lane));
}

/* everything a call's int8 scans share */
struct I8Call {
  const mast3r_index_view* v;
  uint32_t dim, d4, n;
  uint64_t P;
  const uint8_t* db8;
  float sq, sb;
  double unit;
  Aligned<int32_t> gint;
  Aligned<int8_t> Q;
  std::vector<int32_t> E, off, best0;
  std::vector<double> e;
};

/* int8 score (raw accumulator) of query i against db pixel px */
inline int32_t i8_pixel_acc(const I8Call& C, uint32_t i, uint32_t px) {
  const int8_t* q = C.Q.p + (size_t)i * C.d4 * 4;
  uint64_t slot = mast3r_i8_slot(*C.v, px);
  uint64_t P = slot / 16, lane = slot % 16;
  int32_t a = C.gint[(size_t)slot];
  for (uint32_t k = 0; k < C.d4; ++k) {
    const uint8_t* b = C.db8 + (P * C.d4 + k) * 64 + lane * 4;
    for (int t = 0; t < 4; ++t) a += (int32_t)b[t] * (int32_t)q[k * 4 + t];
  }
  return a;
}

bool i8_setup(I8Call& C, const mast3r_index_view& v, const ss_mast3r_nn_query_args& A, const float* qm,
              const int32_t* qi, const float* idx, const int32_t* hints, ss_context* ctx) {
  C.v = &v;
  C.dim = A.dim;
  C.d4 = (A.dim + 3) / 4;
  C.n = A.count;
  C.P = mast3r_index_panels(A.db_width, A.db_height);
  const float* f8 = idx + mast3r_index_f32_floats(A.db_width, A.db_height, A.dim);
  C.db8 = reinterpret_cast<const uint8_t*>(f8);
  const float* G = f8 + C.P * 16 * C.d4;
  C.sb = idx[9];
  const float l1b = idx[10], gmax = idx[11];
  float qmax = 0.0f;
  for (uint32_t i = 0; i < C.n; ++i)
    for (uint32_t k = 0; k < C.dim; ++k) {
      float x = std::fabs(qm[(size_t)qi[i] * C.dim + k]);
      qmax = x > qmax ? x : qmax;
    }
  C.sq = qmax > 0.0f ? qmax / 127.0f : 1.0f;
  C.unit = (double)C.sq * (double)C.sb;
  if (!C.gint.alloc(C.P * 16) || !C.Q.alloc((size_t)C.n * C.d4 * 4)) return false;
  const bool l2 = A.dist == SS_DIST_L2;
  ctx->pool->parallel_for((int64_t)C.P * 16, 16384, [&](int64_t s, int64_t e) {
    for (int64_t j = s; j < e; ++j) {
      float g = G[j];
      if (!(g > -SS_INF)) {
        C.gint[(size_t)j] = -(1 << 30);
        continue;
      }
      double x = l2 ? (double)g / C.unit : 0.0;
      x = x < -(double)(1 << 29) ? -(double)(1 << 29) : x;
      C.gint[(size_t)j] = (int32_t)std::nearbyint(x);
    }
  });
  C.E.resize(C.n);
  C.off.resize(C.n);
  C.best0.resize(C.n);
  C.e.resize(C.n);
  for (uint32_t i = 0; i < C.n; ++i) {
    int8_t* q = C.Q.p + (size_t)i * C.d4 * 4;
    const float* x = qm + (size_t)qi[i] * C.dim;
    float l1 = 0.0f;
    int32_t sum = 0;
    for (uint32_t k = 0; k < C.d4 * 4; ++k) {
      int32_t t = 0;
      if (k < C.dim) {
        t = (int32_t)std::nearbyint(x[k] / C.sq);
        t = t > 127 ? 127 : (t < -127 ? -127 : t);
        l1 += std::fabs(x[k]);
      }
      q[k] = (int8_t)t;
      sum += t;
    }
    l1 *= 1.0f + 32.0f * MAST3R_U32;
    double e = 0.5 * C.sb * l1 + 0.5 * C.sq * l1b + 0.25 * C.dim * C.unit + (l2 ? 0.5 * C.unit + 1e-6 * gmax : 0.0);
    C.e[i] = e * 1.001 + 1e-12;
    double Ei = std::ceil(2.0 * C.e[i] / C.unit) + 2.0;
    C.E[i] = Ei > (double)(1 << 28) ? (1 << 28) : (int32_t)Ei;
    C.off[i] = 128 * sum;
    C.best0[i] = -(1 << 30);
    int32_t h = hints ? hints[i] : -1;
    if (h >= 0 && (uint32_t)h < v.width * v.height) C.best0[i] = i8_pixel_acc(C, i, (uint32_t)h);
  }
  return true;
}

/* float64 re-rank of a query's surviving candidates */
inline int32_t i8_finish(const I8State& s, const float* x, const float* dm, uint32_t dim, uint32_t dist) {
  int32_t win = -1;
  double wbest = 0.0;
  for (uint32_t c = 0; c < s.count; ++c) {
    if (s.acc[c] < s.best - s.E) continue;
    int32_t j = s.idx[c];
    double v = mast3r_score_f64(x, dm + (size_t)j * dim, dim, dist);
    if (win < 0 || v > wbest || (v == wbest && j < win)) {
      wbest = v;
      win = j;
    }
  }
  return win;
}

/* R queries × C panels per step of the full scan */
template <int R, int C, int D4C, bool ZERO>
inline void i8_step(const mast3r_index_view& v, uint64_t p, uint32_t d4_rt, const uint8_t* db8, const int32_t* gint,
                    const int32_t* const* qd, __m512i* thr, I8State* const* st) {
  const uint32_t d4 = D4C ? (uint32_t)D4C : d4_rt;
  __m512i acc[R][C];
  /* dot: G is 0 on every pixel (padding lanes are skipped in the slow path),
   * so the accumulators start from a zero idiom instead of a load */
#pragma GCC unroll 4
  for (int c = 0; c < C; ++c) {
    __m512i g = ZERO ? _mm512_setzero_si512() : _mm512_loadu_si512((const void*)(gint + (p + c) * 16));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[r][c] = g;
  }
#pragma GCC unroll 8
  for (uint32_t k = 0; k < d4; ++k) {
    __m512i b[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) b[c] = _mm512_loadu_si512((const void*)(db8 + ((p + c) * d4 + k) * 64));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      __m512i q = _mm512_set1_epi32(qd[r][k]);
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], b[c], q);
    }
  }
  __mmask16 any = 0;
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    __m512i mx = acc[r][0];
#pragma GCC unroll 4
    for (int c = 1; c < C; ++c) mx = _mm512_max_epi32(mx, acc[r][c]);
    any |= _mm512_cmpge_epi32_mask(mx, thr[r]);
  }
  if (__builtin_expect(any == 0, 1)) return;
  /* rare: spill the tile (constant indices keep acc in registers above) */
  alignas(64) int32_t vals[R][C][16];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) _mm512_store_si512((void*)vals[r][c], acc[r][c]);
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      for (uint32_t lane = 0; lane < 16; ++lane) {
        int32_t a = vals[r][c][lane];
        if (a < st[r]->best - st[r]->E) continue;
        int32_t px = panel_pixel(v, p + c, lane);
        if (px < 0) continue;
        i8_offer(*st[r], px, a);
      }
    }
    thr[r] = _mm512_set1_epi32(st[r]->best - st[r]->E);
  }
}

/* every pixel against the listed queries: L2-sized chunks of panels, all queries per chunk */
void i8_full(ss_context* ctx, const I8Call& C, const ss_mast3r_nn_query_args& A, const float* qm, const int32_t* qi,
             const float* dm, int32_t* out, const std::vector<uint32_t>& list) {
  const uint32_t nq = (uint32_t)list.size(), nq4 = (nq + kQB - 1) / kQB * kQB;
  const uint32_t d4 = C.d4;
  Aligned<int32_t> cidx, cacc;
  Aligned<int8_t> zero;
  cidx.alloc((size_t)nq4 * kI8Cap);
  cacc.alloc((size_t)nq4 * kI8Cap);
  zero.alloc(d4 * 4);
  for (uint32_t k = 0; k < d4 * 4; ++k) zero[k] = 0;
  const uint32_t task_q = 16 * kQB;
  const uint64_t chunk = 1024; /* panels: 16384 pixels, ~400 KB of int8 — stays in L2 */
  const bool dot = A.dist == SS_DIST_DOT;
  int64_t tasks = (nq4 + task_q - 1) / task_q;
  ctx->pool->parallel_for(tasks, 1, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t) {
      uint32_t q0 = (uint32_t)t * task_q, q1 = q0 + task_q < nq4 ? q0 + task_q : nq4;
      std::vector<I8State> st(q1 - q0);
      std::vector<const int32_t*> qdp(q1 - q0);
      for (uint32_t l = q0; l < q1; ++l) {
        int32_t* ci = cidx.p + (size_t)l * kI8Cap;
        int32_t* ca = cacc.p + (size_t)l * kI8Cap;
        if (l < nq) {
          uint32_t i = list[l];
          st[l - q0] = I8State{C.best0[i], C.E[i], 0, 0, ci, ca};
          qdp[l - q0] = reinterpret_cast<const int32_t*>(C.Q.p + (size_t)i * d4 * 4);
        } else {
          st[l - q0] = I8State{0x7fffffff / 2, 0, 0, 0, ci, ca};
          qdp[l - q0] = reinterpret_cast<const int32_t*>(zero.p);
        }
      }
      for (uint64_t c0 = 0; c0 < C.P; c0 += chunk) {
        uint64_t c1 = c0 + chunk < C.P ? c0 + chunk : C.P;
        for (uint32_t qb = q0; qb < q1; qb += kQB) {
          const int32_t* qd[kQB];
          I8State* sp[kQB];
          __m512i thr[kQB];
          for (int r = 0; r < kQB; ++r) {
            qd[r] = qdp[qb + r - q0];
            sp[r] = &st[qb + r - q0];
            thr[r] = _mm512_set1_epi32(sp[r]->best - sp[r]->E);
          }
          uint64_t p = c0;
          if (d4 == 6 && dot)
            for (; p + kPB <= c1; p += kPB) i8_step<kQB, kPB, 6, true>(*C.v, p, d4, C.db8, C.gint.p, qd, thr, sp);
          else if (d4 == 6)
            for (; p + kPB <= c1; p += kPB) i8_step<kQB, kPB, 6, false>(*C.v, p, d4, C.db8, C.gint.p, qd, thr, sp);
          else
            for (; p + kPB <= c1; p += kPB) i8_step<kQB, kPB, 0, false>(*C.v, p, d4, C.db8, C.gint.p, qd, thr, sp);
          for (; p < c1; ++p) i8_step<kQB, 1, 0, false>(*C.v, p, d4, C.db8, C.gint.p, qd, thr, sp);
        }
      }
      for (uint32_t l = q0; l < q1 && l < nq; ++l) {
        uint32_t i = list[l];
        const I8State& s = st[l - q0];
        const float* x = qm + (size_t)qi[i] * C.dim;
        out[i] = s.overflow ? mast3r_nn_exact(x, dm, C.v->width * C.v->height, C.dim, A.dist, C.v->bmax)
                            : i8_finish(s, x, dm, C.dim, A.dist);
      }
    }
  });
}

/* mast3r_ball_ub on 16 lanes (h = +∞ lanes come out −∞ or NaN: never kept) */
inline __m512 ball_ub16(bool dot, __m512 qc, __m512 h, __m512 r, float qn, float slack, float margin) {
  if (dot) return _mm512_add_ps(_mm512_fmadd_ps(r, _mm512_set1_ps(qn), _mm512_sub_ps(qc, h)), _mm512_set1_ps(margin));
  const __m512 half = _mm512_set1_ps(0.5f);
  __m512 t2 = _mm512_add_ps(_mm512_set1_ps(qn * qn), _mm512_mul_ps(_mm512_set1_ps(2.0f), _mm512_sub_ps(h, qc)));
  t2 = _mm512_add_ps(_mm512_max_ps(t2, _mm512_setzero_ps()), _mm512_set1_ps(slack));
  __m512 t = _mm512_mul_ps(_mm512_sqrt_ps(t2), _mm512_set1_ps(1.0f + 4.0f * MAST3R_U32));
  __m512 inside = _mm512_mul_ps(half, _mm512_mul_ps(t, t));
  __m512 outside = _mm512_sub_ps(_mm512_mul_ps(r, t), _mm512_mul_ps(half, _mm512_mul_ps(r, r)));
  __m512 f = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(t, r, _CMP_LE_OQ), outside, inside);
  return _mm512_add_ps(_mm512_add_ps(_mm512_sub_ps(qc, h), f), _mm512_set1_ps(margin));
}

/* Lower bound, in real units, on the best exact score of a query whose
 * running int8 best is st.best: a pixel scored st.best exists. Rounded down
 * to float so that `ub < thr` proves a ball cannot hold the argmax. */
inline float prune_threshold(const I8Call& C, uint32_t i, const I8State& st) {
  double t = (double)(st.best - C.off[i]) * C.unit - C.e[i];
  float f = (float)t;
  return f - (std::fabs(f) * 1e-6f + 1e-30f);
}

/* int8 scan of tile t of super-tile s (its 4 panels) for R queries */
template <int R>
inline void scan_tile_r(const I8Call& C, bool dot, uint64_t p, const int32_t* const* qd, I8State* const* st) {
  __m512i thr[R];
  for (int r = 0; r < R; ++r) thr[r] = _mm512_set1_epi32(st[r]->best - st[r]->E);
  if (C.d4 == 6 && dot)
    i8_step<R, 4, 6, true>(*C.v, p, C.d4, C.db8, C.gint.p, qd, thr, st);
  else if (C.d4 == 6)
    i8_step<R, 4, 6, false>(*C.v, p, C.d4, C.db8, C.gint.p, qd, thr, st);
  else
    i8_step<R, 4, 0, false>(*C.v, p, C.d4, C.db8, C.gint.p, qd, thr, st);
}

/* the same for 1..4 queries */
inline void scan_tile_i8(const I8Call& C, bool dot, uint32_t s, uint32_t t, int r, const int32_t* const* qd,
                         I8State* const* st) {
  uint64_t p = (uint64_t)s * 64 + 4u * t;
  switch (r) {
    case 1: scan_tile_r<1>(C, dot, p, qd, st); break;
    case 2: scan_tile_r<2>(C, dot, p, qd, st); break;
    case 3: scan_tile_r<3>(C, dot, p, qd, st); break;
    default: scan_tile_r<4>(C, dot, p, qd, st); break;
  }
}

/* Σ_k x[k]·rows[k·stride + lane] on 16 lanes, four independent chains (the
 * bound holds for any summation order; one chain would wait on each FMA) */
inline __m512 dot16(const float* x, uint32_t dim, const float* rows, uint64_t stride) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  uint32_t k = 0;
  for (; k + 4 <= dim; k += 4) {
    a0 = _mm512_fmadd_ps(_mm512_set1_ps(x[k]), _mm512_loadu_ps(rows + k * stride), a0);
    a1 = _mm512_fmadd_ps(_mm512_set1_ps(x[k + 1]), _mm512_loadu_ps(rows + (k + 1) * stride), a1);
    a2 = _mm512_fmadd_ps(_mm512_set1_ps(x[k + 2]), _mm512_loadu_ps(rows + (k + 2) * stride), a2);
    a3 = _mm512_fmadd_ps(_mm512_set1_ps(x[k + 3]), _mm512_loadu_ps(rows + (k + 3) * stride), a3);
  }
  for (; k < dim; ++k) a0 = _mm512_fmadd_ps(_mm512_set1_ps(x[k]), _mm512_loadu_ps(rows + k * stride), a0);
  return _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
}

/* the 16 tile bounds of super-tile s */
inline __m512 tile_ubs(const I8Call& C, bool dot, const float* x, uint32_t s, float qn, float slack, float margin) {
  const uint32_t dim = C.dim;
  const float* l2 = C.v->l2 + (uint64_t)s * (dim + 2) * 16;
  return ball_ub16(dot, dot16(x, dim, l2, 16), _mm512_loadu_ps(l2 + dim * 16), _mm512_loadu_ps(l2 + (dim + 1) * 16), qn, slack, margin);
}


/* pixel holding a state's best int8 score, -1 if none was offered */
inline int32_t best_pixel(const I8State& st) {
  for (uint32_t c = 0; c < st.count; ++c)
    if (st.acc[c] == st.best) return st.idx[c];
  return -1;
}

/* db pixel px moved by the step from query pixel q0 to q1 (query map width w), -1 off the map */
inline int32_t shifted_pixel(const mast3r_index_view& v, uint32_t w, int32_t px, int32_t q0, int32_t q1) {
  int64_t x = px % (int32_t)v.width + (q1 % (int32_t)w - q0 % (int32_t)w);
  int64_t y = px / (int32_t)v.width + (q1 / (int32_t)w - q0 / (int32_t)w);
  if (x < 0 || y < 0 || x >= v.width || y >= v.height) return -1;
  return (int32_t)(y * v.width + x);
}

/* One query of a group: its bound constants and running state. */
struct PruneQuery {
  uint32_t i, first, tfirst;
  const float* x;
  const int32_t* qd;
  float qn, slack, margin, thr;
  bool active;
  I8State st;
};

const int kGroup = 8;

/* The queries of a group by branch and bound over the index's balls:
 * super-tiles (32×32 px), then their tiles (8×8), scanning in int8 only the
 * tiles whose bound reaches the query's best score so far. Each query first
 * scores its guesses and its highest-bound tile, so the bound bites from the
 * start; then the group walks the map once, super-tile by super-tile, and a
 * tile that several queries keep is scanned for each while it is in L1.
 * A query whose bounds keep most super-tiles (descriptors without spatial
 * coherence) leaves with pruned = 0, having only raised best0: the streamed
 * scan of everything is cheaper for it. */
void i8_group(I8Call& C, const ss_mast3r_nn_query_args& A, const float* qm, const int32_t* qi, const float* dm,
              const uint32_t* ids, int n, const int32_t* guesses, int nguess, float* ub1, int32_t* cand, int32_t* out,
              uint8_t* pruned) {
  const mast3r_index_view& v = *C.v;
  const uint32_t dim = C.dim;
  const bool dot = A.dist == SS_DIST_DOT;
  PruneQuery pq[kGroup];
  alignas(64) float ub2[kGroup][16];
  uint32_t live = 0;
  for (int g = 0; g < n; ++g) {
    PruneQuery& q = pq[g];
    q.i = ids[g];
    q.x = qm + (size_t)qi[q.i] * dim;
    q.qd = reinterpret_cast<const int32_t*>(C.Q.p + (size_t)q.i * C.d4 * 4);
    q.qn = mast3r_norm(q.x, dim);
    float rsum = q.qn + v.bmax;
    q.slack = 8.0f * mast3r_gamma(dim + 4) * rsum * rsum;
    q.margin = dot ? 4.0f * mast3r_gamma(dim + 2) * q.qn * v.bmax + 1e-30f : 4.0f * mast3r_gamma(dim + 4) * rsum * rsum;
    q.st = I8State{C.best0[q.i], C.E[q.i], 0, 0, cand + (size_t)g * 2 * kI8Cap, cand + (size_t)g * 2 * kI8Cap + kI8Cap};
    for (int k = 0; k < nguess; ++k) {
      int32_t a = i8_pixel_acc(C, q.i, (uint32_t)guesses[k]);
      q.st.best = a > q.st.best ? a : q.st.best;
    }
    if (g > 0) {
      /* the previous query's best pixel so far, as is and moved by the step between them */
      int32_t b = best_pixel(pq[g - 1].st);
      if (b >= 0) {
        int32_t extra[2];
        int ne = 0;
        extra[ne++] = b;
        int32_t d = shifted_pixel(v, A.width, b, qi[pq[g - 1].i], qi[q.i]);
        if (d >= 0) extra[ne++] = d;
        for (int k = 0; k < ne; ++k) {
          int32_t a = i8_pixel_acc(C, q.i, (uint32_t)extra[k]);
          if (a > q.st.best) q.st.best = a;
        }
      }
    }
    float* u = ub1 + (size_t)g * v.S16;
    for (uint32_t s0 = 0; s0 < v.S16; s0 += 16) {
      __m512 qc = dot16(q.x, dim, v.l1 + s0, v.S16);
      _mm512_storeu_ps(u + s0, ball_ub16(dot, qc, _mm512_loadu_ps(v.l1 + (uint64_t)dim * v.S16 + s0),
                                         _mm512_loadu_ps(v.l1 + (uint64_t)(dim + 1) * v.S16 + s0), q.qn, q.slack, q.margin));
    }
    q.first = 0;
    for (uint32_t s = 1; s < v.S; ++s)
      if (u[s] > u[q.first]) q.first = s;
    _mm512_store_ps(ub2[g], tile_ubs(C, dot, q.x, q.first, q.qn, q.slack, q.margin));
    q.tfirst = 0;
    for (uint32_t t = 1; t < 16; ++t)
      if (ub2[g][t] > ub2[g][q.tfirst]) q.tfirst = t;
    I8State* sp = &q.st;
    scan_tile_i8(C, dot, q.first, q.tfirst, 1, &q.qd, &sp);
    q.thr = prune_threshold(C, q.i, q.st);
    uint32_t kept = 0;
    for (uint32_t s = 0; s < v.S; ++s) kept += u[s] >= q.thr;
    q.active = kept * 10 <= v.S * 9;
    if (q.active) {
      live |= 1u << g;
    } else if (q.st.best > C.best0[q.i]) {
      C.best0[q.i] = q.st.best;
    }
  }
  for (uint32_t s = 0; s < v.S && live; ++s) {
    uint32_t tiles[16] = {0};
    for (uint32_t m = live; m; m &= m - 1) {
      int g = __builtin_ctz(m);
      PruneQuery& q = pq[g];
      if (!(ub1[(size_t)g * v.S16 + s] >= q.thr)) continue;
      __m512 ub = tile_ubs(C, dot, q.x, s, q.qn, q.slack, q.margin);
      _mm512_store_ps(ub2[g], ub);
      uint32_t keep = _mm512_cmp_ps_mask(ub, _mm512_set1_ps(q.thr), _CMP_GE_OQ);
      if (s == q.first) keep &= ~(1u << q.tfirst);
      for (; keep; keep &= keep - 1) tiles[__builtin_ctz(keep)] |= 1u << g;
    }
    for (uint32_t t = 0; t < 16; ++t) {
      int gs[kGroup], ng = 0;
      for (uint32_t m = tiles[t]; m; m &= m - 1) {
        int g = __builtin_ctz(m);
        if (ub2[g][t] >= pq[g].thr) gs[ng++] = g;
      }
      /* up to four queries per pass over the tile, in registers */
      for (int k = 0; k < ng; k += 4) {
        int r = ng - k < 4 ? ng - k : 4;
        const int32_t* qd[4];
        I8State* sp[4];
        for (int j = 0; j < r; ++j) {
          qd[j] = pq[gs[k + j]].qd;
          sp[j] = &pq[gs[k + j]].st;
        }
        scan_tile_i8(C, dot, s, t, r, qd, sp);
        for (int j = 0; j < r; ++j) pq[gs[k + j]].thr = prune_threshold(C, pq[gs[k + j]].i, pq[gs[k + j]].st);
      }
    }
  }
  for (int g = 0; g < n; ++g) {
    const PruneQuery& q = pq[g];
    pruned[q.i] = q.active;
    if (!q.active) continue;
    out[q.i] = q.st.overflow ? mast3r_nn_exact(q.x, dm, v.width * v.height, dim, A.dist, v.bmax)
                             : i8_finish(q.st, q.x, dm, dim, A.dist);
  }
}

/* Queries in groups of consecutive ones (neighbouring pixels visit the same
 * tiles) by branch and bound (i8_group); those whose bounds keep most of the
 * map go to the streamed int8 scan of every pixel (i8_full); float64 on the
 * survivors either way. */
ss_status query_i8(ss_context* ctx, const ss_mast3r_nn_query_args& A, const mast3r_index_view& v, const float* qm,
                   const int32_t* qi, const float* dm, const float* idx, int32_t* out, bool hints) {
  I8Call C;
  if (!i8_setup(C, v, A, qm, qi, idx, hints ? out : nullptr, ctx))
    return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_mast3r_nn_query: out of memory for the int8 scan");
  std::vector<uint8_t> pruned(A.count, 0);
  bool oom = false;
  int64_t groups = ((int64_t)A.count + kGroup - 1) / kGroup;
  ctx->pool->parallel_for(groups, 4, [&](int64_t gb, int64_t ge) {
    Aligned<float> ub1;
    Aligned<int32_t> cand;
    if (!ub1.alloc((size_t)kGroup * v.S16) || !cand.alloc((size_t)kGroup * 2 * kI8Cap)) {
      oom = true;
      return;
    }
    /* guesses for a group: the previous group's last answer, and that answer
     * moved by the step between the two queries (smooth maps match smoothly) */
    int64_t prev = -1;
    for (int64_t grp = gb; grp < ge; ++grp) {
      uint32_t ids[kGroup];
      int n = 0;
      for (int64_t i = grp * kGroup; i < (grp + 1) * kGroup && i < (int64_t)A.count; ++i) ids[n++] = (uint32_t)i;
      int32_t guesses[2];
      int nguess = 0;
      if (prev >= 0 && pruned[(size_t)prev]) {
        guesses[nguess++] = out[prev];
        int32_t d = shifted_pixel(v, A.width, out[prev], qi[prev], qi[ids[0]]);
        if (d >= 0) guesses[nguess++] = d;
      }
      i8_group(C, A, qm, qi, dm, ids, n, guesses, nguess, ub1.p, cand.p, out, pruned.data());
      prev = ids[n - 1];
    }
  });
  if (oom) return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_mast3r_nn_query: out of memory for the pruned scan");
  std::vector<uint32_t> rest;
  for (uint32_t i = 0; i < A.count; ++i)
    if (!pruned[i]) rest.push_back(i);
  if (!rest.empty()) i8_full(ctx, C, A, qm, qi, dm, out, rest);
  return SS_OK;
}

#endif

struct MapStats {
  float bmax, amax, l1max;
};

#if defined(__AVX512BW__)

/* a pixel of dim ≤ 32 floats in two registers: lanes of the first and second 16 */
inline __mmask16 dim_mask_lo(uint32_t dim) { return (__mmask16)(dim >= 16 ? 0xffffu : ((1u << dim) - 1u)); }
inline __mmask16 dim_mask_hi(uint32_t dim) {
  return (__mmask16)(dim <= 16 ? 0u : (dim >= 32 ? 0xffffu : ((1u << (dim - 16)) - 1u)));
}

/* map_stats in one pass, for dim ≤ 32 (two registers per pixel) */
MapStats map_stats_avx512(ss_context* ctx, const float* m, uint64_t px, uint32_t dim) {
  const __mmask16 lo = dim_mask_lo(dim), hi = dim_mask_hi(dim);
  const int64_t grain = 8192, chunks = ((int64_t)px + grain - 1) / grain;
  std::vector<MapStats> part((size_t)chunks);
  ctx->pool->parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (int64_t c = cb; c < ce; ++c) {
      __m512 nmax = _mm512_setzero_ps(), amax = _mm512_setzero_ps(), lmax = _mm512_setzero_ps();
      int64_t e = (c + 1) * grain < (int64_t)px ? (c + 1) * grain : (int64_t)px;
      /* 16 pixels at a time: per-pixel sums land in lane j by a reduce over the pixel's registers */
      alignas(64) float nn[16], l1[16];
      int64_t i = c * grain;
      while (i < e) {
        int n = e - i < 16 ? (int)(e - i) : 16;
        for (int j = 0; j < n; ++j) {
          const float* x = m + (uint64_t)(i + j) * dim;
          __m512 x0 = _mm512_maskz_loadu_ps(lo, x), x1 = _mm512_maskz_loadu_ps(hi, x + 16);
          __m512 a0 = _mm512_and_ps(x0, absmask), a1 = _mm512_and_ps(x1, absmask);
          amax = _mm512_max_ps(amax, _mm512_max_ps(a0, a1));
          nn[j] = _mm512_reduce_add_ps(_mm512_fmadd_ps(x1, x1, _mm512_mul_ps(x0, x0)));
          l1[j] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
        }
        for (int j = n; j < 16; ++j) nn[j] = l1[j] = 0.0f;
        nmax = _mm512_max_ps(nmax, _mm512_load_ps(nn));
        lmax = _mm512_max_ps(lmax, _mm512_load_ps(l1));
        i += n;
      }
      part[(size_t)c] = MapStats{mast3r_norm_up(_mm512_reduce_max_ps(nmax), dim), _mm512_reduce_max_ps(amax),
                                 _mm512_reduce_max_ps(lmax) * (1.0f + 32.0f * MAST3R_U32)};
    }
  });
  MapStats out{0.0f, 0.0f, 0.0f};
  for (const MapStats& p : part) {
    out.bmax = p.bmax > out.bmax ? p.bmax : out.bmax;
    out.amax = p.amax > out.amax ? p.amax : out.amax;
    out.l1max = p.l1max > out.l1max ? p.l1max : out.l1max;
  }
  return out;
}

/* mast3r_index_build_super without tile records, for dim ≤ 32: float32
 * centroids (a ball's centre may be any point: radii are measured from the
 * stored one), squared distances in float32 (relative error ≤ (dim + 3)u,
 * far inside mast3r_ball_finish's 1e-5). */
void build_bounds_avx512(const mast3r_index_view& v, uint32_t s, const float* m, float* index) {
  const uint32_t dim = v.dim;
  const __mmask16 lo = dim_mask_lo(dim), hi = dim_mask_hi(dim);
  float* l1 = index + MAST3R_INDEX_HEADER;
  float* l2 = l1 + (uint64_t)(dim + 2) * v.S16 + (uint64_t)s * (dim + 2) * 16;
  const uint32_t x0 = MAST3R_SUPER_PX * (s % v.sx), y0 = MAST3R_SUPER_PX * (s / v.sx);
  __m512 ssum0 = _mm512_setzero_ps(), ssum1 = _mm512_setzero_ps();
  uint32_t scount = 0;
  alignas(64) float c[32];
  /* pixels of tile t: rows y ∈ [ty, ty + 8) ∩ map, columns x ∈ [tx, tx + 8) ∩ map */
  auto each_pixel = [&](uint32_t t, auto&& fn) {
    uint32_t tx = x0 + MAST3R_TILE * (t % MAST3R_SUPER), ty = y0 + MAST3R_TILE * (t / MAST3R_SUPER);
    for (uint32_t y = ty; y < ty + MAST3R_TILE && y < v.height; ++y)
      for (uint32_t x = tx; x < tx + MAST3R_TILE && x < v.width; ++x) fn(m + ((uint64_t)y * v.width + x) * dim);
  };
  auto radius2 = [&](__m512 c0, __m512 c1, uint32_t t, __m512& r2) {
    each_pixel(t, [&](const float* b) {
      __m512 d0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(lo, b), c0), d1 = _mm512_sub_ps(_mm512_maskz_loadu_ps(hi, b + 16), c1);
      r2 = _mm512_max_ps(r2, _mm512_set1_ps(_mm512_reduce_add_ps(_mm512_fmadd_ps(d1, d1, _mm512_mul_ps(d0, d0)))));
    });
  };
  for (uint32_t t = 0; t < 16; ++t) {
    __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
    uint32_t count = 0;
    each_pixel(t, [&](const float* b) {
      sum0 = _mm512_add_ps(sum0, _mm512_maskz_loadu_ps(lo, b));
      sum1 = _mm512_add_ps(sum1, _mm512_maskz_loadu_ps(hi, b + 16));
      ++count;
    });
    ssum0 = _mm512_add_ps(ssum0, sum0);
    ssum1 = _mm512_add_ps(ssum1, sum1);
    scount += count;
    __m512 inv = _mm512_set1_ps(count ? 1.0f / (float)count : 0.0f);
    __m512 c0 = _mm512_mul_ps(sum0, inv), c1 = _mm512_mul_ps(sum1, inv);
    __m512 r2 = _mm512_setzero_ps();
    radius2(c0, c1, t, r2);
    _mm512_store_ps(c, c0);
    _mm512_store_ps(c + 16, c1);
    float h, r;
    mast3r_ball_finish(dim, v.dist, count, (double)_mm512_reduce_max_ps(r2), c, &h, &r);
    for (uint32_t k = 0; k < dim; ++k) l2[k * 16 + t] = c[k];
    l2[dim * 16 + t] = h;
    l2[(dim + 1) * 16 + t] = r;
  }
  __m512 inv = _mm512_set1_ps(scount ? 1.0f / (float)scount : 0.0f);
  __m512 c0 = _mm512_mul_ps(ssum0, inv), c1 = _mm512_mul_ps(ssum1, inv);
  __m512 r2 = _mm512_setzero_ps();
  for (uint32_t t = 0; t < 16; ++t) radius2(c0, c1, t, r2);
  _mm512_store_ps(c, c0);
  _mm512_store_ps(c + 16, c1);
  float h, r;
  mast3r_ball_finish(dim, v.dist, scount, (double)_mm512_reduce_max_ps(r2), c, &h, &r);
  for (uint32_t k = 0; k < dim; ++k) l1[(uint64_t)k * v.S16 + s] = c[k];
  l1[(uint64_t)dim * v.S16 + s] = h;
  l1[(uint64_t)(dim + 1) * v.S16 + s] = r;
}

#endif

/* max ‖b‖ (rounded up), max |b_k| and max ‖b‖₁ (rounded up) of a map */
MapStats map_stats(ss_context* ctx, const float* m, uint64_t px, uint32_t dim) {
#if defined(__AVX512BW__)
  if (dim <= 32) return map_stats_avx512(ctx, m, px, dim);
#endif
  MapStats out{max_norm(ctx, m, (uint32_t)px, dim, nullptr), 0.0f, 0.0f};
  int64_t grain = 8192, chunks = ((int64_t)px + grain - 1) / grain;
  std::vector<float> pa((size_t)chunks), pl((size_t)chunks);
  ctx->pool->parallel_for(chunks, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      float mx = 0.0f, l1 = 0.0f;
      int64_t e = (c + 1) * grain < (int64_t)px ? (c + 1) * grain : (int64_t)px;
      for (int64_t i = c * grain; i < e; ++i) {
        const float* x = m + (size_t)i * dim;
        float s1 = 0.0f;
        for (uint32_t k = 0; k < dim; ++k) s1 += std::fabs(x[k]);
        for (uint32_t k = 0; k < dim; ++k) mx = std::fabs(x[k]) > mx ? std::fabs(x[k]) : mx;
        l1 = s1 > l1 ? s1 : l1;
      }
      pa[(size_t)c] = mx;
      pl[(size_t)c] = l1;
    }
  });
  for (size_t c = 0; c < pa.size(); ++c) {
    out.amax = pa[c] > out.amax ? pa[c] : out.amax;
    out.l1max = pl[c] > out.l1max ? pl[c] : out.l1max;
  }
  out.l1max *= 1.0f + 32.0f * MAST3R_U32;
  return out;
}

}  // namespace

extern "C" {

SS_API ss_status ss_mast3r_reciprocal_nn(ss_context* ctx, const ss_mast3r_reciprocal_nn_args* args, ss_buffer* a,
                                         ss_buffer* b, ss_buffer* nn_a, ss_buffer* nn_b) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_reciprocal_nn_args A = *args;
  SS_TRY(ss_check_mast3r_reciprocal_nn(ctx, A, a, b, nn_a, nn_b));
  const float* pa = ss_data<float>(a);
  const float* pb = ss_data<float>(b);
  int32_t* oa = ss_data<int32_t>(nn_a);
  int32_t* ob = ss_data<int32_t>(nn_b);
#if defined(__AVX512F__)
  if (!(A.flags & SS_FLAG_PORTABLE)) return reciprocal_avx512(ctx, A, pa, pb, oa, ob);
#endif
  float amax = max_norm(ctx, pa, A.n, A.dim, nullptr);
  float bmax = max_norm(ctx, pb, A.m, A.dim, nullptr);
  ctx->pool->parallel_for((int64_t)A.n + A.m, 16, [&](int64_t s, int64_t e) {
    for (int64_t t = s; t < e; ++t) {
      if (t < (int64_t)A.n)
        oa[t] = mast3r_nn_exact(pa + (size_t)t * A.dim, pb, A.m, A.dim, A.dist, bmax);
      else {
        int64_t j = t - A.n;
        ob[j] = mast3r_nn_exact(pb + (size_t)j * A.dim, pa, A.n, A.dim, A.dist, amax);
      }
    }
  });
  return SS_OK;
}

SS_API ss_status ss_mast3r_desc_index(ss_context* ctx, const ss_mast3r_desc_index_args* args, ss_buffer* map,
                                      ss_buffer* index) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_desc_index_args A = *args;
  SS_TRY(ss_check_mast3r_desc_index(ctx, A, map, index));
  uint64_t px = (uint64_t)A.width * A.height;
  const float* m = ss_data<float>(map);
  float* idx = ss_data<float>(index);
  const MapStats st = map_stats(ctx, m, px, A.dim);
  const float bmax = st.bmax;
  mast3r_index_view v = mast3r_index_make_view(idx, A.width, A.height, A.dim, A.dist, bmax);
  uint32_t* hdr = reinterpret_cast<uint32_t*>(idx);
  for (int i = 0; i < MAST3R_INDEX_HEADER; ++i) hdr[i] = 0;
  hdr[0] = MAST3R_INDEX_MAGIC;
  hdr[1] = A.width;
  hdr[2] = A.height;
  hdr[3] = A.dim;
  hdr[4] = A.dist;
  idx[8] = bmax;
  /* padding lanes of level 1: empty */
  float* l1 = idx + MAST3R_INDEX_HEADER;
  for (uint32_t s = v.S; s < v.S16 && s > 0; ++s) {
    for (uint32_t k = 0; k < A.dim; ++k) l1[(size_t)k * v.S16 + s] = 0.0f;
    l1[(size_t)A.dim * v.S16 + s] = SS_INF;
    l1[(size_t)(A.dim + 1) * v.S16 + s] = 0.0f;
  }
  /* ball bounds (levels 1 and 2) for both scans; the float32 tile records
   * only for the portable one: the VNNI build scans the int8 copy below */
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  const bool records = false;
#else
  const bool records = true;
#endif
  ctx->pool->parallel_for(v.S, 1, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
#if defined(__AVX512BW__)
      if (!records && A.dim <= 32) {
        build_bounds_avx512(v, (uint32_t)i, m, idx);
        continue;
      }
#endif
      mast3r_index_build_super(v, (uint32_t)i, m, idx, records);
    }
  });
  /* int8 section: one global step so a query's scores share one scale */
  const float amax = st.amax;
  float sb = amax > 0.0f ? amax / 127.0f : 1.0f;
  idx[9] = sb;
  idx[10] = st.l1max;
  idx[11] = v.gmax;
  uint64_t p8 = mast3r_index_panels(A.width, A.height);
#if defined(__AVX512BW__)
  if (A.dim <= 32) {
    /* the portable panel builder, one pixel per step (same rounding: cvtps2dq is round-half-even like lrintf) */
    const uint32_t dim = A.dim, d4 = (dim + 3) / 4;
    uint8_t* q8 = reinterpret_cast<uint8_t*>(idx + mast3r_index_f32_floats(A.width, A.height, dim));
    float* G = idx + mast3r_index_f32_floats(A.width, A.height, dim) + p8 * 16 * d4;
    const __mmask16 lo = dim_mask_lo(dim), hi = dim_mask_hi(dim);
    const __m512 inv = _mm512_set1_ps(1.0f / sb);
    const __m512i c127 = _mm512_set1_epi32(127), cm127 = _mm512_set1_epi32(-127), c128 = _mm512_set1_epi32(128);
    const bool l2 = A.dist == SS_DIST_L2;
    ctx->pool->parallel_for((int64_t)p8, 256, [&](int64_t s, int64_t e) {
      for (int64_t p = s; p < e; ++p) {
        for (uint32_t lane = 0; lane < 16; ++lane) {
          uint64_t j = (uint64_t)p * 16 + lane;
          int32_t pix = mast3r_tile_pixel(v, (uint32_t)(p / 64), (uint32_t)((p % 64) / 4), (uint32_t)((p % 4) * 16 + lane));
          alignas(64) uint8_t bytes[32];
          if (pix >= 0) {
            const float* x = m + (uint64_t)pix * dim;
            __m512 x0 = _mm512_maskz_loadu_ps(lo, x), x1 = _mm512_maskz_loadu_ps(hi, x + 16);
            __m512i r0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, inv)), r1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, inv));
            r0 = _mm512_add_epi32(_mm512_max_epi32(_mm512_min_epi32(r0, c127), cm127), c128);
            r1 = _mm512_add_epi32(_mm512_max_epi32(_mm512_min_epi32(r1, c127), cm127), c128);
            _mm_store_si128((__m128i*)bytes, _mm512_cvtepi32_epi8(r0));
            _mm_store_si128((__m128i*)(bytes + 16), _mm512_cvtepi32_epi8(r1));
            if (l2) {
              double bb = 0.0;
              for (uint32_t k = 0; k < dim; ++k) bb += (double)x[k] * (double)x[k];
              G[j] = (float)(-0.5 * bb);
            } else {
              G[j] = 0.0f;
            }
          } else {
            for (int k = 0; k < 32; ++k) bytes[k] = 128;
            G[j] = -SS_INF;
          }
          for (uint32_t k4 = 0; k4 < d4; ++k4)
            std::memcpy(q8 + ((uint64_t)p * d4 + k4) * 64 + lane * 4, bytes + 4 * k4, 4);
        }
      }
    });
    return SS_OK;
  }
#endif
  ctx->pool->parallel_for((int64_t)p8, 256, [&](int64_t s, int64_t e) {
    for (int64_t p = s; p < e; ++p) mast3r_index_build_i8_panel(v, sb, (uint32_t)p, m, idx);
  });
  return SS_OK;
}

SS_API ss_status ss_mast3r_nn_query(ss_context* ctx, const ss_mast3r_nn_query_args* args, ss_buffer* query_map,
                                    ss_buffer* query_idx, ss_buffer* db_map, ss_buffer* db_index,
                                    ss_buffer* out_idx) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_nn_query_args A = *args;
  bool run = false;
  SS_TRY(ss_check_mast3r_nn_query(ctx, A, query_map, query_idx, query_idx ? ss_data<int32_t>(query_idx) : nullptr, db_map, db_index,
                                  db_index ? ss_data<uint32_t>(db_index) : nullptr, out_idx, &run));
  if (!run) return SS_OK;
  uint64_t dpx = (uint64_t)A.db_width * A.db_height;
  const float* qm = ss_data<float>(query_map);
  const int32_t* qi = ss_data<int32_t>(query_idx);
  const float* dm = ss_data<float>(db_map);
  const float* idx = ss_data<float>(db_index);
  int32_t* out = ss_data<int32_t>(out_idx);
  mast3r_index_view v = mast3r_index_make_view(idx, A.db_width, A.db_height, A.dim, A.dist, idx[8]);
  if (A.flags & SS_FLAG_PORTABLE) {
    ctx->pool->parallel_for(A.count, 4, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i)
        out[i] = mast3r_nn_exact(qm + (size_t)qi[i] * A.dim, dm, (uint32_t)dpx, A.dim, A.dist, v.bmax);
    });
    return SS_OK;
  }
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  return query_i8(ctx, A, v, qm, qi, dm, idx, out, (A.flags & SS_FLAG_HINTS) != 0);
#endif
  ctx->pool->parallel_for(A.count, 16, [&](int64_t s, int64_t e) {
    std::vector<float> ub1(v.S16);
    std::vector<int32_t> ci(kCandCap);
    std::vector<float> cs(kCandCap);
    for (int64_t i = s; i < e; ++i)
      out[i] = mast3r_nn_indexed(v, qm + (size_t)qi[i] * A.dim, dm, ub1.data(), ci.data(), cs.data(), kCandCap);
  });
  return SS_OK;
}

}  // extern "C"
