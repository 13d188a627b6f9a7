/* CPU launchers for the point-map kernels: shared checks, then the portable bodies in parallel */
#include "backend.h"
#include "../common/checks.h"
#include "vec3.h"
#include "depth_to_points.h"
#include "geotrf.h"
#include "mast3r_depthmap.h"
#include "points_to_normals.h"
#include "pyramid_down.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#include <immintrin.h>
#define SS_POINTMAPS_AVX512 1
#endif

static const int64_t kPixelGrain = 4096;

#if defined(SS_POINTMAPS_AVX512)
namespace {

/* xyz interleaving of 16 points (48 floats, 3 registers): element k of
 * register j is coordinate (16j + k) % 3 of point (16j + k) / 3. Two
 * permutes per register: x and y first, then z into the remaining lanes. */
struct XyzPerm {
  __m512i xy[3], z[3], from_x[3], from_y[3], from_z[3];
  XyzPerm() {
    alignas(64) int32_t a[16], b[16];
    for (int j = 0; j < 3; ++j) {
      for (int l = 0; l < 16; ++l) {
        int k = 16 * j + l, pt = k / 3, c = k % 3;
        a[l] = c == 0 ? pt : c == 1 ? 16 + pt : 0;
        b[l] = c == 2 ? 16 + pt : l;
      }
      xy[j] = _mm512_load_si512(a);
      z[j] = _mm512_load_si512(b);
    }
    /* the inverse: coordinate c of point p lives at flat 3p + c, in register (3p + c) / 16 */
    for (int c = 0; c < 3; ++c) {
      __m512i* dst = c == 0 ? from_x : c == 1 ? from_y : from_z;
      /* pairs of registers (0,1) then (1,2): index < 32 selects within the pair */
      alignas(64) int32_t lo[16], hi[16];
      for (int p = 0; p < 16; ++p) {
        int flat = 3 * p + c;
        lo[p] = flat < 32 ? flat : 0;
        hi[p] = flat >= 16 ? flat - 16 : 0;
      }
      dst[0] = _mm512_load_si512(lo);
      dst[1] = _mm512_load_si512(hi);
      dst[2] = _mm512_setzero_si512();
    }
  }
};

const XyzPerm& xyz_perm() {
  static const XyzPerm p;
  return p;
}

inline void store_xyz16(float* dst, __m512 x, __m512 y, __m512 z, const XyzPerm& P) {
  for (int j = 0; j < 3; ++j) {
    __m512 t = _mm512_permutex2var_ps(x, P.xy[j], y);
    _mm512_storeu_ps(dst + 16 * j, _mm512_permutex2var_ps(t, P.z[j], z));
  }
}

/* coordinate c of 16 points from their 48 interleaved floats r0 r1 r2 */
inline __m512 gather_coord(__m512 r0, __m512 r1, __m512 r2, int c, const XyzPerm& P) {
  const __m512i* idx = c == 0 ? P.from_x : c == 1 ? P.from_y : P.from_z;
  /* flat < 32 from (r0, r1), flat >= 32 from (r1, r2) shifted by 16 */
  __m512 a = _mm512_permutex2var_ps(r0, idx[0], r1);
  __m512 b = _mm512_permutex2var_ps(r1, idx[1], r2);
  __mmask16 high = 0;
  for (int p = 0; p < 16; ++p)
    if (3 * p + c >= 32) high |= (__mmask16)(1u << p);
  return _mm512_mask_blend_ps(high, a, b);
}

}  // namespace
#endif

extern "C" {

SS_API ss_status ss_depth_to_points(ss_context* ctx, const ss_depth_to_points_args* args, ss_buffer* depth,
                                    ss_buffer* points) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_depth_to_points_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_depth_to_points(ctx, a, depth, points, &n));
  const void* d = depth->data;
  float* p = ss_data<float>(points);
  ctx->pool->parallel_for((int64_t)n, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) depth_to_points_pixel(a, (uint32_t)i, d, p);
  });
  return SS_OK;
}

