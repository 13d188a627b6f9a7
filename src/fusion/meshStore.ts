/**
 * Every block's current mesh, as records in mesh arenas (meshArena.ts): the
 * meshing kernel writes one call's records straight into an arena; a block
 * re-meshed later releases its old record, an arena with nothing current goes
 * back to the pool, and the emptiest arenas are compacted when the arenas
 * hold over 4× the current meshes.
 */
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { Status } from '../native/errors';
import { ArenaPool, MeshArena } from './meshArena';
import { PackedMeshBlock, type MeshBlock } from './meshBlock';

const EMPTY = new Uint8Array(0);
/** a new output buffer is made this much bigger than asked, so the following calls, a little bigger each, reuse it */
const OUTPUT_HEADROOM = 1.5;

/** Runs the meshing kernel over the listed blocks into `records`: OK, or CAPACITY with the bytes needed in totals[0]. */
export type MeshKernel = (records: NativeBuffer, ranges: NativeBuffer, totals: NativeBuffer) => number;

export class MeshStore {
  private readonly ctx: NativeContext;
  private readonly meshes: (PackedMeshBlock | undefined)[];
  private readonly versions: Uint32Array;
  /** bytes of each slot's current record (0: none) */
  private readonly recordBytes: Uint32Array;
  /** where each slot's current record starts in its arena */
  private readonly recordOffsets: Uint32Array;
  /** survivors of a compacted arena as offset × slotSpan + slot, sorted numerically (no comparator) */
  private sortKeys = new Float64Array(0);
  private readonly slotSpan: number;
  /** the arena each slot's current mesh is a view into */
  private readonly arenaOf: (MeshArena | undefined)[];
  /** arenas some current mesh is a view into, and where they go back to */
  private readonly arenas = new Set<MeshArena>();
  private readonly arenaPool: ArenaPool;
  /** record bytes per meshed block in the last call: sizes the next call's output */
  private recordBytesPerBlock = 4096;
  private triangleCount = 0;
  /** the kernel's per-block ranges (grown on demand) and totals */
  private ranges: NativeBuffer | null = null;
  private readonly totals: NativeBuffer;
  private readonly totalsView: Uint32Array;

  constructor(ctx: NativeContext, maxBlocks: number) {
    this.ctx = ctx;
    this.meshes = new Array<PackedMeshBlock | undefined>(maxBlocks);
    this.versions = new Uint32Array(maxBlocks);
    this.recordBytes = new Uint32Array(maxBlocks);
    this.recordOffsets = new Uint32Array(maxBlocks);
    let span = 1;
    while (span < maxBlocks) span *= 2;
    this.slotSpan = span;
    this.arenaOf = new Array<MeshArena | undefined>(maxBlocks);
    this.arenaPool = new ArenaPool(ctx);
    this.totals = ctx.buffer(12);
    this.totalsView = this.totals.u32(0, 3);
  }

  get triangles(): number {
    return this.triangleCount;
  }

  /** native bytes of mesh records (current meshes' arenas and the pool's spare buffers) */
  get nativeBytes(): number {
    return this.arenaPool.bytes;
  }

  private rangesFor(blocks: number): NativeBuffer {
    if (!this.ranges || this.ranges.bytes < blocks * 16) {
      // grown with room to spare: a volume's dirty set grows a little most frames
      const size = Math.max(blocks, 2 * (this.ranges ? this.ranges.bytes / 16 : 0), 1024);
      this.ranges?.destroy();
      this.ranges = this.ctx.buffer(size * 16);
    }
    return this.ranges;
  }

