/* Host-side error helpers shared by every backend. Include after the backend has
 * defined struct ss_context (with std::string error) and struct ss_buffer (with bytes). */
#ifndef SS_COMMON_STATUS_H
#define SS_COMMON_STATUS_H

#include "scanstream.h"

#include <cstdarg>
#include <cstdio>

inline ss_status ss_fail(ss_context* ctx, ss_status code, const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (ctx) ctx->error = msg;
  return code;
}

/* checks a buffer exists and holds at least bytes */
inline bool ss_check_buffer(ss_context* ctx, const ss_buffer* buf, uint64_t bytes, const char* name) {
  if (!buf) {
    ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "buffer '%s' is null", name);
    return false;
  }
  if (buf->bytes < bytes) {
    ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "buffer '%s' holds %llu bytes, the call needs %llu", name,
            (unsigned long long)buf->bytes, (unsigned long long)bytes);
    return false;
  }
  return true;
}

/* a byte range of a buffer, for upload/download/fill */
inline ss_status ss_check_range(ss_context* ctx, const ss_buffer* buf, uint64_t offset, uint64_t bytes, const char* fn) {
  if (!ctx) return SS_ERR_INVALID_ARGUMENT;
  if (!buf) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: buffer is null", fn);
  if (offset > buf->bytes || bytes > buf->bytes - offset)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: range [%llu, +%llu) is outside a %llu-byte buffer", fn,
                   (unsigned long long)offset, (unsigned long long)bytes, (unsigned long long)buf->bytes);
  return SS_OK;
}

#define SS_REQUIRE_BUFFER(ctx, buf, bytes)                                                        \
  do {                                                                                            \
    if (!ss_check_buffer((ctx), (buf), (uint64_t)(bytes), #buf)) return SS_ERR_INVALID_ARGUMENT; \
  } while (0)
/* a backend may refuse kernels at entry (the CPU stand-in for a partial backend does) */
#ifndef SS_KERNEL_ENTRY_HOOK
#define SS_KERNEL_ENTRY_HOOK(ctx, fn)
#endif
/* first line of every kernel entry point */
#define SS_REQUIRE_ARGS(ctx, args)                                                                  \
  do {                                                                                              \
    if (!(ctx)) return SS_ERR_INVALID_ARGUMENT;                                                     \
    SS_KERNEL_ENTRY_HOOK(ctx, __func__);                                                            \
    if (!(args)) return ss_fail((ctx), SS_ERR_INVALID_ARGUMENT, "%s: args is null", __func__);      \
    (ctx)->error.clear();                                                                           \
  } while (0)
#define SS_TRY(expr)                    \
  do {                                  \
    ss_status ss_try_status_ = (expr);  \
    if (ss_try_status_ != SS_OK) return ss_try_status_; \
  } while (0)

#endif
