/**
 * The metal-emu library's one export outside the ABI, ss_metal_emu_set_order:
 * the order the emulator runs a threadgroup's threads in, per context, so one
 * process runs the same calls forward and reordered (a kernel whose result
 * depends on the order lacks a barrier). The environment variable
 * SCANSTREAM_METAL_EMU_ORDER does the same for a whole process, but Bun's
 * process.env changes do not reach the library's getenv.
 */
import { dlopen, FFIType } from 'bun:ffi';
import type { NativeContext } from '../../src/native';
import { libraryFor } from '../../src/native/library';

export type EmulatorOrder = 'forward' | 'reverse' | 'shuffle';
const codes: Record<EmulatorOrder, number> = { forward: 0, reverse: 1, shuffle: 2 };

let setter: ((ctx: NativeContext['handle'], order: number, seed: number) => number) | null = null;

export function setEmulatorOrder(ctx: NativeContext, order: EmulatorOrder, seed = 1): void {
  if (ctx.backend !== 'metal-emu') throw new Error(`setEmulatorOrder: a ${ctx.backend} context is not emulated`);
  if (!setter) {
    // the library the context loaded (dlopen of the same path returns the same handle)
    const lib = dlopen(libraryFor('metal-emu'), {
      ss_metal_emu_set_order: { args: [FFIType.ptr, FFIType.i32, FFIType.u32], returns: FFIType.i32 },
    });
    setter = lib.symbols.ss_metal_emu_set_order as unknown as typeof setter;
  }
  const status = setter!(ctx.handle, codes[order], seed);
  if (status !== 0) throw new Error(`ss_metal_emu_set_order(${order}) failed with status ${status}`);
}
