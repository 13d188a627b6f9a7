/** Integer coordinates of an 8³ voxel block (block size = 8 × voxel size). */
export interface BlockCoord {
  bx: number;
  by: number;
  bz: number;
}

/**
 * The mesh of one voxel block at one version: what the viewer replaces
 * wholesale when a newer version of the same key arrives. Indices are local
 * to the block (0 = its first vertex). An empty mesh (no indices) means the
 * block has no surface any more (a removal).
 */
export interface MeshBlock extends BlockCoord {
  /** monotonically increasing per block; newer wins */
  version: number;
  /** xyz float32, world frame, metres */
  positions: Float32Array;
  /** rgb uint8 per vertex */
  colors: Uint8Array;
  /** uint32 triangle list, local to this block */
  indices: Uint32Array;
}

/** Stable string key of a block, e.g. "3,-1,7". */
export function blockKey(b: BlockCoord): string {
  return `${b.bx},${b.by},${b.bz}`;
}
