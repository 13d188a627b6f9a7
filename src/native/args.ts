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

interface FieldSlot {
  name: string;
  type: FieldType;
  count: number;
  offset: number;
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

  constructor(name: string, layout: L) {
    this.name = name;
    this.slots = [];
    let offset = 0;
    for (const [field, spec] of Object.entries(layout)) {
      const [type, count] = typeof spec === 'string' ? [spec, 1] : [spec[0], spec[1]];
      this.slots.push({ name: field, type, count, offset });
      offset += 4 * count;
    }
    this.size = offset;
    this.byName = new Map(this.slots.map((s) => [s.name, s]));
  }

  /** Throws when the library's struct has another size (header and TS out of step). */
  check(lib: NativeLibrary): void {
    if (this.checked.has(lib)) return;
    const native = lib.symbols.ss_args_sizeof(ptr(Buffer.from(`${this.name}\0`)));
    if (native !== this.size) {
      throw new NativeLoadError(
        `ss_${this.name}_args is ${native} bytes in the native library but ${this.size} in src/native: header and TypeScript disagree`,
      );
    }
    this.checked.add(lib);
  }

  /** Packs values into a fresh little-endian byte array. */
  pack(values: ArgsValues<L>): Uint8Array {
    const bytes = new Uint8Array(this.size);
    const view = new DataView(bytes.buffer);
    for (const [field, value] of Object.entries(values as Record<string, number | ArrayLike<number> | undefined>)) {
      if (value === undefined) continue;
      const slot = this.byName.get(field);
      if (!slot) throw new TypeError(`ss_${this.name}_args has no field '${field}'`);
      const list: ArrayLike<number> = typeof value === 'number' ? [value] : value;
      if (list.length !== slot.count) {
        throw new TypeError(`ss_${this.name}_args.${field} takes ${slot.count} value(s), got ${list.length}`);
      }
      for (let i = 0; i < slot.count; i++) {
        const at = slot.offset + 4 * i;
        const v = list[i] as number;
        if (slot.type === 'f32') view.setFloat32(at, v, true);
        else if (slot.type === 'u32') view.setUint32(at, v >>> 0, true);
        else view.setInt32(at, v | 0, true);
      }
    }
    return bytes;
  }
}

/** A kernel as the facade calls it: its args struct and its buffers in call order with their roles. */
export interface KernelSpec {
  readonly symbol: KernelSymbol;
  readonly args: ArgsStruct;
  readonly buffers: readonly { readonly name: string; readonly role: BufferRole }[];
}

export const kernelSpecs: ReadonlyMap<KernelSymbol, KernelSpec> = new Map(
  (Object.entries(kernelTable) as [KernelSymbol, (typeof kernelTable)[KernelSymbol]][]).map(([symbol, k]) => [symbol, {
    symbol,
    args: new ArgsStruct(k.args, k.layout as ArgsLayout),
    buffers: Object.entries(k.buffers as Record<string, BufferRole>).map(([name, role]) => ({ name, role })),
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