  /**
   * Meshes `slots` (at block coordinates `coords`, 3 per slot) with `kernel`
   * and makes the results current; returns the changed blocks (empty
   * indices = the block no longer has a surface).
   */
  remesh(slots: ArrayLike<number>, coords: Int32Array, kernel: MeshKernel): MeshBlock[] {
    const n = slots.length;
    const ranges = this.rangesFor(n);
    // the kernel writes the records straight into arena memory; a guess too small costs one more call
    let records = this.arenaPool.take(Math.ceil(n * this.recordBytesPerBlock * 1.25), OUTPUT_HEADROOM);
    for (;;) {
      if (kernel(records, ranges, this.totals) === Status.OK) break;
      this.totals.download();
      const need = this.totals.u32(0, 1)[0] as number;
      this.arenaPool.give(records);
      if (need >= 0xfffffffc) throw new RangeError(`meshing ${n} blocks needs over 4 GiB of mesh records: mesh fewer blocks per call`);
      records = this.arenaPool.take(Math.ceil(need * 1.25), OUTPUT_HEADROOM);
    }
    ranges.download(0, n * 16);
    this.totals.download(0, 4);
    const total = this.totalsView[0] as number;
    this.recordBytesPerBlock = Math.max(256, total / n);
    let arena: MeshArena | undefined;
    let arenaBytes: Uint8Array = EMPTY;
    if (total > 0) {
      records.download(0, total);
      arena = new MeshArena(records, total);
      arenaBytes = arena.bytes;
      this.arenas.add(arena);
    } else {
      this.arenaPool.give(records);
    }
    const r = ranges.u32(0, n * 4);
    const result: MeshBlock[] = [];
    const meshes = this.meshes, versions = this.versions, recordBytes = this.recordBytes, recordOffsets = this.recordOffsets, arenaOf = this.arenaOf;
    let triangles = 0;
    for (let k = 0; k < n; k++) {
      const s = slots[k] as number;
      const nv = r[4 * k + 1] as number, len = r[4 * k + 3] as number;
      const prevBytes = recordBytes[s] as number;
      if (len === 0 && prevBytes === 0) continue; // nothing before, nothing now (a record always has triangles)
      const prev = meshes[s];
      const ni = r[4 * k + 2] as number;
      const version = (versions[s] as number) + 1;
      const bx = coords[3 * s] as number, by = coords[3 * s + 1] as number, bz = coords[3 * s + 2] as number;
      const block = len > 0
        ? new PackedMeshBlock(bx, by, bz, version, arenaBytes, nv, ni, r[4 * k] as number)
        : new PackedMeshBlock(bx, by, bz, version, EMPTY, 0, 0);
      versions[s] = version;
      triangles += ni - (prev ? prev.indexCount : 0);
      meshes[s] = block;
      const before = arenaOf[s];
      if (len > 0) (arena as MeshArena).hold(s, len);
      arenaOf[s] = len > 0 ? arena : undefined;
      recordBytes[s] = len;
      recordOffsets[s] = r[4 * k] as number;
      if (before !== undefined && before.release(prevBytes)) this.retire(before);
      result.push(block);
    }
    this.triangleCount += triangles / 3;
    this.compact(arena);
    return result;
  }

  /** every block's current mesh among the first `slots` slots (blocks without a surface left out) */
  current(slots: number): MeshBlock[] {
    const out: MeshBlock[] = [];
    for (let s = 0; s < slots; s++) {
      const m = this.meshes[s];
      if (m && m.indices.length > 0) out.push(m);
    }
    return out;
  }

  /** nothing current is in `arena` any more: its buffer goes back to the pool (blocks still held elsewhere read as empty) */
  private retire(arena: MeshArena): void {
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
  private compact(newest: MeshArena | undefined): void {
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
    // survivors go after the newest call's records where its buffer has room (no new buffer, no page faults),
    // else together into one pooled buffer
    const into = newest !== undefined && newest.spare >= moving;
    const moved = into ? newest : moving > 0 ? new MeshArena(this.arenaPool.take(moving), 0) : undefined;
    if (moved === undefined) return;
    let at = moved.used;
    const arenaOf = this.arenaOf, recordBytes = this.recordBytes, recordOffsets = this.recordOffsets, span = this.slotSpan;
    for (const victim of victims) {
      const keys = this.survivorsInRecordOrder(victim);
      let runStart = 0, runEnd = -1, runAt = 0;
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k] as number;
        const slot = key % span, offset = recordOffsets[slot] as number;
        const bytes = recordBytes[slot] as number;
        if (offset !== runEnd) {
          if (runEnd > runStart) moved.bytes.set(victim.bytes.subarray(runStart, runEnd), runAt);
          runStart = offset;
          runAt = at;
        }
        runEnd = offset + bytes;
        (meshes[slot] as PackedMeshBlock).relocate(moved.bytes, at);
        arenaOf[slot] = moved;
        recordOffsets[slot] = at;
        moved.hold(slot, bytes);
        at += bytes;
      }
      if (runEnd > runStart) moved.bytes.set(victim.bytes.subarray(runStart, runEnd), runAt);
      this.retire(victim);
    }
    moved.used = at;
    if (!into) this.arenas.add(moved);
  }

  /**
   * The slots whose current record is in `arena`, in record order (adjacent
   * records then move in one copy), as offset / 4 × slotSpan + slot keys:
   * a typed array's numeric sort, no comparator calls (records are
   * multiples of 4 bytes; the key is exact below 2^53, i.e. up to 2^23 slots;
   * past that the keys are the slots, sorted by a comparator).
   */
  private survivorsInRecordOrder(arena: MeshArena): Float64Array {
    const slots = arena.slots, arenaOf = this.arenaOf, offsets = this.recordOffsets, span = this.slotSpan;
    if (this.sortKeys.length < slots.length) this.sortKeys = new Float64Array(2 * slots.length);
    const keys = this.sortKeys;
    const exact = span <= 2 ** 23;
    let m = 0;
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k] as number;
      if (arenaOf[slot] === arena) keys[m++] = exact ? ((offsets[slot] as number) / 4) * span + slot : slot;
    }
    const out = keys.subarray(0, m);
    return exact ? out.sort() : out.sort((a, b) => (offsets[a] as number) - (offsets[b] as number));
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

  /** Forgets every mesh (their buffers kept for reuse). */
  reset(): void {
    this.versions.fill(0);
    this.recordBytes.fill(0);
    this.meshes.fill(undefined);
    this.dropArenas(true);
    this.triangleCount = 0;
  }

  destroy(): void {
    this.ranges?.destroy();
    this.totals.destroy();
    this.dropArenas(false);
    this.arenaPool.clear();
  }
}
