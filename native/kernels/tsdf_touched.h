/* which voxel blocks a depth pixel's truncation band passes through */
#ifndef SS_KERNEL_TSDF_TOUCHED_H
#define SS_KERNEL_TSDF_TOUCHED_H

#ifndef SS_BACKEND_METAL_COMPILE
/* inserts key into the open-addressing set; returns 1 when it was new, 0 when present, -1 when full
 * (64-bit compare-exchange: the CPU and CUDA; Metal has a 32-bit set, tsdf_touched_gpu.h) */
ss_device_inline int32_t touched_set_insert(ss_global uint64_t* set, uint32_t capacity, uint64_t key) {
  uint32_t mask = capacity - 1;
  uint32_t h = ss_key_hash(key) & mask;
  for (uint32_t probe = 0; probe < capacity; ++probe) {
    ss_global uint64_t* slot = set + ((h + probe) & mask);
    uint64_t found = *slot;
    if (found == key) return 0;
    if (found == 0) {
      found = ss_atomic_cas_u64(slot, 0, key);
      if (found == 0) return 1;
      if (found == key) return 0;
    }
  }
  return -1;
}
#endif

/* The walk of one sampled pixel's truncation band, in half-block steps along
 * z, one block at a time: every backend's touched-block set (the CPU's 64-bit
 * keys, the GPU's 32-bit ones in tsdf_touched_gpu.h) visits the same blocks. */
struct TouchedWalk {
  ss_float3 ray;
  float z, z1, step, block;
  int32_t last_x, last_y, last_z;
  uint32_t done;
};

/* starts the walk of sampled pixel i (over the stride grid); false when its depth is not valid */
ss_device_inline bool touched_walk_start(const ss_tsdf_touched_blocks_args args, uint32_t i, ss_global const float* depth,
                                         ss_thread TouchedWalk* w) {
  uint32_t gw = (args.width + args.stride - 1) / args.stride;
  uint32_t x = (i % gw) * args.stride, y = (i / gw) * args.stride;
  float d = depth[y * args.width + x];
  if (!(d > 0.0f) || d < args.min_depth || d > args.max_depth) return false;
  w->block = args.voxel_size * SS_BLOCK_DIM;
  w->ray = ss_make_float3(((float)x - args.cx) / args.fx, ((float)y - args.cy) / args.fy, 1.0f);
  w->z = ss_fmax(d - args.sdf_trunc, args.min_depth * 0.5f);
  w->z1 = d + args.sdf_trunc;
  /* half-block steps along z never skip a block the segment crosses */
  w->step = 0.5f * w->block / v3_norm(w->ray);
  w->last_x = 0x7fffffff;
  w->last_y = w->last_z = 0;
  w->done = 0;
  return true;
}

/* the next block the walk enters (*bx, *by, *bz); false when the walk is over */
ss_device_inline bool touched_walk_next(const ss_tsdf_touched_blocks_args args, ss_thread TouchedWalk* w, ss_thread int32_t* bx,
                                        ss_thread int32_t* by, ss_thread int32_t* bz) {
  while (!w->done) {
    float zz = w->z < w->z1 ? w->z : w->z1;
    ss_float3 pw = v3_transform(args.cam_to_world, v3_scale(w->ray, zz));
    int32_t x = ss_float_to_int_floor(pw.x / w->block), y = ss_float_to_int_floor(pw.y / w->block),
            z = ss_float_to_int_floor(pw.z / w->block);
    w->done = zz >= w->z1 ? 1u : 0u;
    w->z += w->step;
    if (x != w->last_x || y != w->last_y || z != w->last_z) {
      w->last_x = *bx = x;
      w->last_y = *by = y;
      w->last_z = *bz = z;
      return true;
    }
  }
  return false;
}

#ifndef SS_BACKEND_METAL_COMPILE
/* i: sampled pixel index (over the stride grid); returns how many keys did not fit */
ss_device_inline uint32_t tsdf_touched_pixel(const ss_tsdf_touched_blocks_args args, uint32_t i, ss_global const float* depth,
                                             ss_global uint64_t* set) {
  TouchedWalk w;
  if (!touched_walk_start(args, i, depth, &w)) return 0;
  uint32_t dropped = 0;
  int32_t bx, by, bz;
  while (touched_walk_next(args, &w, &bx, &by, &bz))
    if (touched_set_insert(set, args.hash_capacity, ss_block_key(bx, by, bz)) < 0) dropped++;
  return dropped;
}
#endif

#endif
