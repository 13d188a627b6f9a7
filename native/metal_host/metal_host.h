/* The Metal backend's host logic: every function of the C ABI as ss_metal_<name>,
 * the same signature as ss_<name> (scanstream.h), written once over a table of
 * GPU operations (gpu_ops.h). ScanKit's Swift exports each ss_<name> as a call of
 * ss_metal_<name> inside an autorelease pool; the emulator library exports them
 * directly. Plain C interface (Swift imports it); C++ inside. */
#ifndef SS_METAL_HOST_H
#define SS_METAL_HOST_H

#include "scanstream.h"
#include "gpu_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A context over a GPU implementation: copies *ops, and calls ops->destroy(ops->device)
 * when the context is destroyed (also when this call fails). backend_name is what
 * ss_backend_name answers ("metal", "metal-emu"). */
ss_status ss_metal_context_create(const ss_gpu_ops* ops, const char* backend_name, ss_context** out);

void ss_metal_context_destroy(ss_context* ctx);
/* the context's copy of the operations table (an implementation finds its own state through it) */
const ss_gpu_ops* ss_metal_context_ops(const ss_context* ctx);
const char* ss_metal_last_error(const ss_context* ctx);
const char* ss_metal_backend_name(const ss_context* ctx);
int32_t ss_metal_context_threads(const ss_context* ctx);
int32_t ss_metal_context_unified_memory(const ss_context* ctx);
int32_t ss_metal_kernel_supported(const ss_context* ctx, const char* kernel);
ss_status ss_metal_buffer_create(ss_context* ctx, uint64_t bytes, ss_buffer** out);
void ss_metal_buffer_destroy(ss_context* ctx, ss_buffer* buf);
uint64_t ss_metal_buffer_size(const ss_buffer* buf);
void* ss_metal_buffer_host_ptr(ss_buffer* buf);
ss_status ss_metal_buffer_upload(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes);
ss_status ss_metal_buffer_download(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes);
ss_status ss_metal_buffer_fill(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes, uint32_t value);
ss_status ss_metal_buffer_wrap(ss_context* ctx, void* host, uint64_t bytes, ss_buffer** out);

/* every kernel of SS_KERNEL_TABLE: ss_metal_<kernel>(ctx, args, buffers...) */
#define SS_METAL_DECLARE_KERNEL_(name, buffers) \
  ss_status ss_metal_##name(ss_context* ctx, const ss_##name##_args* args buffers);
SS_KERNEL_TABLE(SS_METAL_DECLARE_KERNEL_, SS_KERNEL_PARAM_, SS_KERNEL_PARAM_, SS_KERNEL_PARAM_)
#undef SS_METAL_DECLARE_KERNEL_

#ifdef __cplusplus
}
#endif
#endif
