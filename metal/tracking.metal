/* Dense RGB-D tracking on Metal: gray conversion, the guided model ray-cast
 * and the ICP reduction (the per-pixel bodies of native/kernels; the
 * reduction sums in a fixed tree per threadgroup, see k_icp_reduce).
 * Buffer 0 is the args struct, the ABI's buffers follow in table order. */
#include "../native/compat/metal.h"
#include "../native/include/scanstream.h"
#include "../native/kernels/vec3.h"
#include "../native/kernels/gray.h"
#include "../native/kernels/tsdf_common.h"
#include "../native/kernels/tsdf_raycast.h"
#include "../native/kernels/raycast_guided.h"
#include "../native/kernels/icp_reduce.h"
#include "../native/kernels/icp_reduce_gpu.h"

kernel void k_rgb_to_gray(device const uchar* rgb [[buffer(1)]], device uchar* gray [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  rgb_to_gray_pixel(i, rgb, gray);
}

/* the model ray-cast of frame-to-model tracking, one thread per pixel */
kernel void k_tsdf_raycast_guided(constant ss_tsdf_raycast_guided_args& args [[buffer(0)]], device const float* pool [[buffer(1)]],
                                  device const int* hash [[buffer(2)]], device const float* prior [[buffer(3)]], device float* depth [[buffer(4)]],
                                  device float* normals [[buffer(5)]], device uchar* gray [[buffer(6)]], uint i [[thread_position_in_grid]]) {
  tsdf_raycast_guided_pixel(args, i, pool, hash, prior, depth, normals, gray);
}

/* threads per threadgroup of k_icp_reduce at most (a power of two: the tree halves it) */
#define SS_ICP_GROUP_MAX 64

/* threadgroup g sums image rows [g·rows, (g + 1)·rows) into partials[64·g ..]; the host adds the partials in float64 */
kernel void k_icp_reduce(constant ss_icp_reduce_args& args [[buffer(0)]], device const float* cur_points [[buffer(1)]],
                         device const float* cur_normals [[buffer(2)]], device const uchar* cur_gray [[buffer(3)]],
                         device const float* ref_points [[buffer(4)]], device const float* ref_normals [[buffer(5)]],
                         device const uchar* ref_gray [[buffer(6)]], device float* partials [[buffer(8)]], constant uint& rows [[buffer(9)]],
                         uint group [[threadgroup_position_in_grid]], uint t [[thread_index_in_threadgroup]],
                         uint n [[threads_per_threadgroup]]) {
  SS_THREADGROUP_ARRAY(float, tree, 2 * SS_ICP_TERMS * SS_ICP_GROUP_MAX);
  icp_reduce_group(args, group, rows, t, n, cur_points, cur_normals, cur_gray, ref_points, ref_normals, ref_gray, tree, partials);
}
