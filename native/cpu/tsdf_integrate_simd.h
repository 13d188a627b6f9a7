/* AVX2 version of tsdf_integrate_voxel for one row of 8 voxels (x = 0..7).
 * Same rules as native/kernels/tsdf_integrate.h; lanes differ from the scalar
 * body only by float rounding (the parity suite's tolerance covers it). */
#ifndef SS_CPU_TSDF_INTEGRATE_SIMD_H
#define SS_CPU_TSDF_INTEGRATE_SIMD_H

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SS_TSDF_SIMD 1

struct TsdfRowConsts {
  __m256 lane, m0, m4, m8, fx, fy, cx, cy, width, height, w_minus1, h_minus1, zero, one, half;
  __m256 min_depth, max_depth, neg_trunc, inv_trunc, agree, max_weight;
  __m256i width_i, three;
};

static inline TsdfRowConsts tsdf_row_consts(const ss_tsdf_integrate_args& a) {
  TsdfRowConsts c;
  c.lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  c.m0 = _mm256_set1_ps(a.world_to_cam[0]);
  c.m4 = _mm256_set1_ps(a.world_to_cam[4]);
  c.m8 = _mm256_set1_ps(a.world_to_cam[8]);
  c.fx = _mm256_set1_ps(a.fx);
  c.fy = _mm256_set1_ps(a.fy);
  c.cx = _mm256_set1_ps(a.cx);
  c.cy = _mm256_set1_ps(a.cy);
  c.width = _mm256_set1_ps((float)a.width);
  c.height = _mm256_set1_ps((float)a.height);
  c.w_minus1 = _mm256_set1_ps((float)a.width - 1.0f);
  c.h_minus1 = _mm256_set1_ps((float)a.height - 1.0f);
  c.zero = _mm256_setzero_ps();
  c.one = _mm256_set1_ps(1.0f);
  c.half = _mm256_set1_ps(0.5f);
  c.min_depth = _mm256_set1_ps(a.min_depth);
  c.max_depth = _mm256_set1_ps(a.max_depth);
  c.neg_trunc = _mm256_set1_ps(-a.sdf_trunc);
  c.inv_trunc = _mm256_set1_ps(1.0f / a.sdf_trunc);
  c.agree = _mm256_set1_ps(0.25f * a.sdf_trunc);
  c.max_weight = _mm256_set1_ps(a.max_weight);
  c.width_i = _mm256_set1_epi32((int)a.width);
  c.three = _mm256_set1_epi32(3);
  return c;
}

/* rows[p] and rows[p + 1] for 8 lanes' pixel indices p, as two 8-byte gathers
 * of 4 lanes each; masked-off lanes read 0 */
static inline void tsdf_gather_pairs(const float* rows, __m256i p, __m256 mask, __m256* first, __m256* second) {
  const double* base = reinterpret_cast<const double*>(rows);
  __m256i m = _mm256_castps_si256(mask);
  __m256d lo = _mm256_mask_i32gather_pd(_mm256_setzero_pd(), base, _mm256_castsi256_si128(p),
                                        _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(m))), 4);
  __m256d hi = _mm256_mask_i32gather_pd(_mm256_setzero_pd(), base, _mm256_extracti128_si256(p, 1),
                                        _mm256_castsi256_pd(_mm256_cvtepi32_epi64(_mm256_extracti128_si256(m, 1))), 4);
  /* lo = a0 b0 a1 b1 | a2 b2 a3 b3, hi likewise for lanes 4..7: split the pairs, then restore lane order */
  __m256 even = _mm256_shuffle_ps(_mm256_castpd_ps(lo), _mm256_castpd_ps(hi), 0x88);
  __m256 odd = _mm256_shuffle_ps(_mm256_castpd_ps(lo), _mm256_castpd_ps(hi), 0xdd);
  *first = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xd8));
  *second = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(odd), 0xd8));
}

