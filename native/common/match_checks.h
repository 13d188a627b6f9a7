/* Argument checks of reciprocal matching (ss_hamming_match, ss_float_match),
 * shared by every backend's launchers (host code): the same status and
 * message everywhere before anything runs. Include after status.h (the
 * backend's ss_context and ss_buffer). */
#ifndef SS_COMMON_MATCH_CHECKS_H
#define SS_COMMON_MATCH_CHECKS_H

#include "status.h"

#include <cstdint>

inline ss_status ss_check_hamming_match(ss_context* ctx, const ss_hamming_match_args& p, const ss_buffer* a, const ss_buffer* b,
                                        const ss_buffer* out_a, const ss_buffer* out_b) {
  const char* fn = "ss_hamming_match";
  if (p.words == 0 || p.words > 64) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: words must be 1..64 (32..2048 bits), got %u", fn, p.words);
  if (p.n == 0 || p.m == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: empty descriptor set (n=%u, m=%u)", fn, p.n, p.m);
  if (p.n > (uint32_t)INT32_MAX / 4 || p.m > (uint32_t)INT32_MAX / 4) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: too many descriptors", fn);
  if (!ss_check_buffer(ctx, a, (uint64_t)p.n * p.words * 4, "a")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, b, (uint64_t)p.m * p.words * 4, "b")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, out_a, (uint64_t)p.n * 16, "out_a")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, out_b, (uint64_t)p.m * 8, "out_b")) return SS_ERR_INVALID_ARGUMENT;
  return SS_OK;
}

inline ss_status ss_check_float_match(ss_context* ctx, const ss_float_match_args& p, const ss_buffer* a, const ss_buffer* b,
                                      const ss_buffer* out_a, const ss_buffer* out_b) {
  const char* fn = "ss_float_match";
  if (p.dim == 0 || p.dim > 4096) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: dim must be 1..4096, got %u", fn, p.dim);
  if (p.n == 0 || p.m == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: empty descriptor set (n=%u, m=%u)", fn, p.n, p.m);
  if (p.dist != SS_DIST_L2 && p.dist != SS_DIST_DOT)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: dist must be SS_DIST_DOT (0) or SS_DIST_L2 (1), got %u", fn, p.dist);
  if (p.n > (uint32_t)INT32_MAX / 4 || p.m > (uint32_t)INT32_MAX / 4) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: too many descriptors", fn);
  if (!ss_check_buffer(ctx, a, (uint64_t)p.n * p.dim * 4, "a")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, b, (uint64_t)p.m * p.dim * 4, "b")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, out_a, (uint64_t)p.n * 16, "out_a")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, out_b, (uint64_t)p.m * 8, "out_b")) return SS_ERR_INVALID_ARGUMENT;
  return SS_OK;
}

#endif