SS_API ss_status ss_points_to_normals(ss_context* ctx, const ss_points_to_normals_args* args, ss_buffer* points,
                                      ss_buffer* normals) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_points_to_normals_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_points_to_normals(ctx, a, points, normals, &n));
  const float* p = ss_data<float>(points);
  float* out = ss_data<float>(normals);
  ctx->pool->parallel_for((int64_t)n, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) points_to_normals_pixel(a, (uint32_t)i, p, out);
  });
  return SS_OK;
}

SS_API ss_status ss_depth_pyramid_down(ss_context* ctx, const ss_depth_pyramid_down_args* args, ss_buffer* src,
                                       ss_buffer* dst) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_depth_pyramid_down_args a = *args;
  uint64_t dn = 0;
  SS_TRY(ss_check_depth_pyramid_down(ctx, a, src, dst, &dn));
  const float* s = ss_data<float>(src);
  float* d = ss_data<float>(dst);
  ctx->pool->parallel_for((int64_t)dn, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) depth_pyramid_down_pixel(a, (uint32_t)i, s, d);
  });
  return SS_OK;
}

SS_API ss_status ss_image_pyramid_down(ss_context* ctx, const ss_image_pyramid_down_args* args, ss_buffer* src,
                                       ss_buffer* dst) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_image_pyramid_down_args a = *args;
  uint64_t dn = 0;
  SS_TRY(ss_check_image_pyramid_down(ctx, a, src, dst, &dn));
  const uint8_t* s = ss_data<uint8_t>(src);
  uint8_t* d = ss_data<uint8_t>(dst);
  ctx->pool->parallel_for((int64_t)dn, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) image_pyramid_down_pixel(a, (uint32_t)i, s, d);
  });
  return SS_OK;
}

SS_API ss_status ss_geotrf(ss_context* ctx, const ss_geotrf_args* args, ss_buffer* in, ss_buffer* out) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_geotrf_args a = *args;
  SS_TRY(ss_check_geotrf(ctx, a, in, out));
  if (a.count == 0) return SS_OK;
  const float* s = ss_data<float>(in);
  float* d = ss_data<float>(out);
#if defined(SS_POINTMAPS_AVX512)
  if (a.dim == 3 && !(a.flags & SS_FLAG_PORTABLE)) {
    /* 16 points per step, the portable body's operations in its order (one FMA
     * chain per row from the translation), so both paths give the same bits;
     * in place is safe: a step loads its 48 floats before it stores them */
    const XyzPerm& P = xyz_perm();
    const float sc = a.scale != 0.0f && a.scale != 1.0f ? a.scale : 1.0f;
    ctx->pool->parallel_for((int64_t)(a.count / 16), 1024, [&](int64_t b, int64_t e) {
      for (int64_t blk = b; blk < e; ++blk) {
        const float* src = s + ((uint64_t)a.first + 16 * (uint64_t)blk) * 3;
        float* dst = d + ((uint64_t)a.first + 16 * (uint64_t)blk) * 3;
        __m512 r0 = _mm512_loadu_ps(src), r1 = _mm512_loadu_ps(src + 16), r2 = _mm512_loadu_ps(src + 32);
        __m512 p[3] = {gather_coord(r0, r1, r2, 0, P), gather_coord(r0, r1, r2, 1, P), gather_coord(r0, r1, r2, 2, P)};
        __m512 o[4];
        for (int row = 0; row < 4; ++row) {
          if (row == 3 && a.normalize != SS_GEOTRF_DIVIDE_W) break;
          __m512 acc = _mm512_set1_ps(a.t[row * 4 + 3]);
          for (int k = 0; k < 3; ++k) acc = _mm512_fmadd_ps(_mm512_set1_ps(a.t[row * 4 + k]), p[k], acc);
          o[row] = acc;
        }
        if (a.normalize) {
          __m512 last = a.normalize == SS_GEOTRF_DIVIDE_W ? o[3] : o[2];
          for (int k = 0; k < 3; ++k) o[k] = _mm512_div_ps(o[k], last);
          if (sc != 1.0f)
            for (int k = 0; k < 3; ++k) o[k] = _mm512_mul_ps(o[k], _mm512_set1_ps(sc));
        }
        store_xyz16(dst, o[0], o[1], o[2], P);
      }
    });
    for (uint32_t i = a.count / 16 * 16; i < a.count; ++i) geotrf_point(a, i, s, d);
    return SS_OK;
  }
