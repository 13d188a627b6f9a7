/* CPU launcher for ORB extraction: pyramid, FAST, NMS, Harris, grid bucketing,
 * orientation and steered BRIEF, one call per image.
 *
 * Every step has the portable kernel body (orb.h, fast.h) as its definition;
 * the hot ones have AVX-512 versions here that compute the same integers:
 * the pyramid's column resampling (VBMI byte permutes, 32 pixels a step),
 * the FAST test (64 pixels a step, bit-sliced arc test), the orientation
 * moments (maddubs over 32-byte rows) and the descriptor tests (gathers). */
#include "backend.h"
#include "../common/orb_plan.h"
#include "fast.h"
#include "orb_pattern.h"
#include "orb.h"

#include <algorithm>
#include <cmath>
#include <vector>
#if defined(__AVX512BW__) && defined(__AVX512VL__)
#include <immintrin.h>
#define SS_ORB_AVX512 1
/* GCC 12 flags the intrinsics' own _mm*_undefined_* temporaries */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#if defined(__AVX512VBMI__)
#define SS_ORB_VBMI 1
#endif
#endif

namespace {

struct Level {
  int32_t w, h;
  size_t off;
  float scale; /* level-0 pixels per level pixel */
  int32_t want;
};

struct Candidate {
  int32_t x, y, fast, cell;
  float harris;
};

struct Selected {
  int32_t level, x, y, fast;
  float harris;
};

/* scratch kept between calls (calls come from one JS thread); +64 bytes of slack for vector loads */
struct OrbScratch {
  std::vector<uint8_t> pyr, tmp, smooth, score;
  std::vector<int32_t> rowCorners;
  std::vector<std::vector<Selected>> picked;
};
OrbScratch& scratch() {
  static thread_local OrbScratch s;
  return s;
}

/* ---- pyramid ------------------------------------------------------------- */

void resize_level(ss_context* ctx, const uint8_t* src, int32_t sw, int32_t sh, uint8_t* dst, int32_t dw, int32_t dh, bool portable) {
  if (portable) {
    ctx->pool->parallel_for((int64_t)dw * dh, 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) orb_resize_pixel(src, (uint32_t)sw, (uint32_t)sh, dst, (uint32_t)dw, (uint32_t)dh, (uint32_t)i);
    });
    return;
  }
  std::vector<int32_t> x0(dw), x1(dw), ax(dw);
  for (int32_t x = 0; x < dw; ++x) orb_resize_coord((uint32_t)x, (uint32_t)sw, (uint32_t)dw, &x0[x], &x1[x], &ax[x]);
#if SS_ORB_VBMI
  /* per block of 32 destination columns: the byte indices of both source columns inside a 64-byte window */
  const int32_t blocks = (dw + 31) / 32;
  std::vector<int32_t> base(blocks);
  struct alignas(64) BlockTab {
    uint8_t i0[64], i1[64];
    uint16_t w0[32], w1[32];
  };
  std::vector<BlockTab> tab(blocks);
  bool fits = true;
  for (int32_t b = 0; b < blocks; ++b) {
    base[b] = x0[b * 32];
    BlockTab& t = tab[b];
    memset(&t, 0, sizeof t);
    for (int32_t i = 0; i < 32; ++i) {
      const int32_t x = std::min(b * 32 + i, dw - 1);
      if (x1[x] - base[b] >= 64) fits = false;
      t.i0[2 * i] = (uint8_t)(x0[x] - base[b]);
      t.i1[2 * i] = (uint8_t)(x1[x] - base[b]);
      t.w0[i] = (uint16_t)(128 - ax[x]);
      t.w1[i] = (uint16_t)ax[x];
    }
  }
