/* RGB → 8-bit luma (BT.601 weights in 8.8 fixed point, the same integers on every backend) */
#ifndef SS_KERNEL_GRAY_H
#define SS_KERNEL_GRAY_H

ss_device_inline void rgb_to_gray_pixel(uint32_t i, ss_global const uint8_t* rgb, ss_global uint8_t* gray) {
  uint32_t r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
  gray[i] = (uint8_t)((77u * r + 150u * g + 29u * b + 128u) >> 8);
}

#endif
