import { coreFunctions, kernelTable } from './abi.generated';

/** Every kernel of the C ABI (SS_KERNEL_TABLE in scanstream.h). */
export type KernelSymbol = keyof typeof kernelTable;

/** kernels all return a status (i32) and take pointers: ctx, args, buffers */
type KernelSymbols = { readonly [K in KernelSymbol]: { readonly args: readonly 'ptr'[]; readonly returns: 'i32' } };

function kernelSymbolTable(): KernelSymbols {
  const table: Record<string, { args: 'ptr'[]; returns: 'i32' }> = {};
  for (const [name, k] of Object.entries(kernelTable)) {
    table[name] = { args: ['ptr', 'ptr', ...Object.keys(k.buffers).map(() => 'ptr' as const)], returns: 'i32' };
  }
  return table as unknown as KernelSymbols;
}

/** Every symbol of the C ABI, generated from scanstream.h (DESIGN.md §3 rule 9; one dlopen table, after opentui). */
export const symbols = { ...coreFunctions, ...kernelSymbolTable() };

export function kernelSymbols(): KernelSymbol[] {
  return Object.keys(kernelTable) as KernelSymbol[];
}
