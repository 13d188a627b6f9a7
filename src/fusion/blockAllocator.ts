/**
 * Which voxel blocks exist and which changed: the blocks a depth frame
 * touches (one native call), their pool slots in the block hash, the dirty
 * set and, for each slot, its −x/−y/−z neighbours (whose seam cubes read its
 * voxels, so they are re-meshed with it). A slot never moves until reset().
 */
import type { Intrinsics } from '../geometry/intrinsics';
import { top3x4, type Pose } from '../geometry/se3';
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { BLOCK_VOXELS, VOXEL_BYTES } from '../native/kernels/tsdf';
import { BlockHash } from './blockHash';

/** The block budget is spent; nothing was written past it. */
export class VolumeFullError extends Error {
  constructor(maxBlocks: number, voxelSize: number) {
    const mb = ((maxBlocks * BLOCK_VOXELS * VOXEL_BYTES) / 2 ** 20).toFixed(0);
    super(`TSDF volume is full: all ${maxBlocks} voxel blocks (${mb} MiB at ${voxelSize} m voxels) are in use; ` +
      'raise maxBlocks (--max-blocks), use larger voxels, lower maxDepth, or set onFull to "drop"');
    this.name = 'VolumeFullError';
  }
}

export interface AllocatorOptions {
  maxBlocks: number;
  voxelSize: number;
  sdfTrunc: number;
  minDepth: number;
  maxDepth: number;
  allocationStride: number;
  onFull: 'error' | 'drop';
}

export interface Allocation {
  /** blocks the frame updates, listed in blockList (bx, by, bz, slot) */
  count: number;
  /** of which newly allocated */
  fresh: number;
  /** blocks the frame touched but the full budget refused (onFull: 'drop') */
  dropped: number;
}

export class BlockAllocator {
  readonly hash: BlockHash;
  /** (bx, by, bz, slot) int32 rows: the blocks of the current native call */
  readonly blockList: NativeBuffer;
  private readonly ctx: NativeContext;
  private readonly o: AllocatorOptions;
  private readonly dirty: Uint8Array;
  /** slots changed since the last takeDirty(), first dirtyCount entries (takeDirty() appends the neighbours after them) */
  private dirtyList: Int32Array;
  private dirtyN = 0;
  /** slot + 1 of each block's −x/−y/−z neighbours (7 per slot), 0 = absent; kept by linkNewBlock() */
  private readonly lowerNeighbours: Int32Array;
  /** touched-block set: sized to the frames seen, grown (×2) when a frame overflows it */
  private touchedScratch: NativeBuffer;
  private touchedOut: NativeBuffer;
  /** the touched blocks' slots (-1: not in the hash yet) */
  private touchedSlots: NativeBuffer;
  private readonly touchedCounts: NativeBuffer;
  private touchedMax: number;
  private readonly touchedLimit: number;

  constructor(ctx: NativeContext, options: AllocatorOptions) {
    this.ctx = ctx;
    this.o = options;
    this.hash = new BlockHash(ctx, options.maxBlocks);
    this.dirty = new Uint8Array(options.maxBlocks);
    this.dirtyList = new Int32Array(Math.min(options.maxBlocks, 16384));
    this.lowerNeighbours = new Int32Array(options.maxBlocks * 7);
    let limit = 1;
    while (limit < Math.min(options.maxBlocks, 1 << 18)) limit *= 2;
    this.touchedLimit = limit;
    // a VGA frame touches a few thousand blocks: start small, so clearing and scanning the set stays cheap
    this.touchedMax = Math.min(limit, 8192);
    this.touchedScratch = ctx.buffer(this.touchedMax * 2 * 8);
    this.touchedOut = ctx.buffer(this.touchedMax * 12);
    this.touchedSlots = ctx.buffer(this.touchedMax * 4);
    this.touchedCounts = ctx.buffer(8);
    this.blockList = ctx.buffer(Math.max(options.maxBlocks, limit) * 16);
  }

  /** blocks changed since the last takeDirty() */
  get dirtyCount(): number {
    return this.dirtyN;
  }

  /** native bytes held for the block hash */
  get hashBytes(): number {
    return this.hash.table.bytes;
  }

