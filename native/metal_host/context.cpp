/* The Metal backend's context and buffers over the GPU operations table:
 * shared (unified) memory, so the host pointer is the GPU's memory and
 * upload/download only check their range. */
#include "host.h"

#include <new>

ss_metal_launch& ss_metal_launch::threads(uint32_t n, uint32_t m, uint32_t l, uint32_t tx, uint32_t ty, uint32_t tz) {
  grid[0] = n;
  grid[1] = m;
  grid[2] = l;
  threadgroup[0] = tx;
  threadgroup[1] = ty;
  threadgroup[2] = tz;
  by_threadgroups = false;
  return *this;
}

ss_metal_launch& ss_metal_launch::groups(uint32_t n, uint32_t tx) {
  grid[0] = n;
  grid[1] = grid[2] = 1;
  threadgroup[0] = tx;
  threadgroup[1] = threadgroup[2] = 1;
  by_threadgroups = true;
  return *this;
}

ss_metal_launch& ss_metal_launch::buffer(uint32_t index, ss_buffer* b, uint64_t offset) {
  ss_gpu_binding g{};
  g.index = index;
  g.buffer = b ? b->gpu : nullptr;
  g.offset = offset;
  bindings.push_back(g);
  return *this;
}

ss_metal_launch& ss_metal_launch::bytes(uint32_t index, const void* data, uint32_t length) {
  ss_gpu_binding g{};
  g.index = index;
  g.length = length;
  g.bytes = data;
  bindings.push_back(g);
  return *this;
}

static void ss_metal_pass_fail(ss_context* ctx, int32_t status, const char* what) {
  if (ctx->pass_status != SS_OK) return;
  ctx->pass_status = status ? status : SS_ERR_BACKEND;
  const char* msg = ctx->ops.last_error ? ctx->ops.last_error(ctx->ops.device) : nullptr;
  ctx->pass_error = std::string(what) + ": " + (msg && *msg ? msg : "the GPU reported a failure");
}

ss_status ss_metal_begin(ss_context* ctx) {
  ctx->pass_status = SS_OK;
  ctx->pass_error.clear();
  int32_t s = ctx->ops.begin(ctx->ops.device);
  if (s != SS_OK) {
    ss_metal_pass_fail(ctx, s, "begin");
    return ss_fail(ctx, ctx->pass_status, "%s", ctx->pass_error.c_str());
  }
  ctx->open = true;
  return SS_OK;
}

void ss_metal_dispatch(ss_context* ctx, const ss_metal_launch& launch) {
  if (!ctx->open || ctx->pass_status != SS_OK) return;
  /* a grid of no threads encodes nothing (Metal rejects empty dispatches) */
  if (launch.grid[0] == 0 || launch.grid[1] == 0 || launch.grid[2] == 0) return;
  ss_gpu_dispatch d{};
  d.pipeline = launch.pipeline;
  for (int k = 0; k < 3; ++k) {
    d.grid[k] = launch.grid[k];
    d.threadgroup[k] = launch.threadgroup[k];
  }
  d.by_threadgroups = launch.by_threadgroups ? 1u : 0u;
  d.binding_count = (uint32_t)launch.bindings.size();
  d.bindings = launch.bindings.data();
  int32_t s = ctx->ops.dispatch(ctx->ops.device, &d);
  if (s != SS_OK) ss_metal_pass_fail(ctx, s, launch.pipeline);
}

ss_status ss_metal_end(ss_context* ctx, const char* fn) {
  if (!ctx->open) return ss_fail(ctx, SS_ERR_INTERNAL, "%s: no command buffer is open", fn);
  ctx->open = false;
  int32_t s = ctx->ops.end(ctx->ops.device);
  if (s != SS_OK) ss_metal_pass_fail(ctx, s, "command buffer");
  if (ctx->pass_status != SS_OK) return ss_fail(ctx, ctx->pass_status, "%s: %s", fn, ctx->pass_error.c_str());
  return SS_OK;
}