#endif
  ctx->pool->parallel_for(dh, 16, [&](int64_t b, int64_t e) {
    std::vector<uint8_t> col((size_t)sw + 64);
    for (int64_t y = b; y < e; ++y) {
      int32_t y0, y1, ay;
      orb_resize_coord((uint32_t)y, (uint32_t)sh, (uint32_t)dh, &y0, &y1, &ay);
      const uint8_t* r0 = src + (size_t)y0 * sw;
      const uint8_t* r1 = src + (size_t)y1 * sw;
      int32_t x = 0;
#if SS_ORB_AVX512
      {
        const __m512i w0 = _mm512_set1_epi16((short)(128 - ay)), w1 = _mm512_set1_epi16((short)ay), rnd = _mm512_set1_epi16(64);
        for (; x + 32 <= sw; x += 32) {
          const __m512i a0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i*)(r0 + x)));
          const __m512i a1 = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i*)(r1 + x)));
          const __m512i v = _mm512_srli_epi16(_mm512_add_epi16(_mm512_add_epi16(_mm512_mullo_epi16(a0, w0), _mm512_mullo_epi16(a1, w1)), rnd), 7);
          _mm256_storeu_si256((__m256i*)(col.data() + x), _mm512_cvtepi16_epi8(v));
        }
      }
#endif
      for (; x < sw; ++x) col[x] = (uint8_t)orb_lerp8(r0[x], r1[x], ay);
      uint8_t* d = dst + (size_t)y * dw;
#if SS_ORB_VBMI
      if (fits) {
        const __m512i round = _mm512_set1_epi16(64);
        for (int32_t blk = 0; blk < blocks; ++blk) {
          const BlockTab& t = tab[blk];
          const __m512i win = _mm512_loadu_si512((const void*)(col.data() + base[blk]));
          const __m512i p0 = _mm512_maskz_permutexvar_epi8(0x5555555555555555ull, _mm512_load_si512((const void*)t.i0), win);
          const __m512i p1 = _mm512_maskz_permutexvar_epi8(0x5555555555555555ull, _mm512_load_si512((const void*)t.i1), win);
          __m512i v = _mm512_add_epi16(_mm512_mullo_epi16(p0, _mm512_load_si512((const void*)t.w0)),
                                       _mm512_mullo_epi16(p1, _mm512_load_si512((const void*)t.w1)));
          v = _mm512_srli_epi16(_mm512_add_epi16(v, round), 7);
          const int32_t n = std::min(32, dw - blk * 32);
          _mm256_mask_storeu_epi8((void*)(d + blk * 32), n == 32 ? 0xffffffffu : ((1u << n) - 1u), _mm512_cvtepi16_epi8(v));
        }
        continue;
      }
#endif
      for (int32_t x = 0; x < dw; ++x) d[x] = (uint8_t)orb_lerp8(col[x0[x]], col[x1[x]], ax[x]);
    }
  });
}

/* ---- FAST ------------------------------------------------------------------ */

/* FAST at threshold t over columns [x0, x1) of row y: score_row gets fast_score + 1 for corners (others
 * untouched, so the caller clears the row first). Returns the number of corners. */
