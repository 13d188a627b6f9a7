import type { Intrinsics } from '../geometry/intrinsics';
import type { TriangleSoup } from '../geometry/mesh';
import { invertRigid, type Pose, rigidPoseProblem, top3x4 } from '../geometry/se3';
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { Status } from '../native/errors';
import {
  BLOCK_VOXELS, VOXEL_BYTES,
} from '../native/kernels/tsdf';
import { BlockHash } from './blockHash';
import { ArenaPool, MeshArena } from './meshArena';
import { packedMeshBytes, PackedMeshBlock, type MeshBlock } from './meshBlock';

const EMPTY = new Uint8Array(0);

export interface TsdfOptions {
  /** voxel edge in metres */
  voxelSize: number;
  /** truncation distance in metres (default 4 voxels) */
  sdfTrunc?: number;
  /** weights are capped here so the model keeps adapting */
  maxWeight?: number;
  /** block budget: the pool holds this many 8³ blocks (12 bytes per voxel) */
  maxBlocks?: number;
  minDepth?: number;
  maxDepth?: number;
  /** 'error' throws VolumeFullError when the budget is spent; 'drop' stops allocating and counts what it skipped */
  onFull?: 'error' | 'drop';
  /** sample every n-th pixel to find touched blocks */
  allocationStride?: number;
  /** voxels with less weight are not meshed */
  minMeshWeight?: number;
}

/** The block budget is spent; nothing was written past it. */
export class VolumeFullError extends Error {
  constructor(maxBlocks: number, voxelSize: number) {
    const mb = ((maxBlocks * BLOCK_VOXELS * VOXEL_BYTES) / 2 ** 20).toFixed(0);
    super(`TSDF volume is full: all ${maxBlocks} voxel blocks (${mb} MiB at ${voxelSize} m voxels) are in use; ` +
      'raise maxBlocks (--max-blocks), use larger voxels, lower maxDepth, or set onFull to "drop"');
    this.name = 'VolumeFullError';
  }
}

export interface IntegrateResult {
  /** blocks updated by this frame */
  blocks: number;
  /** of which newly allocated */
  newBlocks: number;
  /** blocks the frame touched but the full budget refused (onFull: 'drop') */
  dropped: number;
}

export interface RaycastResult {
  /** z depth in metres, 0 = no surface */
  depth: Float32Array;
  /** world-frame unit normals, NaN on miss */
  normals: Float32Array;
  color: Uint8Array;
}