ss_status ss_metal_limits(ss_context* ctx, const char* pipeline, ss_metal_pipeline_limits* out) {
  auto it = ctx->limits.find(pipeline);
  if (it != ctx->limits.end()) {
    *out = it->second;
    return SS_OK;
  }
  ss_metal_pipeline_limits l{0, 0};
  int32_t s = ctx->ops.pipeline_limits(ctx->ops.device, pipeline, &l.simd_width, &l.max_threads);
  if (s != SS_OK) {
    const char* msg = ctx->ops.last_error ? ctx->ops.last_error(ctx->ops.device) : nullptr;
    return ss_fail(ctx, s, "pipeline %s: %s", pipeline, msg && *msg ? msg : "cannot be made");
  }
  /* the host logic's SIMD-group bodies assume 32 lanes: every Apple GPU has them */
  if (l.simd_width != 32 || l.max_threads < 32)
    return ss_fail(ctx, SS_ERR_BACKEND, "pipeline %s: SIMD width %u and %u threads per threadgroup (need 32 and >= 32)", pipeline,
                   l.simd_width, l.max_threads);
  ctx->limits.emplace(pipeline, l);
  *out = l;
  return SS_OK;
}

ss_status ss_metal_group_width(ss_context* ctx, const char* pipeline, uint32_t want, uint32_t* out) {
  ss_metal_pipeline_limits l;
  SS_TRY(ss_metal_limits(ctx, pipeline, &l));
  uint32_t w = want < l.max_threads ? want : l.max_threads;
  *out = w - w % l.simd_width;
  return SS_OK;
}

static ss_status ss_metal_allocate(ss_context* ctx, uint64_t bytes, ss_buffer* b, const char* fn) {
  void* gpu = nullptr;
  void* contents = nullptr;
  int32_t s = ctx->ops.buffer_create(ctx->ops.device, bytes, &gpu, &contents);
  if (s != SS_OK || !gpu || !contents) {
    const char* msg = ctx->ops.last_error ? ctx->ops.last_error(ctx->ops.device) : nullptr;
    if (gpu) ctx->ops.buffer_destroy(ctx->ops.device, gpu);
    return ss_fail(ctx, s == SS_OK ? SS_ERR_OUT_OF_MEMORY : s, "%s: cannot allocate %llu bytes%s%s", fn, (unsigned long long)bytes,
                   msg && *msg ? ": " : "", msg && *msg ? msg : "");
  }
  *b = ss_buffer{gpu, contents, bytes};
  return SS_OK;
}

ss_status ss_metal_scratch(ss_context* ctx, ss_metal_scratch_slot slot, uint64_t bytes, ss_buffer** out) {
  ss_buffer& b = ctx->scratch[slot];
  if (b.gpu && b.bytes >= bytes) {
    *out = &b;
    return SS_OK;
  }
  if (b.gpu) ctx->ops.buffer_destroy(ctx->ops.device, b.gpu);
  b = ss_buffer{};
  SS_TRY(ss_metal_allocate(ctx, bytes, &b, "scratch"));
  *out = &b;
  return SS_OK;
}

