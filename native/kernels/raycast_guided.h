/* TSDF ray-cast restricted to a band around a depth prior (needs tsdf_raycast.h).
 * Frame-to-model tracking renders the model from the previous pose, where the
 * previous frame's own depth already says where each ray meets the surface:
 * marching only ±band around it costs a few samples per ray instead of a
 * march through all the free space in front (KinectFusion marches it all). */
#ifndef SS_KERNEL_RAYCAST_GUIDED_H
#define SS_KERNEL_RAYCAST_GUIDED_H

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
  } else if (args.flags & SS_FLAG_RAYCAST_FULL_FALLBACK) {
    z0 = args.min_depth;
    z1 = args.max_depth;
  } else {
    return;
  }
  ss_float3 ray_c = ss_make_float3(((float)x - args.cx) / args.fx, ((float)y - args.cy) / args.fy, 1.0f);
  ss_float3 dir = v3_rotate(args.cam_to_world, ray_c);
  ss_float3 origin = ss_make_float3(args.cam_to_world[3], args.cam_to_world[7], args.cam_to_world[11]);
  int32_t cache[4] = {0x7fffffff, 0, 0, -1};
  float hit = tsdf_march(pool, hash, args.hash_mask, origin, dir, z0, z1, args.voxel_size, args.sdf_trunc, v3_norm(ray_c), cache);
  if (!(hit > 0.0f)) return;
  depth[i] = hit;
  ss_float3 h = v3_scale(v3_add(origin, v3_scale(dir, hit)), 1.0f / args.voxel_size);
  float n[3];
  if (!(args.flags & SS_FLAG_RAYCAST_NO_NORMALS) && tsdf_gradient(pool, hash, args.hash_mask, h, cache, n)) {
    /* world gradient → camera frame: Rᵀ n */
    ss_constant float* m = args.cam_to_world;
    normals[3 * i] = m[0] * n[0] + m[4] * n[1] + m[8] * n[2];
    normals[3 * i + 1] = m[1] * n[0] + m[5] * n[1] + m[9] * n[2];
    normals[3 * i + 2] = m[2] * n[0] + m[6] * n[1] + m[10] * n[2];
  }
  int32_t ref = raycast_voxel(pool, hash, args.hash_mask, ss_round_to_int(h.x), ss_round_to_int(h.y), ss_round_to_int(h.z), cache);
  if (ref >= 0)
    gray[i] = (uint8_t)((77u * ss_vox_rgb(pool, ref, 0) + 150u * ss_vox_rgb(pool, ref, 1) + 29u * ss_vox_rgb(pool, ref, 2) + 128u) >> 8);
}

#endif
