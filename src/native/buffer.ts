import { ptr, toArrayBuffer, type Pointer } from 'bun:ffi';
import { NativeError, UseAfterDestroyError } from './errors';
import type { NativeLibrary } from './library';
import type { NativeTimes } from './nativeTimes';

/**
 * Memory owned by the backend (page-aligned, zero-filled). JS reads and writes
 * it through typed-array views over the host mirror; `upload()`/`download()`
 * move ranges to and from the device (no-ops on the CPU and Metal backends).
 * One owner, explicit destroy(); views taken before destroy() read as empty
 * after it (their ArrayBuffer is detached), never as freed memory.
 */
export class NativeBuffer {
  readonly bytes: number;
  private handlePtr: Pointer | null;
  private readonly hostPtr: Pointer;
  private readonly lib: NativeLibrary;
  private readonly ctxPtr: Pointer;
  private readonly onDestroy: (b: NativeBuffer) => void;
  private arrayBuffer: ArrayBuffer | null;
  /** ArrayBuffers handed out by lease(), detached by revokeLeases() and destroy() */
  private readonly leases: ArrayBuffer[] = [];
  /** this memory as a buffer of another library (the CPU fallback's), made on first use */
  private alias: { lib: NativeLibrary; ctx: Pointer; handle: Pointer } | null = null;
  /** the context's transfer tally (null where upload/download move nothing) */
  private readonly times: NativeTimes | null;

  /** @internal use NativeContext.buffer() */
  constructor(lib: NativeLibrary, ctxPtr: Pointer, handle: Pointer, bytes: number, onDestroy: (b: NativeBuffer) => void,
    times: NativeTimes | null = null) {
    this.lib = lib;
    this.times = times;
    this.ctxPtr = ctxPtr;
    this.handlePtr = handle;
    this.bytes = bytes;
    this.onDestroy = onDestroy;
    const host = lib.symbols.ss_buffer_host_ptr(handle) as Pointer | null;
    if (host === null) throw new NativeError('ss_buffer_host_ptr', 6, 'null host pointer');
    this.hostPtr = host;
    this.arrayBuffer = toArrayBuffer(host, 0, bytes);
  }

  get destroyed(): boolean {
    return this.handlePtr === null;
  }

  /** The ss_buffer* handle, for native calls. */
  get handle(): Pointer {
    if (this.handlePtr === null) throw new UseAfterDestroyError('NativeBuffer');
    return this.handlePtr;
  }

  /** Host pointer (for code that must pass raw addresses). */
  get pointer(): Pointer {
    this.handle;
    return this.hostPtr;
  }

  private buf(): ArrayBuffer {
    if (this.arrayBuffer === null) throw new UseAfterDestroyError('NativeBuffer');
    return this.arrayBuffer;
  }

  u8(offset = 0, length?: number): Uint8Array {
    return new Uint8Array(this.buf(), offset, length ?? this.bytes - offset);
  }
  u16(offset = 0, length?: number): Uint16Array {
    return new Uint16Array(this.buf(), offset, length ?? Math.floor((this.bytes - offset) / 2));
  }
  i32(offset = 0, length?: number): Int32Array {
    return new Int32Array(this.buf(), offset, length ?? Math.floor((this.bytes - offset) / 4));
  }
  u32(offset = 0, length?: number): Uint32Array {
    return new Uint32Array(this.buf(), offset, length ?? Math.floor((this.bytes - offset) / 4));
  }
  f32(offset = 0, length?: number): Float32Array {
    return new Float32Array(this.buf(), offset, length ?? Math.floor((this.bytes - offset) / 4));
  }
  f64(offset = 0, length?: number): Float64Array {
    return new Float64Array(this.buf(), offset, length ?? Math.floor((this.bytes - offset) / 8));
  }
  i64(offset = 0, length?: number): BigInt64Array {
    return new BigInt64Array(this.buf(), offset, length ?? Math.floor((this.bytes - offset) / 8));
  }

