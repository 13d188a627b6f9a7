/* 2× pyramid levels: depth-aware for depth, box mean for images */
#ifndef SS_KERNEL_PYRAMID_DOWN_H
#define SS_KERNEL_PYRAMID_DOWN_H

/* i: destination pixel. Averages only the 2×2 depths within max_diff of the
 * nearest one, so foreground and background never blend into a phantom surface. */
ss_device_inline void depth_pyramid_down_pixel(const ss_depth_pyramid_down_args args, uint32_t i,
                                               ss_global const float* src, ss_global float* dst) {
  uint32_t dw = args.src_width / 2;
  uint32_t x = i % dw, y = i / dw;
  float v[4];
  v[0] = src[(2 * y) * args.src_width + 2 * x];
  v[1] = src[(2 * y) * args.src_width + 2 * x + 1];
  v[2] = src[(2 * y + 1) * args.src_width + 2 * x];
  v[3] = src[(2 * y + 1) * args.src_width + 2 * x + 1];
  float nearest = SS_INF;
  for (int k = 0; k < 4; ++k)
    if (v[k] > 0.0f && v[k] < nearest) nearest = v[k];
  if (!(nearest < SS_INF)) {
    dst[i] = 0.0f;
    return;
  }
  float sum = 0.0f;
  float n = 0.0f;
  for (int k = 0; k < 4; ++k) {
    if (v[k] > 0.0f && v[k] - nearest <= args.max_diff) {
      sum += v[k];
      n += 1.0f;
    }
  }
  dst[i] = sum / n;
}

ss_device_inline void image_pyramid_down_pixel(const ss_image_pyramid_down_args args, uint32_t i,
                                               ss_global const uint8_t* src, ss_global uint8_t* dst) {
  uint32_t dw = args.src_width / 2;
  uint32_t x = i % dw, y = i / dw;
  uint32_t c = args.channels;
  uint32_t row0 = (2 * y) * args.src_width, row1 = row0 + args.src_width;
  for (uint32_t k = 0; k < c; ++k) {
    uint32_t s = (uint32_t)src[(row0 + 2 * x) * c + k] + src[(row0 + 2 * x + 1) * c + k] +
                 src[(row1 + 2 * x) * c + k] + src[(row1 + 2 * x + 1) * c + k];
    dst[i * c + k] = (uint8_t)((s + 2) / 4);
  }
}

#endif