  /**
   * Finds the blocks a depth frame (already in `depth`) touches, allocates the
   * new ones, marks them dirty and lists them in blockList (uploaded).
   */
  allocate(depth: NativeBuffer, K: Intrinsics, camToWorld: Pose): Allocation {
    const o = this.o;
    let counts: Uint32Array;
    for (;;) {
      this.ctx.call('ss_tsdf_touched_blocks', {
        width: K.width, height: K.height, fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy,
        stride: o.allocationStride, hash_capacity: this.touchedMax * 2, max_out: this.touchedMax,
        cam_to_world: top3x4(camToWorld), voxel_size: o.voxelSize, sdf_trunc: o.sdfTrunc,
        min_depth: o.minDepth, max_depth: o.maxDepth,
      }, { depth, scratch: this.touchedScratch, out: this.touchedOut, counts: this.touchedCounts });
      this.touchedCounts.download();
      counts = this.touchedCounts.u32(0, 2);
      if ((counts[1] as number) === 0 || this.touchedMax >= this.touchedLimit) break;
      // the set overflowed: grow it and ask again (rare: only the first frames of a bigger view)
      this.touchedMax *= 2;
      this.touchedScratch.destroy();
      this.touchedOut.destroy();
      this.touchedSlots.destroy();
      this.touchedScratch = this.ctx.buffer(this.touchedMax * 2 * 8);
      this.touchedOut = this.ctx.buffer(this.touchedMax * 12);
      this.touchedSlots = this.ctx.buffer(this.touchedMax * 4);
    }
    const n = counts[0] as number;
    let dropped = counts[1] as number;
    const hash = this.hash, dirty = this.dirty;
    // the known blocks' slots, looked up by the kernels in their copy of the table (equal to the host's:
    // every allocate() ends with sync()); only the new blocks are inserted here, in the list's order as before
    if (n > 0) {
      this.ctx.call('ss_tsdf_hash_lookup', { count: n, hash_mask: hash.mask }, { hash: hash.table, coords: this.touchedOut, slots: this.touchedSlots });
      this.touchedSlots.download(0, n * 4);
    }
    this.touchedOut.download(0, n * 12);
    const coords = this.touchedOut.i32(0, n * 3);
    const known = this.touchedSlots.i32(0, n);
    const list = this.blockList.i32(0, 4 * n);
    let dirtyList = this.dirtyList, dirtyCount = this.dirtyN;
    let count = 0;
    let fresh = 0;
    for (let k = 0; k < n; k++) {
      let slot = known[k] as number;
      const x = coords[3 * k] as number, y = coords[3 * k + 1] as number, z = coords[3 * k + 2] as number;
      if (slot < 0) {
        slot = hash.findOrInsertSlot(x, y, z);
        if (slot < 0) {
          if (o.onFull === 'error') {
            this.dirtyN = dirtyCount;
            hash.sync();
            throw new VolumeFullError(o.maxBlocks, o.voxelSize);
          }
          dropped++;
          continue;
        }
        fresh++;
        this.linkNewBlock(x, y, z, slot);
      }
      list[4 * count] = x;
      list[4 * count + 1] = y;
      list[4 * count + 2] = z;
      list[4 * count + 3] = slot;
      count++;
      if (dirty[slot] === 0) {
        dirty[slot] = 1;
        if (dirtyCount === dirtyList.length) dirtyList = this.growDirtyList();
        dirtyList[dirtyCount++] = slot;
      }
    }
    this.dirtyN = dirtyCount;
    hash.sync();
    this.blockList.upload(0, count * 16);
    return { count, fresh, dropped };
  }

  private growDirtyList(): Int32Array {
    const grown = new Int32Array(Math.min(2 * this.dirtyList.length, this.o.maxBlocks));
    grown.set(this.dirtyList);
    this.dirtyList = grown;
    return grown;
  }

  /**
   * Links a new block into lowerNeighbours: its own −x/−y/−z neighbours, and
   * itself as that neighbour of the blocks above it (so takeDirty() needs no
   * hash look-up).
   */
  private linkNewBlock(x: number, y: number, z: number, slot: number): void {
    const known = this.lowerNeighbours;
    for (let n = 1; n < 8; n++) {
      const dx = n & 1, dy = (n >> 1) & 1, dz = n >> 2;
      const below = this.hash.find(x - dx, y - dy, z - dz);
      known[7 * slot + n - 1] = below + 1;
      const above = this.hash.find(x + dx, y + dy, z + dz);
      if (above >= 0) known[7 * above + n - 1] = slot + 1;
    }
  }

  /**
   * The dirty slots plus their −x/−y/−z neighbours, in that order; the dirty
   * set is emptied. The array is reused by the next call.
   */
  takeDirty(): Int32Array {
    const mark = this.dirty;
    const known = this.lowerNeighbours;
    let list = this.dirtyList;
    const targets = this.dirtyN;
    // dirty[slot]: 1 = integrated, 2 = neighbour added here
    let all = targets;
    for (let k = 0; k < targets; k++) {
      const base = 7 * (list[k] as number) - 1;
      for (let n = 1; n < 8; n++) {
        const s = (known[base + n] as number) - 1;
        if (s >= 0 && mark[s] === 0) {
          mark[s] = 2;
          if (all === list.length) list = this.growDirtyList();
          list[all++] = s;
        }
      }
    }
    for (let k = 0; k < all; k++) mark[list[k] as number] = 0;
    this.dirtyN = 0;
    return list.subarray(0, all);
  }

  /** Lists these slots in blockList (uploaded), for a native call over them. */
  list(slots: ArrayLike<number>): NativeBuffer {
    const n = slots.length;
    const list = this.blockList.i32(0, 4 * n);
    const coords = this.hash.coords;
    for (let k = 0; k < n; k++) {
      const s = slots[k] as number;
      list[4 * k] = coords[3 * s] as number;
      list[4 * k + 1] = coords[3 * s + 1] as number;
      list[4 * k + 2] = coords[3 * s + 2] as number;
      list[4 * k + 3] = s;
    }
    return this.blockList.upload(0, n * 16);
  }

  /** Forgets every block (the caller clears their voxels first). */
  reset(): void {
    this.hash.clear();
    this.dirty.fill(0);
    this.dirtyN = 0;
    this.lowerNeighbours.fill(0);
  }

  destroy(): void {
    for (const b of [this.touchedScratch, this.touchedOut, this.touchedSlots, this.touchedCounts, this.blockList]) b.destroy();
    this.hash.destroy();
  }
}
