/* MASt3R's post-processing on Metal: nearest neighbours (brute force and
 * fast_reciprocal_NNs' queries), similarities and InfoNCE through the GPU-shaped
 * bodies CUDA runs too (mast3r_nn_gpu.h, mast3r_similarity_gpu.h over the
 * simdgroup_float8x8 tile step of mast3r_tile_gpu.h), and triangulation,
 * matches_to_depths and the TSDF refinement per element in float-float
 * (mast3r_real.h). Buffer 0 is the parameters (setBytes); the host logic is
 * native/metal_host/mast3r.cpp. Tile kernels run in threadgroups of exactly
 * M3T_THREADS (128) threads. */
#include "../native/compat/metal.h"
#include "../native/include/scanstream.h"
#include "../native/kernels/mast3r_real.h"
#include "../native/kernels/mast3r_gpu_params.h"
#include "../native/kernels/mast3r_tile_gpu.h"
#include "../native/kernels/mast3r_nn_gpu.h"
#include "../native/kernels/mast3r_similarity_gpu.h"
#include "../native/kernels/mast3r_triangulate.h"
#include "../native/kernels/mast3r_tsdf.h"

/* info = {rows, dim}: the largest norm of each group of 128 rows into partial[group] */
kernel void k_m3_maxnorm(constant uint* info [[buffer(0)]], device const float* src [[buffer(1)]], device float* partial [[buffer(2)]],
                         uint group [[threadgroup_position_in_grid]], uint t [[thread_index_in_threadgroup]]) {
  SS_THREADGROUP_ARRAY(float, red, M3T_THREADS);
  m3g_max_norm(group, t, M3T_THREADS, info[0], info[1], src, red, partial);
}

/* info = {count}: the largest of count partials into *target (one threadgroup) */
kernel void k_m3_maxreduce(constant uint* info [[buffer(0)]], device const float* partial [[buffer(1)]], device float* target [[buffer(2)]],
                           uint t [[thread_index_in_threadgroup]]) {
  SS_THREADGROUP_ARRAY(float, red, M3T_THREADS);
  m3g_max_reduce(t, M3T_THREADS, info[0], partial, red, target);
}

/* threadgroup (row block, column split); gather: query pixel indices when p.gather */
kernel void k_m3_scan(constant m3g_nn_params& p [[buffer(0)]], device const float* A [[buffer(1)]], device const int* gather [[buffer(2)]],
                      device const float* B [[buffer(3)]], device float* scratch [[buffer(4)]], uint2 group [[threadgroup_position_in_grid]],
                      uint t [[thread_index_in_threadgroup]]) {
  SS_THREADGROUP_ARRAY(float, sm, M3T_SHARED_FLOATS);
  m3g_nn_scan(p, group.x, group.y, t, A, gather, B, scratch, sm);
}

