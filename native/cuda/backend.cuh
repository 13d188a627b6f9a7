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
  /* marching cubes' worst-case per-block scratch, kept between calls: a
   * cudaMalloc/cudaFree of ~130 MB per call costs more than the meshing */
  void* mesh_scratch = nullptr;
  uint64_t mesh_scratch_bytes = 0;
};

#include "../common/status.h"

/* checks the launch and waits for it; SS_ERR_BACKEND with CUDA's message on failure */
ss_status ss_cuda_finish(ss_context* ctx, const char* fn);

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
