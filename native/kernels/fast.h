/* FAST-9 corner test and score (Rosten & Drummond 2006) on 8-bit images */
#ifndef SS_KERNEL_FAST_H
#define SS_KERNEL_FAST_H

/* the Bresenham circle of radius 3, clockwise from 12 o'clock */
ss_constant_table int8_t SS_FAST_CIRCLE[16][2] = {{0, -3}, {1, -3}, {2, -2}, {3, -1}, {3, 0}, {3, 1}, {2, 2}, {1, 3},
                                                  {0, 3}, {-1, 3}, {-2, 2}, {-3, 1}, {-3, 0}, {-3, -1}, {-2, -2}, {-1, -3}};

/* 1 when some 9 consecutive bits of the 16-bit circular mask m are set */
ss_device_inline uint32_t fast_has_arc9(uint32_t m) {
  uint32_t d = m | (m << 16);
  uint32_t r = d & (d >> 1);  /* runs of 2 */
  r = r & (r >> 2);           /* runs of 4 */
  r = r & (r >> 4);           /* runs of 8 */
  r = r & (d >> 8);           /* runs of 9 */
  return (r & 0xffffu) != 0u ? 1u : 0u;
}

/* corner at threshold t: 9 contiguous circle pixels all brighter than c + t, or all darker than c − t.
 * p points at the centre pixel; stride in bytes. */
ss_device_inline uint32_t fast_is_corner(ss_global const uint8_t* p, int32_t stride, int32_t t) {
  int32_t c = p[0];
  uint32_t bright = 0u, dark = 0u;
  for (int32_t k = 0; k < 16; ++k) {
    int32_t v = p[SS_FAST_CIRCLE[k][1] * stride + SS_FAST_CIRCLE[k][0]];
    bright |= (uint32_t)(v > c + t) << k;
    dark |= (uint32_t)(v < c - t) << k;
  }
  return fast_has_arc9(bright) | fast_has_arc9(dark);
}

/* the largest t for which fast_is_corner(p, t) holds (−1 if none): over the 16
 * arcs of 9, the best of (min brighter margin, min darker margin) minus one */
ss_device_inline int32_t fast_score(ss_global const uint8_t* p, int32_t stride) {
  int32_t c = p[0];
  int32_t d[16];
  for (int32_t k = 0; k < 16; ++k) d[k] = (int32_t)p[SS_FAST_CIRCLE[k][1] * stride + SS_FAST_CIRCLE[k][0]] - c;
  int32_t best = -1;
  for (int32_t s = 0; s < 16; ++s) {
    int32_t lo = 255, hi = -255;
    for (int32_t k = 0; k < 9; ++k) {
      int32_t v = d[(s + k) & 15];
      lo = ss_min_i(lo, v);
      hi = ss_max_i(hi, v);
    }
    best = ss_max_i(best, ss_max_i(lo - 1, -hi - 1));
  }
  return best;
}

#endif