/* merges and the exact re-scan: a SIMD-group per row, column, (entry, chunk) work item or entry, M3T_THREADS to a threadgroup */
kernel void k_m3_merge_rows(constant m3g_nn_params& p [[buffer(0)]], device const float* A [[buffer(1)]], device const int* gather [[buffer(2)]],
                            device float* scratch [[buffer(4)]], device const float* stats [[buffer(5)]], device int* out [[buffer(6)]],
                            uint group [[threadgroup_position_in_grid]], uint simd [[simdgroup_index_in_threadgroup]],
                            uint simds [[simdgroups_per_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  m3g_nn_merge_rows(p, group * simds + simd, lane, A, gather, scratch, stats, out);
}

kernel void k_m3_merge_cols(constant m3g_nn_params& p [[buffer(0)]], device const float* B [[buffer(3)]], device float* scratch [[buffer(4)]],
                            device const float* stats [[buffer(5)]], device int* out [[buffer(7)]], uint group [[threadgroup_position_in_grid]],
                            uint simd [[simdgroup_index_in_threadgroup]], uint simds [[simdgroups_per_threadgroup]],
                            uint lane [[thread_index_in_simdgroup]]) {
  m3g_nn_merge_cols(p, group * simds + simd, lane, B, scratch, stats, out);
}

kernel void k_m3_rescan_best(constant m3g_nn_params& p [[buffer(0)]], device const float* A [[buffer(1)]], device const int* gather [[buffer(2)]],
                             device const float* B [[buffer(3)]], device const float* scratch [[buffer(4)]], device const float* stats [[buffer(5)]],
                             device uint* rkey [[buffer(6)]], device int* ridx [[buffer(7)]], uint group [[threadgroup_position_in_grid]],
                             uint simd [[simdgroup_index_in_threadgroup]], uint simds [[simdgroups_per_threadgroup]],
                             uint lane [[thread_index_in_simdgroup]]) {
  m3g_nn_rescan_best(p, (ulong)group * simds + simd, lane, A, gather, B, scratch, stats, rkey, ridx);
}

kernel void k_m3_rescan_finish(constant m3g_nn_params& p [[buffer(0)]], device const float* scratch [[buffer(4)]], device const uint* rkey [[buffer(6)]],
                               device const int* ridx [[buffer(7)]], device int* out_rows [[buffer(8)]], device int* out_cols [[buffer(9)]],
                               uint group [[threadgroup_position_in_grid]], uint simd [[simdgroup_index_in_threadgroup]],
                               uint simds [[simdgroups_per_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  m3g_nn_rescan_finish(p, group * simds + simd, lane, scratch, rkey, ridx, out_rows, out_cols);
}

/* threadgroup (batch · row blocks, column split): similarities into out, or log-sum-exp partials (p.lse) */
kernel void k_m3_sim_scan(constant m3g_sim_params& p [[buffer(0)]], device const float* desc1 [[buffer(1)]], device const float* desc2 [[buffer(2)]],
                          device float* out [[buffer(3)]], uint2 group [[threadgroup_position_in_grid]], uint t [[thread_index_in_threadgroup]]) {
  SS_THREADGROUP_ARRAY(float, sm, M3T_SHARED_FLOATS);
  m3g_sim_scan(p, group.x, group.y, t, desc1, desc2, out, sm);
}

kernel void k_m3_infonce(constant m3g_infonce_params& p [[buffer(0)]], device const float* desc1 [[buffer(1)]], device const float* desc2 [[buffer(2)]],
                         device const float* part [[buffer(3)]], device float* loss [[buffer(4)]], uint i [[thread_position_in_grid]]) {
  m3g_infonce_pair(p, i, desc1, desc2, part, loss);
}

kernel void k_mast3r_triangulate(constant ss_mast3r_triangulate_args& args [[buffer(0)]], device const float* pts2d [[buffer(1)]],
                                 device const float* proj [[buffer(2)]], device float* out [[buffer(3)]], uint i [[thread_position_in_grid]]) {
  mast3r_triangulate_point(args, i, pts2d, proj, out);
}

kernel void k_mast3r_matches_to_depths(constant ss_mast3r_matches_to_depths_args& args [[buffer(0)]], device const float* matches [[buffer(1)]],
                                       device const float* cams [[buffer(2)]], device float* points [[buffer(3)]], device float* depths [[buffer(4)]],
                                       device float* confs [[buffer(5)]], uint i [[thread_position_in_grid]]) {
  mast3r_matches_depth_pixel(args, i, matches, cams, points, depths, confs);
}

kernel void k_mast3r_refine_depths_tsdf(constant ss_mast3r_refine_depths_tsdf_args& args [[buffer(0)]], device const float* depths [[buffer(1)]],
                                        device const float* confs [[buffer(2)]], device const float* cams [[buffer(3)]], device float* out [[buffer(4)]],
                                        uint i [[thread_position_in_grid]]) {
  mast3r_tsdf_refine_pixel(args, i, depths, confs, cams, out);
}
