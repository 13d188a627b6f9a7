/* MASt3R depthmap_to_pts3d with one pinhole camera per image, and its valid mask */
#ifndef SS_KERNEL_MAST3R_DEPTHMAP_H
#define SS_KERNEL_MAST3R_DEPTHMAP_H

/* i: flat pixel index over batch × height × width; intr: (fx, fy, cx, cy) per image.
 * Rounded as MASt3R's depth * (grid_x - cx) / fx: difference, product, quotient. */
ss_device_inline void mast3r_depthmap_pixel(const ss_mast3r_depthmap_to_pts3d_args args, uint32_t i,
                                            ss_global const float* depth, ss_global const float* intr,
                                            ss_global float* points, ss_global uint8_t* valid) {
  uint32_t x = i % args.width;
  uint32_t row = i / args.width;
  uint32_t y = row % args.height;
  ss_global const float* k = intr + 4 * (uint64_t)(row / args.height);
  float d = depth[i];
  bool ok = d > 0.0f;
  valid[i] = ok ? 1 : 0;
  ss_global float* p = points + 3 * (uint64_t)i;
  if (!ok && !(args.flags & SS_FLAG_POINTS_KEEP_INVALID)) {
    p[0] = SS_NAN;
    p[1] = SS_NAN;
    p[2] = SS_NAN;
    return;
  }
  p[0] = d * ((float)x - k[2]) / k[0];
  p[1] = d * ((float)y - k[3]) / k[1];
  p[2] = d;
}

#endif
