/* normal of an organised point map from central differences */
#ifndef SS_KERNEL_POINTS_TO_NORMALS_H
#define SS_KERNEL_POINTS_TO_NORMALS_H

ss_device_inline ss_float3 load_point(ss_global const float* pts, int32_t i) {
  return ss_make_float3(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2]);
}

ss_device_inline void points_to_normals_pixel(const ss_points_to_normals_args args, uint32_t i,
                                              ss_global const float* points, ss_global float* normals) {
  int32_t w = (int32_t)args.width, h = (int32_t)args.height;
  int32_t x = (int32_t)(i % args.width), y = (int32_t)(i / args.width);
  ss_global float* n = normals + 3 * (uint64_t)i;
  n[0] = SS_NAN;
  n[1] = SS_NAN;
  n[2] = SS_NAN;
  if (x < 1 || y < 1 || x >= w - 1 || y >= h - 1) return;
  ss_float3 c = load_point(points, (int32_t)i);
  ss_float3 l = load_point(points, (int32_t)i - 1), r = load_point(points, (int32_t)i + 1);
  ss_float3 u = load_point(points, (int32_t)i - w), d = load_point(points, (int32_t)i + w);
  if (!ss_isfinite(c.z) || !ss_isfinite(l.z) || !ss_isfinite(r.z) || !ss_isfinite(u.z) || !ss_isfinite(d.z)) return;
  float jump = args.max_jump;
  if (ss_fabs(l.z - c.z) > jump || ss_fabs(r.z - c.z) > jump || ss_fabs(u.z - c.z) > jump || ss_fabs(d.z - c.z) > jump)
    return;
  ss_float3 nn = v3_cross(v3_sub(r, l), v3_sub(d, u));
  float len = v3_norm(nn);
  if (!(len > 0.0f)) return;
  /* face the camera at the origin */
  if (v3_dot(nn, c) > 0.0f) len = -len;
  n[0] = nn.x / len;
  n[1] = nn.y / len;
  n[2] = nn.z / len;
}

#endif
