/* The TSDF volume on Metal (metal/tsdf.metal, metal/tsdf_mesh.metal): the
 * shared argument checks, then the kernels; the touched-block list is
 * compacted on the host in Morton order as on the CPU, and the mesh records
 * are placed on the host between the meshing and the copying kernels. */
#include "host.h"
#include "../common/checks.h"

#include <algorithm>
#include <vector>

/* as SS_MESH_* in native/kernels/tsdf_mesh.h: the worst case per block */
static const uint64_t kMeshMaxVertices = 3 * 729, kMeshMaxIndices = 512 * 15;
/* as SS_TOUCHED_WINDOW_* in native/kernels/tsdf_touched_gpu.h: key = (dx << 21 | dy << 10 | dz) + 1 */
static const int64_t kWindowX = 2048, kWindowY = 2048, kWindowZ = 1023;

/* bytes of a block's mesh record (ss_mesh_record_bytes): positions, colours padded to 4, indices */
static uint32_t mesh_record_bytes(uint32_t nv, uint32_t ni) { return 12u * nv + ((3u * nv + 3u) & ~3u) + 4u * ni; }

extern "C" {

ss_status ss_metal_tsdf_touched_blocks(ss_context* ctx, const ss_tsdf_touched_blocks_args* args, ss_buffer* depth, ss_buffer* scratch,
                                       ss_buffer* out, ss_buffer* counts) {
  const char* fn = "ss_tsdf_touched_blocks";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_tsdf_touched_blocks_args a = *args;
  SS_TRY(ss_check_touched(ctx, a, depth, scratch, out, counts));
  const uint64_t gw = (a.width + a.stride - 1) / a.stride, gh = (a.height + a.stride - 1) / a.stride, samples = gw * gh;
  /* state: int32 {bounds min x, y, z, max x, y, z, dropped} */
  ss_buffer* state = nullptr;
  SS_TRY(ss_metal_scratch(ctx, SS_METAL_SCRATCH_REDUCE, 32, &state));
  int32_t* st = ss_host<int32_t>(state);
  for (int k = 0; k < 3; ++k) {
    st[k] = INT32_MAX;
    st[3 + k] = INT32_MIN;
  }
  st[6] = 0;
  memset(scratch->contents, 0, (size_t)a.hash_capacity * 8);
  uint32_t width = 0;
  SS_TRY(ss_metal_group_width(ctx, "k_tsdf_touched_bounds", 256, &width));
  const uint32_t n = (uint32_t)samples;
  SS_TRY(ss_metal_begin(ctx));
  ss_metal_dispatch(ctx, ss_metal_launch("k_tsdf_touched_bounds").threads(n, 1, 1, width).bytes(0, &a, sizeof a).buffer(1, depth)
                             .buffer(5, state).bytes(6, &n, sizeof n));
  SS_TRY(ss_metal_end(ctx, fn));
  std::vector<uint64_t> keys;
  if (st[0] <= st[3]) {
    const int32_t lo[3] = {st[0], st[1], st[2]}, hi[3] = {st[3], st[4], st[5]};
    SS_TRY(ss_metal_group_width(ctx, "k_tsdf_touched_insert", 256, &width));
    uint32_t* set = ss_host<uint32_t>(scratch);
    /* windows covering the bounds: one, unless the frame's bands span thousands of blocks */
    for (int64_t x0 = lo[0]; x0 <= hi[0]; x0 += kWindowX)
      for (int64_t y0 = lo[1]; y0 <= hi[1]; y0 += kWindowY)
        for (int64_t z0 = lo[2]; z0 <= hi[2]; z0 += kWindowZ) {
          memset(set, 0, (size_t)a.hash_capacity * 4);
          const int32_t window[4] = {(int32_t)x0, (int32_t)y0, (int32_t)z0, 0};
          SS_TRY(ss_metal_begin(ctx));
          ss_metal_dispatch(ctx, ss_metal_launch("k_tsdf_touched_insert").threads(n, 1, 1, width).bytes(0, &a, sizeof a).buffer(1, depth)
                                     .buffer(2, scratch).buffer(5, state).bytes(6, window, sizeof window));
          SS_TRY(ss_metal_end(ctx, fn));
          for (uint32_t k = 0; k < a.hash_capacity; ++k) {
            uint32_t key = set[k];
            if (!key) continue;
            key -= 1;
            int32_t bx = window[0] + (int32_t)(key >> 21), by = window[1] + (int32_t)((key >> 10) & 0x7ffu), bz = window[2] + (int32_t)(key & 0x3ffu);
            keys.push_back(((uint64_t)(uint32_t)(bx + (1 << 20)) << 42) | ((uint64_t)(uint32_t)(by + (1 << 20)) << 21) |
                           (uint64_t)(uint32_t)(bz + (1 << 20)));
          }
        }
    memset(set, 0, (size_t)a.hash_capacity * 4);
  }
  ss_compact_touched(keys.data(), (uint32_t)keys.size(), a.max_out, (uint32_t)st[6], ss_host<int32_t>(out), ss_host<uint32_t>(counts));
  return SS_OK;
}

ss_status ss_metal_tsdf_integrate(ss_context* ctx, const ss_tsdf_integrate_args* args, ss_buffer* depth, ss_buffer* color, ss_buffer* blocks,
                                  ss_buffer* pool) {
  const char* fn = "ss_tsdf_integrate";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_tsdf_integrate_args a = *args;
  SS_TRY(ss_check_integrate(ctx, a, depth, color, blocks, blocks ? ss_host<int32_t>(blocks) : nullptr, pool));
  if (a.block_count == 0) return SS_OK;
  uint32_t width = 0;
  SS_TRY(ss_metal_group_width(ctx, "k_tsdf_integrate", 256, &width));
  SS_TRY(ss_metal_begin(ctx));
  /* without colour the kernel never reads buffer 2, but Metal wants it bound: depth stands in */
  ss_metal_dispatch(ctx, ss_metal_launch("k_tsdf_integrate").threads(512, a.block_count, 1, width).bytes(0, &a, sizeof a).buffer(1, depth)
                             .buffer(2, a.has_color ? color : depth).buffer(3, blocks).buffer(4, pool));
  return ss_metal_end(ctx, fn);
}

ss_status ss_metal_tsdf_mesh_blocks(ss_context* ctx, const ss_tsdf_mesh_blocks_args* args, ss_buffer* pool, ss_buffer* hash, ss_buffer* blocks,
                                    ss_buffer* mesh, ss_buffer* ranges, ss_buffer* totals) {
  const char* fn = "ss_tsdf_mesh_blocks";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_tsdf_mesh_blocks_args a = *args;
  SS_TRY(ss_check_mesh(ctx, a, pool, hash, totals));
  uint32_t* tot = ss_host<uint32_t>(totals);
  tot[0] = tot[1] = tot[2] = 0;
  if (a.block_count == 0) return SS_OK;
  SS_TRY(ss_check_mesh_outputs(ctx, a, blocks, blocks ? ss_host<int32_t>(blocks) : nullptr, pool, mesh, ranges));
  /* SIMD-groups per threadgroup: 2 (the kernel's threadgroup memory holds two), 1 where the pipeline allows only 32 threads */
  ss_metal_pipeline_limits lim;
  SS_TRY(ss_metal_limits(ctx, "k_tsdf_mesh_blocks", &lim));
  const uint32_t simds = lim.max_threads >= 64 ? 2 : 1;
  uint32_t copy_width = 0;
  SS_TRY(ss_metal_group_width(ctx, "k_tsdf_mesh_compact", 128, &copy_width));
  /* batches of blocks, each with a worst-case region per block (≈ 64 KiB) in the context's scratch */
  const uint32_t batch = std::min<uint32_t>(1024, a.block_count);
  /* regions at 256-byte offsets of one buffer (any offset a Metal binding may want) */
  auto round256 = [](uint64_t b) { return (b + 255) / 256 * 256; };
  const uint64_t pos_bytes = round256((uint64_t)batch * 3 * kMeshMaxVertices * 4), col_bytes = round256((uint64_t)batch * 3 * kMeshMaxVertices),
                 idx_bytes = round256((uint64_t)batch * kMeshMaxIndices * 4);
  ss_buffer* scratch = nullptr;
  SS_TRY(ss_metal_scratch(ctx, SS_METAL_SCRATCH_MESH, pos_bytes + col_bytes + idx_bytes + (uint64_t)batch * 8, &scratch));
  const uint64_t col_at = pos_bytes, idx_at = pos_bytes + col_bytes, count_at = pos_bytes + col_bytes + idx_bytes;
  const uint32_t* cnt = reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(scratch->contents) + count_at);
  uint32_t* rng = ss_host<uint32_t>(ranges);
  uint64_t btotal = 0, vtotal = 0, itotal = 0;
  bool fits = true;
  for (uint32_t first = 0; first < a.block_count; first += batch) {
    const uint32_t span[2] = {first, std::min(batch, a.block_count - first)};
    SS_TRY(ss_metal_begin(ctx));
    ss_metal_dispatch(ctx, ss_metal_launch("k_tsdf_mesh_blocks").groups((span[1] + simds - 1) / simds, 32 * simds).bytes(0, &a, sizeof a)
                               .buffer(1, pool).buffer(2, hash).buffer(3, blocks).buffer(4, scratch, 0).buffer(5, scratch, col_at)
                               .buffer(6, scratch, idx_at).buffer(7, scratch, count_at).bytes(8, span, sizeof span));
    SS_TRY(ss_metal_end(ctx, fn));
    for (uint32_t k = 0; k < span[1]; ++k) {
      uint32_t* r = rng + 4 * (first + k);
      uint32_t nv = cnt[2 * k], ni = cnt[2 * k + 1];
      r[0] = (uint32_t)btotal;
      r[1] = nv;
      r[2] = ni;
      r[3] = nv ? mesh_record_bytes(nv, ni) : 0u;
      btotal += r[3];
      vtotal += nv;
      itotal += ni;
    }
    fits = fits && btotal <= a.capacity;
    if (!fits) continue; /* keep counting so the caller learns the size it needs */
    SS_TRY(ss_metal_begin(ctx));
    ss_metal_dispatch(ctx, ss_metal_launch("k_tsdf_mesh_compact").groups(span[1], copy_width).buffer(1, ranges).buffer(2, scratch, 0)
                               .buffer(3, scratch, col_at).buffer(4, scratch, idx_at).buffer(5, mesh).bytes(8, span, sizeof span));
    SS_TRY(ss_metal_end(ctx, fn));
  }
  tot[0] = btotal > 0xffffffffull ? 0xffffffffu : (uint32_t)btotal;
  tot[1] = (uint32_t)vtotal;
  tot[2] = (uint32_t)itotal;
  if (!fits)
    return ss_fail(ctx, SS_ERR_CAPACITY, "%s: needs %llu bytes of mesh records, capacity is %u", fn, (unsigned long long)btotal, a.capacity);
  return SS_OK;
}

