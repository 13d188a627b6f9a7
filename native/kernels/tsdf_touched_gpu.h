/* The touched-block set with 32-bit atomics only (Metal has no 64-bit
 * compare-exchange): the same walks as tsdf_touched.h, in two passes.
 *   1. bounds: the least and greatest block coordinates any walk visits
 *      (SIMD-group min/max, then one atomic per SIMD-group and axis);
 *   2. per window of at most 2048 × 2048 × 1023 blocks covering the bounds
 *      (one window unless a frame's bands span ~160 m at 2 cm voxels): each
 *      visited block inside the window goes into an open-addressing set of
 *      hash_capacity 32-bit keys, its offset in the window + 1 (0 = empty).
 * The host turns the set back into block coordinates and compacts them in
 * Morton order exactly as the CPU does (ss_compact_touched), so the list is
 * the CPU's. Written against the GPU vocabulary (compat/metal.h). */
#ifndef SS_KERNEL_TSDF_TOUCHED_GPU_H
#define SS_KERNEL_TSDF_TOUCHED_GPU_H

#define SS_TOUCHED_WINDOW_X 2048
#define SS_TOUCHED_WINDOW_Y 2048
#define SS_TOUCHED_WINDOW_Z 1023

/* murmur3's finaliser: spreads neighbouring keys over the set */
ss_device_inline uint32_t ss_touched_hash32(uint32_t k) {
  k ^= k >> 16;
  k *= 0x85ebca6bu;
  k ^= k >> 13;
  k *= 0xc2b2ae35u;
  k ^= k >> 16;
  return k;
}

/* pass 1 for sampled pixel i (valid: i lies in the grid); bounds: int32 {min x, y, z, max x, y, z}.
 * Every lane of the SIMD-group calls it. */
ss_device_inline void tsdf_touched_bounds_pixel(const ss_tsdf_touched_blocks_args args, uint32_t i, bool valid, ss_global const float* depth,
                                                ss_global int32_t* bounds, uint32_t lane) {
  int32_t lo_x = 0x7fffffff, lo_y = 0x7fffffff, lo_z = 0x7fffffff;
  int32_t hi_x = -0x7fffffff - 1, hi_y = -0x7fffffff - 1, hi_z = -0x7fffffff - 1;
  TouchedWalk w;
  if (valid && touched_walk_start(args, i, depth, &w)) {
    int32_t bx, by, bz;
    while (touched_walk_next(args, &w, &bx, &by, &bz)) {
      lo_x = ss_min_i(lo_x, bx);
      lo_y = ss_min_i(lo_y, by);
      lo_z = ss_min_i(lo_z, bz);
      hi_x = ss_max_i(hi_x, bx);
      hi_y = ss_max_i(hi_y, by);
      hi_z = ss_max_i(hi_z, bz);
    }
  }
  lo_x = ss_simd_min_i32(lo_x);
  lo_y = ss_simd_min_i32(lo_y);
  lo_z = ss_simd_min_i32(lo_z);
  hi_x = ss_simd_max_i32(hi_x);
  hi_y = ss_simd_max_i32(hi_y);
  hi_z = ss_simd_max_i32(hi_z);
  if (lane == 0 && lo_x <= hi_x) {
    ss_atomic_min_i32(bounds + 0, lo_x);
    ss_atomic_min_i32(bounds + 1, lo_y);
    ss_atomic_min_i32(bounds + 2, lo_z);
    ss_atomic_max_i32(bounds + 3, hi_x);
    ss_atomic_max_i32(bounds + 4, hi_y);
    ss_atomic_max_i32(bounds + 5, hi_z);
  }
}

/* inserts a nonzero key; 1 when it was new, 0 when present, -1 when the set is full */
ss_device_inline int32_t touched_set_insert32(ss_global uint32_t* set, uint32_t capacity, uint32_t key) {
  uint32_t mask = capacity - 1;
  uint32_t h = ss_touched_hash32(key) & mask;
  for (uint32_t probe = 0; probe < capacity; ++probe) {
    uint32_t found = ss_atomic_cas_u32(set + ((h + probe) & mask), 0u, key);
    if (found == 0u) return 1;
    if (found == key) return 0;
  }
  return -1;
}

/* pass 2 for sampled pixel i: the visited blocks inside the window from corner
 * (x0, y0, z0) into the set; returns how many did not fit (the set was full) */
ss_device_inline uint32_t tsdf_touched_insert_pixel(const ss_tsdf_touched_blocks_args args, uint32_t i, ss_global const float* depth,
                                                    ss_global uint32_t* set, int32_t x0, int32_t y0, int32_t z0) {
  TouchedWalk w;
  if (!touched_walk_start(args, i, depth, &w)) return 0;
  uint32_t dropped = 0;
  int32_t bx, by, bz;
  while (touched_walk_next(args, &w, &bx, &by, &bz)) {
    int32_t dx = bx - x0, dy = by - y0, dz = bz - z0;
    if (dx < 0 || dy < 0 || dz < 0 || dx >= SS_TOUCHED_WINDOW_X || dy >= SS_TOUCHED_WINDOW_Y || dz >= SS_TOUCHED_WINDOW_Z) continue;
    uint32_t key = (((uint32_t)dx << 21) | ((uint32_t)dy << 10) | (uint32_t)dz) + 1u;
    if (touched_set_insert32(set, args.hash_capacity, key) < 0) dropped++;
  }
  return dropped;
}

#endif