int32_t fast_row(const uint8_t* img, int32_t w, int32_t y, int32_t x0, int32_t x1, int32_t t, uint8_t* score_row, bool portable) {
  const uint8_t* row = img + (size_t)y * w;
  int32_t x = x0, corners = 0;
#if SS_ORB_AVX512
  if (!portable) {
  int32_t off[16];
  for (int k = 0; k < 16; ++k) off[k] = SS_FAST_CIRCLE[k][1] * w + SS_FAST_CIRCLE[k][0];
  const __m512i vt = _mm512_set1_epi8((char)(uint8_t)(t > 255 ? 255 : t));
  for (; x < x1; x += 64) {
    const int32_t n = std::min(64, x1 - x);
    /* masked loads: bytes past x1 are neither read nor written */
    const __mmask64 lanes = n == 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
    const __m512i c = _mm512_maskz_loadu_epi8(lanes, (const void*)(row + x));
    /* saturating: where c + t reaches 255 no pixel is brighter, where c − t reaches 0 none is darker — as the scalar test */
    const __m512i hi = _mm512_adds_epu8(c, vt), lo = _mm512_subs_epu8(c, vt);
    __mmask64 b[16], d[16];
    /* an arc of 9 holds two neighbouring compass points (0/4, 4/8, 8/12, 12/0): test those first */
    for (int k = 0; k < 16; k += 4) {
      const __m512i v = _mm512_maskz_loadu_epi8(lanes, (const void*)(row + x + off[k]));
      b[k] = _mm512_cmpgt_epu8_mask(v, hi);
      d[k] = _mm512_cmplt_epu8_mask(v, lo);
    }
    const __mmask64 compass = ((b[0] & b[4]) | (b[4] & b[8]) | (b[8] & b[12]) | (b[12] & b[0]) | (d[0] & d[4]) |
                               (d[4] & d[8]) | (d[8] & d[12]) | (d[12] & d[0])) & lanes;
    if (!compass) continue;
    for (int k = 0; k < 16; ++k) {
      if ((k & 3) == 0) continue;
      const __m512i v = _mm512_maskz_loadu_epi8(lanes, (const void*)(row + x + off[k]));
      b[k] = _mm512_cmpgt_epu8_mask(v, hi);
      d[k] = _mm512_cmplt_epu8_mask(v, lo);
    }
    /* runs by doubling: 2, 4, 8, then 9 = 8 + the next */
    __mmask64 b2[16], d2[16], b4[16], d4[16];
    for (int k = 0; k < 16; ++k) {
      b2[k] = b[k] & b[(k + 1) & 15];
      d2[k] = d[k] & d[(k + 1) & 15];
    }
    for (int k = 0; k < 16; ++k) {
      b4[k] = b2[k] & b2[(k + 2) & 15];
      d4[k] = d2[k] & d2[(k + 2) & 15];
    }
    __mmask64 any = 0;
    for (int k = 0; k < 16; ++k)
      any |= (b4[k] & b4[(k + 4) & 15] & b[(k + 8) & 15]) | (d4[k] & d4[(k + 4) & 15] & d[(k + 8) & 15]);
    any &= compass;
    while (any) {
      const int j = __builtin_ctzll(any);
      any &= any - 1;
      const int32_t sc = fast_score(row + x + j, w);
      score_row[x + j] = (uint8_t)(sc + 1 > 255 ? 255 : sc + 1);
      ++corners;
    }
  }
  }
#endif
  for (; x < x1; ++x) {
    const uint8_t* p = row + x;
    if (fast_is_corner(p, w, t)) {
      const int32_t sc = fast_score(p, w);
      score_row[x] = (uint8_t)(sc + 1 > 255 ? 255 : sc + 1);
      ++corners;
    }
  }
  return corners;
}

/* ---- orientation and descriptor ------------------------------------------- */

#if SS_ORB_AVX512
/* per disc row v (−15…15): weight u for |u| ≤ span(v) (as orb_orientation), and 1 on the same pixels;
 * a 32-byte row starts at u = −15 (byte 31 unused) */
struct OrientTables {
  int8_t wu[31][32], one[31][32];
  OrientTables() {
    memset(this, 0, sizeof *this);
    for (int v = -15; v <= 15; ++v) {
      const int span = orb_disc_span(v);
      for (int u = -span; u <= span; ++u) {
        wu[v + 15][u + 15] = (int8_t)u;
        one[v + 15][u + 15] = 1;
      }
    }
  }
};
const OrientTables kOrient;

void orientation_avx(const uint8_t* img, int32_t stride, int32_t x, int32_t y, float* cs, float* sn) {
  __m256i acc10 = _mm256_setzero_si256();
  int32_t m01 = 0;
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (int v = -15; v <= 15; ++v) {
    const __m256i px = _mm256_loadu_si256((const __m256i*)(img + (size_t)(y + v) * stride + x - 15));
    const __m256i wsum = _mm256_madd_epi16(_mm256_maddubs_epi16(px, _mm256_loadu_si256((const __m256i*)kOrient.wu[v + 15])), ones16);
    const __m256i sum = _mm256_madd_epi16(_mm256_maddubs_epi16(px, _mm256_loadu_si256((const __m256i*)kOrient.one[v + 15])), ones16);
    acc10 = _mm256_add_epi32(acc10, wsum);
    alignas(32) int32_t s8[8];
    _mm256_store_si256((__m256i*)s8, sum);
    m01 += v * (s8[0] + s8[1] + s8[2] + s8[3] + s8[4] + s8[5] + s8[6] + s8[7]);
  }
  alignas(32) int32_t a8[8];
  _mm256_store_si256((__m256i*)a8, acc10);
  const int32_t m10 = a8[0] + a8[1] + a8[2] + a8[3] + a8[4] + a8[5] + a8[6] + a8[7];
  orb_orientation_from_moments(m10, m01, cs, sn);
}

