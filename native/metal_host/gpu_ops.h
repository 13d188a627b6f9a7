/* The GPU operations the Metal backend's host logic needs, as a table of C
 * function pointers. The host logic (native/metal_host/ C++ files: every ABI call's
 * checks, pipelines, grid and threadgroup sizes, bindings, loops, read-backs)
 * is written once against this table; ScanKit (swift/) implements it with
 * Metal, the emulator (native/metal_emu) with its CPU dispatcher. So what a
 * Mac runs is what the parity suite runs here, but for these few operations.
 *
 * Plain C (imported by Swift). Statuses are ss_status codes (scanstream.h):
 * SS_OK, SS_ERR_OUT_OF_MEMORY, SS_ERR_BACKEND (with last_error's message). */
#ifndef SS_METAL_GPU_OPS_H
#define SS_METAL_GPU_OPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One argument of a dispatch: a buffer range at [[buffer(index)]], or small
 * constant bytes (an args struct: setBytes, at most 4 KiB) when buffer is NULL. */
typedef struct ss_gpu_binding {
  uint32_t index;
  uint32_t length;     /* bytes' length */
  void* buffer;        /* from buffer_create, or NULL */
  uint64_t offset;     /* into buffer */
  const void* bytes;   /* when buffer is NULL */
} ss_gpu_binding;

/* One kernel launch. by_threadgroups = 0: grid counts threads (dispatchThreads,
 * the last threadgroup may be partial); 1: grid counts threadgroups. */
typedef struct ss_gpu_dispatch {
  const char* pipeline;               /* the kernel function's name in the MSL */
  uint32_t grid[3];
  uint32_t threadgroup[3];
  uint32_t by_threadgroups;
  uint32_t binding_count;
  const ss_gpu_binding* bindings;
  uint32_t threadgroup_memory_count;  /* lengths of [[threadgroup(i)]] memory, i = 0.. */
  const uint32_t* threadgroup_memory;
} ss_gpu_dispatch;

typedef struct ss_gpu_ops {
  void* device; /* the implementation's state */
  /* shared (CPU-visible, unified) memory, zero-filled; *contents is its host pointer */
  int32_t (*buffer_create)(void* device, uint64_t bytes, void** buffer, void** contents);
  void (*buffer_destroy)(void* device, void* buffer);
  /* a call's work: begin() opens one command buffer, dispatch() encodes in order
   * (each dispatch sees the memory writes of the ones before it), end() commits
   * and waits, reporting a failed command buffer as SS_ERR_BACKEND */
  int32_t (*begin)(void* device);
  int32_t (*dispatch)(void* device, const ss_gpu_dispatch* dispatch);
  int32_t (*end)(void* device);
  /* a pipeline's threadExecutionWidth and maxTotalThreadsPerThreadgroup */
  int32_t (*pipeline_limits)(void* device, const char* pipeline, uint32_t* simd_width, uint32_t* max_threads);
  /* the message of the last failure (valid until the next operation) */
  const char* (*last_error)(void* device);
  /* frees the implementation's state (the context is being destroyed) */
  void (*destroy)(void* device);
} ss_gpu_ops;

#ifdef __cplusplus
}
#endif
#endif
