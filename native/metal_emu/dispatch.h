/* The MSL emulator's dispatcher: runs a kernel compiled from a .metal file
 * (through msl_shim.h) over a grid on the CPU, the threads of a threadgroup
 * as cooperating fibers so that barriers and SIMD-group functions mean what
 * they mean on an Apple GPU. docs/metal-emulator.md describes the model.
 *
 * The C part is the host API (plain structs, usable from the C host logic);
 * the C++ part at the end is the runtime the shim calls from kernel code. */
#ifndef MSL_EMU_DISPATCH_H
#define MSL_EMU_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define MSL_EMU_ALIGN16 alignas(16)
extern "C" {
#else
#define MSL_EMU_ALIGN16 _Alignas(16)
#endif

#define MSL_EMU_MAX_BUFFERS 31             /* Metal's buffer argument table */
#define MSL_EMU_MAX_THREADGROUP_BUFFERS 31
#define MSL_EMU_MAX_BYTES 4096             /* Metal's setBytes limit */
#define MSL_EMU_SIMD_WIDTH 32              /* every Apple GPU */
#define MSL_EMU_SIMD_SLOT_BYTES 64         /* one lane's operand of a SIMD-group function */

enum {
  MSL_EMU_OK = 0,
  MSL_EMU_ERR_ARGUMENT = 1, /* the dispatch itself is malformed (sizes, bindings, options) */
  MSL_EMU_ERR_KERNEL = 2,   /* the kernel broke a rule while running (divergent barrier, ...) */
};

typedef struct msl_emu_size {
  uint32_t width, height, depth;
} msl_emu_size;

/* What the thread-position attributes of one thread read. 3-vectors are
 * (x, y, z); the generated trampoline narrows them to the declared type. */
typedef struct msl_emu_thread_position {
  uint32_t thread_position_in_grid[3];
  uint32_t threadgroup_position_in_grid[3];
  uint32_t thread_position_in_threadgroup[3];
  uint32_t threads_per_threadgroup[3]; /* the actual size: smaller in a partial (edge) threadgroup */
  uint32_t threadgroups_per_grid[3];
  uint32_t threads_per_grid[3];
  uint32_t thread_index_in_threadgroup;
  uint32_t thread_index_in_simdgroup;
  uint32_t simdgroup_index_in_threadgroup;
  uint32_t simdgroups_per_threadgroup;
  uint32_t threads_per_simdgroup;
} msl_emu_thread_position;

/* What a generated trampoline reads to call the kernel. */
typedef struct msl_emu_invocation {
  void* const* buffers;             /* by [[buffer(i)]] */
  void* const* threadgroup_buffers; /* by [[threadgroup(i)]]: this threadgroup's allocations */
} msl_emu_invocation;

typedef void (*msl_emu_kernel_entry)(const msl_emu_invocation* invocation, const msl_emu_thread_position* position);

typedef struct msl_emu_buffer_param {
  uint32_t index;       /* [[buffer(index)]] */
  uint8_t is_const;     /* read-only: constant address space or a pointer/reference to const */
  uint8_t is_reference; /* `constant T& name` rather than a pointer */
  const char* name;     /* the parameter's name in the source */
  const char* type;     /* its declared type, as written */
} msl_emu_buffer_param;

typedef struct msl_emu_threadgroup_param {
  uint32_t index; /* [[threadgroup(index)]] */
  const char* name;
  const char* type;
} msl_emu_threadgroup_param;

typedef struct msl_emu_kernel_info {
  const char* name;
  msl_emu_kernel_entry entry;
  /* barriers, SIMD-group functions or threadgroup memory reachable from the
   * kernel: run its threadgroups as fibers; otherwise as a plain loop */
  int uses_sync;
  const msl_emu_buffer_param* buffers;
  uint32_t buffer_count;
  const msl_emu_threadgroup_param* threadgroups;
  uint32_t threadgroup_count;
  const char* source_file;
  uint32_t source_line;
} msl_emu_kernel_info;

typedef struct msl_emu_kernel_registry {
  const msl_emu_kernel_info* kernels;
  uint32_t count;
} msl_emu_kernel_registry;

/* NULL when the registry has no kernel of that name */
const msl_emu_kernel_info* msl_emu_find_kernel(const msl_emu_kernel_registry* registry, const char* name);

/* A compute encoder's argument state for one dispatch. */
typedef struct msl_emu_bindings {
  void* buffers[MSL_EMU_MAX_BUFFERS];
  uint64_t buffer_lengths[MSL_EMU_MAX_BUFFERS]; /* bytes; 0 = not told */
  uint32_t threadgroup_lengths[MSL_EMU_MAX_THREADGROUP_BUFFERS];
  uint32_t bytes_used;
  MSL_EMU_ALIGN16 unsigned char bytes[MSL_EMU_MAX_BYTES]; /* copies made by msl_emu_bindings_set_bytes */
} msl_emu_bindings;

void msl_emu_bindings_init(msl_emu_bindings* bindings);
/* setBuffer: the pointer must stay valid until the dispatch returns */
int msl_emu_bindings_set_buffer(msl_emu_bindings* bindings, uint32_t index, void* data, uint64_t length);
/* setBytes: copies `length` bytes (16-byte aligned in the copy); at most MSL_EMU_MAX_BYTES in all */
int msl_emu_bindings_set_bytes(msl_emu_bindings* bindings, uint32_t index, const void* data, uint32_t length);
/* setThreadgroupMemoryLength: a multiple of 16, as Metal requires */
int msl_emu_bindings_set_threadgroup_length(msl_emu_bindings* bindings, uint32_t index, uint32_t length);

typedef enum msl_emu_grid_kind {
  MSL_EMU_GRID_THREADS = 0,     /* dispatchThreads: grid in threads, a partial last threadgroup per dimension */
  MSL_EMU_GRID_THREADGROUPS = 1 /* dispatchThreadgroups: grid in threadgroups, all full */
} msl_emu_grid_kind;

typedef enum msl_emu_order {
  MSL_EMU_ORDER_FORWARD = 0, /* thread 0 of a threadgroup runs first, as far as it can */
  MSL_EMU_ORDER_REVERSE = 1, /* the last thread first */
  MSL_EMU_ORDER_SHUFFLE = 2  /* a permutation drawn from `seed` and the threadgroup's index */
} msl_emu_order;

typedef struct msl_emu_options {
  msl_emu_order order;          /* also the order threadgroups are taken in */
  uint64_t seed;                /* for MSL_EMU_ORDER_SHUFFLE */
  uint32_t workers;             /* OS threads sharing the threadgroups; 1 = the calling thread only */
  uint32_t stack_bytes;         /* per fiber */
  uint32_t max_threads_per_threadgroup;
  uint32_t max_threadgroup_memory; /* bytes: parameters plus arrays declared in the body */
  int poison_threadgroup_memory;   /* fill it with 0xFF bytes (NaN as float) at each threadgroup's start */
} msl_emu_options;

/* Defaults, then the environment: SCANSTREAM_METAL_EMU_ORDER=forward|reverse|shuffle,
 * SCANSTREAM_METAL_EMU_SEED, SCANSTREAM_METAL_EMU_THREADS, SCANSTREAM_METAL_EMU_STACK_KIB.
 * A malformed variable is an error (MSL_EMU_ERR_ARGUMENT, message in `error`). */
int msl_emu_options_from_env(msl_emu_options* options, char* error, size_t error_size);
/* The defaults alone: forward, 1 worker, 64 KiB stacks, 1024 threads, 32 KiB, poison on. */
msl_emu_options msl_emu_default_options(void);

/* Runs `kernel` synchronously. `grid` counts threads (MSL_EMU_GRID_THREADS) or
 * threadgroups (MSL_EMU_GRID_THREADGROUPS). `options` NULL: msl_emu_options_from_env.
 * On failure writes a message naming the kernel into `error`. */
int msl_emu_dispatch(const msl_emu_kernel_info* kernel, msl_emu_grid_kind grid_kind, msl_emu_size grid,
                     msl_emu_size threads_per_threadgroup, const msl_emu_bindings* bindings,
                     const msl_emu_options* options, char* error, size_t error_size);

#ifdef __cplusplus
} /* extern "C" */

