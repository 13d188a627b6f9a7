/* which voxel blocks a depth pixel's truncation band passes through */
#ifndef SS_KERNEL_TSDF_TOUCHED_H
#define SS_KERNEL_TSDF_TOUCHED_H

/* inserts key into the open-addressing set; returns 1 when it was new, 0 when present, -1 when full */
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

/* i: sampled pixel index (over the stride grid); returns how many keys did not fit */
ss_device_inline uint32_t tsdf_touched_pixel(const ss_tsdf_touched_blocks_args args, uint32_t i, ss_global const float* depth,
                                             ss_global uint64_t* set) {
  uint32_t gw = (args.width + args.stride - 1) / args.stride;
  uint32_t x = (i % gw) * args.stride, y = (i / gw) * args.stride;
  float d = depth[y * args.width + x];
  if (!(d > 0.0f) || d < args.min_depth || d > args.max_depth) return 0;
  float block = args.voxel_size * SS_BLOCK_DIM;
  ss_float3 ray = ss_make_float3(((float)x - args.cx) / args.fx, ((float)y - args.cy) / args.fy, 1.0f);
  float z0 = ss_fmax(d - args.sdf_trunc, args.min_depth * 0.5f), z1 = d + args.sdf_trunc;
  /* half-block steps along z never skip a block the segment crosses */
  float step = 0.5f * block / v3_norm(ray);
  uint32_t dropped = 0;
  int32_t last_x = 0x7fffffff, last_y = 0, last_z = 0;
  for (float z = z0;; z += step) {
    float zz = z < z1 ? z : z1;
    ss_float3 pw = v3_transform(args.cam_to_world, v3_scale(ray, zz));
    int32_t bx = ss_float_to_int_floor(pw.x / block), by = ss_float_to_int_floor(pw.y / block),
            bz = ss_float_to_int_floor(pw.z / block);
    if (bx != last_x || by != last_y || bz != last_z) {
      if (touched_set_insert(set, args.hash_capacity, ss_block_key(bx, by, bz)) < 0) dropped++;
      last_x = bx;
      last_y = by;
      last_z = bz;
    }
    if (zz >= z1) break;
  }
  return dropped;
}

#endif
