/* ORB extraction on Metal: the passes of native/kernels/orb_gpu.h (shared
 * with CUDA) over all pyramid levels, in one command buffer per call.
 * Buffer 0 is the plan (orb_gpu_plan.h); the ABI's buffers (gray 1,
 * keypoints 2, descriptors 3, count 4) keep their indices, the scratch parts
 * follow. */
#include "../native/compat/metal.h"
#include "../native/include/scanstream.h"
#include "../native/kernels/fast.h"
#include "../native/kernels/orb_pattern.h"
#include "../native/kernels/orb.h"
#include "../native/kernels/orb_gpu_plan.h"
#include "../native/kernels/orb_gpu.h"

/* level = the level made (1 ..), from the one before */
kernel void k_orb_resize(constant ss_orb_gpu_plan& plan [[buffer(0)]], device const uchar* gray [[buffer(1)]], device uchar* pyr [[buffer(5)]],
                         constant uint& level [[buffer(13)]], uint i [[thread_position_in_grid]]) {
  orb_gpu_resize(plan, level, i, gray, pyr);
}

/* dir 0: pyramid → tmp (rows), 1: tmp → smooth (columns) */
kernel void k_orb_blur(constant ss_orb_gpu_plan& plan [[buffer(0)]], device const uchar* gray [[buffer(1)]], device const uchar* pyr [[buffer(5)]],
                       device uchar* tmp [[buffer(6)]], device uchar* smooth [[buffer(7)]], constant uint& dir [[buffer(13)]],
                       uint g [[thread_position_in_grid]]) {
  orb_gpu_blur(plan, dir, g, gray, pyr, tmp, smooth);
}

kernel void k_orb_fast(constant ss_orb_gpu_plan& plan [[buffer(0)]], device const uchar* gray [[buffer(1)]], device const uchar* pyr [[buffer(5)]],
                       device uchar* score [[buffer(8)]], device uint* cell_count [[buffer(9)]], device uint* level_count [[buffer(10)]],
                       uint g [[thread_position_in_grid]]) {
  orb_gpu_fast(plan, g, gray, pyr, score, cell_count, level_count);
}

kernel void k_orb_fast_retry(constant ss_orb_gpu_plan& plan [[buffer(0)]], device const uchar* gray [[buffer(1)]],
                             device const uchar* pyr [[buffer(5)]], device uchar* score [[buffer(8)]], device const uint* cell_count [[buffer(9)]],
                             device const uint* level_count [[buffer(10)]], uint g [[thread_position_in_grid]]) {
  orb_gpu_fast_retry(plan, g, gray, pyr, score, cell_count, level_count);
}

/* one threadgroup per grid cell of every level */
kernel void k_orb_cells(constant ss_orb_gpu_plan& plan [[buffer(0)]], device const uchar* gray [[buffer(1)]], device const uchar* pyr [[buffer(5)]],
                        device const uchar* score [[buffer(8)]], device uint* cell_taken [[buffer(11)]], device uint* cand [[buffer(12)]],
                        device uint* entries [[buffer(14)]], uint cell [[threadgroup_position_in_grid]], uint t [[thread_index_in_threadgroup]],
                        uint n [[threads_per_threadgroup]]) {
  SS_THREADGROUP_ARRAY(uint, hist, 256);
  SS_THREADGROUP_ARRAY(uint, tot, SS_ORB_CELL_THREADS / 32);
  SS_THREADGROUP_ARRAY(uint, vals, 4);
  orb_gpu_cell(plan, cell, t, n, gray, pyr, score, cand, entries, cell_taken, hist, tot, vals);
}

/* one threadgroup: each level's take and first keypoint, and the count */
kernel void k_orb_levels(constant ss_orb_gpu_plan& plan [[buffer(0)]], device uint* count [[buffer(4)]], device const uint* cell_taken [[buffer(11)]],
                         device uint* level_take [[buffer(15)]], uint t [[thread_index_in_threadgroup]], uint n [[threads_per_threadgroup]]) {
  SS_THREADGROUP_ARRAY(uint, tot, SS_ORB_LEVEL_THREADS / 32);
  orb_gpu_levels(plan, t, n, cell_taken, level_take, count, tot);
}

/* one threadgroup per round of every level */
kernel void k_orb_order(constant ss_orb_gpu_plan& plan [[buffer(0)]], device const uint* cell_taken [[buffer(11)]],
                        device const uint* entries [[buffer(14)]], device const uint* level_take [[buffer(15)]], device uint* selected [[buffer(16)]],
                        uint g [[threadgroup_position_in_grid]], uint t [[thread_index_in_threadgroup]], uint n [[threads_per_threadgroup]]) {
  SS_THREADGROUP_ARRAY(uint, tot, SS_ORB_ORDER_THREADS / 32);
  orb_gpu_order(plan, g, t, n, entries, cell_taken, level_take, selected, tot);
}

/* one SIMD-group per keypoint */
kernel void k_orb_describe(constant ss_orb_gpu_plan& plan [[buffer(0)]], device const uchar* gray [[buffer(1)]], device float* keypoints [[buffer(2)]],
                           device uchar* descriptors [[buffer(3)]], device const uint* count [[buffer(4)]], device const uchar* pyr [[buffer(5)]],
                           device const uchar* smooth [[buffer(7)]], device const uint* selected [[buffer(16)]],
                           uint group [[threadgroup_position_in_grid]], uint simd [[simdgroup_index_in_threadgroup]],
                           uint simds [[simdgroups_per_threadgroup]], uint lane [[thread_index_in_simdgroup]]) {
  const uint i = group * simds + simd;
  if (i >= count[0]) return; /* the same i for the whole SIMD-group */
  orb_gpu_describe(plan, i, lane, gray, pyr, smooth, selected, keypoints, descriptors);
}