#endif
  ctx->pool->parallel_for((int64_t)a.count, 8192, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) geotrf_point(a, (uint32_t)i, s, d);
  });
  return SS_OK;
}

SS_API ss_status ss_mast3r_depthmap_to_pts3d(ss_context* ctx, const ss_mast3r_depthmap_to_pts3d_args* args,
                                             ss_buffer* depth, ss_buffer* intrinsics, ss_buffer* points,
                                             ss_buffer* valid) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_mast3r_depthmap_to_pts3d_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_depthmap_to_pts3d(ctx, a, depth, intrinsics, intrinsics ? ss_data<float>(intrinsics) : nullptr, points, valid, &n));
  const float* dp = ss_data<float>(depth);
  const float* k = ss_data<float>(intrinsics);
  float* p = ss_data<float>(points);
  uint8_t* v = ss_data<uint8_t>(valid);
#if defined(SS_POINTMAPS_AVX512)
  if (!(a.flags & SS_FLAG_PORTABLE)) {
    /* a row at a time, 16 pixels per step with the body's roundings (difference,
     * product, quotient), so both paths give the same bits */
    const XyzPerm& P = xyz_perm();
    const bool keep = (a.flags & SS_FLAG_POINTS_KEEP_INVALID) != 0;
    const __m512 lane = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512 nan = _mm512_set1_ps(SS_NAN);
    ctx->pool->parallel_for((int64_t)a.batch * a.height, 8, [&](int64_t rb, int64_t re) {
      for (int64_t r = rb; r < re; ++r) {
        const float* kk = k + 4 * (r / a.height);
        const float fy_off = (float)(uint32_t)(r % a.height) - kk[3];
        const __m512 fx = _mm512_set1_ps(kk[0]), fy = _mm512_set1_ps(kk[1]), cx = _mm512_set1_ps(kk[2]);
        const __m512 yo = _mm512_set1_ps(fy_off);
        uint64_t base = (uint64_t)r * a.width;
        uint32_t x = 0;
        for (; x + 16 <= a.width; x += 16) {
          __m512 d = _mm512_loadu_ps(dp + base + x);
          __m512 u = _mm512_add_ps(_mm512_set1_ps((float)x), lane);
          __m512 X = _mm512_div_ps(_mm512_mul_ps(d, _mm512_sub_ps(u, cx)), fx);
          __m512 Y = _mm512_div_ps(_mm512_mul_ps(d, yo), fy);
          __m512 Z = d;
          __mmask16 ok = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_GT_OQ);
          if (!keep) {
            X = _mm512_mask_blend_ps(ok, nan, X);
            Y = _mm512_mask_blend_ps(ok, nan, Y);
            Z = _mm512_mask_blend_ps(ok, nan, Z);
          }
          store_xyz16(p + 3 * (base + x), X, Y, Z, P);
          _mm_storeu_si128((__m128i*)(v + base + x), _mm_maskz_set1_epi8(ok, 1));
        }
        for (; x < a.width; ++x) mast3r_depthmap_pixel(a, (uint32_t)(base + x), dp, k, p, v);
      }
    });
    return SS_OK;
  }
#endif
  ctx->pool->parallel_for((int64_t)n, kPixelGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) mast3r_depthmap_pixel(a, (uint32_t)i, dp, k, p, v);
  });
  return SS_OK;
}

}  // extern "C"
