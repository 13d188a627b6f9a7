/* The metal-emu backend (SCANSTREAM_BACKEND=metal-emu): the GPU operations
 * table of the Metal host logic (native/metal_host/gpu_ops.h) implemented
 * with the MSL emulator's dispatcher, and the core functions of the C ABI.
 * The kernels are the Metal source compiled as C++ through msl_shim.h (the
 * one translation unit ScanKit embeds; see scripts/gen-metal-source.mjs).
 *
 * Faithful to Metal where the host logic could go wrong: buffers are shared
 * memory handed out zero-filled, dispatches are recorded and run only when
 * the command buffer ends (so host code reading results before end() reads
 * stale memory here too), a pipeline that is not in the source fails. */
#include "dispatch.h"
#include "metal_host.h"
#include "../common/kernel_table.h"

#include <sys/mman.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <vector>

/* the registry of the generated translation unit (msl_emu_add_kernels in CMakeLists.txt) */
extern "C" const msl_emu_kernel_registry* scanstream_metal_registry(void);

namespace {

/* Apple Silicon's page: makeBuffer(bytesNoCopy:) wants page-aligned lengths there */
constexpr uint64_t kPage = 16384;

struct emu_buffer {
  void* data;
  uint64_t bytes;  /* what was asked for */
  uint64_t mapped; /* page-rounded */
};

struct recorded_dispatch {
  const msl_emu_kernel_info* kernel;
  msl_emu_grid_kind kind;
  msl_emu_size grid, group;
  msl_emu_bindings bindings;
  /* where each setBytes binding lies in bindings.bytes (−1: none): the bindings point into their own
   * copy, so a recorded (copied, moved) dispatch re-points them before it runs */
  int32_t bytes_at[MSL_EMU_MAX_BUFFERS];
};

struct emu_device {
  const msl_emu_kernel_registry* registry = nullptr;
  msl_emu_options options{};
  std::map<std::string, const msl_emu_kernel_info*> kernels;
  std::vector<recorded_dispatch> pending;
  bool open = false;
  std::string error;
};

int32_t fail(emu_device* d, int32_t status, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
int32_t fail(emu_device* d, int32_t status, const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  d->error = msg;
  return status;
}

const msl_emu_kernel_info* find(emu_device* d, const char* name) {
  auto it = d->kernels.find(name);
  if (it != d->kernels.end()) return it->second;
  const msl_emu_kernel_info* k = msl_emu_find_kernel(d->registry, name);
  if (k) d->kernels.emplace(name, k);
  return k;
}

int32_t buffer_create(void* device, uint64_t bytes, void** buffer, void** contents) {
  emu_device* d = static_cast<emu_device*>(device);
  *buffer = *contents = nullptr;
  uint64_t mapped = (bytes + kPage - 1) / kPage * kPage;
  /* anonymous pages come zero-filled, and untouched ones cost nothing (the meshing scratch is large) */
  void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return fail(d, SS_ERR_OUT_OF_MEMORY, "cannot map %llu bytes", (unsigned long long)mapped);
  emu_buffer* b = new (std::nothrow) emu_buffer{p, bytes, mapped};
  if (!b) {
    munmap(p, mapped);
    return fail(d, SS_ERR_OUT_OF_MEMORY, "out of host memory");
  }
  *buffer = b;
  *contents = p;
  return SS_OK;
}

void buffer_destroy(void*, void* buffer) {
  emu_buffer* b = static_cast<emu_buffer*>(buffer);
  if (!b) return;
  munmap(b->data, b->mapped);
  delete b;
}

int32_t begin(void* device) {
  emu_device* d = static_cast<emu_device*>(device);
  if (d->open) return fail(d, SS_ERR_INTERNAL, "begin: a command buffer is already open");
  d->open = true;
  d->pending.clear();
  return SS_OK;
}

int32_t dispatch(void* device, const ss_gpu_dispatch* g) {
  emu_device* d = static_cast<emu_device*>(device);
  if (!d->open) return fail(d, SS_ERR_INTERNAL, "dispatch of %s outside a command buffer", g->pipeline);
  const msl_emu_kernel_info* k = find(d, g->pipeline);
  if (!k) return fail(d, SS_ERR_BACKEND, "no kernel function '%s' in the Metal source", g->pipeline);
  if (g->threadgroup_memory_count)
    return fail(d, SS_ERR_BACKEND, "%s: [[threadgroup(i)]] lengths are not used by the host logic", g->pipeline);
  recorded_dispatch r{};
  r.kernel = k;
  r.kind = g->by_threadgroups ? MSL_EMU_GRID_THREADGROUPS : MSL_EMU_GRID_THREADS;
  r.grid = msl_emu_size{g->grid[0], g->grid[1], g->grid[2]};
  r.group = msl_emu_size{g->threadgroup[0], g->threadgroup[1], g->threadgroup[2]};
  msl_emu_bindings_init(&r.bindings);
  for (uint32_t i = 0; i < g->binding_count; ++i) {
    const ss_gpu_binding& b = g->bindings[i];
    int rc;
    if (b.buffer) {
      emu_buffer* eb = static_cast<emu_buffer*>(b.buffer);
      if (b.offset > eb->bytes)
        return fail(d, SS_ERR_BACKEND, "%s: buffer(%u) offset %llu is past its %llu bytes", g->pipeline, b.index,
                    (unsigned long long)b.offset, (unsigned long long)eb->bytes);
      rc = msl_emu_bindings_set_buffer(&r.bindings, b.index, static_cast<char*>(eb->data) + b.offset, eb->bytes - b.offset);
    } else {
      if (!b.bytes || b.length == 0) return fail(d, SS_ERR_BACKEND, "%s: buffer(%u) has neither a buffer nor bytes", g->pipeline, b.index);
      rc = msl_emu_bindings_set_bytes(&r.bindings, b.index, b.bytes, b.length);
    }
    if (rc != MSL_EMU_OK) return fail(d, SS_ERR_BACKEND, "%s: cannot bind buffer(%u)", g->pipeline, b.index);
  }
  for (uint32_t i = 0; i < MSL_EMU_MAX_BUFFERS; ++i) {
    const unsigned char* p = static_cast<const unsigned char*>(r.bindings.buffers[i]);
    r.bytes_at[i] = p >= r.bindings.bytes && p < r.bindings.bytes + MSL_EMU_MAX_BYTES ? (int32_t)(p - r.bindings.bytes) : -1;
  }
  d->pending.push_back(r);
  return SS_OK;
}

/* commit and wait: the recorded dispatches run now, in order */
int32_t end(void* device) {
  emu_device* d = static_cast<emu_device*>(device);
  if (!d->open) return fail(d, SS_ERR_INTERNAL, "end without begin");
  d->open = false;
  char error[2048];
  for (recorded_dispatch& r : d->pending) {
    error[0] = 0;
    for (uint32_t i = 0; i < MSL_EMU_MAX_BUFFERS; ++i)
      if (r.bytes_at[i] >= 0) r.bindings.buffers[i] = r.bindings.bytes + r.bytes_at[i];
    int rc = msl_emu_dispatch(r.kernel, r.kind, r.grid, r.group, &r.bindings, &d->options, error, sizeof error);
    if (rc != MSL_EMU_OK) {
      d->pending.clear();
      return fail(d, SS_ERR_BACKEND, "%s", error[0] ? error : "the emulated dispatch failed");
    }
  }
  d->pending.clear();
  return SS_OK;
}

int32_t pipeline_limits(void* device, const char* pipeline, uint32_t* simd_width, uint32_t* max_threads) {
  emu_device* d = static_cast<emu_device*>(device);
  if (!find(d, pipeline)) return fail(d, SS_ERR_BACKEND, "no kernel function '%s' in the Metal source", pipeline);
  *simd_width = MSL_EMU_SIMD_WIDTH;
  *max_threads = d->options.max_threads_per_threadgroup;
  return SS_OK;
}

const char* last_error(void* device) { return static_cast<emu_device*>(device)->error.c_str(); }

void destroy(void* device) { delete static_cast<emu_device*>(device); }

emu_device* device_of(const ss_context* ctx) {
  const ss_gpu_ops* ops = ss_metal_context_ops(ctx);
  return ops && ops->destroy == destroy ? static_cast<emu_device*>(ops->device) : nullptr;
}

}  // namespace

extern "C" {

SS_API uint32_t ss_abi_version(void) { return SS_ABI_VERSION; }

/* threads > 0: OS threads sharing the threadgroups; else SCANSTREAM_METAL_EMU_THREADS, else one per core.
 * The rest of the options come from the environment (docs/metal-emulator.md). */
SS_API ss_status ss_context_create(int32_t backend, int32_t threads, ss_context** out) {
  if (!out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (backend != SS_BACKEND_AUTO && backend != SS_BACKEND_METAL_EMU) return SS_ERR_UNSUPPORTED;
  emu_device* d = new (std::nothrow) emu_device();
  if (!d) return SS_ERR_OUT_OF_MEMORY;
  d->registry = scanstream_metal_registry();
  char error[256] = {0};
  if (msl_emu_options_from_env(&d->options, error, sizeof error) != MSL_EMU_OK) {
    /* no context yet to hold the message */
    fprintf(stderr, "scanstream metal-emu: %s\n", error);
    delete d;
    return SS_ERR_INVALID_ARGUMENT;
  }
  if (threads > 0) d->options.workers = (uint32_t)threads;
  ss_gpu_ops ops{};
  ops.device = d;
  ops.buffer_create = buffer_create;
  ops.buffer_destroy = buffer_destroy;
  ops.begin = begin;
  ops.dispatch = dispatch;
  ops.end = end;
  ops.pipeline_limits = pipeline_limits;
  ops.last_error = last_error;
  ops.destroy = destroy;
  return ss_metal_context_create(&ops, "metal-emu", out);
}

SS_API void ss_context_destroy(ss_context* ctx) { ss_metal_context_destroy(ctx); }
SS_API const char* ss_last_error(const ss_context* ctx) { return ss_metal_last_error(ctx); }
SS_API const char* ss_backend_name(const ss_context* ctx) { return ss_metal_backend_name(ctx); }
SS_API int32_t ss_context_threads(const ss_context* ctx) { return ss_metal_context_threads(ctx); }
SS_API int32_t ss_context_unified_memory(const ss_context* ctx) { return ss_metal_context_unified_memory(ctx); }
SS_API int32_t ss_kernel_supported(const ss_context* ctx, const char* kernel) { return ss_metal_kernel_supported(ctx, kernel); }
SS_API ss_status ss_buffer_create(ss_context* ctx, uint64_t bytes, ss_buffer** out) { return ss_metal_buffer_create(ctx, bytes, out); }
SS_API void ss_buffer_destroy(ss_context* ctx, ss_buffer* buf) { ss_metal_buffer_destroy(ctx, buf); }
SS_API uint64_t ss_buffer_size(const ss_buffer* buf) { return ss_metal_buffer_size(buf); }
SS_API void* ss_buffer_host_ptr(ss_buffer* buf) { return ss_metal_buffer_host_ptr(buf); }
SS_API ss_status ss_buffer_upload(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  return ss_metal_buffer_upload(ctx, buf, offset, bytes);
}
SS_API ss_status ss_buffer_download(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  return ss_metal_buffer_download(ctx, buf, offset, bytes);
}
SS_API ss_status ss_buffer_fill(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes, uint32_t value) {
  return ss_metal_buffer_fill(ctx, buf, offset, bytes, value);
}
SS_API ss_status ss_buffer_wrap(ss_context* ctx, void* host, uint64_t bytes, ss_buffer** out) {
  return ss_metal_buffer_wrap(ctx, host, bytes, out);
}

/* Not in the ABI: the emulator's thread order for this context's later dispatches
 * (0 forward, 1 reverse, 2 shuffle with seed), so one process can run the same
 * calls in two orders (the parity suite's reordered group). SS_ERR_INVALID_ARGUMENT
 * for another library's context or an unknown order. */
SS_API ss_status ss_metal_emu_set_order(ss_context* ctx, int32_t order, uint32_t seed) {
  emu_device* d = device_of(ctx);
  if (!d || order < MSL_EMU_ORDER_FORWARD || order > MSL_EMU_ORDER_SHUFFLE) return SS_ERR_INVALID_ARGUMENT;
  d->options.order = (msl_emu_order)order;
  d->options.seed = seed;
  return SS_OK;
}

}  // extern "C"