ss_status ss_metal_tsdf_raycast(ss_context* ctx, const ss_tsdf_raycast_args* args, ss_buffer* pool, ss_buffer* hash, ss_buffer* depth,
                                ss_buffer* normals, ss_buffer* color) {
  SS_METAL_ENTRY(ctx, args, "ss_tsdf_raycast");
  const ss_tsdf_raycast_args a = *args;
  SS_TRY(ss_check_raycast(ctx, a, pool, hash, depth, normals, color));
  return ss_metal_run_elementwise(ctx, "ss_tsdf_raycast", "k_tsdf_raycast", (uint64_t)a.width * a.height, &a, sizeof a,
                                  {pool, hash, depth, normals, color});
}

ss_status ss_metal_tsdf_clear_blocks(ss_context* ctx, const ss_tsdf_clear_blocks_args* args, ss_buffer* blocks, ss_buffer* pool) {
  const char* fn = "ss_tsdf_clear_blocks";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_tsdf_clear_blocks_args a = *args;
  if (a.block_count == 0) return SS_OK;
  SS_NEED(ctx, blocks, (uint64_t)a.block_count * 16, "blocks");
  SS_TRY(ss_check_slots(ctx, fn, ss_host<int32_t>(blocks), a.block_count, pool));
  uint32_t width = 0;
  SS_TRY(ss_metal_group_width(ctx, "k_tsdf_clear_blocks", 256, &width));
  SS_TRY(ss_metal_begin(ctx));
  ss_metal_dispatch(ctx, ss_metal_launch("k_tsdf_clear_blocks").threads(SS_BLOCK_BYTES / 4, a.block_count, 1, width).buffer(1, blocks).buffer(2, pool));
  return ss_metal_end(ctx, fn);
}

