import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';

/** Mirrors ss_block_hash in native/kernels/tsdf_common.h (Teschner et al. 2003). */
export function blockHash(x: number, y: number, z: number): number {
  return (Math.imul(x, 73856093) ^ Math.imul(y, 19349669) ^ Math.imul(z, 83492791)) >>> 0;
}

const EMPTY = -1;

/**
 * Block coordinates → pool slot, as an open-addressing table in a native
 * buffer (int32 {bx, by, bz, slot} entries, linear probing) so the kernels
 * read the same table TypeScript writes. Slots are handed out in order;
 * slot-indexed arrays hold each block's coordinates.
 *
 * TypeScript writes the table's host memory; sync() sends the entries written
 * since the last sync to the kernels' copy (ss_tsdf_hash_scatter: a frame's
 * few hundred new entries, not the whole table, which is 16 MiB at 300 000
 * blocks; on unified memory the kernel writes the same values again).
 */
export class BlockHash {
  readonly capacity: number;
  readonly mask: number;
  readonly maxBlocks: number;
  readonly table: NativeBuffer;
  /** bx, by, bz per slot */
  readonly coords: Int32Array;
  private readonly ctx: NativeContext;
  private entries: Int32Array;
  private used = 0;
  /** whether the last findOrInsertSlot() inserted (or was refused for want of a slot) */
  inserted = false;
  /** table indices written since the last sync() */
  private pending: Int32Array;
  private pendingCount = 0;
  /** int32 {index, bx, by, bz, slot} rows for ss_tsdf_hash_scatter (grown on demand) */
  private scatter: NativeBuffer | null = null;

  constructor(ctx: NativeContext, maxBlocks: number) {
    this.ctx = ctx;
    this.maxBlocks = maxBlocks;
    // load factor ≤ 0.5 keeps probe chains short
    let cap = 1;
    while (cap < maxBlocks * 2) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    this.table = ctx.buffer(cap * 16);
    this.entries = this.table.i32();
    this.coords = new Int32Array(maxBlocks * 3);
    this.pending = new Int32Array(Math.min(maxBlocks, 1024));
    this.clear();
  }

  get size(): number {
    return this.used;
  }

  clear(): void {
    this.table.fill(0xff);
    this.used = 0;
    this.pendingCount = 0;
  }

  /** slot of the block, or -1 */
  find(x: number, y: number, z: number): number {
    const e = this.entries;
    let h = blockHash(x, y, z) & this.mask;
    for (let probe = 0; probe <= this.mask; probe++) {
      const at = h * 4;
      const slot = e[at + 3] as number;
      if (slot === EMPTY) return -1;
      if (slot >= 0 && e[at] === x && e[at + 1] === y && e[at + 2] === z) return slot;
      h = (h + 1) & this.mask;
    }
    return -1;
  }

  /**
   * Slot of the block, inserting it when absent; -1 when every slot is taken.
   * `inserted` tells whether it was new (true also when refused).
   */
  findOrInsertSlot(x: number, y: number, z: number): number {
    const e = this.entries;
    const mask = this.mask;
    let h = blockHash(x, y, z) & mask;
    for (let probe = 0; probe <= mask; probe++) {
      const at = h * 4;
      const slot = e[at + 3] as number;
      if (slot === EMPTY) {
        this.inserted = true;
        if (this.used >= this.maxBlocks) return -1;
        const fresh = this.used++;
        e[at] = x;
        e[at + 1] = y;
        e[at + 2] = z;
        e[at + 3] = fresh;
        this.coords[fresh * 3] = x;
        this.coords[fresh * 3 + 1] = y;
        this.coords[fresh * 3 + 2] = z;
        if (this.pendingCount === this.pending.length) {
          const grown = new Int32Array(2 * this.pending.length);
          grown.set(this.pending);
          this.pending = grown;
        }
        this.pending[this.pendingCount++] = h;
        return fresh;
      }
      if (e[at] === x && e[at + 1] === y && e[at + 2] === z) {
        this.inserted = false;
        return slot;
      }
      h = (h + 1) & mask;
    }
    this.inserted = true;
    return -1;
  }

  /** slot of the block, inserting it when absent; -1 when every slot is taken. `isNew` tells which. */
  findOrInsert(x: number, y: number, z: number, out: { isNew: boolean }): number {
    const slot = this.findOrInsertSlot(x, y, z);
    out.isNew = this.inserted;
    return slot;
  }

  /** entries written since the last sync() */
  get unsynced(): number {
    return this.pendingCount;
  }

  /** makes the entries written since the last sync visible to the kernels (one small native call) */
  sync(): void {
    const n = this.pendingCount;
    if (n === 0) return;
    if (!this.scatter || this.scatter.bytes < n * 20) {
      this.scatter?.destroy();
      this.scatter = this.ctx.buffer(Math.max(n, 2 * (this.scatter ? this.scatter.bytes / 20 : 0), 256) * 20);
    }
    const rows = this.scatter.i32(0, n * 5);
    const e = this.entries, pending = this.pending;
    for (let k = 0; k < n; k++) {
      const h = pending[k] as number, at = 4 * h;
      rows[5 * k] = h;
      rows[5 * k + 1] = e[at] as number;
      rows[5 * k + 2] = e[at + 1] as number;
      rows[5 * k + 3] = e[at + 2] as number;
      rows[5 * k + 4] = e[at + 3] as number;
    }
    this.scatter.upload(0, n * 20);
    this.ctx.call('ss_tsdf_hash_scatter', { count: n, hash_mask: this.mask }, { entries: this.scatter, hash: this.table });
    this.pendingCount = 0;
  }

  /** sends the whole table to the kernels' copy (what sync() replaces: for tests that compare the two) */
  syncAll(): void {
    this.table.upload();
    this.pendingCount = 0;
  }

  destroy(): void {
    this.scatter?.destroy();
    this.table.destroy();
  }
}
