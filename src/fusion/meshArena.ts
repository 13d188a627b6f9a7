import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';

/**
 * Mesh records that blocks are ranges of, in a native buffer read through a
 * leased ArrayBuffer: one meshDirty() call's output where the kernel wrote
 * it, or the survivors of emptied arenas, moved together. The arena lives
 * while any of its records is a block's current mesh; the volume compacts the
 * emptiest arenas when all of them hold over 4× the current meshes (plus the
 * newest call's), and gives a buffer back to its pool once nothing current is
 * in it, which detaches the lease.
 */
export class MeshArena {
  /** slots whose records this arena holds (current or since replaced) */
  readonly slots: number[] = [];
  /** the whole of `records`; bytes [0, used) hold records */
  readonly bytes: Uint8Array;
  /** bytes of its records that are still some block's current mesh */
  liveBytes = 0;
  /** bytes written: the kernel's records, then survivors of compacted arenas moved in after them */
  used: number;

  constructor(readonly records: NativeBuffer, total: number) {
    // the lease spans the buffer: the room after a call's records takes the survivors of emptied arenas
    this.bytes = new Uint8Array(records.lease(records.bytes));
    this.used = total;
  }

  /** bytes free after the records */
  get spare(): number {
    return this.bytes.byteLength - this.used;
  }

  /** slot's current mesh is a record of `bytes` in this arena */
  hold(slot: number, bytes: number): void {
    this.slots.push(slot);
    this.liveBytes += bytes;
  }

  /** a record of `bytes` here is no longer current; true when none is left */
  release(bytes: number): boolean {
    this.liveBytes -= bytes;
    return this.liveBytes === 0;
  }
}

/**
 * Native buffers for mesh records, reused: a fresh 6 MB buffer costs ~2.5 ms
 * of page faults on first touch, a reused one nothing. A buffer given back
 * has its leases revoked, so a superseded block a consumer still holds reads
 * as empty, never as another call's mesh.
 */
export class ArenaPool {
  private readonly free: NativeBuffer[] = [];
  private held = 0;

  constructor(private readonly ctx: NativeContext, private readonly keep = 4) {}

  /**
   * A buffer of at least `bytes`: the smallest free one that holds them
   * without being over twice their size (a big buffer spent on a few
   * survivors would pin memory the volume does not count as live), else a new
   * one of `bytes × headroom` (rounded up). A meshing call's output grows a
   * little most frames while the camera sees more: made to measure, no free
   * buffer would fit the next call and the pool would make (page faults; on
   * CUDA cudaMallocHost and cudaMalloc) and destroy (a synchronising free) a
   * buffer of ~20 MB per 5 mm frame.
   */
  take(bytes: number, headroom = 1): NativeBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = (this.free[i] as NativeBuffer).bytes;
      if (len >= bytes && len <= 2 * Math.max(bytes, MIN_BYTES) && (best < 0 || len < (this.free[best] as NativeBuffer).bytes)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0] as NativeBuffer;
    const buf = this.ctx.buffer(roundUp(Math.min(bytes * headroom, 0xfffffffc)));
    this.held += buf.bytes;
    return buf;
  }

  /** buf's leases are revoked and it waits for the next take() (the newest `keep` are kept) */
  give(buf: NativeBuffer): void {
    buf.revokeLeases();
    this.free.push(buf);
    if (this.free.length > this.keep) this.drop(this.free.shift() as NativeBuffer);
  }

  /** native bytes of every buffer this pool made and has not destroyed (in arenas and free) */
  get bytes(): number {
    return this.held;
  }

  /** destroys buf (its leases detached first) */
  drop(buf: NativeBuffer): void {
    this.held -= buf.bytes;
    buf.destroy();
  }

  /** destroys the free buffers */
  clear(): void {
    for (const buf of this.free) this.drop(buf);
    this.free.length = 0;
  }
}

const MIN_BYTES = 64 * 1024;

/** bytes rounded up to 8 steps per power of two (≤ 12.5 % over), at least 64 KiB */
function roundUp(bytes: number): number {
  if (bytes <= MIN_BYTES) return MIN_BYTES;
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 3);
  return Math.min(Math.ceil(bytes / step) * step, 0xfffffffc);
}
