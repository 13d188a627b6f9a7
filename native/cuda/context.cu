#include "backend.cuh"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

ss_status ss_cuda_finish(ss_context* ctx, const char* fn) {
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaStreamSynchronize(ctx->stream);
  if (e != cudaSuccess) return ss_fail(ctx, SS_ERR_BACKEND, "%s: %s", fn, cudaGetErrorString(e));
  return SS_OK;
}

ss_status ss_cuda_launched(ss_context* ctx, const char* fn) {
  if (ctx->sync_calls) return ss_cuda_finish(ctx, fn);
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return ss_fail(ctx, SS_ERR_BACKEND, "%s: %s", fn, cudaGetErrorString(e));
  return SS_OK;
}

ss_status ss_cuda_scratch(ss_context* ctx, ss_cuda_scratch_slot slot, uint64_t bytes, void** out, const char* fn) {
  if (ctx->scratch[slot] && ctx->scratch_bytes[slot] >= bytes) {
    *out = ctx->scratch[slot];
    return SS_OK;
  }
  if (ctx->scratch[slot]) {
    /* work queued on the stream may still read the old region */
    cudaStreamSynchronize(ctx->stream);
    cudaFree(ctx->scratch[slot]);
  }
  ctx->scratch[slot] = nullptr;
  ctx->scratch_bytes[slot] = 0;
  if (cudaMalloc(&ctx->scratch[slot], bytes) != cudaSuccess) {
    ctx->scratch[slot] = nullptr;
    cudaGetLastError();
    return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "%s: cannot allocate %llu bytes of scratch on the GPU", fn, (unsigned long long)bytes);
  }
  ctx->scratch_bytes[slot] = bytes;
  *out = ctx->scratch[slot];
  return SS_OK;
}

