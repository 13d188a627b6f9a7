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

/** Bytes of a block's packed record: positions, colours padded to 4, indices (ss_tsdf_mesh_blocks). */
export function packedMeshBytes(vertices: number, indices: number): number {
  return 12 * vertices + ((3 * vertices + 3) & ~3) + 4 * indices;
}

/**
 * A block mesh held as one packed record — positions (f32 xyz), colours (u8
 * rgb, zero-padded to 4 bytes), indices (u32) — exactly the three sections
 * of its MeshBlock wire message, so the server copies it in one go. Every
 * view, the record's included, is made on first use: a frame re-meshes
 * thousands of blocks, and most consumers read only some of their arrays.
 *
 * The volume owns the memory: a block from meshDirty() stays readable while
 * it is the block's current mesh (the volume relocates it when it compacts
 * its arenas), and after the volume re-meshes that block until it reuses the
 * memory, or is reset or destroyed. Keep a superseded one longer with
 * copy(); reading a retired one throws instead of showing another frame's
 * mesh.
 */
export class PackedMeshBlock implements MeshBlock {
  private rec?: Uint8Array;
  private pos?: Float32Array;
  private col?: Uint8Array;
  private idx?: Uint32Array;
  private offset: number;
  /**
   * The record is `source` itself, or with `offset` given, the record's bytes
   * starting there (a range of a mesh arena: the view is made on first use).
   */
  constructor(
    readonly bx: number, readonly by: number, readonly bz: number, readonly version: number,
    private source: Uint8Array,
    readonly vertexCount: number,
    readonly indexCount: number,
    offset?: number,
  ) {
    const bytes = packedMeshBytes(vertexCount, indexCount);
    this.offset = offset ?? 0;
    const fits = offset === undefined ? source.byteLength === bytes : this.offset + bytes <= source.byteLength;
    if (!fits || (source.byteOffset + this.offset) % 4 !== 0) {
      throw new RangeError(`packed mesh block: ${source.byteLength - this.offset} bytes at offset ${source.byteOffset + this.offset} do not hold ${vertexCount} vertices and ${indexCount} indices`);
    }
  }
  /** the packed record; throws once the volume has retired it */
  get packed(): Uint8Array {
    if (this.source.byteLength === 0 && this.vertexCount > 0) {
      throw new MeshBlockRetiredError(`mesh block ${this.bx},${this.by},${this.bz} version ${this.version} was re-meshed and its memory reused: copy() blocks you keep`);
    }
    return (this.rec ??= this.source.subarray(this.offset, this.offset + packedMeshBytes(this.vertexCount, this.indexCount)));
  }
  get positions(): Float32Array {
    const rec = this.packed;
    return (this.pos ??= new Float32Array(rec.buffer, rec.byteOffset, 3 * this.vertexCount));
  }
  get colors(): Uint8Array {
    const rec = this.packed;
    return (this.col ??= rec.subarray(12 * this.vertexCount, 15 * this.vertexCount));
  }
  get indices(): Uint32Array {
    const rec = this.packed;
    return (this.idx ??= new Uint32Array(rec.buffer, rec.byteOffset + 12 * this.vertexCount + ((3 * this.vertexCount + 3) & ~3), this.indexCount));
  }
  /** where the record starts in its arena's bytes (0 when it has memory of its own) */
  get recordOffset(): number {
    return this.offset;
  }

  /**
   * The volume moved the (unchanged) record to `offset` in `source`, so the
   * block, and anyone holding it, stays readable after its old arena is reused.
   */
  relocate(source: Uint8Array, offset: number): void {
    this.source = source;
    this.offset = offset;
    this.rec = this.pos = this.col = this.idx = undefined;
  }

  /** a copy in memory of its own, readable for as long as it is referenced */
  copy(): PackedMeshBlock {
    return new PackedMeshBlock(this.bx, this.by, this.bz, this.version, this.packed.slice(), this.vertexCount, this.indexCount);
  }
}

/** A PackedMeshBlock read after the volume re-meshed its block and reused the memory. */
export class MeshBlockRetiredError extends Error {
  override name = 'MeshBlockRetiredError';
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
