// The C ABI as data, read from native/include/scanstream.h: the kernel table
// (SS_KERNEL_TABLE), the args structs, the enums and the core functions; and the
// files generated from it (src/native/abi.generated.ts, native/cuda/unsupported.cu).
// Plain JavaScript so the build (node, npm postinstall) and the tests (bun) share it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const headerPath = join(root, 'native', 'include', 'scanstream.h');
export const tsPath = join(root, 'src', 'native', 'abi.generated.ts');
export const cudaUnsupportedPath = join(root, 'native', 'cuda', 'unsupported.cu');
export const cudaImplementedPath = join(root, 'native', 'cuda', 'IMPLEMENTED');
export const pythonAbiPath = join(root, 'python', 'scanstream', '_abi.py');
export const metalUnsupportedPath = join(root, 'native', 'metal_host', 'unsupported.cpp');
export const metalImplementedPath = join(root, 'native', 'metal_host', 'IMPLEMENTED');
export const metalEmuExportsPath = join(root, 'native', 'metal_emu', 'exports.cpp');

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
}

const fieldTypes = { uint32_t: 'u32', int32_t: 'i32', float: 'f32' };

function parseStructs(code) {
  const structs = {};
  for (const [, name, body, alias] of code.matchAll(/typedef\s+struct\s+ss_(\w+)_args\s*\{([^}]*)\}\s*ss_(\w+)_args\s*;/g)) {
    if (alias !== name) throw new Error(`scanstream.h: struct ss_${name}_args is typedef'd as ss_${alias}_args`);
    const fields = [];
    for (const decl of body.split(';').map((d) => d.trim()).filter(Boolean)) {
      const m = /^(uint32_t|int32_t|float)\s+(.+)$/s.exec(decl);
      if (!m) throw new Error(`scanstream.h: ss_${name}_args: field '${decl}' is not a 4-byte scalar or array of them`);
      for (const part of m[2].split(',').map((p) => p.trim())) {
        const arr = /^(\w+)\s*\[\s*(\d+)\s*\]$/.exec(part);
        if (arr) fields.push({ name: arr[1], type: fieldTypes[m[1]], count: Number(arr[2]) });
        else if (/^\w+$/.test(part)) fields.push({ name: part, type: fieldTypes[m[1]], count: 1 });
        else throw new Error(`scanstream.h: ss_${name}_args: cannot read field '${part}'`);
      }
    }
    structs[name] = fields;
  }
  return structs;
}

