/* projective TSDF update of one voxel (KinectFusion / Open3D ScalableTSDFVolume rule) */
#ifndef SS_KERNEL_TSDF_INTEGRATE_H
#define SS_KERNEL_TSDF_INTEGRATE_H

/* Bilinear depth when the 4 surrounding pixels are valid and agree (within
 * a quarter of the truncation), else the nearest pixel's: sub-pixel depth
 * removes the stair-step bias nearest lookup leaves on slanted surfaces. */
ss_device_inline float tsdf_bilinear_depth(const ss_tsdf_integrate_args args, ss_global const float* depth, float u0f,
                                           float v0f, float fu, float fv, float nearest) {
  if (!(u0f >= 0.0f) || !(v0f >= 0.0f) || !(u0f + 1.0f < (float)args.width) || !(v0f + 1.0f < (float)args.height))
    return nearest;
  ss_global const float* row0 = depth + (uint32_t)v0f * args.width + (uint32_t)u0f;
  ss_global const float* row1 = row0 + args.width;
  float d00 = row0[0], d10 = row0[1], d01 = row1[0], d11 = row1[1];
  if (!(d00 > 0.0f) || !(d10 > 0.0f) || !(d01 > 0.0f) || !(d11 > 0.0f)) return nearest;
  float lo = ss_fmin(ss_fmin(d00, d10), ss_fmin(d01, d11)), hi = ss_fmax(ss_fmax(d00, d10), ss_fmax(d01, d11));
  if (!(hi - lo <= 0.25f * args.sdf_trunc)) return nearest;
  /* fused as GCC fuses the CPU's AVX2 rows (see tsdf_integrate_voxel) */
  float top = ss_fma(d10, fu, d00 * (1.0f - fu)), bottom = ss_fma(d11, fu, d01 * (1.0f - fu));
  return ss_fma(bottom, fv, top * (1.0f - fv));
}

/* block: {bx,by,bz,slot}; v: voxel index in the block (x + 8y + 64z).
 * The CPU backend runs a SIMD version of this (native/cpu/tsdf_integrate_simd.h)
 * that must keep the same rules. */
ss_device_inline void tsdf_integrate_voxel(const ss_tsdf_integrate_args args, ss_global const int32_t* block, uint32_t v,
                                           ss_global const float* depth, ss_global const uint8_t* color,
                                           ss_global float* pool) {
  int32_t gx = block[0] * SS_BLOCK_DIM + (int32_t)(v & 7);
  int32_t gy = block[1] * SS_BLOCK_DIM + (int32_t)((v >> 3) & 7);
  int32_t gz = block[2] * SS_BLOCK_DIM + (int32_t)(v >> 6);
  ss_float3 pw = ss_make_float3((float)gx * args.voxel_size, (float)gy * args.voxel_size, (float)gz * args.voxel_size);
  /* the arithmetic spelled out, fused where the CPU's AVX2 rows are (their
   * explicit FMAs, and what GCC fuses of the rest: native/cpu/tsdf_integrate_simd.h),
   * so a backend that does not contract (the Metal emulator) or contracts
   * otherwise lands on the CPU's side of a pixel's rounding edge: on exact
   * synthetic scenes whole rows of voxels sit at v = -0.5 */
  ss_constant float* m = args.world_to_cam;
  ss_float3 pc = ss_make_float3(ss_fma(m[0], pw.x, ss_fma(m[1], pw.y, m[2] * pw.z) + m[3]),
                                ss_fma(m[4], pw.x, ss_fma(m[5], pw.y, m[6] * pw.z) + m[7]),
                                ss_fma(m[8], pw.x, ss_fma(m[9], pw.y, m[10] * pw.z) + m[11]));
  if (!(pc.z > 0.0f)) return;
  float inv_z = 1.0f / pc.z;
  float uf = ss_fma(args.fx * pc.x, inv_z, args.cx);
  float vf = ss_fma(args.fy * pc.y, inv_z, args.cy);
  /* nearest pixel = floor(x + 0.5) */
  float u0f = ss_floor(uf), v0f = ss_floor(vf);
  float fu = uf - u0f, fv = vf - v0f;
  float unf = fu >= 0.5f ? u0f + 1.0f : u0f, vnf = fv >= 0.5f ? v0f + 1.0f : v0f;
  if (!(unf >= 0.0f) || !(vnf >= 0.0f) || !(unf < (float)args.width) || !(vnf < (float)args.height)) return;
  int32_t un = (int32_t)unf, vn = (int32_t)vnf;
  uint32_t pix = (uint32_t)vn * args.width + (uint32_t)un;
  float d = depth[pix];
  if (!(d > 0.0f) || !(d >= args.min_depth) || !(d <= args.max_depth)) return;
  d = tsdf_bilinear_depth(args, depth, u0f, v0f, fu, fv, d);
  float sdf = d - pc.z;
  if (!(sdf >= -args.sdf_trunc)) return;
  float tsdf = ss_fmin(1.0f, sdf * (1.0f / args.sdf_trunc));
  ss_global float* base = ss_block_base(pool, block[3]);
  float w = base[SS_BLOCK_VOXELS + v];
  float nw = w + 1.0f;
  float inv = 1.0f / nw;
  base[v] = ss_fma(base[v], w, tsdf) * inv;
  base[SS_BLOCK_VOXELS + v] = ss_fmin(nw, args.max_weight);
  if (args.has_color) {
    ss_global const uint8_t* c = color + 3 * pix;
    ss_global uint8_t* rgba = (ss_global uint8_t*)(base + 2 * SS_BLOCK_VOXELS) + 4 * v;
    for (uint32_t k = 0; k < 3; ++k) rgba[k] = (uint8_t)ss_round_to_int(ss_fma((float)rgba[k], w, (float)c[k]) * inv);
  }
}

#endif