extern "C" {

ss_status ss_metal_context_create(const ss_gpu_ops* ops, const char* backend_name, ss_context** out) {
  if (out) *out = nullptr;
  if (!ops || !out) {
    if (ops && ops->destroy) ops->destroy(ops->device);
    return SS_ERR_INVALID_ARGUMENT;
  }
  if (!ops->buffer_create || !ops->buffer_destroy || !ops->begin || !ops->dispatch || !ops->end || !ops->pipeline_limits) {
    if (ops->destroy) ops->destroy(ops->device);
    return SS_ERR_INVALID_ARGUMENT;
  }
  ss_context* ctx = new (std::nothrow) ss_context();
  if (!ctx) {
    if (ops->destroy) ops->destroy(ops->device);
    return SS_ERR_OUT_OF_MEMORY;
  }
  ctx->ops = *ops;
  ctx->name = backend_name ? backend_name : "metal";
  *out = ctx;
  return SS_OK;
}

void ss_metal_context_destroy(ss_context* ctx) {
  if (!ctx) return;
  for (ss_buffer& b : ctx->scratch)
    if (b.gpu) ctx->ops.buffer_destroy(ctx->ops.device, b.gpu);
  if (ctx->ops.destroy) ctx->ops.destroy(ctx->ops.device);
  delete ctx;
}

const ss_gpu_ops* ss_metal_context_ops(const ss_context* ctx) { return ctx ? &ctx->ops : nullptr; }

const char* ss_metal_last_error(const ss_context* ctx) { return ctx ? ctx->error.c_str() : "null context"; }
const char* ss_metal_backend_name(const ss_context* ctx) { return ctx ? ctx->name.c_str() : "metal"; }
/* one GPU queue; the CPU fallback's threads are the facade's own */
int32_t ss_metal_context_threads(const ss_context*) { return 1; }
int32_t ss_metal_context_unified_memory(const ss_context*) { return 1; }

ss_status ss_metal_buffer_create(ss_context* ctx, uint64_t bytes, ss_buffer** out) {
  if (!ctx || !out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (bytes == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_buffer_create: size is 0 bytes");
  ss_buffer* b = new (std::nothrow) ss_buffer();
  if (!b) return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_buffer_create: out of host memory");
  ss_status s = ss_metal_allocate(ctx, bytes, b, "ss_buffer_create");
  if (s != SS_OK) {
    delete b;
    return s;
  }
  *out = b;
  return SS_OK;
}

void ss_metal_buffer_destroy(ss_context* ctx, ss_buffer* buf) {
  if (!buf) return;
  if (ctx && buf->gpu) ctx->ops.buffer_destroy(ctx->ops.device, buf->gpu);
  delete buf;
}

uint64_t ss_metal_buffer_size(const ss_buffer* buf) { return buf ? buf->bytes : 0; }
void* ss_metal_buffer_host_ptr(ss_buffer* buf) { return buf ? buf->contents : nullptr; }

/* unified memory: the GPU reads contents itself, so a transfer is its range check */
ss_status ss_metal_buffer_upload(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  return ss_check_range(ctx, buf, offset, bytes, "ss_buffer_upload");
}

ss_status ss_metal_buffer_download(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  return ss_check_range(ctx, buf, offset, bytes, "ss_buffer_download");
}

/* calls are synchronous (each waits for its command buffer), so no GPU work is in flight here */
ss_status ss_metal_buffer_fill(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes, uint32_t value) {
  ss_status s = ss_check_range(ctx, buf, offset, bytes, "ss_buffer_fill");
  if (s != SS_OK || bytes == 0) return s;
  memset(static_cast<char*>(buf->contents) + offset, (int)(value & 0xff), bytes);
  return SS_OK;
}

/* Kernels here read only GPU buffers; the CPU fallback wraps this backend's
 * buffers (on the CPU library), never the reverse. */
ss_status ss_metal_buffer_wrap(ss_context* ctx, void*, uint64_t, ss_buffer** out) {
  if (out) *out = nullptr;
  return ss_fail(ctx, SS_ERR_UNSUPPORTED, "ss_buffer_wrap: the Metal backend does not wrap host memory (the CPU library wraps its buffers)");
}

}  // extern "C"

ss_status ss_metal_run_elementwise(ss_context* ctx, const char* fn, const char* pipeline, uint64_t n, const void* args, uint32_t args_bytes,
                                   std::initializer_list<ss_buffer*> buffers) {
  if (n == 0) return SS_OK;
  /* the bodies index elements with 32-bit integers */
  if (n > 0xffffffffull)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: %llu elements do not fit 32-bit indices", fn, (unsigned long long)n);
  uint32_t width = 0;
  SS_TRY(ss_metal_group_width(ctx, pipeline, 256, &width));
  ss_metal_launch launch(pipeline);
  launch.threads((uint32_t)n, 1, 1, width).bytes(0, args, args_bytes);
  uint32_t index = 1;
  for (ss_buffer* b : buffers) launch.buffer(index++, b);
  SS_TRY(ss_metal_begin(ctx));
  ss_metal_dispatch(ctx, launch);
  return ss_metal_end(ctx, fn);
}
