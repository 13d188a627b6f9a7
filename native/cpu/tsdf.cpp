/* CPU launchers for the TSDF kernels */
#include "backend.h"
#include "vec3.h"
#include "tsdf_common.h"
#include "tsdf_integrate.h"
#include "tsdf_integrate_simd.h"
#ifdef SS_TSDF_SIMD
/* AVX2 lattice row: 8 voxels' values and masks in a handful of instructions */
static inline void mesh_gather_row8_avx2(float min_weight, const float* t, const float* w, float* f, uint32_t* vbits,
                                         uint32_t* nbits) {
  __m256 tv = _mm256_loadu_ps(t), wv = _mm256_loadu_ps(w);
  __m256 ok = _mm256_and_ps(_mm256_cmp_ps(wv, _mm256_set1_ps(min_weight), _CMP_GE_OQ),
                            _mm256_cmp_ps(wv, _mm256_setzero_ps(), _CMP_GT_OQ));
  _mm256_storeu_ps(f, _mm256_blendv_ps(_mm256_set1_ps(SS_NAN), tv, ok));
  *vbits = (uint32_t)_mm256_movemask_ps(ok);
  *nbits = (uint32_t)_mm256_movemask_ps(_mm256_and_ps(ok, _mm256_cmp_ps(tv, _mm256_setzero_ps(), _CMP_LT_OQ)));
}
#define SS_MESH_GATHER_ROW8 mesh_gather_row8_avx2
#endif
#include "tsdf_mesh.h"
#include "tsdf_raycast.h"
#include "tsdf_touched.h"

#include <algorithm>
#include <utility>
#include <vector>

/* The seam cubes read the first voxel layer of the +x/+y/+z neighbours,
 * scattered over their blocks: without prefetching, those misses dominate. */
static inline void prefetch_mesh_neighbours(const ss_tsdf_mesh_args& a, const int32_t* blk, const float* pool, const int32_t* hash) {
  /* the block itself: tsdf, weight and colour arrays (6 KiB) */
  const char* own = reinterpret_cast<const char*>(pool + (uint64_t)blk[3] * SS_BLOCK_FLOATS);
  for (uint32_t i = 0; i < SS_BLOCK_BYTES / 64; ++i) __builtin_prefetch(own + 64 * i);
  for (int32_t n = 1; n < 8; ++n) {
    int32_t slot = ss_hash_find(hash, a.hash_mask, blk[0] + (n & 1), blk[1] + ((n >> 1) & 1), blk[2] + (n >> 2));
    if (slot < 0) continue;
    const char* base = reinterpret_cast<const char*>(pool + (uint64_t)slot * SS_BLOCK_FLOATS);
    /* +x: every row (whole arrays); +y: first row of each z slice; +z: first slice; edges and corner: first line */
    uint32_t lines = n == 1 ? 32 : n == 2 ? 8 : n == 4 ? 4 : 1;
    for (uint32_t i = 0; i < lines; ++i) {
      uint32_t off = n == 2 ? i * 256 : i * 64;
      __builtin_prefetch(base + off);
      __builtin_prefetch(base + 2048 + off);
    }
  }
}

/* spreads the low 21 bits of v to every third bit */
static inline uint64_t spread3(uint64_t v) {
  v &= 0x1fffff;
  v = (v | v << 32) & 0x1f00000000ffffULL;
  v = (v | v << 16) & 0x1f0000ff0000ffULL;
  v = (v | v << 8) & 0x100f00f00f00f00fULL;
  v = (v | v << 4) & 0x10c30c30c30c30c3ULL;
  v = (v | v << 2) & 0x1249249249249249ULL;
  return v;
}

/* Morton (Z-order) code of a packed block key (21 bits per axis) */
static inline uint64_t morton3(uint64_t key) {
  return spread3(key >> 42) << 2 | spread3(key >> 21) << 1 | spread3(key);
}

static bool is_pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

