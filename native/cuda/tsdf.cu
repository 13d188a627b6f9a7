/* CUDA launchers for the TSDF kernels (portable bodies from native/kernels) */
#include "backend.cuh"
#include "../common/checks.h"
#include "vec3.h"
#include "tsdf_common.h"
#include "tsdf_integrate.h"
#include "tsdf_mesh.h"
#include "tsdf_mesh_warp.cuh"
#include "tsdf_raycast.h"
#include "tsdf_touched.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

__global__ void k_touched(const ss_tsdf_touched_blocks_args a, uint64_t n, const float* depth, uint64_t* set, uint32_t* dropped) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t d = tsdf_touched_pixel(a, (uint32_t)i, depth, set);
  if (d) atomicAdd(dropped, d);
}

__global__ void k_integrate(const ss_tsdf_integrate_args a, const int32_t* blocks, const float* depth, const uint8_t* color, float* pool) {
  uint32_t b = blockIdx.x;
  for (uint32_t v = threadIdx.x; v < SS_BLOCK_VOXELS; v += blockDim.x) tsdf_integrate_voxel(a, blocks + 4 * b, v, depth, color, pool);
}

__global__ void k_raycast(const ss_tsdf_raycast_args a, uint64_t n, const float* pool, const int32_t* hash, float* depth,
                          float* normals, uint8_t* color) {
  uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) tsdf_raycast_pixel(a, (uint32_t)i, pool, hash, depth, normals, color);
}

__global__ void k_clear(const int32_t* blocks, float* pool) {
  float* base = pool + (uint64_t)blocks[4 * blockIdx.x + 3] * SS_BLOCK_FLOATS;
  for (uint32_t i = threadIdx.x; i < SS_BLOCK_FLOATS; i += blockDim.x) base[i] = 0.0f;
}

__global__ void k_hash_scatter(uint32_t n, const int32_t* entries, int32_t* hash) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) tsdf_hash_scatter_entry(i, entries, hash);
}

__global__ void k_hash_lookup(uint32_t n, uint32_t mask, const int32_t* hash, const int32_t* coords, int32_t* slots) {
  uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) slots[i] = tsdf_hash_lookup_entry(i, mask, hash, coords);
}