ss_status ss_metal_tsdf_hash_scatter(ss_context* ctx, const ss_tsdf_hash_scatter_args* args, ss_buffer* entries, ss_buffer* hash) {
  SS_METAL_ENTRY(ctx, args, "ss_tsdf_hash_scatter");
  const ss_tsdf_hash_scatter_args a = *args;
  SS_TRY(ss_check_hash_scatter(ctx, a, entries, entries ? ss_host<int32_t>(entries) : nullptr, hash));
  return ss_metal_run_elementwise(ctx, "ss_tsdf_hash_scatter", "k_tsdf_hash_scatter", a.count, &a, sizeof a, {entries, hash});
}

ss_status ss_metal_tsdf_hash_lookup(ss_context* ctx, const ss_tsdf_hash_lookup_args* args, ss_buffer* hash, ss_buffer* coords, ss_buffer* slots) {
  SS_METAL_ENTRY(ctx, args, "ss_tsdf_hash_lookup");
  const ss_tsdf_hash_lookup_args a = *args;
  SS_TRY(ss_check_hash_lookup(ctx, a, hash, coords, slots));
  return ss_metal_run_elementwise(ctx, "ss_tsdf_hash_lookup", "k_tsdf_hash_lookup", a.count, &a, sizeof a, {hash, coords, slots});
}

}  // extern "C"
