/**
 * The one kernel table (SS_KERNEL_TABLE in scanstream.h) against everything
 * made from it or written beside it: the generated TypeScript, the parity
 * cases, each backend's sources (a kernel implemented or answering "not
 * here"), and the loaded library itself.
 */
import { ptr } from 'bun:ffi';
import { afterAll, describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  compareKernelLists, cudaUnsupportedPath, headerPath, kernelsDefinedIn, kernelsInTs, metalEmuExportsPath, metalKernelsDefinedIn,
  metalUnsupportedPath, parseHeader, readCudaImplemented, readMetalImplemented, renderCudaUnsupported, renderMetalEmuExports,
  renderMetalUnsupported, renderTs, root, tsPath,
} from '../../scripts/abi.mjs';
import { kernelSpecs } from '../../src/native/args';
import { NativeContext } from '../../src/native/context';
import { parityCases } from '../parity/kernels';

const header = readFileSync(headerPath, 'utf8');
const abi = parseHeader(header);
const tsText = readFileSync(tsPath, 'utf8');
const sources = (dir: string, ext: string): string[] =>
  readdirSync(join(root, dir)).filter((f) => f.endsWith(ext)).map((f) => readFileSync(join(root, dir, f), 'utf8'));
const cpuSources = sources('native/cpu', '.cpp');
const cudaSources = sources('native/cuda', '.cu');
const metalHostSources = sources('native/metal_host', '.cpp');
const metalEmuExports = readFileSync(metalEmuExportsPath, 'utf8');

interface Texts {
  ts: string;
  parity: string[];
  cpu: string[];
  cuda: string[];
  metalHost: string[];
  metalEmu: string[];
}
const current: Texts = {
  ts: tsText, parity: parityCases.flatMap((c) => c.symbols), cpu: cpuSources, cuda: cudaSources, metalHost: metalHostSources,
  metalEmu: [metalEmuExports],
};

function problems(header: string, t: Texts): string[] {
  return compareKernelLists(parseHeader(header), {
    'src/native/abi.generated.ts': kernelsInTs(t.ts),
    'tests/parity cases': t.parity,
    'native/cpu sources': kernelsDefinedIn(t.cpu),
    'native/cuda sources (kernels + unsupported.cu)': kernelsDefinedIn(t.cuda),
    'native/metal_host sources (kernels + unsupported.cpp)': metalKernelsDefinedIn(t.metalHost),
    'native/metal_emu/exports.cpp': kernelsDefinedIn(t.metalEmu),
  });
}

const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => ctx.destroy());

describe('SS_KERNEL_TABLE is the one list of kernels', () => {
  test(`the table lists ${abi.kernels.length} kernels, each with an args struct named after it`, () => {
    expect(abi.kernels.length).toBeGreaterThanOrEqual(24);
    for (const k of abi.kernels) {
      expect(header).toContain(`typedef struct ss_${k.name}_args {`);
      expect(k.buffers.length).toBeGreaterThan(0);
    }
  });

  test('the generated TypeScript, the parity cases and every backend\'s sources hold exactly its kernels', () => {
    expect(problems(header, current)).toEqual([]);
  });

  test('the generated files are what scanstream.h generates now', () => {
    expect(tsText).toBe(renderTs(abi));
    expect(readFileSync(cudaUnsupportedPath, 'utf8')).toBe(renderCudaUnsupported(abi, readCudaImplemented()));
    expect(readFileSync(metalUnsupportedPath, 'utf8')).toBe(renderMetalUnsupported(abi, readMetalImplemented()));
    expect(metalEmuExports).toBe(renderMetalEmuExports(abi));
  });

  test('the loaded library agrees: ss_kernel_count / ss_kernel_name list the table, ss_args_sizeof equals every TypeScript layout', () => {
    const lib = ctx.lib.symbols;
    expect(lib.ss_kernel_count()).toBe(abi.kernels.length);
    const names = Array.from({ length: abi.kernels.length }, (_, i) => String(lib.ss_kernel_name(i)));
    expect(names).toEqual(abi.kernels.map((k) => k.symbol));
    expect(lib.ss_kernel_name(abi.kernels.length)).toBeNull();
    for (const k of abi.kernels) {
      const spec = kernelSpecs.get(k.symbol as never)!;
      expect(lib.ss_args_sizeof(ptr(Buffer.from(`${k.name}\0`)))).toBe(spec.args.size);
      expect(spec.buffers).toEqual(k.buffers);
      expect(lib.ss_kernel_supported(ctx.handle, ptr(Buffer.from(`${k.symbol}\0`)))).toBe(1);
    }
    expect(lib.ss_kernel_supported(ctx.handle, ptr(Buffer.from('ss_no_such_kernel\0')))).toBe(-1);
  });
});

