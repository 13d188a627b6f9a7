/** bytes per voxel: float tsdf, float weight, rgba8 (structure of arrays per block) */
export const VOXEL_BYTES = 12;
export const BLOCK_VOXELS = 512;