function parseKernelTable(text) {
  const start = text.indexOf('#define SS_KERNEL_TABLE(');
  if (start < 0) throw new Error('scanstream.h: no SS_KERNEL_TABLE');
  const lines = [];
  for (const line of text.slice(start).split('\n')) {
    lines.push(line.replace(/\\\s*$/, ''));
    if (!/\\\s*$/.test(line)) break;
  }
  const body = lines.join(' ').replace(/^#define SS_KERNEL_TABLE\([^)]*\)/, '');
  const kernels = [];
  for (const [, name, list] of body.matchAll(/K\(\s*(\w+)\s*,((?:\s*(?:IN|OUT|INOUT)\(\s*\w+\s*\))*)\s*\)/g)) {
    const buffers = [...list.matchAll(/(INOUT|IN|OUT)\(\s*(\w+)\s*\)/g)].map(([, role, b]) => ({ name: b, role: role.toLowerCase() }));
    kernels.push({ name, symbol: `ss_${name}`, buffers });
  }
  const leftover = body.replace(/K\(\s*\w+\s*,((?:\s*(?:IN|OUT|INOUT)\(\s*\w+\s*\))*)\s*\)/g, '').trim();
  if (leftover) throw new Error(`scanstream.h: SS_KERNEL_TABLE has text that is not K(name, IN/OUT/INOUT(buffer)…): '${leftover.slice(0, 80)}'`);
  return kernels;
}

function parseConstants(code) {
  const constants = {};
  for (const [, body] of code.matchAll(/enum\s*\{([^}]*)\}/g)) {
    for (const item of body.split(',')) {
      const m = /^\s*(SS_\w+)\s*=\s*(\d+)\s*$/.exec(item);
      if (m) constants[m[1]] = Number(m[2]);
    }
  }
  for (const [, name, value] of code.matchAll(/#define\s+(SS_\w+)\s+(\d+)u?\b/g)) constants[name] = Number(value);
  return constants;
}

/** C parameter / return type → bun:ffi type name */
function ffiType(ctype, isReturn) {
  const t = ctype.replace(/\bconst\b/g, '').replace(/\s+/g, ' ').trim();
  if (t === 'void') return 'void';
  if (t === 'char*' || t === 'char *') return isReturn ? 'cstring' : 'ptr';
  if (t.endsWith('*')) return 'ptr';
  if (t === 'uint32_t') return 'u32';
  if (t === 'int32_t' || t === 'ss_status') return 'i32';
  if (t === 'uint64_t') return 'u64';
  throw new Error(`scanstream.h: no FFI type for '${ctype}'`);
}

function parseCoreFunctions(code) {
  const fns = [];
  for (const [, ret, name, params] of code.matchAll(/SS_API\s+([\w\s*]+?)\s*\b(ss_\w+)\s*\(([^)]*)\)\s*;/g)) {
    const list = params.trim() === 'void' || params.trim() === '' ? [] : params.split(',').map((p) => p.trim());
    // a parameter is 'type name' or an unnamed 'type*'
    const args = list.map((p) => ffiType(p.endsWith('*') ? p : p.replace(/\s*\b\w+$/, ''), false));
    fns.push({ name, returns: ffiType(ret, true), args });
  }
  return fns;
}

/** Everything the tools need to know of the ABI, from the header text. */
export function parseHeader(text) {
  const code = stripComments(text);
  const version = /#define\s+SS_ABI_VERSION\s+(\d+)u?/.exec(code);
  if (!version) throw new Error('scanstream.h: no SS_ABI_VERSION');
  const structs = parseStructs(code);
  const kernels = parseKernelTable(text);
  for (const k of kernels) {
    if (!structs[k.name]) throw new Error(`scanstream.h: kernel ${k.symbol} has no struct ss_${k.name}_args`);
    k.fields = structs[k.name];
  }
  const orphans = Object.keys(structs).filter((s) => !kernels.some((k) => k.name === s));
  if (orphans.length) throw new Error(`scanstream.h: args structs of no kernel: ${orphans.map((o) => `ss_${o}_args`).join(', ')}`);
  return { version: Number(version[1]), kernels, constants: parseConstants(code), core: parseCoreFunctions(code) };
}

export function readAbi() {
  return parseHeader(readFileSync(headerPath, 'utf8'));
}

const banner = 'Generated by scripts/gen-abi.mjs from native/include/scanstream.h — do not edit; `node scripts/gen-abi.mjs` rewrites it.';

export function renderTs(abi) {
  const out = [`// ${banner}`, '', `export const ABI_VERSION = ${abi.version};`, ''];
  out.push('/** enums and #defines of scanstream.h */', 'export const abiConstants = {');
  for (const [k, v] of Object.entries(abi.constants)) out.push(`  ${k}: ${v},`);
  out.push('} as const;', '');
  out.push('/** the functions that are not kernels (context, buffers, table queries): bun:ffi type names */', 'export const coreFunctions = {');
  for (const f of abi.core) out.push(`  ${f.name}: { args: [${f.args.map((a) => `'${a}'`).join(', ')}], returns: '${f.returns}' },`);
  out.push('} as const;', '');
  out.push('/**', ' * SS_KERNEL_TABLE: each kernel, the fields of its ss_<name>_args struct (4-byte scalars',
    ' * and arrays, in order) and its buffers in call order with their role.', ' */', 'export const kernelTable = {');
  for (const k of abi.kernels) {
    out.push(`  ${k.symbol}: {`);
    out.push(`    args: '${k.name}',`);
    const fields = k.fields.map((f) => (f.count === 1 ? `${f.name}: '${f.type}'` : `${f.name}: ['${f.type}', ${f.count}]`));
    out.push(`    layout: { ${fields.join(', ')} },`);
    out.push(`    buffers: { ${k.buffers.map((b) => `${b.name}: '${b.role}'`).join(', ')} },`);
    out.push('  },');
  }
  out.push('} as const;', '');
  return out.join('\n');
}

const ctypesOf = { u32: 'ctypes.c_uint32', i32: 'ctypes.c_int32', f32: 'ctypes.c_float', u64: 'ctypes.c_uint64', ptr: 'ctypes.c_void_p', cstring: 'ctypes.c_char_p', void: 'None' };

/** The Python package's ctypes layer (python/scanstream/_abi.py): args structs, kernel buffers and roles, constants, core signatures. */
export function renderPython(abi) {
  const ct = (t) => {
    const c = ctypesOf[t];
    if (!c) throw new Error(`renderPython: no ctypes type for '${t}'`);
    return c;
  };
  const out = [`# ${banner}`, '"""The scanstream C ABI as ctypes declarations, one entry per kernel of SS_KERNEL_TABLE."""', '',
    'from __future__ import annotations', '', 'import ctypes', 'from typing import Any, Final, NamedTuple', '',
    `ABI_VERSION: Final = ${abi.version}`, '', '# enums and #defines of scanstream.h'];
  for (const [k, v] of Object.entries(abi.constants)) out.push(`${k}: Final = ${v}`);
  out.push('', '', 'class Kernel(NamedTuple):', '    """One row of SS_KERNEL_TABLE."""', '',
    '    name: str', '    symbol: str', '    args: type[ctypes.Structure]',
    "    # (buffer name, role) in call order; role is 'in' (read), 'out' (written) or 'inout'",
    '    buffers: tuple[tuple[str, str], ...]', '');
  for (const k of abi.kernels) {
    out.push('', `class ss_${k.name}_args(ctypes.Structure):`, '    _fields_ = [');
    for (const f of k.fields) out.push(`        ('${f.name}', ${f.count === 1 ? ct(f.type) : `${ct(f.type)} * ${f.count}`}),`);
    out.push('    ]', '');
  }
  out.push('', 'KERNELS: Final[dict[str, Kernel]] = {');
  for (const k of abi.kernels) {
    const bufs = k.buffers.map((b) => `('${b.name}', '${b.role}')`).join(', ');
    out.push(`    '${k.symbol}': Kernel('${k.name}', '${k.symbol}', ss_${k.name}_args, (${bufs}${k.buffers.length === 1 ? ',' : ''})),`);
  }
  out.push('}', '', '# the functions that are not kernels: name -> (restype, argtypes)', 'CORE_FUNCTIONS: Final[dict[str, tuple[Any, tuple[Any, ...]]]] = {');
  for (const f of abi.core) out.push(`    '${f.name}': (${ct(f.returns)}, (${f.args.map(ct).join(', ')}${f.args.length === 1 ? ',' : ''})),`);
  out.push('}', '');
  return out.join('\n');
}

/** The CUDA backend's answers for kernels it does not run: SS_ERR_UNSUPPORTED, and ss_kernel_supported. */
export function renderCudaUnsupported(abi, implemented) {
  const known = new Set(abi.kernels.map((k) => k.symbol));
  const stray = [...implemented].filter((s) => !known.has(s));
  if (stray.length) throw new Error(`native/cuda/IMPLEMENTED names kernels that are not in the table: ${stray.join(', ')}`);
  const out = [`/* ${banner.replace('; `node scripts/gen-abi.mjs` rewrites it', '')} */`, '#include "backend.cuh"', '#include "kernel_table.h"', '',
    '#include <cstring>', '', 'extern "C" {', ''];
  for (const k of abi.kernels) {
    if (implemented.has(k.symbol)) continue;
    const params = [`ss_context* ctx`, `const ss_${k.name}_args*`, ...k.buffers.map(() => 'ss_buffer*')].join(', ');
    out.push(`SS_API ss_status ${k.symbol}(${params}) {`,
      `  return ss_fail(ctx, SS_ERR_UNSUPPORTED, "${k.symbol} is not implemented on the CUDA backend yet");`, '}', '');
  }
  const list = abi.kernels.filter((k) => implemented.has(k.symbol)).map((k) => `"${k.symbol}"`);
  out.push('/* what native/cuda/IMPLEMENTED lists */', 'SS_API int32_t ss_kernel_supported(const ss_context*, const char* kernel) {',
    '  if (ss_kernel_index(kernel) < 0) return -1;',
    `  static const char* const implemented[] = {${list.length ? list.join(', ') : 'nullptr'}};`,
    '  for (const char* k : implemented)', '    if (k && strcmp(k, kernel) == 0) return 1;', '  return 0;', '}', '', '}  // extern "C"', '');
  return out.join('\n');
}

function readImplemented(path) {
  return new Set(readFileSync(path, 'utf8').split(/\s+/).filter((s) => s.startsWith('ss_')));
}

export function readCudaImplemented() {
  return readImplemented(cudaImplementedPath);
}

/**
 * The Metal host logic's answers for kernels it does not run (ss_metal_<kernel>
 * = SS_ERR_UNSUPPORTED) and ss_metal_kernel_supported, from native/metal_host/IMPLEMENTED.
 * Shared by the Swift library and the emulator, which export them as ss_<kernel>.
 */
export function renderMetalUnsupported(abi, implemented) {
  const known = new Set(abi.kernels.map((k) => k.symbol));
  const stray = [...implemented].filter((s) => !known.has(s));
  if (stray.length) throw new Error(`native/metal_host/IMPLEMENTED names kernels that are not in the table: ${stray.join(', ')}`);
  const out = [`/* ${banner.replace('; `node scripts/gen-abi.mjs` rewrites it', '')} */`, '#include "host.h"', '#include "../common/kernel_table.h"', '',
    'extern "C" {', ''];
  for (const k of abi.kernels) {
    if (implemented.has(k.symbol)) continue;
    const params = [`ss_context* ctx`, `const ss_${k.name}_args*`, ...k.buffers.map(() => 'ss_buffer*')].join(', ');
    out.push(`ss_status ss_metal_${k.name}(${params}) {`,
      `  return ss_fail(ctx, SS_ERR_UNSUPPORTED, "${k.symbol} is not implemented on the Metal backend yet");`, '}', '');
  }
  const list = abi.kernels.filter((k) => implemented.has(k.symbol)).map((k) => `"${k.symbol}"`);
  out.push('/* what native/metal_host/IMPLEMENTED lists */', 'int32_t ss_metal_kernel_supported(const ss_context*, const char* kernel) {',
    '  if (ss_kernel_index(kernel) < 0) return -1;',
    `  static const char* const implemented[] = {${list.length ? list.join(', ') : 'nullptr'}};`,
    '  for (const char* k : implemented)', '    if (k && strcmp(k, kernel) == 0) return 1;', '  return 0;', '}', '', '}  // extern "C"', '');
  return out.join('\n');
}

/** The emulator library's kernel exports: each ss_<kernel> calls the host logic's ss_metal_<kernel>. */
export function renderMetalEmuExports(abi) {
  const out = [`/* ${banner.replace('; `node scripts/gen-abi.mjs` rewrites it', '')} */`,
    '/* The metal-emu library exports every kernel of the ABI as the shared Metal host logic (native/metal_host). */',
    '#include "metal_host.h"', '', 'extern "C" {', ''];
  for (const k of abi.kernels) {
    const params = [`ss_context* ctx`, `const ss_${k.name}_args* args`, ...k.buffers.map((b) => `ss_buffer* ${b.name}`)].join(', ');
    out.push(`SS_API ss_status ${k.symbol}(${params}) {`,
      `  return ss_metal_${k.name}(${['ctx', 'args', ...k.buffers.map((b) => b.name)].join(', ')});`, '}', '');
  }
  out.push('}  // extern "C"', '');
  return out.join('\n');
}

export function readMetalImplemented() {
  return readImplemented(metalImplementedPath);
}

/** The kernels the Metal host logic defines (`ss_status ss_metal_x(ss_context* ctx, const ss_x_args*`), implemented or answering "not here", as ss_x. */
export function metalKernelsDefinedIn(texts) {
  const found = new Set();
  for (const t of texts) for (const m of t.matchAll(/^ss_status\s+ss_metal_(\w+)\s*\(\s*ss_context\*\s*\w*\s*,\s*const\s+ss_(\w+)_args\*/gm)) {
    if (m[1] === m[2]) found.add(`ss_${m[1]}`);
  }
  return [...found];
}

/**
 * Compares generated lists with the header's table: returns one line per
 * disagreement (a kernel missing or extra, a layout or buffer list that differs).
 * `lists`: name → the kernel symbols that list holds.
 */
export function compareKernelLists(abi, lists) {
  const want = abi.kernels.map((k) => k.symbol);
  const problems = [];
  for (const [what, got] of Object.entries(lists)) {
    const have = new Set(got);
    for (const s of want) if (!have.has(s)) problems.push(`${what}: ${s} is in SS_KERNEL_TABLE but missing here`);
    for (const s of have) if (!want.includes(s)) problems.push(`${what}: ${s} is not in SS_KERNEL_TABLE`);
  }
  return problems;
}

/** The kernels a generated abi.generated.ts holds (the keys of its kernelTable). */
export function kernelsInTs(text) {
  const start = text.indexOf('export const kernelTable = {');
  if (start < 0) return [];
  return [...text.slice(start).matchAll(/^ {2}(ss_\w+): \{/gm)].map((m) => m[1]);
}

/** The kernels a set of backend sources defines (`SS_API ss_status ss_x(`), implemented or answering "not here". */
export function kernelsDefinedIn(texts) {
  const found = new Set();
  for (const t of texts) for (const m of t.matchAll(/SS_API\s+ss_status\s+(ss_\w+)\s*\(\s*ss_context\*/g)) found.add(m[1]);
  return [...found].filter((s) => !['ss_context_create', 'ss_buffer_create', 'ss_buffer_upload', 'ss_buffer_download', 'ss_buffer_fill', 'ss_buffer_wrap'].includes(s));
}

