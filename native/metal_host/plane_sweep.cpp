/* Plane-sweep stereo on Metal (metal/plane_sweep.metal): the shared argument
 * checks, then the reference statistics per pixel, the cost volume per tile
 * and plane, the winner-take-all per pixel, in one command buffer. */
#include "host.h"
#include "../common/plane_sweep_checks.h"

/* as SS_PS_TILE in native/kernels/plane_sweep_gpu.h */
static const uint32_t kTile = 16;

extern "C" {

ss_status ss_metal_plane_sweep(ss_context* ctx, const ss_plane_sweep_args* args, ss_buffer* ref, ss_buffer* src, ss_buffer* cost,
                               ss_buffer* depth, ss_buffer* quality) {
  const char* fn = "ss_plane_sweep";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_plane_sweep_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_plane_sweep(ctx, a, ref, src, cost, depth, quality, &n));
  if (n > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: %llu pixels do not fit 32-bit indices", fn, (unsigned long long)n);
  const uint32_t tiles[2] = {(a.width + kTile - 1) / kTile, (a.height + kTile - 1) / kTile};
  const uint64_t groups = (uint64_t)tiles[0] * tiles[1] * a.planes;
  if (groups > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: %llu tiles × planes are too many", fn, (unsigned long long)groups);
  uint32_t stats_width = 0, tile_width = 0, select_width = 0;
  SS_TRY(ss_metal_group_width(ctx, "k_plane_sweep_stats", 256, &stats_width));
  /* the tile body loops over its pixels: any thread count works, 256 (one per pixel) is the natural one */
  SS_TRY(ss_metal_group_width(ctx, "k_plane_sweep_tiles", kTile * kTile, &tile_width));
  SS_TRY(ss_metal_group_width(ctx, "k_plane_sweep_select", 256, &select_width));
  ss_buffer* stats = nullptr;
  SS_TRY(ss_metal_scratch(ctx, SS_METAL_SCRATCH_SWEEP, 2 * n * 4, &stats));
  SS_TRY(ss_metal_begin(ctx));
  ss_metal_dispatch(ctx, ss_metal_launch("k_plane_sweep_stats").threads((uint32_t)n, 1, 1, stats_width).bytes(0, &a, sizeof a).buffer(1, ref)
                             .buffer(6, stats));
  ss_metal_dispatch(ctx, ss_metal_launch("k_plane_sweep_tiles").groups((uint32_t)groups, tile_width).bytes(0, &a, sizeof a).buffer(1, ref)
                             .buffer(2, src).buffer(3, cost).buffer(6, stats).bytes(7, tiles, sizeof tiles));
  ss_metal_dispatch(ctx, ss_metal_launch("k_plane_sweep_select").threads((uint32_t)n, 1, 1, select_width).bytes(0, &a, sizeof a).buffer(3, cost)
                             .buffer(4, depth).buffer(5, quality).buffer(6, stats));
  return ss_metal_end(ctx, fn);
}

}  // extern "C"
