/**
 * Voxel-block TSDF: the voxels live in one native pool and every per-frame
 * step is one native call; the bookkeeping is here, in parts with one concern
 * each: which blocks exist and changed (blockAllocator.ts), the blocks'
 * meshes in arenas (meshStore.ts), the seam-merged whole mesh
 * (mergeBlockMeshes.ts) and ray-casting (raycaster.ts).
 */
import { formatZodIssues, TsdfVolumeOptionsSchema, type TsdfVolumeOptionsInput } from '../config';
import type { Intrinsics } from '../geometry/intrinsics';
import type { TriangleSoup } from '../geometry/mesh';
import { invertRigid, rigidPoseProblem, top3x4, type Pose } from '../geometry/se3';
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { Status } from '../native/errors';
import { BLOCK_VOXELS, VOXEL_BYTES } from '../native/kernels/tsdf';
import { BlockAllocator } from './blockAllocator';
import type { MeshBlock } from './meshBlock';
import { mergeBlockMeshes } from './mergeBlockMeshes';
import { MeshStore } from './meshStore';
import { Raycaster, type RaycastResult } from './raycaster';

export interface IntegrateResult {
  /** blocks updated by this frame */
  blocks: number;
  /** of which newly allocated */
  newBlocks: number;
  /** blocks the frame touched but the full budget refused (onFull: 'drop') */
  dropped: number;
}

export class TsdfVolume {
  readonly voxelSize: number;
  readonly sdfTrunc: number;
  readonly maxWeight: number;
  readonly maxBlocks: number;
  readonly minDepth: number;
  readonly maxDepth: number;
  readonly onFull: 'error' | 'drop';
  readonly allocationStride: number;
  readonly minMeshWeight: number;

  private readonly ctx: NativeContext;
  private readonly pool: NativeBuffer;
  private readonly blocks: BlockAllocator;
  private readonly meshes: MeshStore;
  private readonly raycaster: Raycaster;
  private droppedTotal = 0;
  private destroyed = false;
  // the frame being integrated, grown on demand
  private depthBuf: NativeBuffer | null = null;
  private colorBuf: NativeBuffer | null = null;

  /** options: TsdfVolumeOptionsSchema in config.ts (the defaults live there) */
  constructor(ctx: NativeContext, options: TsdfVolumeOptionsInput) {
    const parsed = TsdfVolumeOptionsSchema.safeParse(options);
    if (!parsed.success) throw new RangeError(`TsdfVolume: ${formatZodIssues(parsed.error, '(options)', ' ')}`);
    const o = parsed.data;
    this.ctx = ctx;
    this.voxelSize = o.voxelSize;
    this.sdfTrunc = o.sdfTrunc ?? 4 * o.voxelSize;
    this.maxWeight = o.maxWeight;
    this.maxBlocks = o.maxBlocks;
    this.minDepth = o.minDepth;
    this.maxDepth = o.maxDepth;
    this.onFull = o.onFull;
    this.allocationStride = o.allocationStride;
    this.minMeshWeight = o.minMeshWeight;
    this.blocks = new BlockAllocator(ctx, {
      maxBlocks: this.maxBlocks, voxelSize: this.voxelSize, sdfTrunc: this.sdfTrunc, minDepth: this.minDepth, maxDepth: this.maxDepth,
      allocationStride: this.allocationStride, onFull: this.onFull,
    });
    this.pool = ctx.buffer(this.maxBlocks * BLOCK_VOXELS * VOXEL_BYTES);
    this.meshes = new MeshStore(ctx, this.maxBlocks);
    this.raycaster = new Raycaster(ctx);
  }

  /** live voxel blocks */
  get blockCount(): number {
    return this.blocks.hash.size;
  }

  get triangles(): number {
    return this.meshes.triangles;
  }

  get droppedBlocks(): number {
    return this.droppedTotal;
  }

  /** blocks changed since the last meshDirty() */
  get dirtyCount(): number {
    return this.blocks.dirtyCount;
  }

  /**
   * The voxel pool and block hash as native buffers, for kernels that read
   * the model directly (ray-cast for tracking). Read-only by convention:
   * only this class writes them.
   */
  modelBuffers(): { pool: NativeBuffer; hash: NativeBuffer; hashMask: number } {
    this.check();
    return { pool: this.pool, hash: this.blocks.hash.table, hashMask: this.blocks.hash.mask };
  }

  /** bytes held in native memory by this volume's voxels and hash */
  get nativeBytes(): number {
    return this.pool.bytes + this.blocks.hashBytes;
  }

  /** native bytes of mesh records (current meshes' arenas and the arena pool's spare buffers) */
  get meshNativeBytes(): number {
    return this.meshes.nativeBytes;
  }