void describe_avx(const uint8_t* smooth, int32_t stride, int32_t x, int32_t y, int32_t bin, uint8_t* out) {
  const uint8_t* c = smooth + (size_t)y * stride + x;
  const __m512i vs = _mm512_set1_epi32(stride), lowByte = _mm512_set1_epi32(0xff);
  for (int g = 0; g < 16; ++g) {
    const __m512i X1 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(SS_ORB_PATTERN_ROT[bin][0] + 16 * g)));
    const __m512i Y1 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(SS_ORB_PATTERN_ROT[bin][1] + 16 * g)));
    const __m512i X2 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(SS_ORB_PATTERN_ROT[bin][2] + 16 * g)));
    const __m512i Y2 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(SS_ORB_PATTERN_ROT[bin][3] + 16 * g)));
    /* 4-byte gathers read up to 3 bytes past a sample: inside the image, the pattern stays 15 px from its edge */
    const __m512i p1 = _mm512_and_si512(_mm512_i32gather_epi32(_mm512_add_epi32(_mm512_mullo_epi32(Y1, vs), X1), c, 1), lowByte);
    const __m512i p2 = _mm512_and_si512(_mm512_i32gather_epi32(_mm512_add_epi32(_mm512_mullo_epi32(Y2, vs), X2), c, 1), lowByte);
    const __mmask16 bits = _mm512_cmplt_epi32_mask(p1, p2);
    out[2 * g] = (uint8_t)(bits & 0xff);
    out[2 * g + 1] = (uint8_t)(bits >> 8);
  }
}
#endif

/* ---- smoothing: orb_blur_pixel a row at a time (the interior vectorises) --- */

__attribute__((noinline)) void blur_row_h(const uint8_t* __restrict src, uint8_t* __restrict dst, int32_t w, int32_t h, int32_t y,
                                          int32_t xb, int32_t xe) {
  const uint8_t* s = src + (size_t)y * w;
  uint8_t* d = dst + (size_t)y * w;
  int32_t x = xb;
  for (; x < std::min(3, xe); ++x) orb_blur_pixel(src, dst, (uint32_t)w, (uint32_t)h, 0, (uint32_t)(y * w + x));
  const int32_t xi = std::min(xe, w - 3);
#if SS_ORB_AVX512
  {
    const __m512i k18 = _mm512_set1_epi16(18), k34 = _mm512_set1_epi16(34), k49 = _mm512_set1_epi16(49), k54 = _mm512_set1_epi16(54);
    const __m512i rnd = _mm512_set1_epi16(128);
    for (; x + 32 <= xi; x += 32) {
      auto ld = [&](int o) { return _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i*)(s + x + o))); };
      __m512i acc = _mm512_add_epi16(rnd, _mm512_mullo_epi16(k54, ld(0)));
      acc = _mm512_add_epi16(acc, _mm512_mullo_epi16(k49, _mm512_add_epi16(ld(-1), ld(1))));
      acc = _mm512_add_epi16(acc, _mm512_mullo_epi16(k34, _mm512_add_epi16(ld(-2), ld(2))));
      acc = _mm512_add_epi16(acc, _mm512_mullo_epi16(k18, _mm512_add_epi16(ld(-3), ld(3))));
      _mm256_storeu_si256((__m256i*)(d + x), _mm512_cvtepi16_epi8(_mm512_srli_epi16(acc, 8)));
    }
  }
