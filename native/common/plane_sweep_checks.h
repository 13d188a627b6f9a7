/* Argument checks of plane-sweep stereo (ss_plane_sweep), shared by every
 * backend's launchers (host code): the same status and message everywhere
 * before anything runs. Include after status.h (the backend's ss_context and
 * ss_buffer). */
#ifndef SS_COMMON_PLANE_SWEEP_CHECKS_H
#define SS_COMMON_PLANE_SWEEP_CHECKS_H

#include "status.h"

#include <cmath>
#include <cstdint>

/* *np: pixels of the reference image */
inline ss_status ss_check_plane_sweep(ss_context* ctx, const ss_plane_sweep_args& a, const ss_buffer* ref, const ss_buffer* src,
                                      const ss_buffer* cost, const ss_buffer* depth, const ss_buffer* quality, uint64_t* np) {
  const char* fn = "ss_plane_sweep";
  if (a.views < 1 || a.views > SS_PLANE_SWEEP_MAX_VIEWS)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: views must be 1..%d, got %u", fn, SS_PLANE_SWEEP_MAX_VIEWS, a.views);
  if (a.planes < 3 || a.planes > SS_PLANE_SWEEP_MAX_PLANES)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: planes must be 3..%d, got %u", fn, SS_PLANE_SWEEP_MAX_PLANES, a.planes);
  if (a.radius < 1 || a.radius > 7) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: radius must be 1..7, got %u", fn, a.radius);
  if (a.width < 2 * a.radius + 2 || a.height < 2 * a.radius + 2)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: image %ux%u is smaller than the %u-pixel window", fn, a.width, a.height,
                   2 * a.radius + 1);
  if (!(a.fx > 0.0f) || !(a.fy > 0.0f) || !std::isfinite(a.cx) || !std::isfinite(a.cy))
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: focal lengths must be > 0 and the principal point finite", fn);
  if (!(a.min_depth > 0.0f) || !(a.max_depth > a.min_depth) || !std::isfinite(a.max_depth))
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: need 0 < min_depth < max_depth < inf, got [%g, %g]", fn, (double)a.min_depth,
                   (double)a.max_depth);
  if (!(a.min_variance >= 0.0f)) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: min_variance must be >= 0", fn);
  for (uint32_t k = 0; k < 12 * a.views; ++k)
    if (!std::isfinite(a.ref_to_src[k])) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: a view pose is not finite", fn);
  const uint64_t n = (uint64_t)a.width * a.height;
  if (!ss_check_buffer(ctx, ref, n, "ref")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, src, n * a.views, "src")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, cost, n * a.planes * 4, "cost")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, depth, n * 4, "depth")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, quality, n * 8, "quality")) return SS_ERR_INVALID_ARGUMENT;
  *np = n;
  return SS_OK;
}

#endif
