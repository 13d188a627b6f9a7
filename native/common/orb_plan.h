/* ORB extraction's host side shared by every backend: the argument checks
 * (the same status and message everywhere) and the plan of the pyramid —
 * level sizes, scales and each level's share of the features — exactly as
 * the CPU computes it. Include after status.h (the backend's ss_context and
 * ss_buffer). */
#ifndef SS_COMMON_ORB_PLAN_H
#define SS_COMMON_ORB_PLAN_H

#include "status.h"
#include "../kernels/orb_gpu_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#define SS_ORB_LEVELS_MAX 16

struct ss_orb_level_plan {
  int32_t w, h;
  uint64_t off;  /* the level's first pixel when the levels lie one after another */
  float scale;   /* level-0 pixels per level pixel */
  int32_t want;  /* the level's share of max_features */
};

/* *edge: the border keypoints keep (≥ 17: the 15-pixel orientation disc and the CPU's 32-byte row loads) */
inline ss_status ss_check_orb_extract(ss_context* ctx, const ss_orb_extract_args& a, const ss_buffer* gray, const ss_buffer* keypoints,
                                      const ss_buffer* descriptors, const ss_buffer* count, int32_t* edge) {
  const char* fn = "ss_orb_extract";
  *edge = (int32_t)std::max<uint32_t>(a.edge, 17);
  if (a.width < (uint32_t)(2 * *edge + 8) || a.height < (uint32_t)(2 * *edge + 8))
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: image %ux%u is too small for a %d-pixel border", fn, a.width, a.height, *edge);
  if (a.levels < 1 || a.levels > SS_ORB_LEVELS_MAX) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: levels must be 1..16, got %u", fn, a.levels);
  if (!(a.scale_factor > 1.0f) || !(a.scale_factor <= 2.0f))
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: scale_factor must be in (1, 2], got %g", fn, (double)a.scale_factor);
  if (a.max_features == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: max_features is 0", fn);
  if (a.fast_threshold == 0 || a.fast_threshold > 254 || a.fast_min_threshold == 0 || a.fast_min_threshold > a.fast_threshold)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: need 0 < fast_min_threshold <= fast_threshold < 255", fn);
  if (a.grid_cell < 8) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: grid_cell must be >= 8 pixels", fn);
  if (!ss_check_buffer(ctx, gray, (uint64_t)a.width * a.height, "gray")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, keypoints, (uint64_t)a.max_features * 32, "keypoints")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, descriptors, (uint64_t)a.max_features * 32, "descriptors")) return SS_ERR_INVALID_ARGUMENT;
  if (!ss_check_buffer(ctx, count, 4, "count")) return SS_ERR_INVALID_ARGUMENT;
  return SS_OK;
}

/* the levels (down to the first too small for the border) and max_features split in proportion to their
 * area, the last level taking the remainder; returns their count, *total the pixels of all */
inline int32_t ss_orb_plan_levels(const ss_orb_extract_args& a, int32_t edge, ss_orb_level_plan* L, uint64_t* total) {
  int32_t nl = 0;
  *total = 0;
  for (uint32_t l = 0; l < a.levels; ++l) {
    const float sc = std::pow(a.scale_factor, (float)l);
    const int32_t w = (int32_t)std::lround(a.width / sc), h = (int32_t)std::lround(a.height / sc);
    if (w < 2 * edge + 8 || h < 2 * edge + 8) break;
    L[nl++] = ss_orb_level_plan{w, h, *total, sc, 0};
    *total += (uint64_t)w * h;
  }
  const double f2 = 1.0 / ((double)a.scale_factor * a.scale_factor);
  double sum = 0;
  for (int32_t l = 0; l < nl; ++l) sum += std::pow(f2, l);
  int32_t given = 0;
  for (int32_t l = 0; l < nl; ++l) {
    L[l].want = l == nl - 1 ? (int32_t)a.max_features - given : (int32_t)std::lround(a.max_features * std::pow(f2, l) / sum);
    given += L[l].want;
  }
  return nl;
}