/* one x-row of a block: voxels v0 .. v0+7 with global coords (gx0 + lane, gy, gz) */
static inline void tsdf_integrate_row_avx2(const ss_tsdf_integrate_args& a, const TsdfRowConsts& c, int32_t gx0,
                                           int32_t gy, int32_t gz, uint32_t v0, const float* depth, const uint8_t* color,
                                           float* base) {
  const float* m = a.world_to_cam;
  float py = (float)gy * a.voxel_size, pz = (float)gz * a.voxel_size;
  __m256 pwx = _mm256_mul_ps(_mm256_add_ps(_mm256_set1_ps((float)gx0), c.lane), _mm256_set1_ps(a.voxel_size));
  __m256 pcx = _mm256_fmadd_ps(c.m0, pwx, _mm256_set1_ps(m[1] * py + m[2] * pz + m[3]));
  __m256 pcy = _mm256_fmadd_ps(c.m4, pwx, _mm256_set1_ps(m[5] * py + m[6] * pz + m[7]));
  __m256 pcz = _mm256_fmadd_ps(c.m8, pwx, _mm256_set1_ps(m[9] * py + m[10] * pz + m[11]));
  __m256 valid = _mm256_cmp_ps(pcz, c.zero, _CMP_GT_OQ);
  if (_mm256_movemask_ps(valid) == 0) return;
  __m256 inv_z = _mm256_div_ps(c.one, pcz);
  __m256 uf = _mm256_fmadd_ps(_mm256_mul_ps(c.fx, pcx), inv_z, c.cx);
  __m256 vf = _mm256_fmadd_ps(_mm256_mul_ps(c.fy, pcy), inv_z, c.cy);
  __m256 u0 = _mm256_floor_ps(uf), v0f = _mm256_floor_ps(vf);
  __m256 fu = _mm256_sub_ps(uf, u0), fv = _mm256_sub_ps(vf, v0f);
  __m256 un = _mm256_add_ps(u0, _mm256_and_ps(_mm256_cmp_ps(fu, c.half, _CMP_GE_OQ), c.one));
  __m256 vn = _mm256_add_ps(v0f, _mm256_and_ps(_mm256_cmp_ps(fv, c.half, _CMP_GE_OQ), c.one));
  valid = _mm256_and_ps(valid, _mm256_cmp_ps(un, c.zero, _CMP_GE_OQ));
  valid = _mm256_and_ps(valid, _mm256_cmp_ps(vn, c.zero, _CMP_GE_OQ));
  valid = _mm256_and_ps(valid, _mm256_cmp_ps(un, c.width, _CMP_LT_OQ));
  valid = _mm256_and_ps(valid, _mm256_cmp_ps(vn, c.height, _CMP_LT_OQ));
  if (_mm256_movemask_ps(valid) == 0) return;
  /* bilinear where the 2×2 neighbourhood is inside, valid and agrees */
  __m256 inner = _mm256_and_ps(valid, _mm256_cmp_ps(u0, c.zero, _CMP_GE_OQ));
  inner = _mm256_and_ps(inner, _mm256_cmp_ps(v0f, c.zero, _CMP_GE_OQ));
  inner = _mm256_and_ps(inner, _mm256_cmp_ps(u0, c.w_minus1, _CMP_LT_OQ));
  inner = _mm256_and_ps(inner, _mm256_cmp_ps(v0f, c.h_minus1, _CMP_LT_OQ));
  /* masked-off lanes use pixel 0 so every conversion and gather stays in range */
  __m256i pix = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_cvttps_epi32(_mm256_and_ps(vn, valid)), c.width_i),
                                 _mm256_cvttps_epi32(_mm256_and_ps(un, valid)));
  __m256i p00 = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_cvttps_epi32(_mm256_and_ps(v0f, inner)), c.width_i),
                                 _mm256_cvttps_epi32(_mm256_and_ps(u0, inner)));
  __m256 dn, d00, d10, d01, d11;
  bool corners = _mm256_movemask_ps(inner) != 0;
  if (_mm256_movemask_ps(inner) == _mm256_movemask_ps(valid)) {
    /* every lane's 2×2 neighbourhood is inside (the usual case): two 8-byte
     * gathers per lane (d00 d10, then d01 d11) instead of five 4-byte ones;
     * the nearest pixel is one of the four */
    tsdf_gather_pairs(depth, p00, inner, &d00, &d10);
    tsdf_gather_pairs(depth + a.width, p00, inner, &d01, &d11);
    __m256 right = _mm256_cmp_ps(un, u0, _CMP_NEQ_OQ), down = _mm256_cmp_ps(vn, v0f, _CMP_NEQ_OQ);
    dn = _mm256_blendv_ps(_mm256_blendv_ps(d00, d10, right), _mm256_blendv_ps(d01, d11, right), down);
  } else {
    dn = _mm256_mask_i32gather_ps(c.zero, depth, pix, valid, 4);
    d00 = d10 = d01 = d11 = c.zero;
    if (corners) {
      d00 = _mm256_mask_i32gather_ps(c.zero, depth, p00, inner, 4);
      d10 = _mm256_mask_i32gather_ps(c.zero, depth + 1, p00, inner, 4);
      d01 = _mm256_mask_i32gather_ps(c.zero, depth + a.width, p00, inner, 4);
      d11 = _mm256_mask_i32gather_ps(c.zero, depth + a.width + 1, p00, inner, 4);
    }
  }
  valid = _mm256_and_ps(valid, _mm256_cmp_ps(dn, c.zero, _CMP_GT_OQ));
  valid = _mm256_and_ps(valid, _mm256_cmp_ps(dn, c.min_depth, _CMP_GE_OQ));
  valid = _mm256_and_ps(valid, _mm256_cmp_ps(dn, c.max_depth, _CMP_LE_OQ));
  if (_mm256_movemask_ps(valid) == 0) return;
  inner = _mm256_and_ps(inner, valid);
  __m256 d = dn;
  if (_mm256_movemask_ps(inner) != 0) {
    __m256 all = _mm256_and_ps(_mm256_and_ps(_mm256_cmp_ps(d00, c.zero, _CMP_GT_OQ), _mm256_cmp_ps(d10, c.zero, _CMP_GT_OQ)),
                               _mm256_and_ps(_mm256_cmp_ps(d01, c.zero, _CMP_GT_OQ), _mm256_cmp_ps(d11, c.zero, _CMP_GT_OQ)));
    __m256 lo = _mm256_min_ps(_mm256_min_ps(d00, d10), _mm256_min_ps(d01, d11));
    __m256 hi = _mm256_max_ps(_mm256_max_ps(d00, d10), _mm256_max_ps(d01, d11));
    __m256 use = _mm256_and_ps(_mm256_and_ps(inner, all), _mm256_cmp_ps(_mm256_sub_ps(hi, lo), c.agree, _CMP_LE_OQ));
    __m256 omu = _mm256_sub_ps(c.one, fu), omv = _mm256_sub_ps(c.one, fv);
    __m256 top = _mm256_add_ps(_mm256_mul_ps(d00, omu), _mm256_mul_ps(d10, fu));
    __m256 bot = _mm256_add_ps(_mm256_mul_ps(d01, omu), _mm256_mul_ps(d11, fu));
    __m256 bil = _mm256_add_ps(_mm256_mul_ps(top, omv), _mm256_mul_ps(bot, fv));
    d = _mm256_blendv_ps(dn, bil, use);
  }
  __m256 sdf = _mm256_sub_ps(d, pcz);
  valid = _mm256_and_ps(valid, _mm256_cmp_ps(sdf, c.neg_trunc, _CMP_GE_OQ));
  if (_mm256_movemask_ps(valid) == 0) return;
  __m256 tsdf = _mm256_min_ps(c.one, _mm256_mul_ps(sdf, c.inv_trunc));
  float* tp = base + v0;
  float* wp = base + SS_BLOCK_VOXELS + v0;
  __m256 w = _mm256_loadu_ps(wp);
  __m256 nw = _mm256_add_ps(w, c.one);
  __m256 inv = _mm256_div_ps(c.one, nw);
  __m256 t_new = _mm256_mul_ps(_mm256_fmadd_ps(_mm256_loadu_ps(tp), w, tsdf), inv);
  _mm256_storeu_ps(tp, _mm256_blendv_ps(_mm256_loadu_ps(tp), t_new, valid));
  _mm256_storeu_ps(wp, _mm256_blendv_ps(w, _mm256_min_ps(nw, c.max_weight), valid));
  if (a.has_color) {
    /* 4-byte gathers at 3·pix − 1 (never before the buffer, never past its end), shifted down to r,g,b */
    __m256i pos = _mm256_mullo_epi32(pix, c.three);
    __m256i first = _mm256_cmpeq_epi32(pos, _mm256_setzero_si256());
    __m256i off = _mm256_add_epi32(pos, _mm256_andnot_si256(first, _mm256_set1_epi32(-1)));
    __m256i shift = _mm256_andnot_si256(first, _mm256_set1_epi32(8));
    __m256i src = _mm256_srlv_epi32(
        _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), (const int*)color, off, _mm256_castps_si256(valid), 1), shift);
    uint32_t* rgba = reinterpret_cast<uint32_t*>(base + 2 * SS_BLOCK_VOXELS) + v0;
    __m256i old = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rgba));
    __m256i mask8 = _mm256_set1_epi32(0xff);
    __m256i out = _mm256_setzero_si256();
    for (int k = 0; k < 3; ++k) {
      __m256 o = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(old, 8 * k), mask8));
      __m256 s = _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(src, 8 * k), mask8));
      __m256i nk = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_fmadd_ps(o, w, s), inv));
      out = _mm256_or_si256(out, _mm256_slli_epi32(nk, 8 * k));
    }
    out = _mm256_or_si256(out, _mm256_andnot_si256(_mm256_set1_epi32(0xffffff), old));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(rgba),
                        _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(old), _mm256_castsi256_ps(out), valid)));
  }
}
#endif

#endif