  /**
   * An ArrayBuffer over bytes [0, length) that this buffer can take back:
   * after revokeLeases() or destroy() it is detached, so every view of it
   * reads as empty instead of as reused or freed memory. For views that
   * outlive one use of the memory (mesh arenas).
   */
  lease(length: number): ArrayBuffer {
    if (!Number.isInteger(length) || length <= 0 || length > this.bytes) {
      throw new RangeError(`NativeBuffer.lease: length must be 1..${this.bytes} bytes, got ${length}`);
    }
    const leased = toArrayBuffer(this.pointer, 0, length);
    this.leases.push(leased);
    return leased;
  }

  /** Detaches every leased ArrayBuffer (ArrayBuffer.transfer(0): no copy); the memory is the caller's to reuse. */
  revokeLeases(): void {
    for (const leased of this.leases) leased.transfer(0);
    this.leases.length = 0;
  }

  /**
   * The same host memory as an ss_buffer of another library's context (ss_buffer_wrap,
   * no copy): how a kernel this backend lacks runs on the CPU over this buffer.
   * Kept until destroy(); one alias per buffer (the facade has one fallback context).
   */
  aliasIn(lib: NativeLibrary, ctx: Pointer): Pointer {
    this.handle;
    if (this.alias) {
      if (this.alias.lib !== lib || this.alias.ctx !== ctx) throw new Error('NativeBuffer.aliasIn: already aliased in another context');
      return this.alias.handle;
    }
    const out = new BigUint64Array(1);
    const status = lib.symbols.ss_buffer_wrap(ctx, this.hostPtr, this.bytes, ptr(out));
    if (status !== 0) throw new NativeError('ss_buffer_wrap', status, String(lib.symbols.ss_last_error(ctx)));
    this.alias = { lib, ctx, handle: Number(out[0]) as Pointer };
    return this.alias.handle;
  }

  /** Copies a typed array into the buffer at a byte offset, then uploads that range. */
  write(data: ArrayBufferView, byteOffset = 0): this {
    if (byteOffset + data.byteLength > this.bytes) {
      throw new RangeError(`NativeBuffer.write: ${data.byteLength} bytes at ${byteOffset} overflow a ${this.bytes}-byte buffer`);
    }
    this.u8(byteOffset, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return this.upload(byteOffset, data.byteLength);
  }

  upload(offset = 0, bytes = this.bytes - offset): this {
    const t0 = performance.now();
    this.check('ss_buffer_upload', this.lib.symbols.ss_buffer_upload(this.ctxPtr, this.handle, offset, bytes));
    this.times?.transfer(this.times.uploads, bytes, performance.now() - t0);
    return this;
  }

  download(offset = 0, bytes = this.bytes - offset): this {
    const t0 = performance.now();
    this.check('ss_buffer_download', this.lib.symbols.ss_buffer_download(this.ctxPtr, this.handle, offset, bytes));
    this.times?.transfer(this.times.downloads, bytes, performance.now() - t0);
    return this;
  }

  fill(byte: number, offset = 0, bytes = this.bytes - offset): this {
    this.check('ss_buffer_fill', this.lib.symbols.ss_buffer_fill(this.ctxPtr, this.handle, offset, bytes, byte & 0xff));
    return this;
  }

  private check(call: string, status: number): void {
    if (status !== 0) throw new NativeError(call, status, String(this.lib.symbols.ss_last_error(this.ctxPtr)));
  }

  destroy(): void {
    if (this.handlePtr === null) return;
    // views still held anywhere read as empty from here on, never as freed memory
    this.revokeLeases();
    this.arrayBuffer?.transfer(0);
    if (this.alias) this.alias.lib.symbols.ss_buffer_destroy(this.alias.ctx, this.alias.handle);
    this.alias = null;
    this.lib.symbols.ss_buffer_destroy(this.ctxPtr, this.handlePtr);
    this.handlePtr = null;
    this.arrayBuffer = null;
    this.onDestroy(this);
  }
}