  private check(): void {
    if (this.destroyed) throw new Error('TsdfVolume was used after destroy()');
  }

  private frameBuffers(pixels: number): { depth: NativeBuffer; color: NativeBuffer } {
    if (!this.depthBuf || this.depthBuf.bytes < pixels * 4) {
      this.depthBuf?.destroy();
      this.colorBuf?.destroy();
      this.depthBuf = this.ctx.buffer(pixels * 4);
      this.colorBuf = this.ctx.buffer(pixels * 3);
    }
    return { depth: this.depthBuf, color: this.colorBuf as NativeBuffer };
  }

  /**
   * Fuses one depth (+ colour) frame seen from camToWorld. Depth in metres,
   * 0/NaN = no measurement; rgb 3 bytes per pixel or undefined.
   */
  integrate(depth: Float32Array, rgb: Uint8Array | undefined, K: Intrinsics, camToWorld: Pose): IntegrateResult {
    this.check();
    const pixels = K.width * K.height;
    if (depth.length !== pixels) {
      throw new RangeError(`integrate: depth has ${depth.length} values, intrinsics say ${K.width}×${K.height} = ${pixels}`);
    }
    if (rgb && rgb.length !== pixels * 3) throw new RangeError(`integrate: rgb has ${rgb.length} bytes, expected ${pixels * 3}`);
    const problem = rigidPoseProblem(camToWorld);
    if (problem) throw new RangeError(`integrate: camera pose is not a rigid transform (${problem})`);
    const bufs = this.frameBuffers(pixels);
    bufs.depth.write(depth);
    if (rgb) bufs.color.write(rgb);
    const touched = this.blocks.allocate(bufs.depth, K, camToWorld);
    this.droppedTotal += touched.dropped;
    this.ctx.call('ss_tsdf_integrate', {
      width: K.width, height: K.height, fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy,
      block_count: touched.count, has_color: rgb ? 1 : 0, world_to_cam: top3x4(invertRigid(camToWorld)),
      voxel_size: this.voxelSize, sdf_trunc: this.sdfTrunc, max_weight: this.maxWeight,
      min_depth: this.minDepth, max_depth: this.maxDepth,
    }, { depth: bufs.depth, color: bufs.color, blocks: this.blocks.blockList, pool: this.pool });
    return { blocks: touched.count, newBlocks: touched.fresh, dropped: touched.dropped };
  }

  /**
   * Re-meshes the blocks integrated since the last call, plus their −x/−y/−z
   * neighbours (whose seam cubes read the changed voxels). Returns the new
   * block meshes (empty indices = the block no longer has a surface).
   */
  meshDirty(): MeshBlock[] {
    this.check();
    if (this.blocks.dirtyCount === 0) return [];
    const slots = this.blocks.takeDirty();
    const list = this.blocks.list(slots);
    const hash = this.blocks.hash;
    return this.meshes.remesh(slots, hash.coords, (mesh, ranges, totals) => this.ctx.call('ss_tsdf_mesh_blocks', {
      block_count: slots.length, hash_mask: hash.mask, capacity: Math.min(mesh.bytes, 0xfffffffc),
      voxel_size: this.voxelSize, min_weight: this.minMeshWeight,
    }, { pool: this.pool, hash: hash.table, blocks: list, mesh, ranges, totals }, [Status.CAPACITY]));
  }

  /** every block's current mesh (blocks without a surface left out) */
  meshBlocks(): MeshBlock[] {
    return this.meshes.current(this.blocks.hash.size);
  }

  /** The whole surface as one indexed mesh, seams merged so it is connected. */
  extractMesh(): TriangleSoup {
    this.meshDirty();
    return mergeBlockMeshes(this.meshBlocks());
  }

  /** Renders the model's zero level set from a camera (depth, normals, colour). */
  raycast(K: Intrinsics, camToWorld: Pose): RaycastResult {
    this.check();
    return this.raycaster.raycast({ ...this.modelBuffers(), voxelSize: this.voxelSize, sdfTrunc: this.sdfTrunc, minDepth: this.minDepth, maxDepth: this.maxDepth },
      K, camToWorld);
  }

  /** Empties the volume (every block unobserved, meshes dropped). */
  reset(): void {
    this.check();
    const n = this.blocks.hash.size;
    if (n > 0) {
      const list = this.blocks.list(Array.from({ length: n }, (_, s) => s));
      this.ctx.call('ss_tsdf_clear_blocks', { block_count: n }, { blocks: list, pool: this.pool });
    }
    this.blocks.reset();
    this.meshes.reset();
    this.droppedTotal = 0;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of [this.pool, this.depthBuf, this.colorBuf]) b?.destroy();
    this.raycaster.destroy();
    this.blocks.destroy();
    this.meshes.destroy();
  }
}