extern "C" {

SS_API ss_status ss_tsdf_touched_blocks(ss_context* ctx, const ss_tsdf_touched_blocks_args* args, ss_buffer* depth, ss_buffer* scratch,
                                        ss_buffer* out, ss_buffer* counts) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_touched_blocks_args a = *args;
  SS_TRY(ss_check_touched(ctx, a, depth, scratch, out, counts));
  uint64_t* set = ss_dev<uint64_t>(scratch);
  uint32_t* dropped_dev = ss_dev<uint32_t>(counts) + 1;
  cudaMemsetAsync(set, 0, (size_t)a.hash_capacity * 8, ctx->stream);
  cudaMemsetAsync(ss_dev<uint32_t>(counts), 0, 8, ctx->stream);
  uint32_t gw = (a.width + a.stride - 1) / a.stride, gh = (a.height + a.stride - 1) / a.stride;
  uint64_t n = (uint64_t)gw * gh;
  k_touched<<<ss_grid(n), 256, 0, ctx->stream>>>(a, n, ss_dev<float>(depth), set, dropped_dev);
  cudaMemcpyAsync(scratch->host, set, (size_t)a.hash_capacity * 8, cudaMemcpyDeviceToHost, ctx->stream);
  uint32_t dropped = 0;
  cudaMemcpyAsync(&dropped, dropped_dev, 4, cudaMemcpyDeviceToHost, ctx->stream);
  ss_status s = ss_cuda_finish(ctx, __func__);
  if (s != SS_OK) return s;
  /* compaction in Morton order on the host, as the CPU backend does; results go to both copies */
  ss_compact_touched(ss_host<uint64_t>(scratch), a.hash_capacity, a.max_out, dropped, ss_host<int32_t>(out), ss_host<uint32_t>(counts));
  uint32_t cnt = ss_host<uint32_t>(counts)[0];
  cudaMemcpyAsync(out->device, out->host, (size_t)cnt * 12, cudaMemcpyHostToDevice, ctx->stream);
  cudaMemcpyAsync(counts->device, counts->host, 8, cudaMemcpyHostToDevice, ctx->stream);
  /* the uploads read pinned host memory that only a download of these buffers (stream-ordered after them) writes */
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_tsdf_integrate(ss_context* ctx, const ss_tsdf_integrate_args* args, ss_buffer* depth, ss_buffer* color,
                                   ss_buffer* blocks, ss_buffer* pool) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_integrate_args a = *args;
  SS_TRY(ss_check_integrate(ctx, a, depth, color, blocks, blocks ? ss_host<int32_t>(blocks) : nullptr, pool));
  if (a.block_count == 0) return SS_OK;
  k_integrate<<<a.block_count, 256, 0, ctx->stream>>>(a, ss_dev<int32_t>(blocks), ss_dev<float>(depth),
                                                       a.has_color ? ss_dev<uint8_t>(color) : nullptr, ss_dev<float>(pool));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_tsdf_mesh_blocks(ss_context* ctx, const ss_tsdf_mesh_blocks_args* args, ss_buffer* pool, ss_buffer* hash, ss_buffer* blocks,
                                     ss_buffer* mesh, ss_buffer* ranges, ss_buffer* totals) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_mesh_blocks_args a = *args;
  SS_TRY(ss_check_mesh(ctx, a, pool, hash, totals));
  uint32_t* tot = ss_host<uint32_t>(totals);
  tot[0] = tot[1] = tot[2] = 0;
  if (a.block_count == 0) {
    cudaMemcpyAsync(totals->device, totals->host, 12, cudaMemcpyHostToDevice, ctx->stream);
    return ss_cuda_finish(ctx, __func__);
  }
  SS_TRY(ss_check_mesh_outputs(ctx, a, blocks, blocks ? ss_host<int32_t>(blocks) : nullptr, pool, mesh, ranges));
  ss_status s = SS_OK;
  /* batches of blocks, each with a worst-case scratch region (≈ 64 KiB per block), in the context's scratch */
  const uint32_t batch = 2048;
  const uint64_t pos_bytes = (uint64_t)batch * 3 * SS_MESH_MAX_BLOCK_VERTICES * 4, col_bytes = (uint64_t)batch * 3 * SS_MESH_MAX_BLOCK_VERTICES,
                 idx_bytes = (uint64_t)batch * SS_MESH_MAX_BLOCK_INDICES * 4;
  const uint64_t scratch_bytes = pos_bytes + col_bytes + idx_bytes + (uint64_t)batch * 8 + (uint64_t)batch * 16;
  if (!ctx->mesh_scratch) {
    if (cudaMalloc(&ctx->mesh_scratch, scratch_bytes) != cudaSuccess) {
      ctx->mesh_scratch = nullptr;
      cudaGetLastError();
      return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "%s: cannot allocate %llu bytes of meshing scratch", __func__,
                     (unsigned long long)scratch_bytes);
    }
    ctx->mesh_scratch_bytes = scratch_bytes;
  }
  uint8_t* scratch = static_cast<uint8_t*>(ctx->mesh_scratch);
  float* spos = reinterpret_cast<float*>(scratch);
  uint8_t* scol = scratch + pos_bytes;
  uint32_t* sidx = reinterpret_cast<uint32_t*>(scratch + pos_bytes + col_bytes);
  uint32_t* scount = reinterpret_cast<uint32_t*>(scratch + pos_bytes + col_bytes + idx_bytes);
  uint32_t* sranges = scount + 2 * batch;
  uint32_t* rng = ss_host<uint32_t>(ranges);
  std::vector<uint32_t> cnt(2 * batch);
  uint64_t btotal = 0, vtotal = 0, itotal = 0;
  bool fits = true;
  for (uint32_t first = 0; first < a.block_count && s == SS_OK; first += batch) {
    uint32_t count = std::min(batch, a.block_count - first);
    k_mesh_warp<<<ss_grid(count, SS_MESH_WARPS), 32 * SS_MESH_WARPS, 0, ctx->stream>>>(a, first, count, ss_dev<float>(pool), ss_dev<int32_t>(hash),
                                                                                       ss_dev<int32_t>(blocks), spos, scol, sidx, scount);
    cudaMemcpyAsync(cnt.data(), scount, (size_t)count * 8, cudaMemcpyDeviceToHost, ctx->stream);
    s = ss_cuda_finish(ctx, __func__);
    if (s != SS_OK) break;
    for (uint32_t k = 0; k < count; ++k) {
      uint32_t* r = rng + 4 * (first + k);
      uint32_t nv = cnt[2 * k], ni = cnt[2 * k + 1];
      r[0] = (uint32_t)btotal;
      r[1] = nv;
      r[2] = ni;
      r[3] = nv ? ss_mesh_record_bytes(nv, ni) : 0u;
      btotal += r[3];
      vtotal += nv;
      itotal += ni;
    }
    fits = fits && btotal <= a.capacity;
    if (!fits) continue; /* keep counting so the caller learns the size it needs */
    cudaMemcpyAsync(sranges, rng + 4 * first, (size_t)count * 16, cudaMemcpyHostToDevice, ctx->stream);
    k_mesh_compact<<<count, 128, 0, ctx->stream>>>(count, sranges, spos, scol, sidx, ss_dev<uint8_t>(mesh));
    /* no wait here: the next batch's counts download (or the end of the call) waits for this compaction too,
     * so a call over n blocks waits ceil(n / batch) + 1 times, not 2 ceil(n / batch) + 1 */
    const cudaError_t launch = cudaGetLastError();
    if (launch != cudaSuccess) s = ss_fail(ctx, SS_ERR_BACKEND, "%s: %s", __func__, cudaGetErrorString(launch));
  }
  if (s != SS_OK) return s;
  tot[0] = btotal > 0xffffffffull ? 0xffffffffu : (uint32_t)btotal;
  tot[1] = (uint32_t)vtotal;
  tot[2] = (uint32_t)itotal;
  cudaMemcpyAsync(ranges->device, ranges->host, (size_t)a.block_count * 16, cudaMemcpyHostToDevice, ctx->stream);
  cudaMemcpyAsync(totals->device, totals->host, 12, cudaMemcpyHostToDevice, ctx->stream);
  s = ss_cuda_finish(ctx, __func__);
  if (s != SS_OK) return s;
  if (!fits)
    return ss_fail(ctx, SS_ERR_CAPACITY, "%s: needs %llu bytes of mesh records, capacity is %u", __func__, (unsigned long long)btotal,
                   a.capacity);
  return SS_OK;
}

