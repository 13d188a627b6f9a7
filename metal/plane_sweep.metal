/* Plane-sweep stereo on Metal: the reference window statistics and the
 * winner-take-all one thread per pixel (plane_sweep.h), the cost volume one
 * threadgroup per tile and plane (plane_sweep_gpu.h, shared with CUDA).
 * Buffer 0 is the args struct, the ABI's buffers follow in table order, then
 * the statistics (scratch) and the tile grid. */
#include "../native/compat/metal.h"
#include "../native/include/scanstream.h"
#include "../native/kernels/plane_sweep.h"
#include "../native/kernels/plane_sweep_gpu.h"

kernel void k_plane_sweep_stats(constant ss_plane_sweep_args& args [[buffer(0)]], device const uchar* ref [[buffer(1)]],
                                device float* stats [[buffer(6)]], uint i [[thread_position_in_grid]]) {
  const ss_plane_sweep_args a = args;
  plane_sweep_ref_stats_pixel(a, (int)(i % a.width), (int)(i / a.width), ref, stats);
}

/* tiles = {tiles across, tiles down}; threadgroup = plane · tiles + tile */
kernel void k_plane_sweep_tiles(constant ss_plane_sweep_args& args [[buffer(0)]], device const uchar* ref [[buffer(1)]],
                                device const uchar* src [[buffer(2)]], device float* cost [[buffer(3)]], device const float* stats [[buffer(6)]],
                                constant uint* tiles [[buffer(7)]], uint group [[threadgroup_position_in_grid]],
                                uint t [[thread_index_in_threadgroup]], uint n [[threads_per_threadgroup]]) {
  SS_THREADGROUP_ARRAY(float, warped, SS_PS_WARPED_FLOATS);
  SS_THREADGROUP_ARRAY(float, hs, SS_PS_HSUM_FLOATS);
  SS_THREADGROUP_ARRAY(float, vcost, SS_PS_COST_FLOATS);
  const ss_plane_sweep_args a = args;
  plane_sweep_tile_group(a, tiles[0], tiles[1], group, t, n, ref, src, stats, warped, hs, vcost, cost);
}

kernel void k_plane_sweep_select(constant ss_plane_sweep_args& args [[buffer(0)]], device const float* cost [[buffer(3)]],
                                 device float* depth [[buffer(4)]], device float* quality [[buffer(5)]], device const float* stats [[buffer(6)]],
                                 uint i [[thread_position_in_grid]]) {
  const ss_plane_sweep_args a = args;
  plane_sweep_select_pixel(a, i, cost, stats, depth, quality);
}