static ss_status check_camera(ss_context* ctx, const char* fn, uint32_t w, uint32_t h, float fx, float fy) {
  if (w == 0 || h == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: image size %ux%u", fn, w, h);
  if (!(fx > 0.0f) || !(fy > 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: focal lengths must be > 0", fn);
  return SS_OK;
}

static ss_status check_volume(ss_context* ctx, const char* fn, float voxel, float trunc) {
  if (!(voxel > 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: voxel_size must be > 0", fn);
  if (!(trunc > 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: sdf_trunc must be > 0", fn);
  return SS_OK;
}

static bool finite_all(const float* m, int n) {
  for (int i = 0; i < n; ++i)
    if (!std::isfinite(m[i])) return false;
  return true;
}

extern "C" {

SS_API ss_status ss_tsdf_touched_blocks(ss_context* ctx, const ss_tsdf_touched_args* args, ss_buffer* depth,
                                        ss_buffer* scratch, ss_buffer* out, ss_buffer* counts) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_touched_args a = *args;
  ss_status s = check_camera(ctx, __func__, a.width, a.height, a.fx, a.fy);
  if (s == SS_OK) s = check_volume(ctx, __func__, a.voxel_size, a.sdf_trunc);
  if (s != SS_OK) return s;
  if (a.stride == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: stride must be >= 1", __func__);
  if (!is_pow2(a.hash_capacity)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: hash_capacity must be a power of two", __func__);
  if (!finite_all(a.cam_to_world, 12)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: pose is not finite", __func__);
  SS_REQUIRE_BUFFER(ctx, depth, (uint64_t)a.width * a.height * 4);
  SS_REQUIRE_BUFFER(ctx, scratch, (uint64_t)a.hash_capacity * 8);
  SS_REQUIRE_BUFFER(ctx, out, (uint64_t)a.max_out * 12);
  SS_REQUIRE_BUFFER(ctx, counts, 8);
  uint64_t* set = ss_data<uint64_t>(scratch);
  memset(set, 0, (size_t)a.hash_capacity * 8);
  const float* d = ss_data<float>(depth);
  uint32_t gw = (a.width + a.stride - 1) / a.stride, gh = (a.height + a.stride - 1) / a.stride;
  std::atomic<uint32_t> dropped{0};
  ctx->pool->parallel_for((int64_t)gw * gh, 2048, [&](int64_t b, int64_t e) {
    uint32_t local = 0;
    for (int64_t i = b; i < e; ++i) local += tsdf_touched_pixel(a, (uint32_t)i, d, set);
    if (local) dropped.fetch_add(local);
  });
  int32_t* o = ss_data<int32_t>(out);
  uint32_t n = 0, overflow = dropped.load();
  /* Morton order: blocks near in space come out together, so the integrate
   * pass reads the depth and colour images (and, through slot order, the
   * pool) with far fewer cache misses than hash order gives */
  thread_local std::vector<std::pair<uint64_t, uint64_t>> keys;
  keys.clear();
  for (uint32_t k = 0; k < a.hash_capacity; ++k) {
    uint64_t key = set[k];
    if (key) keys.emplace_back(morton3(key), key);
  }
  std::sort(keys.begin(), keys.end());
  for (const auto& mk : keys) {
    if (n >= a.max_out) {
      overflow++;
      continue;
    }
    o[3 * n] = ss_block_key_x(mk.second);
    o[3 * n + 1] = ss_block_key_y(mk.second);
    o[3 * n + 2] = ss_block_key_z(mk.second);
    n++;
  }
  uint32_t* c = ss_data<uint32_t>(counts);
  c[0] = n;
  c[1] = overflow;
  return SS_OK;
}

SS_API ss_status ss_tsdf_integrate(ss_context* ctx, const ss_tsdf_integrate_args* args, ss_buffer* depth,
                                   ss_buffer* color, ss_buffer* blocks, ss_buffer* pool) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_integrate_args a = *args;
  ss_status s = check_camera(ctx, __func__, a.width, a.height, a.fx, a.fy);
  if (s == SS_OK) s = check_volume(ctx, __func__, a.voxel_size, a.sdf_trunc);
  if (s != SS_OK) return s;
  if (!(a.max_weight >= 1.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: max_weight must be >= 1", __func__);
  if (!finite_all(a.world_to_cam, 12)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: pose is not finite", __func__);
  if (a.block_count == 0) return SS_OK;
  SS_REQUIRE_BUFFER(ctx, depth, (uint64_t)a.width * a.height * 4);
  if (a.has_color) SS_REQUIRE_BUFFER(ctx, color, (uint64_t)a.width * a.height * 3);
  SS_REQUIRE_BUFFER(ctx, blocks, (uint64_t)a.block_count * 16);
  const int32_t* bl = ss_data<int32_t>(blocks);
  uint64_t capacity = pool ? pool->bytes / SS_BLOCK_BYTES : 0;
  for (uint32_t k = 0; k < a.block_count; ++k) {
    if (bl[4 * k + 3] < 0 || (uint64_t)bl[4 * k + 3] >= capacity)
      return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: block %u has slot %d outside the pool of %llu blocks", __func__, k,
                     bl[4 * k + 3], (unsigned long long)capacity);
  }
  const float* d = ss_data<float>(depth);
  const uint8_t* c = a.has_color ? ss_data<uint8_t>(color) : nullptr;
  float* p = ss_data<float>(pool);
#ifdef SS_TSDF_SIMD
  const TsdfRowConsts rc = tsdf_row_consts(a);
  ctx->pool->parallel_for(a.block_count, 16, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int32_t* blk = bl + 4 * k;
      float* base = p + (uint64_t)blk[3] * SS_BLOCK_FLOATS;
      for (uint32_t row = 0; row < 64; ++row)
        tsdf_integrate_row_avx2(a, rc, blk[0] * 8, blk[1] * 8 + (int32_t)(row & 7), blk[2] * 8 + (int32_t)(row >> 3), row * 8, d,
                                c, base);
    }
  });
#else
  ctx->pool->parallel_for(a.block_count, 16, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int32_t* blk = bl + 4 * k;
      for (uint32_t v = 0; v < SS_BLOCK_VOXELS; ++v) tsdf_integrate_voxel(a, blk, v, d, c, p);
    }
  });
#endif
  return SS_OK;
}

SS_API ss_status ss_tsdf_mesh_blocks(ss_context* ctx, const ss_tsdf_mesh_args* args, ss_buffer* pool, ss_buffer* hash,
                                     ss_buffer* blocks, ss_buffer* positions, ss_buffer* colors, ss_buffer* indices,
                                     ss_buffer* ranges, ss_buffer* totals) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_mesh_args a = *args;
  if (!(a.voxel_size > 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: voxel_size must be > 0", __func__);
  if (!is_pow2(a.hash_mask + 1)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: hash_mask + 1 must be a power of two", __func__);
  SS_REQUIRE_BUFFER(ctx, pool, 1);
  SS_REQUIRE_BUFFER(ctx, hash, ((uint64_t)a.hash_mask + 1) * 16);
  SS_REQUIRE_BUFFER(ctx, totals, 8);
  uint32_t* tot = ss_data<uint32_t>(totals);
  tot[0] = tot[1] = 0;
  if (a.block_count == 0) return SS_OK;
  SS_REQUIRE_BUFFER(ctx, blocks, (uint64_t)a.block_count * 16);
  SS_REQUIRE_BUFFER(ctx, ranges, (uint64_t)a.block_count * 16);
  SS_REQUIRE_BUFFER(ctx, positions, (uint64_t)a.vertex_capacity * 12);
  SS_REQUIRE_BUFFER(ctx, colors, (uint64_t)a.vertex_capacity * 3);
  SS_REQUIRE_BUFFER(ctx, indices, (uint64_t)a.index_capacity * 4);
  const int32_t* bl = ss_data<int32_t>(blocks);
  uint64_t capacity = pool->bytes / SS_BLOCK_BYTES;
  for (uint32_t k = 0; k < a.block_count; ++k) {
    if (bl[4 * k + 3] < 0 || (uint64_t)bl[4 * k + 3] >= capacity)
      return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: block %u has slot %d outside the pool", __func__, k, bl[4 * k + 3]);
  }
  const float* p = ss_data<float>(pool);
  const int32_t* h = ss_data<int32_t>(hash);
  float* pos = ss_data<float>(positions);
  uint8_t* col = ss_data<uint8_t>(colors);
  uint32_t* idx = ss_data<uint32_t>(indices);
  uint32_t* rng = ss_data<uint32_t>(ranges);
  std::atomic<uint32_t> vert_total{0}, idx_total{0};
  ctx->pool->parallel_for(a.block_count, 4, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> f(SS_MESH_LATTICE_POINTS), lpos(3 * SS_MESH_MAX_BLOCK_VERTICES);
    thread_local std::vector<uint8_t> lcol(3 * SS_MESH_MAX_BLOCK_VERTICES);
    thread_local std::vector<int32_t> vidx(3 * SS_MESH_LATTICE_POINTS);
    thread_local std::vector<uint32_t> lidx(SS_MESH_MAX_BLOCK_INDICES);
    for (int64_t k = b; k < e; ++k) {
      if (k + 1 < e) prefetch_mesh_neighbours(a, bl + 4 * (k + 1), p, h);
      uint32_t nv = 0, ni = 0;
      tsdf_mesh_block(a, bl + 4 * k, p, h, f.data(), vidx.data(), lpos.data(), lcol.data(), lidx.data(), &nv, &ni);
      uint32_t vo = vert_total.fetch_add(nv), io = idx_total.fetch_add(ni);
      uint32_t* r = rng + 4 * k;
      r[0] = vo;
      r[1] = nv;
      r[2] = io;
      r[3] = ni;
      /* past capacity: keep counting so the caller learns the size it needs */
      if ((uint64_t)vo + nv > a.vertex_capacity || (uint64_t)io + ni > a.index_capacity) continue;
      memcpy(pos + 3 * (uint64_t)vo, lpos.data(), (size_t)nv * 12);
      memcpy(col + 3 * (uint64_t)vo, lcol.data(), (size_t)nv * 3);
      memcpy(idx + io, lidx.data(), (size_t)ni * 4);
    }
  });
  tot[0] = vert_total.load();
  tot[1] = idx_total.load();
  if (tot[0] > a.vertex_capacity || tot[1] > a.index_capacity)
    return ss_fail(ctx, SS_ERR_CAPACITY, "%s: needs %u vertices and %u indices, capacity is %u and %u", __func__, tot[0],
                   tot[1], a.vertex_capacity, a.index_capacity);
  return SS_OK;
}

SS_API ss_status ss_tsdf_raycast(ss_context* ctx, const ss_tsdf_raycast_args* args, ss_buffer* pool, ss_buffer* hash,
                                 ss_buffer* depth, ss_buffer* normals, ss_buffer* color) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_raycast_args a = *args;
  ss_status s = check_camera(ctx, __func__, a.width, a.height, a.fx, a.fy);
  if (s == SS_OK) s = check_volume(ctx, __func__, a.voxel_size, a.sdf_trunc);
  if (s != SS_OK) return s;
  if (!is_pow2(a.hash_mask + 1)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: hash_mask + 1 must be a power of two", __func__);
  if (!(a.min_depth > 0.0f) || !(a.max_depth > a.min_depth))
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: need 0 < min_depth < max_depth", __func__);
  if (!finite_all(a.cam_to_world, 12)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: pose is not finite", __func__);
  uint64_t n = (uint64_t)a.width * a.height;
  SS_REQUIRE_BUFFER(ctx, pool, 1);
  SS_REQUIRE_BUFFER(ctx, hash, ((uint64_t)a.hash_mask + 1) * 16);
  SS_REQUIRE_BUFFER(ctx, depth, n * 4);
  SS_REQUIRE_BUFFER(ctx, normals, n * 12);
  SS_REQUIRE_BUFFER(ctx, color, n * 3);
  const float* p = ss_data<float>(pool);
  const int32_t* h = ss_data<int32_t>(hash);
  float* d = ss_data<float>(depth);
  float* nm = ss_data<float>(normals);
  uint8_t* c = ss_data<uint8_t>(color);
  ctx->pool->parallel_for((int64_t)n, 1024, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) tsdf_raycast_pixel(a, (uint32_t)i, p, h, d, nm, c);
  });
  return SS_OK;
}

SS_API ss_status ss_tsdf_clear_blocks(ss_context* ctx, const ss_tsdf_clear_args* args, ss_buffer* blocks, ss_buffer* pool) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_clear_args a = *args;
  if (a.block_count == 0) return SS_OK;
  SS_REQUIRE_BUFFER(ctx, blocks, (uint64_t)a.block_count * 16);
  const int32_t* bl = ss_data<int32_t>(blocks);
  uint64_t capacity = pool ? pool->bytes / SS_BLOCK_BYTES : 0;
  float* p = ss_data<float>(pool);
  for (uint32_t k = 0; k < a.block_count; ++k) {
    int32_t slot = bl[4 * k + 3];
    if (slot < 0 || (uint64_t)slot >= capacity)
      return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: block %u has slot %d outside the pool", __func__, k, slot);
    memset(p + (uint64_t)slot * SS_BLOCK_FLOATS, 0, SS_BLOCK_BYTES);
  }
  return SS_OK;
}

}  // extern "C"
