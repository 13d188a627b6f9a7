/** Triangle meshes as typed arrays: what fusion extracts, PLY files hold and the synthetic scenes' truth is. */
export interface TriangleMesh {
  /** xyz per vertex */
  positions: Float32Array;
  /** rgb per vertex */
  colors?: Uint8Array;
  /** unit normal per vertex */
  normals?: Float32Array;
  /** three vertex indices per triangle; absent for a point cloud */
  indices?: Uint32Array;
}

/** A coloured, indexed mesh (the volume's whole surface). */
export type TriangleSoup = Required<Pick<TriangleMesh, 'positions' | 'colors' | 'indices'>>;