SS_API ss_status ss_tsdf_raycast(ss_context* ctx, const ss_tsdf_raycast_args* args, ss_buffer* pool, ss_buffer* hash, ss_buffer* depth,
                                 ss_buffer* normals, ss_buffer* color) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_raycast_args a = *args;
  SS_TRY(ss_check_raycast(ctx, a, pool, hash, depth, normals, color));
  uint64_t n = (uint64_t)a.width * a.height;
  k_raycast<<<ss_grid(n, 128), 128, 0, ctx->stream>>>(a, n, ss_dev<float>(pool), ss_dev<int32_t>(hash), ss_dev<float>(depth),
                                                       ss_dev<float>(normals), ss_dev<uint8_t>(color));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_tsdf_clear_blocks(ss_context* ctx, const ss_tsdf_clear_blocks_args* args, ss_buffer* blocks, ss_buffer* pool) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_clear_blocks_args a = *args;
  if (a.block_count == 0) return SS_OK;
  SS_REQUIRE_BUFFER(ctx, blocks, (uint64_t)a.block_count * 16);
  SS_TRY(ss_check_slots(ctx, __func__, ss_host<int32_t>(blocks), a.block_count, pool));
  k_clear<<<a.block_count, 256, 0, ctx->stream>>>(ss_dev<int32_t>(blocks), ss_dev<float>(pool));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_tsdf_hash_scatter(ss_context* ctx, const ss_tsdf_hash_scatter_args* args, ss_buffer* entries, ss_buffer* hash) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_hash_scatter_args a = *args;
  /* the indices are checked on the host copy of the list, which the caller uploaded */
  SS_TRY(ss_check_hash_scatter(ctx, a, entries, entries ? ss_host<int32_t>(entries) : nullptr, hash));
  if (a.count == 0) return SS_OK;
  k_hash_scatter<<<ss_grid(a.count, 128), 128, 0, ctx->stream>>>(a.count, ss_dev<int32_t>(entries), ss_dev<int32_t>(hash));
  return ss_cuda_launched(ctx, __func__);
}

SS_API ss_status ss_tsdf_hash_lookup(ss_context* ctx, const ss_tsdf_hash_lookup_args* args, ss_buffer* hash, ss_buffer* coords, ss_buffer* slots) {
  SS_REQUIRE_ARGS(ctx, args);
  const ss_tsdf_hash_lookup_args a = *args;
  SS_TRY(ss_check_hash_lookup(ctx, a, hash, coords, slots));
  if (a.count == 0) return SS_OK;
  k_hash_lookup<<<ss_grid(a.count, 128), 128, 0, ctx->stream>>>(a.count, a.hash_mask, ss_dev<int32_t>(hash), ss_dev<int32_t>(coords),
                                                                 ss_dev<int32_t>(slots));
  return ss_cuda_launched(ctx, __func__);
}

}  // extern "C"