/**
 * Voxel-block TSDF: bookkeeping here (hash, slots, dirty set, block meshes),
 * voxels and per-frame work in native buffers and calls (one per stage).
 */
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
  private readonly hash: BlockHash;
  private readonly pool: NativeBuffer;
  private readonly dirty: Uint8Array;
  private dirtyList: number[] = [];
  private readonly versions: Uint32Array;
  /** slot + 1 of each block's −x/−y/−z neighbours (7 per slot), 0 = absent; kept by linkNewBlock() */
  private readonly lowerNeighbours: Int32Array;
  private readonly meshes: (PackedMeshBlock | undefined)[];
  /** the arena each slot's current mesh is a view into (meshArena.ts) */
  private readonly arenaOf: (MeshArena | undefined)[];
  /** arenas some current mesh is a view into, and where they go back to */
  private readonly arenas = new Set<MeshArena>();
  private readonly arenaPool: ArenaPool;
  /** record bytes per meshed block in the last call: sizes the next call's output */
  private recordBytesPerBlock = 4096;
  private triangleCount = 0;
  private droppedTotal = 0;
  private destroyed = false;

  // per-frame scratch, grown on demand
  private depthBuf: NativeBuffer | null = null;
  private colorBuf: NativeBuffer | null = null;
  /** touched-block set: sized to the frames seen, grown (×2) when a frame overflows it */
  private touchedScratch: NativeBuffer;
  private touchedOut: NativeBuffer;
  private readonly touchedCounts: NativeBuffer;
  private touchedMax: number;
  private readonly touchedLimit: number;
  private readonly blockList: NativeBuffer;
  /** ss_tsdf_mesh_blocks' per-block ranges (grown on demand) and totals */
  private meshRanges: NativeBuffer | null = null;
  private readonly meshTotals: NativeBuffer;
  private rayOut: { depth: NativeBuffer; normals: NativeBuffer; color: NativeBuffer; pixels: number } | null = null;

  constructor(ctx: NativeContext, options: TsdfOptions) {
    if (!(options.voxelSize > 0)) throw new RangeError(`voxelSize must be > 0 metres, got ${options.voxelSize}`);
    this.ctx = ctx;
    this.voxelSize = options.voxelSize;
    this.sdfTrunc = options.sdfTrunc ?? 4 * options.voxelSize;
    this.maxWeight = options.maxWeight ?? 128;
    this.maxBlocks = options.maxBlocks ?? 65536;
    this.minDepth = options.minDepth ?? 0.1;
    this.maxDepth = options.maxDepth ?? 6;
    this.onFull = options.onFull ?? 'error';
    this.allocationStride = options.allocationStride ?? 4;
    this.minMeshWeight = options.minMeshWeight ?? 1;
    if (!(this.sdfTrunc > 0)) throw new RangeError(`sdfTrunc must be > 0, got ${this.sdfTrunc}`);
    if (!Number.isInteger(this.maxBlocks) || this.maxBlocks < 1) throw new RangeError(`maxBlocks must be a positive integer, got ${this.maxBlocks}`);

    this.hash = new BlockHash(ctx, this.maxBlocks);
    this.pool = ctx.buffer(this.maxBlocks * BLOCK_VOXELS * VOXEL_BYTES);
    this.dirty = new Uint8Array(this.maxBlocks);
    this.versions = new Uint32Array(this.maxBlocks);
    this.lowerNeighbours = new Int32Array(this.maxBlocks * 7);
    this.meshes = new Array<PackedMeshBlock | undefined>(this.maxBlocks);
    this.arenaOf = new Array<MeshArena | undefined>(this.maxBlocks);
    let limit = 1;
    while (limit < Math.min(this.maxBlocks, 1 << 18)) limit *= 2;
    this.touchedLimit = limit;
    // a VGA frame touches a few thousand blocks: start small, so clearing and scanning the set stays cheap
    this.touchedMax = Math.min(limit, 8192);
    this.touchedScratch = ctx.buffer(this.touchedMax * 2 * 8);
    this.touchedOut = ctx.buffer(this.touchedMax * 12);
    this.touchedCounts = ctx.buffer(8);
    this.blockList = ctx.buffer(Math.max(this.maxBlocks, limit) * 16);
    this.meshTotals = ctx.buffer(12);
    this.arenaPool = new ArenaPool(ctx);
  }

  /** live voxel blocks */
  get blockCount(): number {
    return this.hash.size;
  }

  get triangles(): number {
    return this.triangleCount;
  }

  get droppedBlocks(): number {
    return this.droppedTotal;
  }

  /**
   * The voxel pool and block hash as native buffers, for kernels that read
   * the model directly (ray-cast for tracking). Read-only by convention:
   * only this class writes them.
   */
  modelBuffers(): { pool: NativeBuffer; hash: NativeBuffer; hashMask: number } {
    this.check();
    return { pool: this.pool, hash: this.hash.table, hashMask: this.hash.mask };
  }

  /** bytes held in native memory by this volume's voxels and hash */
  get nativeBytes(): number {
    return this.pool.bytes + this.hash.table.bytes;
  }

  /** native bytes of mesh records (current meshes' arenas and the arena pool's spare buffers) */
  get meshNativeBytes(): number {
    return this.arenaPool.bytes;
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
    const cam = { width: K.width, height: K.height, fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy };

    let counts: Uint32Array;
    for (;;) {
      this.ctx.call('ss_tsdf_touched_blocks', {
        ...cam, stride: this.allocationStride, hash_capacity: this.touchedMax * 2, max_out: this.touchedMax,
        cam_to_world: top3x4(camToWorld), voxel_size: this.voxelSize, sdf_trunc: this.sdfTrunc,
        min_depth: this.minDepth, max_depth: this.maxDepth,
      }, { depth: bufs.depth, scratch: this.touchedScratch, out: this.touchedOut, counts: this.touchedCounts });
      this.touchedCounts.download();
      counts = this.touchedCounts.u32(0, 2);
      if ((counts[1] as number) === 0 || this.touchedMax >= this.touchedLimit) break;
      // the set overflowed: grow it and ask again (rare: only the first frames of a bigger view)
      this.touchedMax *= 2;
      this.touchedScratch.destroy();
      this.touchedOut.destroy();
      this.touchedScratch = this.ctx.buffer(this.touchedMax * 2 * 8);
      this.touchedOut = this.ctx.buffer(this.touchedMax * 12);
    }
    this.touchedOut.download();
    const n = counts[0] as number;
    let dropped = counts[1] as number;
    const coords = this.touchedOut.i32(0, n * 3);
    const list = this.blockList.i32();
    const found = { isNew: false };
    let count = 0;
    let fresh = 0;
    for (let k = 0; k < n; k++) {
      const x = coords[3 * k] as number, y = coords[3 * k + 1] as number, z = coords[3 * k + 2] as number;
      const slot = this.hash.findOrInsert(x, y, z, found);
      if (slot < 0) {
        if (this.onFull === 'error') throw new VolumeFullError(this.maxBlocks, this.voxelSize);
        dropped++;
        continue;
      }
      if (found.isNew) {
        fresh++;
        this.linkNewBlock(x, y, z, slot);
      }
      list[4 * count] = x;
      list[4 * count + 1] = y;
      list[4 * count + 2] = z;
      list[4 * count + 3] = slot;
      count++;
      if (!this.dirty[slot]) {
        this.dirty[slot] = 1;
        this.dirtyList.push(slot);
      }
    }
    this.droppedTotal += dropped;
    if (fresh > 0) this.hash.sync();
    this.blockList.upload(0, count * 16);
    this.ctx.call('ss_tsdf_integrate', {
      ...cam, block_count: count, has_color: rgb ? 1 : 0, world_to_cam: top3x4(invertRigid(camToWorld)),
      voxel_size: this.voxelSize, sdf_trunc: this.sdfTrunc, max_weight: this.maxWeight,
      min_depth: this.minDepth, max_depth: this.maxDepth,
    }, { depth: bufs.depth, color: bufs.color, blocks: this.blockList, pool: this.pool });
    return { blocks: count, newBlocks: fresh, dropped };
  }

  /**
   * Links a new block into lowerNeighbours: its own −x/−y/−z neighbours, and
   * itself as that neighbour of the blocks above it (a slot never moves until
   * reset(), so meshDirty() needs no hash look-up).
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

  /** blocks changed since the last meshDirty() */
  get dirtyCount(): number {
    return this.dirtyList.length;
  }

  /**
   * Re-meshes the blocks integrated since the last call, plus their −x/−y/−z
   * neighbours (whose seam cubes read the changed voxels). Returns the new
   * block meshes (empty indices = the block no longer has a surface).
   */
  meshDirty(): MeshBlock[] {
    this.check();
    if (this.dirtyList.length === 0) return [];
    const targets = this.dirtyList;
    const mark = this.dirty;
    // dirty[slot]: 1 = integrated, 2 = neighbour added here
    const extra: number[] = [];
    const known = this.lowerNeighbours;
    for (const slot of targets) {
      for (let n = 1; n < 8; n++) {
        const s = (known[7 * slot + n - 1] as number) - 1;
        if (s >= 0 && !mark[s]) {
          mark[s] = 2;
          extra.push(s);
        }
      }
    }
    const all = targets.concat(extra);
    this.dirtyList = [];
    for (const s of all) mark[s] = 0;
    return this.meshSlots(all);
  }

  private rangesFor(blocks: number): NativeBuffer {
    if (!this.meshRanges || this.meshRanges.bytes < blocks * 16) {
      this.meshRanges?.destroy();
      this.meshRanges = this.ctx.buffer(Math.max(blocks, 1024) * 16);
    }
    return this.meshRanges;
  }

  private meshSlots(slots: number[]): MeshBlock[] {
    const n = slots.length;
    const list = this.blockList.i32();
    const coords = this.hash.coords;
    for (let k = 0; k < n; k++) {
      const s = slots[k] as number;
      list[4 * k] = coords[3 * s] as number;
      list[4 * k + 1] = coords[3 * s + 1] as number;
      list[4 * k + 2] = coords[3 * s + 2] as number;
      list[4 * k + 3] = s;
    }
    this.blockList.upload(0, n * 16);
    const ranges = this.rangesFor(n);
    // the kernel writes the records straight into arena memory; a guess too small costs one more call
    let records = this.arenaPool.take(Math.ceil(n * this.recordBytesPerBlock * 1.25));
    for (;;) {
      const status = this.ctx.call('ss_tsdf_mesh_blocks', {
        block_count: n, hash_mask: this.hash.mask, capacity: Math.min(records.bytes, 0xfffffffc),
        voxel_size: this.voxelSize, min_weight: this.minMeshWeight,
      }, { pool: this.pool, hash: this.hash.table, blocks: this.blockList, mesh: records, ranges, totals: this.meshTotals }, [Status.CAPACITY]);
      if (status === Status.OK) break;
      this.meshTotals.download();
      const need = this.meshTotals.u32(0, 1)[0] as number;
      this.arenaPool.give(records);
      if (need >= 0xfffffffc) throw new RangeError(`meshing ${n} blocks needs over 4 GiB of mesh records: mesh fewer blocks per call`);
      records = this.arenaPool.take(Math.ceil(need * 1.25));
    }
    ranges.download(0, n * 16);
    this.meshTotals.download();
    const total = this.meshTotals.u32(0, 1)[0] as number;
    this.recordBytesPerBlock = Math.max(256, total / n);
    let arena: MeshArena | undefined;
    if (total > 0) {
      records.download(0, total);
      arena = new MeshArena(records, total);
      this.arenas.add(arena);
    } else {
      this.arenaPool.give(records);
    }
    const r = ranges.u32(0, n * 4);
    const result: MeshBlock[] = [];
    for (let k = 0; k < n; k++) {
      const s = slots[k] as number;
      const off = r[4 * k] as number, nv = r[4 * k + 1] as number, ni = r[4 * k + 2] as number, len = r[4 * k + 3] as number;
      const prev = this.meshes[s];
      if (nv === 0 && (!prev || prev.indexCount === 0)) continue; // nothing before, nothing now
      const version = (this.versions[s] as number) + 1;
      const block = len > 0
        ? new PackedMeshBlock(coords[3 * s] as number, coords[3 * s + 1] as number, coords[3 * s + 2] as number, version,
          (arena as MeshArena).bytes, nv, ni, off)
        : new PackedMeshBlock(coords[3 * s] as number, coords[3 * s + 1] as number, coords[3 * s + 2] as number, version, EMPTY, 0, 0);
      this.versions[s] = version;
      this.triangleCount += ni / 3 - (prev ? prev.indexCount / 3 : 0);
      this.meshes[s] = block;
      const before = this.arenaOf[s];
      if (len > 0) (arena as MeshArena).hold(s, len);
      this.arenaOf[s] = len > 0 ? arena : undefined;
      if (before?.release(packedMeshBytes((prev as PackedMeshBlock).vertexCount, (prev as PackedMeshBlock).indexCount))) this.retireArena(before);
      result.push(block);
    }
    this.compactArenas(arena);
    return result;
  }

  /** nothing current is in `arena` any more: its buffer goes back to the pool (blocks still held elsewhere read as empty) */
  private retireArena(arena: MeshArena): void {
    this.arenas.delete(arena);
    this.arenaPool.give(arena.records);
  }

  /**
   * Keeps the arenas' buffers within 4× the current meshes' bytes (plus the
   * newest call's buffer): the survivors of the emptiest arenas move together into one
   * pooled buffer, copied in runs of adjacent records and relocated in place
   * (their objects stay valid). Emptiest first frees the most memory per byte
   * copied: an arena a camera has mostly re-meshed holds a few blocks it left
   * behind.
   */
  private compactArenas(newest: MeshArena | undefined): void {
    // buffers count whole (the kernel's output is sized with room to spare)
    let held = 0, live = 0;
    for (const a of this.arenas) {
      held += a.records.bytes;
      live += a.liveBytes;
    }
    const allowance = 4 * live + (newest ? newest.records.bytes : 0);
    if (held <= allowance) return;
    const candidates = [...this.arenas].filter((a) => a !== newest)
      .sort((a, b) => a.liveBytes / a.records.bytes - b.liveBytes / b.records.bytes);
    const victims: MeshArena[] = [];
    let moving = 0;
    for (const a of candidates) {
      if (held <= allowance) break;
      victims.push(a);
      held -= a.records.bytes - a.liveBytes;
      moving += a.liveBytes;
    }
    const meshes = this.meshes as PackedMeshBlock[];
    const moved = moving > 0 ? new MeshArena(this.arenaPool.take(moving), moving) : undefined;
    let at = 0;
    for (const victim of victims) {
      const survivors = victim.slots.filter((slot) => this.arenaOf[slot] === victim);
      survivors.sort((a, b) => (meshes[a] as PackedMeshBlock).recordOffset - (meshes[b] as PackedMeshBlock).recordOffset);
      let runStart = 0, runEnd = -1, runAt = 0;
      for (const slot of survivors) {
        const m = meshes[slot] as PackedMeshBlock;
        const offset = m.recordOffset, bytes = packedMeshBytes(m.vertexCount, m.indexCount);
        if (offset !== runEnd) {
          if (runEnd > runStart) (moved as MeshArena).bytes.set(victim.bytes.subarray(runStart, runEnd), runAt);
          runStart = offset;
          runAt = at;
        }
        runEnd = offset + bytes;
        m.relocate((moved as MeshArena).bytes, at);
        this.arenaOf[slot] = moved;
        (moved as MeshArena).hold(slot, bytes);
        at += bytes;
      }
      if (runEnd > runStart) (moved as MeshArena).bytes.set(victim.bytes.subarray(runStart, runEnd), runAt);
      this.retireArena(victim);
    }
    if (moved) this.arenas.add(moved);
  }

  /** every arena detached (the meshes of earlier calls read as empty); their memory kept for reuse if `keep` */
  private dropArenas(keep: boolean): void {
    for (const a of this.arenas) {
      if (keep) this.arenaPool.give(a.records);
      else this.arenaPool.drop(a.records);
    }
    this.arenas.clear();
    this.arenaOf.fill(undefined);
  }

  /** every block's current mesh (blocks without a surface left out) */
  meshBlocks(): MeshBlock[] {
    const out: MeshBlock[] = [];
    for (let s = 0; s < this.hash.size; s++) {
      const m = this.meshes[s];
      if (m && m.indices.length > 0) out.push(m);
    }
    return out;
  }

  /**
   * The whole surface as one indexed mesh; vertices on block seams (computed
   * identically by both blocks) are merged so the mesh is connected.
   */
  extractMesh(): TriangleSoup {
    this.meshDirty();
    const blocks = this.meshBlocks();
    let nv = 0, ni = 0;
    for (const b of blocks) {
      nv += b.positions.length / 3;
      ni += b.indices.length;
    }
    const positions = new Float32Array(nv * 3);
    const colors = new Uint8Array(nv * 3);
    const indices = new Uint32Array(ni);
    // seam vertices are bit-identical in both blocks: dedupe on the float bit patterns
    const bits = new Uint32Array(positions.buffer);
    let cap = 1;
    while (cap < nv * 2) cap *= 2;
    const table = new Int32Array(cap).fill(-1);
    const mask = cap - 1;
    let largest = 1;
    for (const b of blocks) largest = Math.max(largest, b.positions.length / 3);
    const remap = new Uint32Array(largest);
    let v = 0, i = 0;
    for (const b of blocks) {
      const count = b.positions.length / 3;
      const src = new Uint32Array(b.positions.buffer, b.positions.byteOffset, count * 3);
      for (let k = 0; k < count; k++) {
        const x = src[3 * k] as number, y = src[3 * k + 1] as number, z = src[3 * k + 2] as number;
        let h = (Math.imul(x, 0x9e3779b1) ^ Math.imul(y, 0x85ebca77) ^ Math.imul(z, 0xc2b2ae3d)) >>> 0;
        h = (h ^ (h >>> 15)) & mask;
        let at = -1;
        for (;;) {
          const slot = table[h] as number;
          if (slot < 0) break;
          if (bits[3 * slot] === x && bits[3 * slot + 1] === y && bits[3 * slot + 2] === z) {
            at = slot;
            break;
          }
          h = (h + 1) & mask;
        }
        if (at < 0) {
          at = v++;
          table[h] = at;
          bits[3 * at] = x;
          bits[3 * at + 1] = y;
          bits[3 * at + 2] = z;
          colors[3 * at] = b.colors[3 * k] as number;
          colors[3 * at + 1] = b.colors[3 * k + 1] as number;
          colors[3 * at + 2] = b.colors[3 * k + 2] as number;
        }
        remap[k] = at;
      }
      for (let k = 0; k < b.indices.length; k++) indices[i++] = remap[b.indices[k] as number] as number;
    }
    return { positions: positions.slice(0, v * 3), colors: colors.slice(0, v * 3), indices };
  }

  /** Renders the model's zero level set from a camera (depth, normals, colour). */
  raycast(K: Intrinsics, camToWorld: Pose): RaycastResult {
    this.check();
    const problem = rigidPoseProblem(camToWorld);
    if (problem) throw new RangeError(`raycast: camera pose is not a rigid transform (${problem})`);
    const pixels = K.width * K.height;
    if (!this.rayOut || this.rayOut.pixels < pixels) {
      this.rayOut?.depth.destroy();
      this.rayOut?.normals.destroy();
      this.rayOut?.color.destroy();
      this.rayOut = { depth: this.ctx.buffer(pixels * 4), normals: this.ctx.buffer(pixels * 12), color: this.ctx.buffer(pixels * 3), pixels };
    }
    const o = this.rayOut;
    this.ctx.call('ss_tsdf_raycast', {
      width: K.width, height: K.height, hash_mask: this.hash.mask, fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy,
      cam_to_world: top3x4(camToWorld), voxel_size: this.voxelSize, sdf_trunc: this.sdfTrunc,
      min_depth: this.minDepth, max_depth: this.maxDepth,
    }, { pool: this.pool, hash: this.hash.table, depth: o.depth, normals: o.normals, color: o.color });
    o.depth.download(0, pixels * 4);
    o.normals.download(0, pixels * 12);
    o.color.download(0, pixels * 3);
    return { depth: o.depth.f32(0, pixels).slice(), normals: o.normals.f32(0, pixels * 3).slice(), color: o.color.u8(0, pixels * 3).slice() };
  }

  /** Empties the volume (every block unobserved, meshes dropped). */
  reset(): void {
    this.check();
    const n = this.hash.size;
    if (n > 0) {
      const list = this.blockList.i32();
      for (let s = 0; s < n; s++) {
        list[4 * s + 3] = s;
      }
      this.blockList.upload(0, n * 16);
      this.ctx.call('ss_tsdf_clear_blocks', { block_count: n }, { blocks: this.blockList, pool: this.pool });
    }
    this.hash.clear();
    this.dirty.fill(0);
    this.dirtyList = [];
    this.versions.fill(0);
    this.lowerNeighbours.fill(0);
    this.meshes.fill(undefined);
    this.dropArenas(true);
    this.triangleCount = 0;
    this.droppedTotal = 0;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of [this.pool, this.touchedScratch, this.touchedOut, this.touchedCounts, this.blockList, this.meshTotals,
      this.depthBuf, this.colorBuf, this.meshRanges,
      this.rayOut?.depth, this.rayOut?.normals, this.rayOut?.color]) b?.destroy();
    this.hash.destroy();
    this.dropArenas(false);
    this.arenaPool.clear();
  }
}
