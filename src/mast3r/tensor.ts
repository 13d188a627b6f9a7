import { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { Mast3rInputError } from './errors';
import { dtypeOf, shapeString, sizeOf, type NdArray } from './ndarray';

/**
 * A float32 C-order tensor at byte 0 of a NativeBuffer of the call's context.
 * As an input it is read in place, no copy: kernels read the buffer's device
 * copy, so on CUDA upload() after writing its host view (NativeBuffer.write()
 * does); an output of a MASt3R call is already there.
 */
export interface NativeTensor {
  buffer: NativeBuffer;
  shape: readonly number[];
}

/** A kernel input: a JS array (copied once into native memory, float64 narrowed in that copy) or a NativeTensor (used in place). */
export type TensorInput = NdArray | NativeTensor;

/** Where a call writes its result instead of a fresh array. */
export interface OutputOptions {
  /**
   * A buffer of the call's context holding at least the result's bytes: the
   * kernel writes the result at byte 0 and the call returns views of it
   * (downloaded first, so on CUDA the host view is current). Without it the
   * result is a fresh array: the kernel's output copied once.
   */
  out?: NativeBuffer;
}

export function isNativeTensor(t: TensorInput): t is NativeTensor {
  return (t as Partial<NativeTensor>).buffer instanceof NativeBuffer;
}

/** The shape of an input, checked to describe its data (dtype, element count, buffer size). */
export function tensorShape(name: string, t: TensorInput): readonly number[] {
  if (!t || !Array.isArray(t.shape)) throw new Mast3rInputError(`${name}: expected an NdArray { data, shape } or a NativeTensor { buffer, shape }`);
  for (const s of t.shape) {
    if (!Number.isSafeInteger(s) || s < 0) throw new Mast3rInputError(`${name}: bad shape ${shapeString(t.shape)}`);
  }
  const n = sizeOf(t.shape);
  if (isNativeTensor(t)) {
    if (t.buffer.destroyed) throw new Mast3rInputError(`${name}: its NativeBuffer was destroyed`);
    if (t.buffer.bytes < 4 * n) {
      throw new Mast3rInputError(`${name}: a ${t.buffer.bytes}-byte buffer cannot hold float32 ${shapeString(t.shape)} (${4 * n} bytes)`);
    }
    return t.shape;
  }
  const arr = t as NdArray;
  if (!arr.data || typeof arr.data.length !== 'number') throw new Mast3rInputError(`${name}: expected an NdArray { data, shape }`);
  if (arr.data.length !== n) throw new Mast3rInputError(`${name}: ${arr.data.length} elements do not fill shape ${shapeString(t.shape)}`);
  if (!(arr.data instanceof Float32Array) && !(arr.data instanceof Float64Array)) {
    throw new Mast3rInputError(`${name}: dtype ${dtypeOf(arr.data)} is not supported here, expected float32 or float64`);
  }
  return t.shape;
}

/**
 * The native memory of one call: inputs in place or copied once, outputs in
 * the caller's buffers or in temporaries; release() frees the temporaries only.
 */
export class CallBuffers {
  private readonly temps: NativeBuffer[] = [];
  private readonly owned = new Set<NativeBuffer>();

  constructor(readonly ctx: NativeContext) {}

  /** A checked input's buffer: its own, or one upload of the array (tensorShape() first). */
  input(t: TensorInput): NativeBuffer {
    if (isNativeTensor(t)) return t.buffer;
    const n = t.data.length;
    const buf = this.temp(4 * n);
    // TypedArray.set narrows float64 in the same pass: one copy whatever the dtype
    buf.f32(0, n).set(t.data as Float32Array | Float64Array);
    return buf.upload(0, 4 * n);
  }

  /** Small parameters computed in JS (intrinsics, cameras), uploaded. */
  params(data: Float32Array): NativeBuffer {
    return this.temp(data.byteLength).write(data);
  }

  /** An output of `bytes`: the caller's buffer, checked, or a temporary. */
  output(name: string, out: NativeBuffer | undefined, bytes: number): NativeBuffer {
    if (out === undefined) {
      const buf = this.temp(bytes);
      this.owned.add(buf);
      return buf;
    }
    if (!(out instanceof NativeBuffer)) throw new Mast3rInputError(`${name}: expected a NativeBuffer`);
    if (out.destroyed) throw new Mast3rInputError(`${name}: the NativeBuffer was destroyed`);
    if (out.bytes < bytes) throw new Mast3rInputError(`${name}: a ${out.bytes}-byte buffer is too small for the result's ${bytes} bytes`);
    return out;
  }

  /** The float32 result: a view of the caller's buffer, or a temporary's copy. */
  f32(buf: NativeBuffer, count: number): Float32Array {
    buf.download(0, Math.max(0, 4 * count));
    const view = buf.f32(0, count);
    return this.owned.has(buf) ? view.slice() : view;
  }

  /** The uint8 result: a view of the caller's buffer, or a temporary's copy. */
  u8(buf: NativeBuffer, count: number): Uint8Array {
    buf.download(0, count);
    const view = buf.u8(0, count);
    return this.owned.has(buf) ? view.slice() : view;
  }

  release(): void {
    for (const b of this.temps) b.destroy();
    this.temps.length = 0;
    this.owned.clear();
  }

  private temp(bytes: number): NativeBuffer {
    const buf = this.ctx.buffer(Math.max(1, bytes));
    this.temps.push(buf);
    return buf;
  }
}

/** Refuses an output buffer that is also an input the kernel still reads while it writes. */
export function requireDistinct(outName: string, out: NativeBuffer | undefined, inputs: Record<string, TensorInput>): void {
  if (out === undefined) return;
  for (const [name, t] of Object.entries(inputs)) {
    if (isNativeTensor(t) && t.buffer === out) throw new Mast3rInputError(`${outName}: is also ${name}'s buffer; this kernel cannot run in place`);
  }
}
