/* ray-cast of the TSDF zero crossing (KinectFusion) with trilinear interpolation */
#ifndef SS_KERNEL_TSDF_RAYCAST_H
#define SS_KERNEL_TSDF_RAYCAST_H

/* reference (slot·512 + index) of the observed voxel at global integer coords, or −1;
 * caches the last block's slot in cache {bx,by,bz,slot} */
ss_device_inline int32_t raycast_voxel(ss_global const float* pool, ss_global const int32_t* hash, uint32_t mask,
                                       int32_t gx, int32_t gy, int32_t gz, ss_thread int32_t* cache) {
  int32_t bx = ss_floor_div8(gx), by = ss_floor_div8(gy), bz = ss_floor_div8(gz);
  if (bx != cache[0] || by != cache[1] || bz != cache[2]) {
    cache[0] = bx;
    cache[1] = by;
    cache[2] = bz;
    cache[3] = ss_hash_find(hash, mask, bx, by, bz);
  }
  if (cache[3] < 0) return -1;
  int32_t ref = cache[3] * SS_BLOCK_VOXELS + ((gx - bx * 8) + 8 * (gy - by * 8) + 64 * (gz - bz * 8));
  return ss_vox_weight(pool, ref) > 0.0f ? ref : -1;
}

/* trilinear TSDF at a world point (voxel units); NaN when a corner is unobserved */
ss_device_inline float raycast_sample(ss_global const float* pool, ss_global const int32_t* hash, uint32_t mask,
                                      ss_float3 g, ss_thread int32_t* cache) {
  int32_t x0 = ss_float_to_int_floor(g.x), y0 = ss_float_to_int_floor(g.y), z0 = ss_float_to_int_floor(g.z);
  float fx = g.x - (float)x0, fy = g.y - (float)y0, fz = g.z - (float)z0;
  float acc = 0.0f;
  for (int32_t c = 0; c < 8; ++c) {
    int32_t dx = c & 1, dy = (c >> 1) & 1, dz = c >> 2;
    int32_t ref = raycast_voxel(pool, hash, mask, x0 + dx, y0 + dy, z0 + dz, cache);
    if (ref < 0) return SS_NAN;
    float w = (dx ? fx : 1.0f - fx) * (dy ? fy : 1.0f - fy) * (dz ? fz : 1.0f - fz);
    acc += w * ss_vox_tsdf(pool, ref);
  }
  return acc;
}

ss_device_inline void tsdf_raycast_pixel(const ss_tsdf_raycast_args args, uint32_t i, ss_global const float* pool,
                                         ss_global const int32_t* hash, ss_global float* depth, ss_global float* normals,
                                         ss_global uint8_t* color) {
  uint32_t x = i % args.width, y = i / args.width;
  depth[i] = 0.0f;
  normals[3 * i] = normals[3 * i + 1] = normals[3 * i + 2] = SS_NAN;
  color[3 * i] = color[3 * i + 1] = color[3 * i + 2] = 0;
  ss_float3 ray_c = ss_make_float3(((float)x - args.cx) / args.fx, ((float)y - args.cy) / args.fy, 1.0f);
  ss_float3 dir = v3_rotate(args.cam_to_world, ray_c); /* world displacement per metre of camera z */
  ss_float3 origin = ss_make_float3(args.cam_to_world[3], args.cam_to_world[7], args.cam_to_world[11]);
  float inv_voxel = 1.0f / args.voxel_size;
  float ray_len = v3_norm(ray_c);
  float min_step = 0.5f * args.voxel_size / ray_len;
  float free_step = 0.5f * args.sdf_trunc / ray_len;
  int32_t cache[4] = {0x7fffffff, 0, 0, -1};
  float prev_z = -1.0f, prev_f = SS_NAN;
  for (float z = args.min_depth; z <= args.max_depth;) {
    ss_float3 g = v3_scale(v3_add(origin, v3_scale(dir, z)), inv_voxel);
    float f = raycast_sample(pool, hash, args.hash_mask, g, cache);
    if (ss_isnan(f)) {
      prev_f = SS_NAN;
      z += free_step;
      continue;
    }
    if (f < 0.0f) {
      if (!ss_isnan(prev_f) && prev_f > 0.0f) {
        float hit = prev_z + (z - prev_z) * prev_f / (prev_f - f);
        ss_float3 h = v3_scale(v3_add(origin, v3_scale(dir, hit)), inv_voxel);
        /* gradient by central differences, in voxel units */
        float gx = raycast_sample(pool, hash, args.hash_mask, ss_make_float3(h.x + 0.5f, h.y, h.z), cache) -
                   raycast_sample(pool, hash, args.hash_mask, ss_make_float3(h.x - 0.5f, h.y, h.z), cache);
        float gy = raycast_sample(pool, hash, args.hash_mask, ss_make_float3(h.x, h.y + 0.5f, h.z), cache) -
                   raycast_sample(pool, hash, args.hash_mask, ss_make_float3(h.x, h.y - 0.5f, h.z), cache);
        float gz = raycast_sample(pool, hash, args.hash_mask, ss_make_float3(h.x, h.y, h.z + 0.5f), cache) -
                   raycast_sample(pool, hash, args.hash_mask, ss_make_float3(h.x, h.y, h.z - 0.5f), cache);
        depth[i] = hit;
        float len = ss_sqrt(gx * gx + gy * gy + gz * gz);
        if (len > 0.0f && ss_isfinite(len)) {
          normals[3 * i] = gx / len;
          normals[3 * i + 1] = gy / len;
          normals[3 * i + 2] = gz / len;
        }
        int32_t ref = raycast_voxel(pool, hash, args.hash_mask, ss_round_to_int(h.x), ss_round_to_int(h.y),
                                    ss_round_to_int(h.z), cache);
        if (ref >= 0) {
          color[3 * i] = ss_vox_rgb(pool, ref, 0);
          color[3 * i + 1] = ss_vox_rgb(pool, ref, 1);
          color[3 * i + 2] = ss_vox_rgb(pool, ref, 2);
        }
      }
      return; /* behind a surface seen from the front, or entered from behind: stop */
    }
    prev_z = z;
    prev_f = f;
    /* the TSDF bounds the distance to the surface: skip ahead by most of it */
    z += ss_fmax(min_step, 0.8f * f * args.sdf_trunc / ray_len);
  }
}

#endif