#endif
  for (; x < xi; ++x) {
    const uint16_t acc = (uint16_t)(128u + 18u * ((uint16_t)s[x - 3] + s[x + 3]) + 34u * ((uint16_t)s[x - 2] + s[x + 2]) +
                                    49u * ((uint16_t)s[x - 1] + s[x + 1]) + 54u * (uint16_t)s[x]);
    d[x] = (uint8_t)(acc >> 8);
  }
  for (; x < xe; ++x) orb_blur_pixel(src, dst, (uint32_t)w, (uint32_t)h, 0, (uint32_t)(y * w + x));
}

__attribute__((noinline)) void blur_row_v(const uint8_t* __restrict src, uint8_t* __restrict dst, int32_t w, int32_t h, int32_t y,
                                          int32_t xb, int32_t xe) {
  if (y < 3 || y >= h - 3) {
    for (int32_t x = xb; x < xe; ++x) orb_blur_pixel(src, dst, (uint32_t)w, (uint32_t)h, 1, (uint32_t)(y * w + x));
    return;
  }
  const uint8_t* m3 = src + (size_t)(y - 3) * w;
  const uint8_t *m2 = m3 + w, *m1 = m2 + w, *c = m1 + w, *p1 = c + w, *p2 = p1 + w, *p3 = p2 + w;
  uint8_t* d = dst + (size_t)y * w;
  int32_t x = xb;
#if SS_ORB_AVX512
  {
    const __m512i k18 = _mm512_set1_epi16(18), k34 = _mm512_set1_epi16(34), k49 = _mm512_set1_epi16(49), k54 = _mm512_set1_epi16(54);
    const __m512i rnd = _mm512_set1_epi16(128);
    for (; x + 32 <= xe; x += 32) {
      auto ld = [&](const uint8_t* r) { return _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i*)(r + x))); };
      __m512i acc = _mm512_add_epi16(rnd, _mm512_mullo_epi16(k54, ld(c)));
      acc = _mm512_add_epi16(acc, _mm512_mullo_epi16(k49, _mm512_add_epi16(ld(m1), ld(p1))));
      acc = _mm512_add_epi16(acc, _mm512_mullo_epi16(k34, _mm512_add_epi16(ld(m2), ld(p2))));
      acc = _mm512_add_epi16(acc, _mm512_mullo_epi16(k18, _mm512_add_epi16(ld(m3), ld(p3))));
      _mm256_storeu_si256((__m256i*)(d + x), _mm512_cvtepi16_epi8(_mm512_srli_epi16(acc, 8)));
    }
  }
#endif
  for (; x < xe; ++x) {
    const uint16_t acc = (uint16_t)(128u + 18u * ((uint16_t)m3[x] + p3[x]) + 34u * ((uint16_t)m2[x] + p2[x]) +
                                    49u * ((uint16_t)m1[x] + p1[x]) + 54u * (uint16_t)c[x]);
    d[x] = (uint8_t)(acc >> 8);
  }
}

}  // namespace