extern "C" {

SS_API uint32_t ss_abi_version(void) { return SS_ABI_VERSION; }

SS_API ss_status ss_context_create(int32_t backend, int32_t threads, ss_context** out) {
  if (!out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (backend != SS_BACKEND_AUTO && backend != SS_BACKEND_CUDA) return SS_ERR_UNSUPPORTED;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return SS_ERR_BACKEND;
  ss_context* ctx = new (std::nothrow) ss_context();
  if (!ctx) return SS_ERR_OUT_OF_MEMORY;
  ctx->device = 0;
  const char* sync = getenv("SCANSTREAM_CUDA_SYNC");
  ctx->sync_calls = sync && sync[0] == '1';
  if (cudaSetDevice(0) != cudaSuccess || cudaStreamCreate(&ctx->stream) != cudaSuccess) {
    delete ctx;
    return SS_ERR_BACKEND;
  }
  *out = ctx;
  return SS_OK;
}

SS_API void ss_context_destroy(ss_context* ctx) {
  if (!ctx) return;
  for (const ss_cached_allocation& c : ctx->cache) {
    cudaFree(c.device);
    cudaFreeHost(c.host);
  }
  if (ctx->mesh_scratch) cudaFree(ctx->mesh_scratch);
  for (void* p : ctx->scratch)
    if (p) cudaFree(p);
  cudaStreamDestroy(ctx->stream);
  delete ctx;
}

SS_API const char* ss_last_error(const ss_context* ctx) { return ctx ? ctx->error.c_str() : "null context"; }
SS_API const char* ss_backend_name(const ss_context*) { return "cuda"; }
SS_API int32_t ss_context_threads(const ss_context*) { return 1; }
/* buffers are device memory with a pinned host mirror: upload/download move the bytes */
SS_API int32_t ss_context_unified_memory(const ss_context*) { return 0; }

SS_API ss_status ss_buffer_wrap(ss_context* ctx, void*, uint64_t, ss_buffer** out) {
  if (out) *out = nullptr;
  return ss_fail(ctx, SS_ERR_UNSUPPORTED, "ss_buffer_wrap: CUDA kernels cannot read host memory");
}

/* Destroyed buffers' allocations are kept per context, up to SS_CUDA_CACHE_BYTES in all, and a new
 * buffer takes the smallest that holds it without wasting more than its own size (plus 1 MiB): a
 * mesh arena or a frame buffer made again and again costs a memset, not a cudaMallocHost and a
 * synchronising cudaFreeHost. One stream orders every use, so memory a queued kernel still reads
 * is only written by work queued after it; host mirrors are never read by queued copies (uploads
 * wait). ss_context_destroy frees what is kept. */
#define SS_CUDA_CACHE_BYTES (512ull << 20)

static bool take_cached(ss_context* ctx, uint64_t bytes, ss_cached_allocation* out) {
  size_t best = ctx->cache.size();
  for (size_t i = 0; i < ctx->cache.size(); ++i) {
    const uint64_t cap = ctx->cache[i].capacity;
    if (cap < bytes || cap > 2 * bytes + (1ull << 20)) continue;
    if (best == ctx->cache.size() || cap < ctx->cache[best].capacity) best = i;
  }
  if (best == ctx->cache.size()) return false;
  *out = ctx->cache[best];
  ctx->cached_bytes -= out->capacity;
  ctx->cache.erase(ctx->cache.begin() + (std::ptrdiff_t)best);
  return true;
}

static void free_allocation(const ss_cached_allocation& c) {
  cudaFree(c.device);
  cudaFreeHost(c.host);
}

SS_API ss_status ss_buffer_create(ss_context* ctx, uint64_t bytes, ss_buffer** out) {
  if (!ctx || !out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (bytes == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_buffer_create: size is 0 bytes");
  ss_cached_allocation a = {};
  if (!take_cached(ctx, bytes, &a)) {
    a.capacity = bytes;
    if (cudaMalloc(&a.device, bytes) != cudaSuccess) {
      cudaGetLastError();
      return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_buffer_create: cannot allocate %llu bytes on the GPU", (unsigned long long)bytes);
    }
    /* pinned host mirror: page-aligned, and fast to copy to and from the device */
    if (cudaMallocHost(&a.host, bytes) != cudaSuccess) {
      cudaGetLastError();
      cudaFree(a.device);
      return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_buffer_create: cannot pin %llu bytes of host memory", (unsigned long long)bytes);
    }
  }
  memset(a.host, 0, bytes);
  cudaMemsetAsync(a.device, 0, bytes, ctx->stream);
  ss_buffer* b = new (std::nothrow) ss_buffer{a.device, a.host, bytes, a.capacity};
  if (!b) {
    free_allocation(a);
    return SS_ERR_OUT_OF_MEMORY;
  }
  *out = b;
  return SS_OK;
}

SS_API void ss_buffer_destroy(ss_context* ctx, ss_buffer* buf) {
  if (!buf) return;
  const ss_cached_allocation a = {buf->device, buf->host, buf->capacity};
  delete buf;
  if (!ctx || a.capacity > SS_CUDA_CACHE_BYTES) {
    free_allocation(a);
    return;
  }
  /* oldest first out, until this one fits */
  while (!ctx->cache.empty() && ctx->cached_bytes + a.capacity > SS_CUDA_CACHE_BYTES) {
    ctx->cached_bytes -= ctx->cache.front().capacity;
    free_allocation(ctx->cache.front());
    ctx->cache.erase(ctx->cache.begin());
  }
  ctx->cache.push_back(a);
  ctx->cached_bytes += a.capacity;
}

SS_API uint64_t ss_buffer_size(const ss_buffer* buf) { return buf ? buf->bytes : 0; }
SS_API void* ss_buffer_host_ptr(ss_buffer* buf) { return buf ? buf->host : nullptr; }

SS_API ss_status ss_buffer_upload(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  ss_status s = ss_check_range(ctx, buf, offset, bytes, "ss_buffer_upload");
  if (s != SS_OK || bytes == 0) return s;
  cudaMemcpyAsync(static_cast<char*>(buf->device) + offset, static_cast<char*>(buf->host) + offset, bytes,
                  cudaMemcpyHostToDevice, ctx->stream);
  return ss_cuda_finish(ctx, "ss_buffer_upload");
}

SS_API ss_status ss_buffer_download(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  ss_status s = ss_check_range(ctx, buf, offset, bytes, "ss_buffer_download");
  if (s != SS_OK || bytes == 0) return s;
  cudaMemcpyAsync(static_cast<char*>(buf->host) + offset, static_cast<char*>(buf->device) + offset, bytes,
                  cudaMemcpyDeviceToHost, ctx->stream);
  return ss_cuda_finish(ctx, "ss_buffer_download");
}

SS_API ss_status ss_buffer_fill(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes, uint32_t value) {
  ss_status s = ss_check_range(ctx, buf, offset, bytes, "ss_buffer_fill");
  if (s != SS_OK || bytes == 0) return s;
  memset(static_cast<char*>(buf->host) + offset, (int)(value & 0xff), bytes);
  cudaMemsetAsync(static_cast<char*>(buf->device) + offset, (int)(value & 0xff), bytes, ctx->stream);
  return ss_cuda_finish(ctx, "ss_buffer_fill");
}

}  // extern "C"
