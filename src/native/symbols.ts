import { coreFunctions, kernelTable } from './abi.generated';
import type { KernelSymbol } from './args';

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

export type { KernelSymbol };

export function kernelSymbols(): KernelSymbol[] {
  return Object.keys(kernelTable) as KernelSymbol[];
}
