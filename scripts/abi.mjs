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

// ---- ScanKit (swift/): the Swift package that exports the C ABI over Metal ----------------
// (import declarations are hoisted: these sit here to keep the ScanKit part of this file in one block)
import { existsSync as scanKitExists, readdirSync as scanKitReaddir } from 'node:fs';

export const swiftExportsPath = join(root, 'swift', 'Sources', 'ScanKit', 'Exports.generated.swift');
export const swiftHostDir = join(root, 'swift', 'Sources', 'ScanKitHost');

/** The header's core functions with C parameter types and names: { name, returns, params: [{ type, name }] }. */
export function parseCoreSignatures(text) {
  const norm = (t) => t.replace(/\s+/g, ' ').replace(/\s*\*/g, '*').trim();
  const fns = [];
  for (const [, ret, name, params] of stripComments(text).matchAll(/SS_API\s+([\w\s*]+?)\s*\b(ss_\w+)\s*\(([^)]*)\)\s*;/g)) {
    const list = params.trim() === 'void' || params.trim() === '' ? [] : params.split(',').map((p) => p.trim());
    fns.push({
      name,
      returns: norm(ret),
      params: list.map((p, i) => {
        const m = /^(.*?[\s*])(\w+)$/s.exec(p);
        return m && !/^(const|char|void|int32_t|uint32_t|uint64_t)$/.test(m[2]) ? { type: norm(m[1]), name: m[2] } : { type: norm(p), name: `arg${i}` };
      }),
    });
  }
  return fns;
}

/** A C type of the ABI as Swift imports it into an exported signature (pointers Optional: C may pass NULL). */
export function swiftTypeOf(ctype) {
  const t = ctype.replace(/\s+/g, ' ').replace(/\s*\*/g, '*').trim();
  const isConst = /^const /.test(t);
  const base = t.replace(/^const /, '');
  const scalars = { void: 'Void', uint32_t: 'UInt32', int32_t: 'Int32', ss_status: 'Int32', uint64_t: 'UInt64' };
  if (scalars[base]) return scalars[base];
  if (base === 'char*') return isConst ? 'UnsafePointer<CChar>?' : 'UnsafeMutablePointer<CChar>?';
  if (base === 'void*') return isConst ? 'UnsafeRawPointer?' : 'UnsafeMutableRawPointer?';
  // incomplete struct types (opaque handles) import as OpaquePointer, whatever their constness
  if (base === 'ss_context*' || base === 'ss_buffer*') return 'OpaquePointer?';
  if (base === 'ss_context**' || base === 'ss_buffer**') return 'UnsafeMutablePointer<OpaquePointer?>?';
  const args = /^(ss_\w+_args)\*$/.exec(base);
  if (args) return isConst ? `UnsafePointer<${args[1]}>?` : `UnsafeMutablePointer<${args[1]}>?`;
  throw new Error(`swiftTypeOf: no Swift spelling for C type '${ctype}'`);
}

/**
 * ABI functions ScanKit implements itself rather than by forwarding to the host logic's
 * ss_metal_<name>: context creation (Metal device, queue, library), the error of a context
 * that could not be created, and the backend-independent table queries (C in ScanKitHost).
 */
const swiftOwnImplementations = {
  ss_abi_version: 'scankit_abi_version',
  ss_args_sizeof: 'scankit_args_sizeof',
  ss_kernel_count: 'scankit_kernel_count',
  ss_kernel_name: 'scankit_kernel_name',
  ss_context_create: 'scanKitContextCreate',
  ss_last_error: 'scanKitLastError',
};

const swiftKeywords = new Set(['in', 'is', 'as', 'var', 'let', 'func', 'class', 'struct', 'enum', 'protocol', 'extension', 'return', 'if', 'else',
  'for', 'while', 'repeat', 'switch', 'case', 'default', 'break', 'continue', 'where', 'guard', 'defer', 'do', 'catch', 'throw', 'throws',
  'try', 'import', 'init', 'deinit', 'self', 'Self', 'super', 'nil', 'true', 'false', 'static', 'subscript', 'operator', 'inout', 'internal',
  'private', 'public', 'fileprivate', 'open', 'typealias', 'associatedtype', 'Any', 'rethrows', 'fallthrough']);
const swiftName = (n) => (swiftKeywords.has(n) ? `\`${n}\`` : n);

/**
 * Every ABI function as ScanKit exports it: { symbol, params: [{ name, type }] (Swift types),
 * returns (Swift type), callee (what the body calls, with the same arguments) } — core
 * functions in header order, then the kernels in table order.
 */
