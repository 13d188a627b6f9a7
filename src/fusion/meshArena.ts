/**
 * The mesh records of one meshDirty() call, copied out of native memory in
 * one piece: thousands of block-sized allocations per frame cost more than
 * the copy itself. Each block's record is a view into it, so the arena lives
 * while any of its blocks is current; once fewer than a quarter are current,
 * the volume moves the survivors into copies of their own and gives the
 * arena back to its pool. Memory held ≤ 4× the current mesh (plus the
 * pool's rounding, ≤ 1/8).
 */
export class MeshArena {
  /** slots whose records this arena holds */
  readonly slots: number[] = [];
  readonly bytes: Uint8Array;
  private live = 0;

  constructor(readonly buffer: ArrayBuffer, byteLength: number) {
    this.bytes = new Uint8Array(buffer, 0, byteLength);
  }

  /** slot's record, bytes [offset, offset + length) of the call's output */
  take(slot: number, offset: number, length: number): Uint8Array {
    if (length === 0) return EMPTY;
    this.slots.push(slot);
    this.live++;
    return this.bytes.subarray(offset, offset + length);
  }

  /** one of its blocks was replaced; true when the survivors should move out (once) */
  release(): boolean {
    this.live--;
    if (this.live * 4 >= this.slots.length || this.live < 0) return false;
    this.live = -1;
    return true;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Memory for arenas, reused: a fresh 6 MB buffer per frame costs ~2.5 ms of
 * page faults on first touch, a reused one nothing. An arena given back is
 * detached (ArrayBuffer.transfer, no copy), so a superseded block a consumer
 * still holds reads as empty, never as another frame's mesh.
 */
export class ArenaPool {
  private readonly free: ArrayBuffer[] = [];

  constructor(private readonly keep = 3) {}

  /** an arena for `bytes` of records: the smallest free buffer that holds them, else a new one with room for ¼ more (frames grow) */
  take(bytes: number): MeshArena {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = (this.free[i] as ArrayBuffer).byteLength;
      if (len >= bytes && (best < 0 || len < (this.free[best] as ArrayBuffer).byteLength)) best = i;
    }
    const buffer = best >= 0 ? (this.free.splice(best, 1)[0] as ArrayBuffer) : new ArrayBuffer(roundUp(bytes * 1.25));
    return new MeshArena(buffer, bytes);
  }

  /** arena's views are detached; its memory is kept for the next take() (the newest `keep` buffers) */
  give(arena: MeshArena): void {
    this.free.push(arena.buffer.transfer());
    if (this.free.length > this.keep) this.free.shift();
  }

  /** drops the free buffers */
  clear(): void {
    this.free.length = 0;
  }
}

const MIN_BYTES = 64 * 1024;

/** bytes rounded up to 8 steps per power of two (≤ 12.5 % over), at least 64 KiB */
function roundUp(bytes: number): number {
  if (bytes <= MIN_BYTES) return MIN_BYTES;
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}
