/**
 * The mesh records of one meshDirty() call, copied out of native memory in
 * one piece: thousands of block-sized allocations per frame cost more than
 * the copy itself. Each block's record is a view into it, so the arena lives
 * while any of its blocks is current (or held by a consumer); once fewer
 * than a quarter are current, the volume moves the survivors into copies of
 * their own and lets it go. Memory held ≤ 4× the current mesh.
 */
export class MeshArena {
  /** slots whose records this arena holds */
  readonly slots: number[] = [];
  private live = 0;

  constructor(private readonly bytes: Uint8Array) {}

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
