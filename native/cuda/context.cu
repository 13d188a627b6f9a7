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

SS_API ss_status ss_buffer_create(ss_context* ctx, uint64_t bytes, ss_buffer** out) {
  if (!ctx || !out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (bytes == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_buffer_create: size is 0 bytes");
  void* d = nullptr;
  void* h = nullptr;
  if (cudaMalloc(&d, bytes) != cudaSuccess)
    return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_buffer_create: cannot allocate %llu bytes on the GPU", (unsigned long long)bytes);
  /* pinned host mirror: page-aligned, and fast to copy to and from the device */
  if (cudaMallocHost(&h, bytes) != cudaSuccess) {
    cudaFree(d);
    return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_buffer_create: cannot pin %llu bytes of host memory", (unsigned long long)bytes);
  }
  memset(h, 0, bytes);
  cudaMemset(d, 0, bytes);
  ss_buffer* b = new (std::nothrow) ss_buffer{d, h, bytes};
  if (!b) {
    cudaFree(d);
    cudaFreeHost(h);
    return SS_ERR_OUT_OF_MEMORY;
  }
  *out = b;
  return SS_OK;
}

SS_API void ss_buffer_destroy(ss_context*, ss_buffer* buf) {
  if (!buf) return;
  cudaFree(buf->device);
  cudaFreeHost(buf->host);
  delete buf;
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
