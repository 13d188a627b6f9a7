/* projective TSDF update of one voxel (KinectFusion / Open3D ScalableTSDFVolume rule) */
#ifndef SS_KERNEL_TSDF_INTEGRATE_H
#define SS_KERNEL_TSDF_INTEGRATE_H

/* Bilinear depth when the 4 surrounding pixels are valid and agree (within
 * a quarter of the truncation), else the nearest pixel's: sub-pixel depth
 * removes the stair-step bias nearest lookup leaves on slanted surfaces. */
ss_device_inline float tsdf_bilinear_depth(const ss_tsdf_integrate_args args, ss_global const float* depth, float uf,
                                           float vf, float nearest) {
  int32_t u0 = ss_float_to_int_floor(uf), v0 = ss_float_to_int_floor(vf);
  if (u0 < 0 || v0 < 0 || u0 + 1 >= (int32_t)args.width || v0 + 1 >= (int32_t)args.height) return nearest;
  ss_global const float* row0 = depth + (uint32_t)v0 * args.width + (uint32_t)u0;
  ss_global const float* row1 = row0 + args.width;
  float d00 = row0[0], d10 = row0[1], d01 = row1[0], d11 = row1[1];
  if (!(d00 > 0.0f) || !(d10 > 0.0f) || !(d01 > 0.0f) || !(d11 > 0.0f)) return nearest;
  float lo = ss_fmin(ss_fmin(d00, d10), ss_fmin(d01, d11)), hi = ss_fmax(ss_fmax(d00, d10), ss_fmax(d01, d11));
  if (hi - lo > 0.25f * args.sdf_trunc) return nearest;
  float fu = uf - (float)u0, fv = vf - (float)v0;
  return (d00 * (1.0f - fu) + d10 * fu) * (1.0f - fv) + (d01 * (1.0f - fu) + d11 * fu) * fv;
}

/* block: {bx,by,bz,slot}; v: voxel index in the block (x + 8y + 64z) */
ss_device_inline void tsdf_integrate_voxel(const ss_tsdf_integrate_args args, ss_global const int32_t* block, uint32_t v,
                                           ss_global const float* depth, ss_global const uint8_t* color,
                                           ss_global ss_voxel* pool) {
  int32_t gx = block[0] * SS_BLOCK_DIM + (int32_t)(v & 7);
  int32_t gy = block[1] * SS_BLOCK_DIM + (int32_t)((v >> 3) & 7);
  int32_t gz = block[2] * SS_BLOCK_DIM + (int32_t)(v >> 6);
  ss_float3 pw = ss_make_float3((float)gx * args.voxel_size, (float)gy * args.voxel_size, (float)gz * args.voxel_size);
  ss_float3 pc = v3_transform(args.world_to_cam, pw);
  if (!(pc.z > 0.0f)) return;
  float inv_z = 1.0f / pc.z;
  float uf = args.fx * pc.x * inv_z + args.cx;
  float vf = args.fy * pc.y * inv_z + args.cy;
  int32_t u = ss_round_to_int(uf);
  int32_t r = ss_round_to_int(vf);
  if (u < 0 || r < 0 || u >= (int32_t)args.width || r >= (int32_t)args.height) return;
  uint32_t pix = (uint32_t)r * args.width + (uint32_t)u;
  float d = depth[pix];
  if (!(d > 0.0f) || d < args.min_depth || d > args.max_depth) return;
  d = tsdf_bilinear_depth(args, depth, uf, vf, d);
  float sdf = d - pc.z;
  if (sdf < -args.sdf_trunc) return;
  float tsdf = ss_fmin(1.0f, sdf / args.sdf_trunc);
  ss_global ss_voxel* vox = pool + (uint64_t)block[3] * SS_BLOCK_VOXELS + v;
  float w = vox->weight;
  float nw = w + 1.0f;
  vox->tsdf = (vox->tsdf * w + tsdf) / nw;
  if (args.has_color) {
    ss_global const uint8_t* c = color + 3 * pix;
    vox->r = (uint8_t)ss_round_to_int(((float)vox->r * w + (float)c[0]) / nw);
    vox->g = (uint8_t)ss_round_to_int(((float)vox->g * w + (float)c[1]) / nw);
    vox->b = (uint8_t)ss_round_to_int(((float)vox->b * w + (float)c[2]) / nw);
  }
  vox->weight = ss_fmin(nw, args.max_weight);
}

#endif
