/* CUDA backend internals: context (one stream), buffers (device memory + pinned host mirror), errors. */
#ifndef SS_CUDA_BACKEND_CUH
#define SS_CUDA_BACKEND_CUH

#include "scanstream.h"
#include "../compat/cuda.h"

#include <cuda_runtime.h>
#include <string>
#include <vector>

struct ss_buffer {
  void* device;
  void* host;
  uint64_t bytes;
  /* bytes allocated (≥ bytes when the buffer reuses a cached allocation) */
  uint64_t capacity;
};

/* a destroyed buffer's allocations, kept for the next buffer of about its size (context.cu) */
struct ss_cached_allocation {
  void* device;
  void* host;
  uint64_t capacity;
};

struct ss_context {
  cudaStream_t stream;
  int device;
  std::string error;
  /* marching cubes' worst-case per-block scratch, kept between calls: a
   * cudaMalloc/cudaFree of ~130 MB per call costs more than the meshing */
  void* mesh_scratch = nullptr;
  uint64_t mesh_scratch_bytes = 0;
  /* other calls' device scratch, one region per slot (ss_cuda_scratch) */
  void* scratch[4] = {};
  uint64_t scratch_bytes[4] = {};
  /* SCANSTREAM_CUDA_SYNC=1: every kernel call waits for its kernels (an error then names its own call) */
  bool sync_calls = false;
  /* pinned host memory is slow to allocate and cudaFreeHost waits for the device: destroyed buffers'
   * allocations wait here (at most SS_CUDA_CACHE_BYTES) for a new buffer they fit */
  std::vector<ss_cached_allocation> cache;
  uint64_t cached_bytes = 0;
};

enum ss_cuda_scratch_slot { SS_CUDA_SCRATCH_ORB = 0, SS_CUDA_SCRATCH_MATCH = 1, SS_CUDA_SCRATCH_SWEEP = 2, SS_CUDA_SCRATCH_ICP = 3 };

#include "../common/status.h"

/* checks the launch and waits for it; SS_ERR_BACKEND with CUDA's message on failure */
ss_status ss_cuda_finish(ss_context* ctx, const char* fn);
/* the end of a call whose results stay on the GPU: launch errors now, the kernels' own at the next
 * call that waits (a download, or a call that reads results back); SCANSTREAM_CUDA_SYNC=1 waits here */
ss_status ss_cuda_launched(ss_context* ctx, const char* fn);
/* a context-owned device region of at least `bytes` (grown, never shrunk; contents not cleared) */
ss_status ss_cuda_scratch(ss_context* ctx, ss_cuda_scratch_slot slot, uint64_t bytes, void** out, const char* fn);

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
