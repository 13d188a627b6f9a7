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

/* raycast_sample with a fast path: when all 8 corners lie in one block (7 times in 8), one cached
 * slot and direct indexing replace eight lookups; same arithmetic, same result */
ss_device_inline float raycast_sample_fast(ss_global const float* pool, ss_global const int32_t* hash, uint32_t mask,
                                           ss_float3 g, ss_thread int32_t* cache) {
  int32_t x0 = ss_float_to_int_floor(g.x), y0 = ss_float_to_int_floor(g.y), z0 = ss_float_to_int_floor(g.z);
  if ((x0 & 7) == 7 || (y0 & 7) == 7 || (z0 & 7) == 7) return raycast_sample(pool, hash, mask, g, cache);
  int32_t bx = ss_floor_div8(x0), by = ss_floor_div8(y0), bz = ss_floor_div8(z0);
  if (bx != cache[0] || by != cache[1] || bz != cache[2]) {
    cache[0] = bx;
    cache[1] = by;
    cache[2] = bz;
    cache[3] = ss_hash_find(hash, mask, bx, by, bz);
  }
  if (cache[3] < 0) return SS_NAN;
  ss_global const float* base = pool + (uint64_t)cache[3] * SS_BLOCK_FLOATS;
  int32_t idx = (x0 - bx * 8) + 8 * (y0 - by * 8) + 64 * (z0 - bz * 8);
  float fx = g.x - (float)x0, fy = g.y - (float)y0, fz = g.z - (float)z0;
  float acc = 0.0f;
  for (int32_t c = 0; c < 8; ++c) {
    int32_t dx = c & 1, dy = (c >> 1) & 1, dz = c >> 2;
    int32_t k = idx + dx + 8 * dy + 64 * dz;
    if (!(base[SS_BLOCK_VOXELS + k] > 0.0f)) return SS_NAN;
    float w = (dx ? fx : 1.0f - fx) * (dy ? fy : 1.0f - fy) * (dz ? fz : 1.0f - fz);
    acc += w * base[k];
  }
  return acc;
}

/* One ray through the volume: camera z in [z0, z1] along origin + z·dir (dir = camera ray with z = 1,
 * in world). Returns the z of the first +→− crossing, 0 when there is none (or the ray starts
 * behind a surface). step_scale = sdf_trunc / |ray|: the TSDF bounds the distance to the surface. */
ss_device_inline float tsdf_march(ss_global const float* pool, ss_global const int32_t* hash, uint32_t mask, ss_float3 origin,
                                  ss_float3 dir, float z0, float z1, float voxel_size, float sdf_trunc, float ray_len,
                                  ss_thread int32_t* cache) {
  float inv_voxel = 1.0f / voxel_size;
  float min_step = 0.5f * voxel_size / ray_len;
  float free_step = 0.5f * sdf_trunc / ray_len;
  float prev_z = -1.0f, prev_f = SS_NAN;
  for (float z = z0; z <= z1;) {
    ss_float3 g = v3_scale(v3_add(origin, v3_scale(dir, z)), inv_voxel);
    float f = raycast_sample_fast(pool, hash, mask, g, cache);
    if (ss_isnan(f)) {
      prev_f = SS_NAN;
      z += free_step;
      continue;
    }
    if (f < 0.0f) {
      /* behind a surface seen from the front, or entered from behind: stop either way */
      return !ss_isnan(prev_f) && prev_f > 0.0f ? prev_z + (z - prev_z) * prev_f / (prev_f - f) : 0.0f;
    }
    prev_z = z;
    prev_f = f;
    z += ss_fmax(min_step, 0.8f * f * sdf_trunc / ray_len);
  }
  return 0.0f;
}

/* unit TSDF gradient (world frame) at voxel-unit point h, by central differences; false where undefined */
ss_device_inline bool tsdf_gradient(ss_global const float* pool, ss_global const int32_t* hash, uint32_t mask, ss_float3 h,
                                    ss_thread int32_t* cache, ss_thread float* n) {
  float gx = raycast_sample_fast(pool, hash, mask, ss_make_float3(h.x + 0.5f, h.y, h.z), cache) -
             raycast_sample_fast(pool, hash, mask, ss_make_float3(h.x - 0.5f, h.y, h.z), cache);
  float gy = raycast_sample_fast(pool, hash, mask, ss_make_float3(h.x, h.y + 0.5f, h.z), cache) -
             raycast_sample_fast(pool, hash, mask, ss_make_float3(h.x, h.y - 0.5f, h.z), cache);
  float gz = raycast_sample_fast(pool, hash, mask, ss_make_float3(h.x, h.y, h.z + 0.5f), cache) -
             raycast_sample_fast(pool, hash, mask, ss_make_float3(h.x, h.y, h.z - 0.5f), cache);
  float len = ss_sqrt(gx * gx + gy * gy + gz * gz);
  if (!(len > 0.0f) || !ss_isfinite(len)) return false;
  n[0] = gx / len;
  n[1] = gy / len;
  n[2] = gz / len;
  return true;
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
  int32_t cache[4] = {0x7fffffff, 0, 0, -1};
  float hit = tsdf_march(pool, hash, args.hash_mask, origin, dir, args.min_depth, args.max_depth, args.voxel_size,
                         args.sdf_trunc, v3_norm(ray_c), cache);
  if (!(hit > 0.0f)) return;
  depth[i] = hit;
  ss_float3 h = v3_scale(v3_add(origin, v3_scale(dir, hit)), 1.0f / args.voxel_size);
  float n[3];
  if (tsdf_gradient(pool, hash, args.hash_mask, h, cache, n)) {
    normals[3 * i] = n[0];
    normals[3 * i + 1] = n[1];
    normals[3 * i + 2] = n[2];
  }
  int32_t ref = raycast_voxel(pool, hash, args.hash_mask, ss_round_to_int(h.x), ss_round_to_int(h.y), ss_round_to_int(h.z), cache);
  if (ref >= 0) {
    color[3 * i] = ss_vox_rgb(pool, ref, 0);
    color[3 * i + 1] = ss_vox_rgb(pool, ref, 1);
    color[3 * i + 2] = ss_vox_rgb(pool, ref, 2);
  }
}

#endif
