import { ptr, type Pointer } from 'bun:ffi';
import { kernelTable } from './abi.generated';
import type { NativeBuffer } from './buffer';
import type { NativeLibrary } from './library';
import { NativeLoadError } from './errors';

type FieldType = 'u32' | 'i32' | 'f32';
type FieldSpec = FieldType | readonly [FieldType, number];
export type ArgsLayout = Readonly<Record<string, FieldSpec>>;

/** Values for an args struct: scalars as numbers, arrays as number arrays; omitted fields are 0. */
export type ArgsValues<L extends ArgsLayout> = {
  [K in keyof L]?: L[K] extends readonly [FieldType, number] ? ArrayLike<number> : number;
};

import type { KernelSymbol } from './symbols';
export type { KernelSymbol };
/** The fields of ss_<kernel>_args. */
export type KernelArgs<K extends KernelSymbol> = ArgsValues<(typeof kernelTable)[K]['layout']>;
/** The buffers a kernel takes, by their names in the header. */
export type KernelBuffers<K extends KernelSymbol> = { readonly [B in keyof (typeof kernelTable)[K]['buffers']]: NativeBuffer };
export type BufferRole = 'in' | 'out' | 'inout';

/** How a field's values are written: u32 (`>>> 0`), i32 (`| 0`), f32. */
const Kind = { U32: 0, I32: 1, F32: 2 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface FieldSlot {
  name: string;
  type: FieldType;
  kind: Kind;
  count: number;
  offset: number;
}

const hasOwn = Object.prototype.hasOwnProperty;

function writeValue(view: DataView, kind: Kind, at: number, v: number): void {
  if (kind === Kind.F32) view.setFloat32(at, v, true);
  else if (kind === Kind.U32) view.setUint32(at, v >>> 0, true);
  else view.setInt32(at, v | 0, true);
}

/**
 * A `ss_<name>_args` struct as TypeScript sees it. Fields are 4-byte scalars
 * in declaration order (no padding, by the ABI's rule), so the layout is the
 * running offset; `check()` compares the size with the library's sizeof.
 */
export class ArgsStruct<L extends ArgsLayout = ArgsLayout> {
  readonly name: string;
  readonly size: number;
  private readonly slots: FieldSlot[];
  private readonly byName: Map<string, FieldSlot>;
  private readonly checked = new WeakSet<object>();
  /** the library check() last passed: the common case answers without the WeakSet */
  private lastChecked: object | null = null;
  /** packReused()'s bytes: one struct's worth, rewritten by every packReused() */
  private readonly reused: Uint8Array;
  private readonly reusedView: DataView;

  constructor(name: string, layout: L) {
    this.name = name;
    this.slots = [];
    let offset = 0;
    for (const [field, spec] of Object.entries(layout)) {
      const [type, count] = typeof spec === 'string' ? [spec, 1] : [spec[0], spec[1]];
      const kind = type === 'f32' ? Kind.F32 : type === 'u32' ? Kind.U32 : Kind.I32;
      this.slots.push({ name: field, type, kind, count, offset });
      offset += 4 * count;
    }
    this.size = offset;
    this.byName = new Map(this.slots.map((s) => [s.name, s]));
    // an ArrayBuffer of its own (not a pooled slice), so ptr() of it is stable
    this.reused = new Uint8Array(new ArrayBuffer(Math.max(4, offset)), 0, offset);
    this.reusedView = new DataView(this.reused.buffer, 0, offset);
  }

  /** Throws when the library's struct has another size (header and TS out of step). O(1) after the first call per library. */
  check(lib: NativeLibrary): void {
    if (this.lastChecked === lib) return;
    if (this.checked.has(lib)) {
      this.lastChecked = lib;
      return;
    }
    const native = lib.symbols.ss_args_sizeof(ptr(Buffer.from(`${this.name}\0`)));
    if (native !== this.size) {
      throw new NativeLoadError(
        `ss_${this.name}_args is ${native} bytes in the native library but ${this.size} in src/native: header and TypeScript disagree`,
      );
    }
    this.checked.add(lib);
    this.lastChecked = lib;
  }

  /** Packs values into a fresh little-endian byte array. */
  pack(values: ArgsValues<L>): Uint8Array {
    const bytes = new Uint8Array(this.size);
    this.write(values, new DataView(bytes.buffer));
    return bytes;
  }

  /**
   * Packs values into this struct's own byte array and returns it: no
   * allocation, but the bytes hold these values only until the next
   * packReused() of this struct (this kernel). For a synchronous native call
   * that does not keep the pointer (NativeContext.call); omitted fields are 0
   * as in pack(), and a throw leaves nothing that the next call would read.
   */
  packReused(values: ArgsValues<L>): Uint8Array {
    this.reused.fill(0);
    this.write(values, this.reusedView);
    return this.reused;
  }

  /** Writes the given fields over zeroed bytes, in the values' key order (so the first bad field is the one named). */
  private write(values: ArgsValues<L>, view: DataView): void {
    const record = values as Record<string, number | ArrayLike<number> | undefined>;
    // for-in over own keys is Object.entries' order without its arrays
    for (const field in record) {
      if (!hasOwn.call(record, field)) continue;
      const value = record[field];
      if (value === undefined) continue;
      const slot = this.byName.get(field);
      if (!slot) throw new TypeError(`ss_${this.name}_args has no field '${field}'`);
      if (typeof value === 'number') {
        if (slot.count !== 1) throw new TypeError(`ss_${this.name}_args.${field} takes ${slot.count} value(s), got 1`);
        writeValue(view, slot.kind, slot.offset, value);
        continue;
      }
      const list: ArrayLike<number> = value;
      if (list.length !== slot.count) {
        throw new TypeError(`ss_${this.name}_args.${field} takes ${slot.count} value(s), got ${list.length}`);
      }
      const { kind, offset, count } = slot;
      if (kind === Kind.F32) for (let i = 0; i < count; i++) view.setFloat32(offset + 4 * i, list[i] as number, true);
      else if (kind === Kind.U32) for (let i = 0; i < count; i++) view.setUint32(offset + 4 * i, (list[i] as number) >>> 0, true);
      else for (let i = 0; i < count; i++) view.setInt32(offset + 4 * i, (list[i] as number) | 0, true);
    }
  }
}

/** A kernel as the facade calls it: its args struct and its buffers in call order with their roles. */
export interface KernelSpec {
  readonly symbol: KernelSymbol;
  readonly args: ArgsStruct;
  readonly buffers: readonly { readonly name: string; readonly role: BufferRole }[];
  /** the buffers' names in call order (the facade's lookup without a map per call) */
  readonly bufferNames: readonly string[];
}

export const kernelSpecs: ReadonlyMap<KernelSymbol, KernelSpec> = new Map(
  (Object.entries(kernelTable) as [KernelSymbol, (typeof kernelTable)[KernelSymbol]][]).map(([symbol, k]) => [symbol, {
    symbol,
    args: new ArgsStruct(k.args, k.layout as ArgsLayout),
    buffers: Object.entries(k.buffers as Record<string, BufferRole>).map(([name, role]) => ({ name, role })),
    bufferNames: Object.keys(k.buffers),
  }]),
);

export function kernelSpec(symbol: KernelSymbol): KernelSpec {
  const spec = kernelSpecs.get(symbol);
  if (!spec) throw new TypeError(`${symbol} is not a kernel of the C ABI`);
  return spec;
}

export function pointerTo(bytes: Uint8Array): Pointer {
  return ptr(bytes);
}
