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

/** Geometry of a block mesh, without its key (what export and PLY writing need). */
export interface BlockGeometry {
  positions: Float32Array;
  colors: Uint8Array;
  indices: Uint32Array;
}

/** Concatenates block meshes into one indexed mesh (seam vertices stay duplicated). */
export function concatBlocks(blocks: Iterable<BlockGeometry>): { positions: Float32Array; colors: Uint8Array; indices: Uint32Array } {
  const list = [...blocks];
  const nv = list.reduce((n, b) => n + b.positions.length / 3, 0);
  const ni = list.reduce((n, b) => n + b.indices.length, 0);
  const positions = new Float32Array(nv * 3);
  const colors = new Uint8Array(nv * 3);
  const indices = new Uint32Array(ni);
  let v = 0, i = 0;
  for (const b of list) {
    positions.set(b.positions, 3 * v);
    colors.set(b.colors, 3 * v);
    for (let k = 0; k < b.indices.length; k++) indices[i + k] = (b.indices[k] as number) + v;
    v += b.positions.length / 3;
    i += b.indices.length;
  }
  return { positions, colors, indices };
}