describe('the check fails when a list drifts from the table (modified copies)', () => {
  const victim = 'ss_icp_reduce';
  const drop = (text: string, from: RegExp): string => {
    const out = text.replace(from, '');
    expect(out).not.toBe(text);
    return out;
  };

  test('a kernel missing from the generated TypeScript', () => {
    const ts = drop(tsText, new RegExp(`  ${victim}: \\{[\\s\\S]*?\\n  \\},\\n`));
    expect(problems(header, { ...current, ts })).toEqual([`src/native/abi.generated.ts: ${victim} is in SS_KERNEL_TABLE but missing here`]);
  });

  test('a kernel without a parity case', () => {
    expect(problems(header, { ...current, parity: current.parity.filter((s) => s !== victim) }))
      .toEqual([`tests/parity cases: ${victim} is in SS_KERNEL_TABLE but missing here`]);
  });

  test('a kernel the CUDA backend neither runs nor answers for', () => {
    const cuda = current.cuda.map((t) => t.replace(new RegExp(`SS_API ss_status ${victim}\\(`), 'SS_API ss_status removed_kernel('));
    expect(problems(header, { ...current, cuda })).toEqual([`native/cuda sources (kernels + unsupported.cu): ${victim} is in SS_KERNEL_TABLE but missing here`]);
  });

  test('a kernel the Metal host logic neither runs nor answers for', () => {
    const metalHost = current.metalHost.map((t) => t.replace(new RegExp(`^ss_status ss_metal_${victim.slice(3)}\\(`, 'm'), 'ss_status removed_kernel('));
    expect(problems(header, { ...current, metalHost }))
      .toEqual([`native/metal_host sources (kernels + unsupported.cpp): ${victim} is in SS_KERNEL_TABLE but missing here`]);
  });

  test('a kernel the CPU backend lacks', () => {
    const cpu = current.cpu.map((t) => t.replace(new RegExp(`SS_API ss_status ${victim}\\(`), 'SS_API ss_status removed_kernel('));
    expect(problems(header, { ...current, cpu })).toEqual([`native/cpu sources: ${victim} is in SS_KERNEL_TABLE but missing here`]);
  });

  test('a kernel removed from the table but left everywhere else', () => {
    const h = drop(header, /^ {2}K\(icp_reduce,[^\n]*\n[^\n]*\n/m).replace(/typedef struct ss_icp_reduce_args \{[^}]*\} ss_icp_reduce_args;/, '');
    const found = problems(h, current);
    expect(found).toContain(`src/native/abi.generated.ts: ${victim} is not in SS_KERNEL_TABLE`);
    expect(found).toContain(`native/cpu sources: ${victim} is not in SS_KERNEL_TABLE`);
    expect(found.length).toBe(6);
  });

  test('an args struct no kernel uses, and a malformed table line, are refused', () => {
    expect(() => parseHeader(header.replace('typedef struct ss_geotrf_args {', 'typedef struct ss_unused_args {\n  uint32_t n;\n} ss_unused_args;\ntypedef struct ss_geotrf_args {')))
      .toThrow(/args structs of no kernel: ss_unused_args/);
    expect(() => parseHeader(header.replace('K(geotrf, IN(in) OUT(out))', 'K(geotrf, IN(in) READS(out))'))).toThrow(/SS_KERNEL_TABLE has text/);
  });
});