/* The runtime behind the shim's barriers, SIMD-group functions and
 * threadgroup arrays. Only the shim calls these. */
namespace msl_emu {
namespace rt {

/* Every active lane's operand of one SIMD-group function, after all active
 * lanes reached it. `active` has a bit per lane that has not returned. */
struct simd_view {
  const unsigned char* slots; /* lane i's operand at slots + i * MSL_EMU_SIMD_SLOT_BYTES */
  uint32_t active;
  uint32_t lane; /* the caller's lane */
};

/* Called once per SIMD-group function call, when every active lane is there,
 * before any lane resumes: the place for work done once for the whole
 * SIMD-group (simdgroup_matrix operations). Returns NULL or an error message. */
typedef const char* (*simd_completion)(const simd_view& view);

/* Deposits this lane's operand (at most MSL_EMU_SIMD_SLOT_BYTES) and waits
 * until every active lane of the SIMD-group called the same function at the
 * same place; `what` names the function, `file`/`line` the call site. */
simd_view simd_exchange(const void* operand, size_t bytes, const char* what, const char* file, unsigned line,
                        simd_completion completion = nullptr);
void threadgroup_barrier(const char* what, const char* file, unsigned line);
/* The threadgroup's shared instance of an array declared in a kernel body; `key` identifies the declaration. */
void* threadgroup_array(const void* key, size_t bytes, size_t align, const char* name, const char* file,
                        unsigned line);
/* A rule broken in kernel code: ends the threadgroup (fibers) or marks the dispatch failed (plain loop). */
void kernel_error(const char* what, const char* file, unsigned line, const char* detail);

} // namespace rt
} // namespace msl_emu
#endif

#endif