extern "C" SS_API ss_status ss_orb_extract(ss_context* ctx, const ss_orb_extract_args* args, ss_buffer* gray,
                                           ss_buffer* keypoints, ss_buffer* descriptors, ss_buffer* count) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_orb_extract_args a = *args;
  int32_t edge = 0;
  SS_TRY(ss_check_orb_extract(ctx, a, gray, keypoints, descriptors, count, &edge));
  const bool portable = (a.flags & SS_FLAG_PORTABLE) != 0;
  OrbScratch& S = scratch();
  /* levels, and the feature budget split in proportion to level area */
  ss_orb_level_plan plan[SS_ORB_LEVELS_MAX];
  uint64_t total = 0;
  const int32_t nl = ss_orb_plan_levels(a, edge, plan, &total);
  std::vector<Level> L;
  for (int32_t l = 0; l < nl; ++l) L.push_back(Level{plan[l].w, plan[l].h, (size_t)plan[l].off, plan[l].scale, plan[l].want});
  S.pyr.resize(total + 64);
  S.smooth.resize(total + 64);
  S.tmp.resize(total + 64);
  S.score.resize(total + 64);
  memcpy(S.pyr.data(), ss_data<const uint8_t>(gray), (size_t)a.width * a.height);
  for (int32_t l = 1; l < nl; ++l)
    resize_level(ctx, S.pyr.data() + L[l - 1].off, L[l - 1].w, L[l - 1].h, S.pyr.data() + L[l].off, L[l].w, L[l].h, portable);

  /* FAST at the normal threshold over every level's interior */
  std::vector<int32_t> rowStart(nl + 1, 0);
  for (int32_t l = 0; l < nl; ++l) rowStart[l + 1] = rowStart[l] + L[l].h;
  S.rowCorners.assign((size_t)rowStart[nl], 0);
  ctx->pool->parallel_for(rowStart[nl], 8, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int32_t l = 0;
      while (rowStart[l + 1] <= r) ++l;
      const Level& q = L[l];
      const int32_t y = (int32_t)(r - rowStart[l]);
      uint8_t* srow = S.score.data() + q.off + (size_t)y * q.w;
      memset(srow, 0, (size_t)q.w);
      if (y >= edge && y < q.h - edge)
        S.rowCorners[r] = fast_row(S.pyr.data() + q.off, q.w, y, edge, q.w - edge, (int32_t)a.fast_threshold, srow, portable);
    }
  });
  /* ORB-SLAM's rule, where it is needed: a level short of corners (fewer than twice its share) searches its
   * empty grid cells again at the minimum threshold, so weak texture still yields spread-out features */
  const int32_t cellPx = (int32_t)a.grid_cell;
  if (a.fast_min_threshold < a.fast_threshold) {
    ctx->pool->parallel_for(nl, 1, [&](int64_t lb, int64_t le) {
      for (int64_t l = lb; l < le; ++l) {
        const Level& q = L[l];
        int32_t corners = 0;
        for (int32_t y = 0; y < q.h; ++y) corners += S.rowCorners[rowStart[l] + y];
        if (corners >= 2 * q.want) continue;
        uint8_t* sc = S.score.data() + q.off;
        for (int32_t y0 = edge; y0 < q.h - edge; y0 += cellPx) {
          const int32_t y1 = std::min(q.h - edge, y0 + cellPx);
          /* runs of horizontally adjacent empty cells are searched as one span (full-width vectors) */
          int32_t spanStart = -1;
          for (int32_t x0 = edge;; x0 += cellPx) {
            bool empty = false;
            if (x0 < q.w - edge) {
              const int32_t x1 = std::min(q.w - edge, x0 + cellPx);
              bool any = false;
              for (int32_t y = y0; y < y1 && !any; ++y) {
                const uint8_t* row = sc + (size_t)y * q.w;
                int32_t x = x0;
                for (; x + 8 <= x1; x += 8) {
                  uint64_t word;
                  memcpy(&word, row + x, 8);
                  any |= word != 0;
                }
                for (; x < x1; ++x) any |= row[x] != 0;
              }
              empty = !any;
            }
            if (empty && spanStart < 0) spanStart = x0;
            if (!empty && spanStart >= 0) {
              const int32_t spanEnd = std::min(q.w - edge, x0);
              for (int32_t y = y0; y < y1; ++y)
                fast_row(S.pyr.data() + q.off, q.w, y, spanStart, spanEnd, (int32_t)a.fast_min_threshold, sc + (size_t)y * q.w, portable);
              spanStart = -1;
            }
            if (x0 >= q.w - edge) break;
          }
        }
      }
    });
  }

  /* per level: 3×3 NMS, per-cell FAST pre-selection, Harris, round-robin over cells */
  S.picked.resize(nl);
  ctx->pool->parallel_for(nl, 1, [&](int64_t lb, int64_t le) {
    for (int64_t l = lb; l < le; ++l) {
      const Level& q = L[l];
      std::vector<Candidate> C;
      const uint8_t* sc = S.score.data() + q.off;
      const uint8_t* img = S.pyr.data() + q.off;
      const int32_t cw = (q.w - 2 * edge + cellPx - 1) / cellPx, ch = (q.h - 2 * edge + cellPx - 1) / cellPx;
      for (int32_t y = edge; y < q.h - edge; ++y) {
        const uint8_t* r = sc + (size_t)y * q.w;
        for (int32_t x = edge; x < q.w - edge; ++x) {
          /* most of the map is 0: skip 8 bytes at a time */
          if (((x - edge) & 7) == 0 && x + 8 <= q.w - edge) {
            uint64_t word;
            memcpy(&word, r + x, 8);
            if (!word) {
              x += 7;
              continue;
            }
          }
          const int32_t v = r[x];
          if (!v) continue;
          /* strict against earlier neighbours, ≥ against later: one winner per plateau */
          if (v <= r[x - 1] || v < r[x + 1] || v <= r[x - q.w - 1] || v <= r[x - q.w] || v <= r[x - q.w + 1] ||
              v < r[x + q.w - 1] || v < r[x + q.w] || v < r[x + q.w + 1])
            continue;
          C.push_back(Candidate{x, y, v - 1, ((y - edge) / cellPx) * cw + (x - edge) / cellPx, 0.0f});
        }
      }
      /* per cell, best FAST score first (ties by position) */
      std::sort(C.begin(), C.end(), [](const Candidate& p, const Candidate& r) {
        if (p.cell != r.cell) return p.cell < r.cell;
        if (p.fast != r.fast) return p.fast > r.fast;
        if (p.y != r.y) return p.y < r.y;
        return p.x < r.x;
      });
      const int32_t cells = cw * ch;
      /* Harris is computed for about twice the level's share (as OpenCV's ORB), spread over the cells */
      const int32_t keepPerCell = std::max<int32_t>(2, (2 * q.want + cells - 1) / std::max<int32_t>(1, cells));
      std::vector<Candidate> kept;
      for (size_t i = 0; i < C.size();) {
        size_t j = i;
        while (j < C.size() && C[j].cell == C[i].cell) ++j;
        const bool strong = C[i].fast >= (int32_t)a.fast_threshold;
        int32_t taken = 0;
        for (size_t k = i; k < j && taken < keepPerCell; ++k) {
          if (strong && C[k].fast < (int32_t)a.fast_threshold) break;
          Candidate c = C[k];
          c.harris = orb_harris(img, q.w, c.x, c.y, a.harris_k);
          kept.push_back(c);
          ++taken;
        }
        i = j;
      }
      std::sort(kept.begin(), kept.end(), [](const Candidate& p, const Candidate& r) {
        if (p.cell != r.cell) return p.cell < r.cell;
        if (p.harris != r.harris) return p.harris > r.harris;
        if (p.y != r.y) return p.y < r.y;
        return p.x < r.x;
      });
      std::vector<int32_t> rank(kept.size());
      for (size_t i = 0; i < kept.size(); ++i) rank[i] = (i > 0 && kept[i - 1].cell == kept[i].cell) ? rank[i - 1] + 1 : 0;
      std::vector<size_t> order(kept.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      /* round r takes every cell's r-th best; within a round the stronger first */
      std::sort(order.begin(), order.end(), [&](size_t p, size_t r) {
        if (rank[p] != rank[r]) return rank[p] < rank[r];
        if (kept[p].harris != kept[r].harris) return kept[p].harris > kept[r].harris;
        return p < r;
      });
      std::vector<Selected>& P = S.picked[l];
      P.clear();
      for (size_t i = 0; i < order.size(); ++i) {
        const Candidate& c = kept[order[i]];
        P.push_back(Selected{(int32_t)l, c.x, c.y, c.fast, c.harris});
      }
    }
  });
  /* each level takes its share; a level with fewer candidates passes the rest to the next */
  std::vector<Selected> all;
  int32_t carry = 0;
  for (int32_t l = 0; l < nl; ++l) {
    const int32_t want = L[l].want + carry;
    const int32_t take = std::max<int32_t>(0, std::min<int32_t>(want, (int32_t)S.picked[l].size()));
    all.insert(all.end(), S.picked[l].begin(), S.picked[l].begin() + take);
    carry = want - take;
  }
  if (all.size() > a.max_features) all.resize(a.max_features);

  /* smoothing for the descriptors, only where they sample: each level's keypoint bounding box grown by the
   * pattern radius + 1 (rows 3 more for the vertical pass). Keypoints keep ≥ 17 px from the border, so these
   * are interior pixels and the SIMD rows need no border handling; the values are orb_blur_pixel's. */
  struct Box {
    int32_t x0, x1, y0, y1;
  };
  std::vector<Box> box(nl, Box{1 << 30, -1, 1 << 30, -1});
  for (const Selected& s : all) {
    Box& b = box[s.level];
    b.x0 = std::min(b.x0, s.x);
    b.x1 = std::max(b.x1, s.x);
    b.y0 = std::min(b.y0, s.y);
    b.y1 = std::max(b.y1, s.y);
  }
  const int32_t reach = SS_ORB_PATTERN_RADIUS + 1;
  for (int pass = 0; pass < 2; ++pass) {
    ctx->pool->parallel_for(rowStart[nl], 16, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        int32_t l = 0;
        while (rowStart[l + 1] <= r) ++l;
        const Box& bx = box[l];
        if (bx.x1 < 0) continue;
        const Level& q = L[l];
        const int32_t y = (int32_t)(r - rowStart[l]);
        const int32_t grow = pass == 0 ? reach + 3 : reach;
        if (y < bx.y0 - grow || y > bx.y1 + grow) continue;
        const int32_t x0 = std::max(0, bx.x0 - reach), x1 = std::min(q.w, bx.x1 + reach + 1);
        if (portable) {
          for (int32_t x = x0; x < x1; ++x)
            orb_blur_pixel((pass == 0 ? S.pyr.data() : S.tmp.data()) + q.off, (pass == 0 ? S.tmp.data() : S.smooth.data()) + q.off,
                           (uint32_t)q.w, (uint32_t)q.h, (uint32_t)pass, (uint32_t)(y * q.w + x));
        } else if (pass == 0) {
          blur_row_h(S.pyr.data() + q.off, S.tmp.data() + q.off, q.w, q.h, y, x0, x1);
        } else {
          blur_row_v(S.tmp.data() + q.off, S.smooth.data() + q.off, q.w, q.h, y, x0, x1);
        }
      }
    });
  }
  float* kp = ss_data<float>(keypoints);
  uint8_t* desc = ss_data<uint8_t>(descriptors);
  ctx->pool->parallel_for((int64_t)all.size(), 64, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const Selected& s = all[i];
      const Level& q = L[s.level];
      float cs, sn;
#if SS_ORB_AVX512
      if (!portable) {
        orientation_avx(S.pyr.data() + q.off, q.w, s.x, s.y, &cs, &sn);
        describe_avx(S.smooth.data() + q.off, q.w, s.x, s.y, orb_angle_bin(cs, sn), desc + 32 * i);
      } else
#endif
      {
        orb_orientation(S.pyr.data() + q.off, q.w, s.x, s.y, &cs, &sn);
        orb_describe(S.smooth.data() + q.off, q.w, s.x, s.y, orb_angle_bin(cs, sn), desc + 32 * i);
      }
      float* o = kp + 8 * i;
      /* level pixel centre → level-0 pixel coordinates (centres at integers) */
      o[0] = ss_fma((float)s.x + 0.5f, q.scale, -0.5f);
      o[1] = ss_fma((float)s.y + 0.5f, q.scale, -0.5f);
      o[2] = (float)s.level;
      o[3] = cs;
      o[4] = sn;
      o[5] = s.harris;
      o[6] = (float)s.fast;
      o[7] = 31.0f * q.scale;
    }
  });
  ss_data<uint32_t>(count)[0] = (uint32_t)all.size();
  return SS_OK;
}
