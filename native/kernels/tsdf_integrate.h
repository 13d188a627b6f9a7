/* projective TSDF update of one voxel (KinectFusion / Open3D ScalableTSDFVolume rule) */
#ifndef SS_KERNEL_TSDF_INTEGRATE_H
#define SS_KERNEL_TSDF_INTEGRATE_H

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
  int32_t u = ss_round_to_int(args.fx * pc.x * inv_z + args.cx);
  int32_t r = ss_round_to_int(args.fy * pc.y * inv_z + args.cy);
  if (u < 0 || r < 0 || u >= (int32_t)args.width || r >= (int32_t)args.height) return;
  uint32_t pix = (uint32_t)r * args.width + (uint32_t)u;
  float d = depth[pix];
  if (!(d > 0.0f) || d < args.min_depth || d > args.max_depth) return;
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
