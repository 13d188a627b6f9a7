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
 */
export class BlockHash {
  readonly capacity: number;
  readonly mask: number;
  readonly maxBlocks: number;
  readonly table: NativeBuffer;
  /** bx, by, bz per slot */
  readonly coords: Int32Array;
  private entries: Int32Array;
  private used = 0;

  constructor(ctx: NativeContext, maxBlocks: number) {
    this.maxBlocks = maxBlocks;
    // load factor ≤ 0.5 keeps probe chains short
    let cap = 1;
    while (cap < maxBlocks * 2) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    this.table = ctx.buffer(cap * 16);
    this.entries = this.table.i32();
    this.coords = new Int32Array(maxBlocks * 3);
    this.clear();
  }

  get size(): number {
    return this.used;
  }

  clear(): void {
    this.table.fill(0xff);
    this.used = 0;
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

  /** slot of the block, inserting it when absent; -1 when every slot is taken. `isNew` tells which. */
  findOrInsert(x: number, y: number, z: number, out: { isNew: boolean }): number {
    const e = this.entries;
    let h = blockHash(x, y, z) & this.mask;
    for (let probe = 0; probe <= this.mask; probe++) {
      const at = h * 4;
      const slot = e[at + 3] as number;
      if (slot === EMPTY) {
        out.isNew = true;
        if (this.used >= this.maxBlocks) return -1;
        const fresh = this.used++;
        e[at] = x;
        e[at + 1] = y;
        e[at + 2] = z;
        e[at + 3] = fresh;
        this.coords[fresh * 3] = x;
        this.coords[fresh * 3 + 1] = y;
        this.coords[fresh * 3 + 2] = z;
        return fresh;
      }
      if (e[at] === x && e[at + 1] === y && e[at + 2] === z) {
        out.isNew = false;
        return slot;
      }
      h = (h + 1) & this.mask;
    }
    out.isNew = true;
    return -1;
  }

  /** makes the table visible to the device (no-op on CPU/Metal) */
  sync(): void {
    this.table.upload();
  }

  destroy(): void {
    this.table.destroy();
  }
}
