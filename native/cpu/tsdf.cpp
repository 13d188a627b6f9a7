/* CPU launchers for the TSDF kernels */
#include "backend.h"
#include "../common/checks.h"
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
/* a vertex's rgb from the two voxels' rgba words, four channels per instruction
 * (same a + s·(b − a), fused as the scalar body compiles here, and the same
 * round-to-nearest-even) */
static inline void mesh_vertex_color_sse(const float* pool, int32_t ref0, int32_t ref1, float s, uint8_t* col) {
  uint32_t w0, w1;
  memcpy(&w0, ss_vox_rgba(pool, ref0), 4);
  memcpy(&w1, ss_vox_rgba(pool, ref1), 4);
  __m128 a = _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_cvtsi32_si128((int)w0)));
  __m128 b = _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_cvtsi32_si128((int)w1)));
  __m128i r = _mm_cvtps_epi32(_mm_fmadd_ps(_mm_set1_ps(s), _mm_sub_ps(b, a), a));
  uint32_t rgba = (uint32_t)_mm_cvtsi128_si32(_mm_packus_epi16(_mm_packus_epi32(r, r), r));
  col[0] = (uint8_t)rgba;
  col[1] = (uint8_t)(rgba >> 8);
  col[2] = (uint8_t)(rgba >> 16);
}
#define SS_MESH_VERTEX_COLOR mesh_vertex_color_sse
#endif
#include "tsdf_mesh.h"
#include "tsdf_raycast.h"
#include "tsdf_touched.h"

#include <algorithm>
#include <utility>
#include <vector>

/* The seam cubes read the first voxel layer of the +x/+y/+z neighbours,
 * scattered over their blocks: without prefetching, those misses dominate. */
static inline void prefetch_mesh_neighbours(const ss_tsdf_mesh_blocks_args& a, const int32_t* blk, const float* pool, const int32_t* hash) {
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

extern "C" {

SS_API ss_status ss_tsdf_touched_blocks(ss_context* ctx, const ss_tsdf_touched_blocks_args* args, ss_buffer* depth,
                                        ss_buffer* scratch, ss_buffer* out, ss_buffer* counts) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_touched_blocks_args a = *args;
  SS_TRY(ss_check_touched(ctx, a, depth, scratch, out, counts));
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
  ss_compact_touched(set, a.hash_capacity, a.max_out, dropped.load(), ss_data<int32_t>(out), ss_data<uint32_t>(counts));
  return SS_OK;
}

SS_API ss_status ss_tsdf_integrate(ss_context* ctx, const ss_tsdf_integrate_args* args, ss_buffer* depth,
                                   ss_buffer* color, ss_buffer* blocks, ss_buffer* pool) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_integrate_args a = *args;
  SS_TRY(ss_check_integrate(ctx, a, depth, color, blocks, blocks ? ss_data<int32_t>(blocks) : nullptr, pool));
  if (a.block_count == 0) return SS_OK;
  const int32_t* bl = ss_data<int32_t>(blocks);
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

SS_API ss_status ss_tsdf_mesh_blocks(ss_context* ctx, const ss_tsdf_mesh_blocks_args* args, ss_buffer* pool, ss_buffer* hash,
                                     ss_buffer* blocks, ss_buffer* mesh, ss_buffer* ranges, ss_buffer* totals) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_mesh_blocks_args a = *args;
  SS_TRY(ss_check_mesh(ctx, a, pool, hash, totals));
  uint32_t* tot = ss_data<uint32_t>(totals);
  tot[0] = tot[1] = tot[2] = 0;
  if (a.block_count == 0) return SS_OK;
  SS_TRY(ss_check_mesh_outputs(ctx, a, blocks, blocks ? ss_data<int32_t>(blocks) : nullptr, pool, mesh, ranges));
  const int32_t* bl = ss_data<int32_t>(blocks);
  const float* p = ss_data<float>(pool);
  const int32_t* h = ss_data<int32_t>(hash);
  uint8_t* out = ss_data<uint8_t>(mesh);
  uint32_t* rng = ss_data<uint32_t>(ranges);
  std::atomic<uint64_t> byte_total{0};
  std::atomic<uint32_t> vert_total{0}, idx_total{0};
  ctx->pool->parallel_for(a.block_count, 4, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> f(SS_MESH_LATTICE_POINTS), lpos(3 * SS_MESH_MAX_BLOCK_VERTICES);
    thread_local std::vector<uint8_t> lcol(3 * SS_MESH_MAX_BLOCK_VERTICES);
    thread_local std::vector<int32_t> vidx(3 * SS_MESH_LATTICE_POINTS);
    thread_local std::vector<uint32_t> lidx(SS_MESH_MAX_BLOCK_INDICES);
    for (int64_t k = b; k < e; ++k) {
      if (k + 1 < (int64_t)a.block_count) prefetch_mesh_neighbours(a, bl + 4 * (k + 1), p, h);
      uint32_t nv = 0, ni = 0;
      tsdf_mesh_block(a, bl + 4 * k, p, h, f.data(), vidx.data(), lpos.data(), lcol.data(), lidx.data(), &nv, &ni);
      uint32_t bytes = nv ? ss_mesh_record_bytes(nv, ni) : 0u;
      uint64_t off = byte_total.fetch_add(bytes);
      vert_total.fetch_add(nv);
      idx_total.fetch_add(ni);
      uint32_t* r = rng + 4 * k;
      r[0] = (uint32_t)off;
      r[1] = nv;
      r[2] = ni;
      r[3] = bytes;
      /* past capacity: keep counting so the caller learns the size it needs */
      if (bytes == 0 || off + bytes > a.capacity) continue;
      uint8_t* rec = out + off;
      memcpy(rec, lpos.data(), (size_t)nv * 12);
      uint32_t cb = (3u * nv + 3u) & ~3u;
      memcpy(rec + 12u * nv, lcol.data(), (size_t)nv * 3);
      memset(rec + 12u * nv + 3u * nv, 0, cb - 3u * nv);
      memcpy(rec + 12u * nv + cb, lidx.data(), (size_t)ni * 4);
    }
  });
  uint64_t bytes = byte_total.load();
  tot[0] = bytes > 0xffffffffull ? 0xffffffffu : (uint32_t)bytes;
  tot[1] = vert_total.load();
  tot[2] = idx_total.load();
  if (bytes > a.capacity)
    return ss_fail(ctx, SS_ERR_CAPACITY, "%s: needs %llu bytes of mesh records, capacity is %u", __func__,
                   (unsigned long long)bytes, a.capacity);
  return SS_OK;
}

