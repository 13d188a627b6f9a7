/* depth → camera-frame point (MASt3R depthmap_to_pts3d with explicit pp) */
#ifndef SS_KERNEL_DEPTH_TO_POINTS_H
#define SS_KERNEL_DEPTH_TO_POINTS_H

ss_device_inline float depth_value(const ss_depth_to_points_args args, ss_global const void* depth, uint32_t i) {
  if (args.depth_u16) {
    uint16_t raw = ((ss_global const uint16_t*)depth)[i];
    return raw == 0 ? 0.0f : (float)raw / args.depth_scale;
  }
  return ((ss_global const float*)depth)[i];
}

/* i: flat pixel index over batch × height × width */
ss_device_inline void depth_to_points_pixel(const ss_depth_to_points_args args, uint32_t i,
                                            ss_global const void* depth, ss_global float* points) {
  uint32_t x = i % args.width;
  uint32_t y = (i / args.width) % args.height;
  float d = depth_value(args, depth, i);
  ss_global float* p = points + 3 * (uint64_t)i;
  if (!(args.flags & SS_FLAG_POINTS_KEEP_INVALID) && (!(d > 0.0f) || !(d >= args.min_depth) || !(d <= args.max_depth))) {
    p[0] = SS_NAN;
    p[1] = SS_NAN;
    p[2] = SS_NAN;
    return;
  }
  p[0] = d * ((float)x - args.cx) / args.fx;
  p[1] = d * ((float)y - args.cy) / args.fy;
  p[2] = d;
}

#endif
