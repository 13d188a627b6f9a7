import { defineArgs } from '../args';

const camera = { fx: 'f32', fy: 'f32', cx: 'f32', cy: 'f32' } as const;

export const tsdfTouchedArgs = defineArgs('tsdf_touched', {
  width: 'u32', height: 'u32', stride: 'u32', hash_capacity: 'u32',
  max_out: 'u32', pad0: 'u32', pad1: 'u32', pad2: 'u32',
  ...camera,
  cam_to_world: ['f32', 12],
  voxel_size: 'f32', sdf_trunc: 'f32', min_depth: 'f32', max_depth: 'f32',
});

export const tsdfIntegrateArgs = defineArgs('tsdf_integrate', {
  width: 'u32', height: 'u32', block_count: 'u32', has_color: 'u32',
  ...camera,
  world_to_cam: ['f32', 12],
  voxel_size: 'f32', sdf_trunc: 'f32', max_weight: 'f32', min_depth: 'f32',
  max_depth: 'f32', pad0: 'f32', pad1: 'f32', pad2: 'f32',
});

export const tsdfMeshArgs = defineArgs('tsdf_mesh', {
  block_count: 'u32', hash_mask: 'u32', capacity: 'u32', pad2: 'u32',
  voxel_size: 'f32', min_weight: 'f32', pad0: 'f32', pad1: 'f32',
});

export const tsdfRaycastArgs = defineArgs('tsdf_raycast', {
  width: 'u32', height: 'u32', hash_mask: 'u32', pad0: 'u32',
  ...camera,
  cam_to_world: ['f32', 12],
  voxel_size: 'f32', sdf_trunc: 'f32', min_depth: 'f32', max_depth: 'f32',
});

export const tsdfClearArgs = defineArgs('tsdf_clear', {
  block_count: 'u32', pad0: 'u32', pad1: 'u32', pad2: 'u32',
});

/** bytes per voxel: float tsdf, float weight, rgba8 (structure of arrays per block) */
export const VOXEL_BYTES = 12;
export const BLOCK_VOXELS = 512;