SS_API ss_status ss_tsdf_raycast(ss_context* ctx, const ss_tsdf_raycast_args* args, ss_buffer* pool, ss_buffer* hash,
                                 ss_buffer* depth, ss_buffer* normals, ss_buffer* color) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_raycast_args a = *args;
  SS_TRY(ss_check_raycast(ctx, a, pool, hash, depth, normals, color));
  uint64_t n = (uint64_t)a.width * a.height;
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

SS_API ss_status ss_tsdf_clear_blocks(ss_context* ctx, const ss_tsdf_clear_blocks_args* args, ss_buffer* blocks, ss_buffer* pool) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_clear_blocks_args a = *args;
  if (a.block_count == 0) return SS_OK;
  SS_REQUIRE_BUFFER(ctx, blocks, (uint64_t)a.block_count * 16);
  const int32_t* bl = ss_data<int32_t>(blocks);
  SS_TRY(ss_check_slots(ctx, __func__, bl, a.block_count, pool));
  float* p = ss_data<float>(pool);
  for (uint32_t k = 0; k < a.block_count; ++k) {
    int32_t slot = bl[4 * k + 3];
    memset(p + (uint64_t)slot * SS_BLOCK_FLOATS, 0, SS_BLOCK_BYTES);
  }
  return SS_OK;
}

SS_API ss_status ss_tsdf_hash_scatter(ss_context* ctx, const ss_tsdf_hash_scatter_args* args, ss_buffer* entries, ss_buffer* hash) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_hash_scatter_args a = *args;
  SS_TRY(ss_check_hash_scatter(ctx, a, entries, entries ? ss_data<int32_t>(entries) : nullptr, hash));
  if (a.count == 0) return SS_OK;
  const int32_t* e = ss_data<int32_t>(entries);
  int32_t* h = ss_data<int32_t>(hash);
  for (uint32_t k = 0; k < a.count; ++k) tsdf_hash_scatter_entry(k, e, h);
  return SS_OK;
}

SS_API ss_status ss_tsdf_hash_lookup(ss_context* ctx, const ss_tsdf_hash_lookup_args* args, ss_buffer* hash, ss_buffer* coords, ss_buffer* slots) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_hash_lookup_args a = *args;
  SS_TRY(ss_check_hash_lookup(ctx, a, hash, coords, slots));
  if (a.count == 0) return SS_OK;
  const int32_t* h = ss_data<int32_t>(hash);
  const int32_t* c = ss_data<int32_t>(coords);
  int32_t* out = ss_data<int32_t>(slots);
  ctx->pool->parallel_for((int64_t)a.count, 2048, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = tsdf_hash_lookup_entry((uint32_t)i, a.hash_mask, h, c);
  });
  return SS_OK;
}

}  // extern "C"
