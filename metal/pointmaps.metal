/* Point maps on Metal: depth → points, normals, the depth and image pyramids,
 * MASt3R's geotrf and depthmap_to_pts3d. The portable per-element bodies of
 * native/kernels, one thread per element (dispatchThreads: the grid is the
 * element count, so no thread lies outside it). Buffer 0 is the args struct
 * (setBytes), the ABI's buffers follow in kernel-table order. */
#include "../native/compat/metal.h"
#include "../native/include/scanstream.h"
#include "../native/kernels/vec3.h"
#include "../native/kernels/depth_to_points.h"
#include "../native/kernels/geotrf.h"
#include "../native/kernels/mast3r_depthmap.h"
#include "../native/kernels/points_to_normals.h"
#include "../native/kernels/pyramid_down.h"

/* depth: float32 metres or uint16 raw units (args.depth_u16) */
kernel void k_depth_to_points(constant ss_depth_to_points_args& args [[buffer(0)]], device const uchar* depth [[buffer(1)]],
                              device float* points [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  depth_to_points_pixel(args, i, depth, points);
}

kernel void k_points_to_normals(constant ss_points_to_normals_args& args [[buffer(0)]], device const float* points [[buffer(1)]],
                                device float* normals [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  points_to_normals_pixel(args, i, points, normals);
}

kernel void k_depth_pyramid_down(constant ss_depth_pyramid_down_args& args [[buffer(0)]], device const float* src [[buffer(1)]],
                                 device float* dst [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  depth_pyramid_down_pixel(args, i, src, dst);
}

kernel void k_image_pyramid_down(constant ss_image_pyramid_down_args& args [[buffer(0)]], device const uchar* src [[buffer(1)]],
                                 device uchar* dst [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  image_pyramid_down_pixel(args, i, src, dst);
}

/* points [first, first + count): i counts from first; in and out may be one buffer */
kernel void k_geotrf(constant ss_geotrf_args& args [[buffer(0)]], device const float* in [[buffer(1)]], device float* out [[buffer(2)]],
                     uint i [[thread_position_in_grid]]) {
  geotrf_point(args, i, in, out);
}

kernel void k_mast3r_depthmap_to_pts3d(constant ss_mast3r_depthmap_to_pts3d_args& args [[buffer(0)]],
                                       device const float* depth [[buffer(1)]], device const float* intrinsics [[buffer(2)]],
                                       device float* points [[buffer(3)]], device uchar* valid [[buffer(4)]],
                                       uint i [[thread_position_in_grid]]) {
  mast3r_depthmap_pixel(args, i, depth, intrinsics, points, valid);
}
