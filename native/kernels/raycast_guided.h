/* TSDF ray-cast restricted to a band around a depth prior (needs tsdf_raycast.h).
 * Frame-to-model tracking renders the model from the previous pose, where the
 * previous frame's own depth already says where each ray meets the surface:
 * marching only ±band around it costs a few samples per ray instead of a
 * march through all the free space in front (KinectFusion marches it all). */
#ifndef SS_KERNEL_RAYCAST_GUIDED_H
#define SS_KERNEL_RAYCAST_GUIDED_H

/* raycast_sample with a fast path: when all 8 corners lie in one block (7 times in 8), one cached
 * slot and direct indexing replace eight lookups; same arithmetic, same result */
ss_device_inline float guided_sample(ss_global const float* pool, ss_global const int32_t* hash, uint32_t mask,
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

ss_device_inline void tsdf_raycast_guided_pixel(const ss_tsdf_raycast_guided_args args, uint32_t i,
                                                ss_global const float* pool, ss_global const int32_t* hash,
                                                ss_global const float* prior, ss_global float* depth,
                                                ss_global float* normals, ss_global uint8_t* gray) {
  uint32_t x = i % args.width, y = i / args.width;
  depth[i] = 0.0f;
  normals[3 * i] = normals[3 * i + 1] = normals[3 * i + 2] = SS_NAN;
  gray[i] = 0;
  float p = prior[i];
  float z0, z1;
  if (p > 0.0f && ss_isfinite(p)) {
    z0 = ss_fmax(args.min_depth, p - args.band);
    z1 = ss_fmin(args.max_depth, p + args.band);
  } else if (args.flags & SS_RAYCAST_FULL_FALLBACK) {
    z0 = args.min_depth;
    z1 = args.max_depth;
  } else {
    return;
  }
  ss_float3 ray_c = ss_make_float3(((float)x - args.cx) / args.fx, ((float)y - args.cy) / args.fy, 1.0f);
  ss_float3 dir = v3_rotate(args.cam_to_world, ray_c);
  ss_float3 origin = ss_make_float3(args.cam_to_world[3], args.cam_to_world[7], args.cam_to_world[11]);
  float inv_voxel = 1.0f / args.voxel_size;
  float ray_len = v3_norm(ray_c);
  float min_step = 0.5f * args.voxel_size / ray_len;
  float free_step = 0.5f * args.sdf_trunc / ray_len;
  int32_t cache[4] = {0x7fffffff, 0, 0, -1};
  float prev_z = -1.0f, prev_f = SS_NAN;
  for (float z = z0; z <= z1;) {
    ss_float3 g = v3_scale(v3_add(origin, v3_scale(dir, z)), inv_voxel);
    float f = guided_sample(pool, hash, args.hash_mask, g, cache);
    if (ss_isnan(f)) {
      prev_f = SS_NAN;
      z += free_step;
      continue;
    }
    if (f < 0.0f) {
      if (!ss_isnan(prev_f) && prev_f > 0.0f) {
        float hit = prev_z + (z - prev_z) * prev_f / (prev_f - f);
        ss_float3 h = v3_scale(v3_add(origin, v3_scale(dir, hit)), inv_voxel);
        depth[i] = hit;
        if (!(args.flags & SS_RAYCAST_NO_NORMALS)) {
          float gx = guided_sample(pool, hash, args.hash_mask, ss_make_float3(h.x + 0.5f, h.y, h.z), cache) -
                     guided_sample(pool, hash, args.hash_mask, ss_make_float3(h.x - 0.5f, h.y, h.z), cache);
          float gy = guided_sample(pool, hash, args.hash_mask, ss_make_float3(h.x, h.y + 0.5f, h.z), cache) -
                     guided_sample(pool, hash, args.hash_mask, ss_make_float3(h.x, h.y - 0.5f, h.z), cache);
          float gz = guided_sample(pool, hash, args.hash_mask, ss_make_float3(h.x, h.y, h.z + 0.5f), cache) -
                     guided_sample(pool, hash, args.hash_mask, ss_make_float3(h.x, h.y, h.z - 0.5f), cache);
          float len = ss_sqrt(gx * gx + gy * gy + gz * gz);
          if (len > 0.0f && ss_isfinite(len)) {
            /* world gradient → camera frame: Rᵀ n */
            ss_constant float* m = args.cam_to_world;
            float nx = gx / len, ny = gy / len, nz = gz / len;
            normals[3 * i] = m[0] * nx + m[4] * ny + m[8] * nz;
            normals[3 * i + 1] = m[1] * nx + m[5] * ny + m[9] * nz;
            normals[3 * i + 2] = m[2] * nx + m[6] * ny + m[10] * nz;
          }
        }
        int32_t ref = raycast_voxel(pool, hash, args.hash_mask, ss_round_to_int(h.x), ss_round_to_int(h.y),
                                    ss_round_to_int(h.z), cache);
        if (ref >= 0)
          gray[i] = (uint8_t)((77u * ss_vox_rgb(pool, ref, 0) + 150u * ss_vox_rgb(pool, ref, 1) +
                               29u * ss_vox_rgb(pool, ref, 2) + 128u) >> 8);
      }
      return;
    }
    prev_z = z;
    prev_f = f;
    z += ss_fmax(min_step, 0.8f * f * args.sdf_trunc / ray_len);
  }
}

#endif
