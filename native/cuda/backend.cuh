/* CUDA backend internals: context (one stream), buffers (device memory + pinned host mirror), errors. */
#ifndef SS_CUDA_BACKEND_CUH
#define SS_CUDA_BACKEND_CUH

#include "scanstream.h"
#include "../compat/cuda.h"

#include <cuda_runtime.h>
#include <string>

struct ss_buffer {
  void* device;
  void* host;
  uint64_t bytes;
};

struct ss_context {
  cudaStream_t stream;
  int device;
  std::string error;
};

ss_status ss_fail(ss_context* ctx, ss_status code, const char* fmt, ...);
bool ss_check_buffer(ss_context* ctx, const ss_buffer* buf, uint64_t bytes, const char* name);
/* checks the launch and waits for it; SS_ERR_BACKEND with CUDA's message on failure */
ss_status ss_cuda_finish(ss_context* ctx, const char* fn);

#define SS_REQUIRE_BUFFER(ctx, buf, bytes)                                                        \
  do {                                                                                            \
    if (!ss_check_buffer((ctx), (buf), (uint64_t)(bytes), #buf)) return SS_ERR_INVALID_ARGUMENT; \
  } while (0)
#define SS_REQUIRE_ARGS(ctx, args)                                                                  \
  do {                                                                                              \
    if (!(ctx)) return SS_ERR_INVALID_ARGUMENT;                                                     \
    if (!(args)) return ss_fail((ctx), SS_ERR_INVALID_ARGUMENT, "%s: args is null", __func__);      \
    (ctx)->error.clear();                                                                           \
  } while (0)

/* device pointer of a buffer */
template <typename T>
static inline T* ss_dev(ss_buffer* b) {
  return static_cast<T*>(b->device);
}
/* host mirror (what TypeScript wrote before uploading) */
template <typename T>
static inline T* ss_host(ss_buffer* b) {
  return static_cast<T*>(b->host);
}

static inline unsigned ss_grid(uint64_t n, unsigned block = 256) { return (unsigned)((n + block - 1) / block); }

#endif
