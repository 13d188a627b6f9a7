/* The Metal backend's host logic, inside: the context and buffer structs, and
 * the few helpers every ABI call uses to run its kernels through the GPU
 * operations table (gpu_ops.h). C++; nothing here crosses the ABI. */
#ifndef SS_METAL_HOST_INTERNAL_H
#define SS_METAL_HOST_INTERNAL_H

#include "metal_host.h"

#include <cstring>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

/* storageModeShared memory: contents is what the GPU reads and writes, so
 * ss_buffer_host_ptr hands it out and upload/download move nothing */
struct ss_buffer {
  void* gpu;      /* the implementation's buffer (an MTLBuffer on a Mac) */
  void* contents; /* its host-visible memory */
  uint64_t bytes;
};

struct ss_metal_pipeline_limits {
  uint32_t simd_width, max_threads;
};

/* scratch buffers a call keeps between calls (grown, never shrunk) */
enum ss_metal_scratch_slot {
  SS_METAL_SCRATCH_MESH = 0,     /* per-block worst-case meshing output and counts */
  SS_METAL_SCRATCH_REDUCE = 1,   /* per-threadgroup partial sums (icp_reduce) and bounds (touched blocks) */
  SS_METAL_SCRATCH_ORB = 2,      /* ORB's pyramid, score map, cell and selection lists */
  SS_METAL_SCRATCH_MATCH = 3,    /* float matching's per-row results */
  SS_METAL_SCRATCH_SWEEP = 4,    /* plane sweep's reference window statistics */
  SS_METAL_SCRATCH_COUNT = 5
};

struct ss_context {
  ss_gpu_ops ops;
  std::string error;
  std::string name;
  std::map<std::string, ss_metal_pipeline_limits> limits;
  ss_buffer scratch[SS_METAL_SCRATCH_COUNT] = {};
  /* the command buffer of the call in progress: the first failure, reported by ss_metal_end */
  bool open = false;
  int32_t pass_status = 0;
  std::string pass_error;
};

#include "../common/status.h"

/* first line of every kernel call: fn is the ABI name (ss_<kernel>), so messages match the CPU's */
#define SS_METAL_ENTRY(ctx, args, fn)                                                    \
  do {                                                                                   \
    if (!(ctx)) return SS_ERR_INVALID_ARGUMENT;                                          \
    if (!(args)) return ss_fail((ctx), SS_ERR_INVALID_ARGUMENT, "%s: args is null", fn); \
    (ctx)->error.clear();                                                                \
  } while (0)

template <typename T>
static inline T* ss_host(ss_buffer* b) {
  return static_cast<T*>(b->contents);
}

/* One kernel launch, described for gpu_ops' dispatch. Buffer 0 of every
 * kernel is its args struct (setBytes); the ABI buffers follow in table order. */
struct ss_metal_launch {
  const char* pipeline;
  uint32_t grid[3] = {1, 1, 1};
  uint32_t threadgroup[3] = {1, 1, 1};
  bool by_threadgroups = false;
  std::vector<ss_gpu_binding> bindings;

  explicit ss_metal_launch(const char* name) : pipeline(name) {}
  /* dispatchThreads over n×m×l threads in threadgroups of tx×ty×tz */
  ss_metal_launch& threads(uint32_t n, uint32_t m, uint32_t l, uint32_t tx, uint32_t ty = 1, uint32_t tz = 1);
  /* dispatchThreadgroups: n threadgroups of tx threads */
  ss_metal_launch& groups(uint32_t n, uint32_t tx);
  ss_metal_launch& buffer(uint32_t index, ss_buffer* b, uint64_t offset = 0);
  /* small constant data (an args struct): copied at encoding, as setBytes does */
  ss_metal_launch& bytes(uint32_t index, const void* data, uint32_t length);
};

/* A call's GPU work is one command buffer: begin, dispatches in order (each
 * sees the memory the ones before it wrote), end = commit and wait. After a
 * failure later dispatches are skipped; ss_metal_end reports the first one. */
ss_status ss_metal_begin(ss_context* ctx);
void ss_metal_dispatch(ss_context* ctx, const ss_metal_launch& launch);
ss_status ss_metal_end(ss_context* ctx, const char* fn);

/* threadExecutionWidth and maxTotalThreadsPerThreadgroup of a pipeline, cached per context */
ss_status ss_metal_limits(ss_context* ctx, const char* pipeline, ss_metal_pipeline_limits* out);
/* threads per threadgroup for a one-thread-per-element kernel: `want`, or less when the pipeline allows less */
ss_status ss_metal_group_width(ss_context* ctx, const char* pipeline, uint32_t want, uint32_t* out);

/* one dispatch of a one-thread-per-element kernel over n elements (threadgroups of up to 256),
 * args at buffer 0 and `buffers` from buffer 1, in its own command buffer */
ss_status ss_metal_run_elementwise(ss_context* ctx, const char* fn, const char* pipeline, uint64_t n, const void* args, uint32_t args_bytes,
                                   std::initializer_list<ss_buffer*> buffers);

/* a context-owned scratch buffer of at least `bytes` (contents not cleared) */
ss_status ss_metal_scratch(ss_context* ctx, ss_metal_scratch_slot slot, uint64_t bytes, ss_buffer** out);

#endif