export function swiftExportSpecs(abi, signatures = parseCoreSignatures(readFileSync(headerPath, 'utf8'))) {
  const specs = [];
  for (const f of signatures) {
    specs.push({
      symbol: f.name,
      params: f.params.map((p) => ({ name: p.name, type: swiftTypeOf(p.type) })),
      returns: swiftTypeOf(f.returns),
      callee: swiftOwnImplementations[f.name] ?? `ss_metal_${f.name.slice(3)}`,
    });
  }
  for (const k of abi.kernels) {
    specs.push({
      symbol: k.symbol,
      params: [
        { name: 'ctx', type: 'OpaquePointer?' },
        { name: 'args', type: `UnsafePointer<ss_${k.name}_args>?` },
        ...k.buffers.map((b) => ({ name: b.name, type: 'OpaquePointer?' })),
      ],
      returns: 'Int32',
      callee: `ss_metal_${k.name}`,
    });
  }
  return specs;
}

/** swift/Sources/ScanKit/Exports.generated.swift: the whole C ABI as public @_cdecl functions. */
export function renderSwiftExports(abi, signatures) {
  const specs = swiftExportSpecs(abi, signatures);
  const out = [`// ${banner}`, '//',
    '// Every function of the C ABI (native/include/scanstream.h, version ' + abi.version + '), exported from',
    '// libScanKit.dylib with C linkage. `public`: a non-public @_cdecl symbol is stripped from',
    '// release builds. Each body runs in an autorelease pool: bun is not a Cocoa app and has no',
    '// pool, so the autoreleased Metal objects of a call would otherwise pile up for good.',
    '// Each forwards to the shared host logic (metal_host.h: ss_metal_<name>) or to ScanKit\'s own',
    '// implementation (ScanKit.swift, ScanKitHost.h); nothing here may trap.', '',
    'import Foundation', 'import ScanKitHost', ''];
  let section = '';
  const kernels = new Set(abi.kernels.map((k) => k.symbol));
  for (const s of specs) {
    const now = kernels.has(s.symbol) ? 'kernels (SS_KERNEL_TABLE)' : 'core';
    if (now !== section) {
      out.push(`// MARK: - ${now}`, '');
      section = now;
    }
    const params = s.params.map((p) => `_ ${swiftName(p.name)}: ${p.type}`).join(', ');
    const ret = s.returns === 'Void' ? '' : ` -> ${s.returns}`;
    out.push(`@_cdecl("${s.symbol}")`, `public func ${s.symbol}(${params})${ret} {`,
      `  autoreleasepool { ${s.callee}(${s.params.map((p) => swiftName(p.name)).join(', ')}) }`, '}', '');
  }
  return out.join('\n');
}

/**
 * The C++ units of the ScanKitHost target: SwiftPM compiles only sources inside the package,
 * so each shared source of the host logic (native/metal_host/*.cpp, native/common/*.cpp) is
 * compiled through a one-line unit that #includes it by relative path. Returns [[path, text]].
 */
export function renderSwiftHostUnits() {
  const units = [];
  for (const dir of ['metal_host', 'common']) {
    const from = join(root, 'native', dir);
    if (!scanKitExists(from)) continue;
    for (const file of scanKitReaddir(from).filter((f) => f.endsWith('.cpp')).sort()) {
      const lines = ['// Generated by scripts/gen-abi.mjs, one unit per native/{metal_host,common}/*.cpp — do not edit; `node scripts/gen-abi.mjs` rewrites it.',
        `// native/${dir}/${file}, compiled into ScanKit (SwiftPM builds only sources inside the package).`];
      if (dir === 'common' && file === 'kernel_table.cpp') {
        lines.push('// ScanKit exports ss_kernel_count, ss_kernel_name and ss_args_sizeof from Swift',
          '// (Exports.generated.swift), which call these: renamed so the dylib defines each symbol once.',
          '#define ss_kernel_count scankit_kernel_count', '#define ss_kernel_name scankit_kernel_name',
          '#define ss_args_sizeof scankit_args_sizeof');
      }
      lines.push(`#include "../../../native/${dir}/${file}"`, '');
      units.push([join(swiftHostDir, `${dir}_${file}`), lines.join('\n')]);
    }
  }
  return units;
}

/** .cpp files in the ScanKitHost target that renderSwiftHostUnits no longer writes (their source is gone). */
export function staleSwiftHostUnits() {
  if (!scanKitExists(swiftHostDir)) return [];
  const want = new Set(renderSwiftHostUnits().map(([p]) => p));
  return scanKitReaddir(swiftHostDir).filter((f) => f.endsWith('.cpp')).map((f) => join(swiftHostDir, f)).filter((p) => !want.has(p));
}
