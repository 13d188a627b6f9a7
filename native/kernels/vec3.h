/* small float3 algebra shared by kernel bodies (uses only compat names) */
#ifndef SS_KERNEL_VEC3_H
#define SS_KERNEL_VEC3_H

ss_device_inline ss_float3 v3_add(ss_float3 a, ss_float3 b) { return ss_make_float3(a.x + b.x, a.y + b.y, a.z + b.z); }
ss_device_inline ss_float3 v3_sub(ss_float3 a, ss_float3 b) { return ss_make_float3(a.x - b.x, a.y - b.y, a.z - b.z); }
ss_device_inline ss_float3 v3_scale(ss_float3 a, float s) { return ss_make_float3(a.x * s, a.y * s, a.z * s); }
ss_device_inline float v3_dot(ss_float3 a, ss_float3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
ss_device_inline ss_float3 v3_cross(ss_float3 a, ss_float3 b) {
  return ss_make_float3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
ss_device_inline float v3_norm(ss_float3 a) { return ss_sqrt(v3_dot(a, a)); }
/* 3×4 row-major rigid transform */
ss_device_inline ss_float3 v3_transform(ss_constant float* m, ss_float3 p) {
  return ss_make_float3(m[0] * p.x + m[1] * p.y + m[2] * p.z + m[3],
                        m[4] * p.x + m[5] * p.y + m[6] * p.z + m[7],
                        m[8] * p.x + m[9] * p.y + m[10] * p.z + m[11]);
}
ss_device_inline ss_float3 v3_rotate(ss_constant float* m, ss_float3 p) {
  return ss_make_float3(m[0] * p.x + m[1] * p.y + m[2] * p.z, m[4] * p.x + m[5] * p.y + m[6] * p.z,
                        m[8] * p.x + m[9] * p.y + m[10] * p.z);
}

#endif