/* ---- the GPU backends: the plan their kernels read (orb_gpu_plan.h) and where the parts of their scratch lie */

struct ss_orb_gpu_layout {
  /* byte offsets into one scratch region, each 256-byte aligned */
  uint64_t pyr, tmp, smooth, score, cell_count, level_count, cell_taken, cand, entries, level_take, selected, bytes;
};

/* as SS_ORB_ENTRY_WORDS / SS_ORB_SELECTED_WORDS in native/kernels/orb_gpu.h */
#define SS_ORB_GPU_ENTRY_BYTES 16u
#define SS_ORB_GPU_SELECTED_BYTES 32u

inline ss_status ss_orb_gpu_prepare(ss_context* ctx, const ss_orb_extract_args& a, int32_t edge, ss_orb_gpu_plan* plan,
                                    ss_orb_gpu_layout* lay) {
  const char* fn = "ss_orb_extract";
  ss_orb_level_plan L[SS_ORB_LEVELS_MAX];
  uint64_t total = 0;
  const int32_t nl = ss_orb_plan_levels(a, edge, L, &total);
  *plan = ss_orb_gpu_plan{};
  plan->levels = (uint32_t)nl;
  plan->edge = (uint32_t)edge;
  plan->cell = a.grid_cell;
  plan->max_features = a.max_features;
  plan->fast_threshold = a.fast_threshold;
  plan->fast_min_threshold = a.fast_min_threshold;
  plan->harris_k = a.harris_k;
  uint64_t cells = 0, entries = 0, rounds = 0;
  for (int32_t l = 0; l < nl; ++l) {
    ss_orb_gpu_level& q = plan->level[l];
    const int32_t cp = (int32_t)a.grid_cell;
    const int32_t cw = (L[l].w - 2 * edge + cp - 1) / cp, ch = (L[l].h - 2 * edge + cp - 1) / cp, n = cw * ch;
    q.w = (uint32_t)L[l].w;
    q.h = (uint32_t)L[l].h;
    q.off = (uint32_t)L[l].off;
    q.cells_x = (uint32_t)cw;
    q.cells_y = (uint32_t)ch;
    q.cell_base = (uint32_t)cells;
    q.want = L[l].want;
    /* Harris for about twice the level's share, spread over the cells (the CPU's keepPerCell) */
    q.keep = (uint32_t)std::max<int32_t>(2, (2 * L[l].want + n - 1) / std::max<int32_t>(1, n));
    q.entry_base = (uint32_t)entries;
    q.round_base = (uint32_t)rounds;
    q.scale = L[l].scale;
    cells += (uint64_t)n;
    entries += (uint64_t)n * q.keep;
    rounds += q.keep;
    if (total > 0xffffffffull || cells > 0x7fffffffull || entries > 0xffffffffull || rounds > 0x7fffffffull)
      return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: the image, its grid or max_features is too large for 32-bit indices", fn);
  }
  plan->pixels = (uint32_t)total;
  plan->cells = (uint32_t)cells;
  plan->entries = (uint32_t)entries;
  plan->rounds = (uint32_t)rounds;
  uint64_t at = 0;
  const auto part = [&at](uint64_t bytes) {
    const uint64_t here = at;
    at += (bytes + 255) / 256 * 256;
    return here;
  };
  lay->pyr = part(total);
  lay->tmp = part(total);
  lay->smooth = part(total);
  lay->score = part(total);
  lay->cell_count = part(cells * 4);
  lay->level_count = part(SS_ORB_GPU_LEVELS * 4);
  lay->cell_taken = part(cells * 4);
  lay->cand = part(entries * SS_ORB_GPU_ENTRY_BYTES);
  lay->entries = part(entries * SS_ORB_GPU_ENTRY_BYTES);
  lay->level_take = part(SS_ORB_GPU_LEVELS * 8);
  lay->selected = part((uint64_t)a.max_features * SS_ORB_GPU_SELECTED_BYTES);
  lay->bytes = at;
  return SS_OK;
}

#endif
