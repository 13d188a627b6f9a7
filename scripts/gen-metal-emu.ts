/**
 * The MSL emulator's generator: reads .metal files, parses each
 * `kernel void NAME(params)` with its [[buffer(i)]], [[threadgroup(i)]] and
 * thread-position attributes, and writes C++ that binds them (a trampoline
 * per kernel, one translation unit per .metal file) plus a registry of
 * kernels by name for native/metal_emu/dispatch.h. docs/metal-emulator.md
 * describes the subset it accepts.
 *
 *   bun scripts/gen-metal-emu.ts --out DIR [--registry NAME] [-I DIR]... [--check] FILE.metal...
 *
 * --check only parses and reports problems. The parser is exported for tests
 * that hold the host logic's pipeline names and buffer indices to the sources.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';

export interface MetalBufferParam {
  index: number;
  name: string;
  type: string;
  /** read-only: the constant address space, or a pointer/reference to const */
  isConst: boolean;
  isReference: boolean;
  addressSpace: string;
}

export interface MetalThreadgroupParam {
  index: number;
  name: string;
  type: string;
}

export interface MetalPositionParam {
  attribute: string;
  name: string;
  type: string;
}

export type MetalParam =
  | ({ kind: 'buffer' } & MetalBufferParam)
  | ({ kind: 'threadgroup' } & MetalThreadgroupParam)
  | ({ kind: 'position' } & MetalPositionParam);

export interface MetalKernel {
  name: string;
  file: string;
  line: number;
  params: MetalParam[];
  buffers: MetalBufferParam[];
  threadgroups: MetalThreadgroupParam[];
  positions: MetalPositionParam[];
  /** barriers, SIMD-group functions or threadgroup memory reachable from the kernel */
  usesSync: boolean;
}

export interface MetalProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface FloatLiteral {
  line: number;
  column: number;
  text: string;
}

/** thread-position attributes: the msl_emu_thread_position field each reads, and whether it is a 3-vector there */
const POSITION_FIELDS: Record<string, { field: string; vector: boolean }> = {
  thread_position_in_grid: { field: 'thread_position_in_grid', vector: true },
  threadgroup_position_in_grid: { field: 'threadgroup_position_in_grid', vector: true },
  thread_position_in_threadgroup: { field: 'thread_position_in_threadgroup', vector: true },
  threads_per_threadgroup: { field: 'threads_per_threadgroup', vector: true },
  threadgroups_per_grid: { field: 'threadgroups_per_grid', vector: true },
  threads_per_grid: { field: 'threads_per_grid', vector: true },
  thread_index_in_threadgroup: { field: 'thread_index_in_threadgroup', vector: false },
  thread_index_in_simdgroup: { field: 'thread_index_in_simdgroup', vector: false },
  simdgroup_index_in_threadgroup: { field: 'simdgroup_index_in_threadgroup', vector: false },
  simdgroups_per_threadgroup: { field: 'simdgroups_per_threadgroup', vector: false },
  threads_per_simdgroup: { field: 'threads_per_simdgroup', vector: false },
  thread_execution_width: { field: 'threads_per_simdgroup', vector: false },
};

/** SIMD-group functions and barriers of MSL: a kernel that reaches one runs as fibers */
const SYNC_WORDS = new Set([
  'threadgroup',
  'threadgroup_barrier',
  'simdgroup_barrier',
  'SS_THREADGROUP_ARRAY',
  'SS_THREADGROUP_VAR',
  'simd_all', 'simd_any', 'simd_ballot', 'simd_active_threads_mask', 'simd_is_first',
  'simd_broadcast', 'simd_broadcast_first',
  'simd_shuffle', 'simd_shuffle_down', 'simd_shuffle_up', 'simd_shuffle_xor',
  'simd_shuffle_rotate_down', 'simd_shuffle_rotate_up', 'simd_shuffle_and_fill_down', 'simd_shuffle_and_fill_up',
  'simd_sum', 'simd_product', 'simd_min', 'simd_max', 'simd_and', 'simd_or', 'simd_xor',
  'simd_prefix_exclusive_sum', 'simd_prefix_inclusive_sum', 'simd_prefix_exclusive_product', 'simd_prefix_inclusive_product',
  'simdgroup_load', 'simdgroup_store', 'simdgroup_multiply', 'simdgroup_multiply_accumulate',
  'make_filled_simdgroup_matrix', 'simdgroup_matrix', 'simdgroup_float8x8', 'simdgroup_half8x8',
]);
const isSyncWord = (id: string): boolean => SYNC_WORDS.has(id) || id.startsWith('quad_');

const NOT_FUNCTIONS = new Set(['if', 'for', 'while', 'switch', 'catch', 'return', 'sizeof', 'alignof', 'decltype',
  'static_assert', 'operator', 'defined', 'alignas', 'noexcept', 'throw', 'new', 'delete']);

interface Token {
  text: string;
  kind: 'id' | 'num' | 'punct';
  pos: number;
}

interface Define {
  name: string;
  body: string;
}

interface Directives {
  includes: { path: string; quoted: boolean; pos: number }[];
  defines: Define[];
}

/** Blanks comments (and, with `blankStrings`, string and character literals) keeping every offset and newline. */
function blankComments(text: string, blankStrings: boolean): string {
  const out = text.split('');
  let i = 0;
  const n = text.length;
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  while (i < n) {
    const c = text[i];
    if (c === '/' && text[i + 1] === '/') {
      let j = i;
      while (j < n && text[j] !== '\n') j++;
      blank(i, j);
      i = j;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const j = end < 0 ? n : end + 2;
      blank(i, j);
      i = j;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      if (blankStrings) blank(i + 1, j);
      i = j + 1;
    } else {
      i++;
    }
  }
  return out.join('');
}

/** Reads #include and #define lines (after comments are blanked) and blanks all preprocessor lines. */
function takeDirectives(text: string): { code: string; directives: Directives } {
  const directives: Directives = { includes: [], defines: [] };
  const lines = text.split('\n');
  let pos = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (/^\s*#/.test(line)) {
      let full = line;
      const first = i;
      const start = pos;
      while (full.endsWith('\\') && i + 1 < lines.length) {
        pos += (lines[i] as string).length + 1;
        i++;
        full = full.slice(0, -1) + ' ' + (lines[i] as string);
      }
      const inc = /^\s*#\s*include\s*([<"])([^>"]+)[>"]/.exec(full);
      if (inc) directives.includes.push({ path: inc[2] as string, quoted: inc[1] === '"', pos: start });
      const def = /^\s*#\s*define\s+([A-Za-z_]\w*)(\([^)]*\))?\s*(.*)$/.exec(full);
      if (def) directives.defines.push({ name: def[1] as string, body: (def[3] ?? '').trim() });
      for (let k = first; k <= i; k++) lines[k] = (lines[k] as string).replace(/[^\n]/g, ' ');
    }
    pos += (lines[i] as string).length + 1;
  }
  return { code: lines.join('\n'), directives };
}

function tokenize(code: string): Token[] {
  const tokens: Token[] = [];
  const re = /([A-Za-z_]\w*)|(\.?\d(?:[eEpP][+-]|[\w.])*)|(::|->|\S)/g;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    if (m[1] !== undefined) tokens.push({ text: m[1], kind: 'id', pos: m.index });
    else if (m[2] !== undefined) tokens.push({ text: m[2], kind: 'num', pos: m.index });
    else tokens.push({ text: m[3] as string, kind: 'punct', pos: m.index });
  }
  return tokens;
}

function lineColumn(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i >= 0 && i < pos; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return { line, column: pos - last };
}

/** index of the token closing the bracket opened at `open` (or tokens.length) */
function matching(tokens: Token[], open: number): number {
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const want = pairs[(tokens[open] as Token).text];
  const opener = (tokens[open] as Token).text;
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    const t = (tokens[i] as Token).text;
    if (t === opener) depth++;
    else if (t === want && --depth === 0) return i;
  }
  return tokens.length;
}

/**
 * Floating literals without an f (or h) suffix: doubles in C++, floats in MSL,
 * so the emulator would compute with different rounding than the GPU.
 */
export function findUnsuffixedFloatLiterals(text: string): FloatLiteral[] {
  const code = blankComments(text, true);
  const found: FloatLiteral[] = [];
  const re = /(?<![\w.])\.?\d(?:[eEpP][+-]|[\w.])*/g;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    const s = m[0];
    let floating: boolean;
    let suffix: string;
    if (/^0[xX]/.test(s)) {
      const hex = /^0[xX][0-9a-fA-F]*(\.[0-9a-fA-F]*)?([pP][+-]?\d+)?(\w*)$/.exec(s);
      floating = !!hex && (hex[1] !== undefined || hex[2] !== undefined);
      suffix = hex?.[2] !== undefined ? (hex[3] ?? '') : '';
    } else {
      const dec = /^(\d*\.\d*|\d+)([eE][+-]?\d+)?([A-Za-z_]\w*)?$/.exec(s);
      floating = !!dec && ((dec[1] ?? '').includes('.') || dec[2] !== undefined);
      suffix = dec?.[3] ?? '';
    }
    if (floating && !/^[fFhH]$/.test(suffix)) found.push({ ...lineColumn(text, m.index), text: s });
  }
  return found;
}

function joinType(tokens: Token[]): string {
  return tokens
    .map((t) => t.text)
    .join(' ')
    .replace(/ ([*&,>])/g, '$1')
    .replace(/([<(]) /g, '$1')
    .replace(/ ?:: ?/g, '::');
}

interface ParsedFile {
  file: string;
  text: string;
  code: string;
  tokens: Token[];
  directives: Directives;
}

function parseFileText(text: string, file: string): ParsedFile {
  const stripped = blankComments(text, false);
  const { code: withStrings, directives } = takeDirectives(stripped);
  const code = blankComments(withStrings, true);
  return { file, text, code, tokens: tokenize(code), directives };
}

/** evaluates a [[buffer(...)]] index: a number or a macro that is one */
function evalIndex(expr: string, defines: Map<string, string>, depth = 0): number | undefined {
  const e = expr.trim().replace(/^\((.*)\)$/, '$1').trim();
  const num = /^(\d+)[uU]?$/.exec(e);
  if (num) return Number(num[1]);
  const def = defines.get(e);
  return def !== undefined && depth < 8 ? evalIndex(def, defines, depth + 1) : undefined;
}

interface KernelSyntax {
  kernel: MetalKernel;
  bodyStart: number;
  bodyEnd: number;
}

function parseKernels(p: ParsedFile, defines: Map<string, string>, problems: MetalProblem[]): KernelSyntax[] {
  const out: KernelSyntax[] = [];
  const t = p.tokens;
  const problem = (pos: number, message: string): void => {
    problems.push({ file: p.file, ...lineColumn(p.text, pos), message });
  };
  for (let i = 0; i + 3 < t.length; i++) {
    const k = t[i] as Token;
    if (k.text !== 'kernel' || t[i + 1]?.text !== 'void' || t[i + 2]?.kind !== 'id' || t[i + 3]?.text !== '(') continue;
    const name = (t[i + 2] as Token).text;
    const open = i + 3;
    const close = matching(t, open);
    const params: MetalParam[] = [];
    let start = open + 1;
    let depth = 0;
    for (let j = open + 1; j <= close; j++) {
      const s = (t[j] as Token).text;
      if (s === '(' || s === '[' || s === '<' || s === '{') depth++;
      else if ((s === ')' || s === ']' || s === '>' || s === '}') && j < close) depth--;
      if ((s === ',' && depth === 0) || j === close) {
        const slice = t.slice(start, j);
        start = j + 1;
        if (slice.length === 0) continue;
        const attributes: string[] = [];
        const decl: Token[] = [];
        for (let a = 0; a < slice.length; a++) {
          if (slice[a]?.text === '[' && slice[a + 1]?.text === '[') {
            let b = a + 2;
            while (b + 1 < slice.length && !(slice[b]?.text === ']' && slice[b + 1]?.text === ']')) b++;
            attributes.push(slice.slice(a + 2, b).map((x) => x.text).join(''));
            a = b + 1;
          } else {
            decl.push(slice[a] as Token);
          }
        }
        const nameTok = [...decl].reverse().find((x) => x.kind === 'id');
        const pos = (slice[0] as Token).pos;
        if (!nameTok || attributes.length === 0) {
          problem(pos, `kernel ${name}: parameter '${joinType(slice)}' has no [[...]] attribute the emulator binds`);
          continue;
        }
        const typeTokens = decl.slice(0, decl.lastIndexOf(nameTok));
        const type = joinType(typeTokens);
        const attr = attributes[0] as string;
        const bound = /^(buffer|threadgroup)\((.+)\)$/.exec(attr);
        if (bound) {
          const index = evalIndex(bound[2] as string, defines);
          if (index === undefined) {
            problem(pos, `kernel ${name}: [[${attr}]] of '${nameTok.text}' is not a number or a macro defined as one`);
            continue;
          }
          const isReference = typeTokens.some((x) => x.text === '&');
          if (!isReference && !typeTokens.some((x) => x.text === '*')) {
            problem(pos, `kernel ${name}: [[${attr}]] '${nameTok.text}' must be a pointer or a reference`);
            continue;
          }
          if (bound[1] === 'buffer') {
            const firstIndirection = typeTokens.findIndex((x) => x.text === '*' || x.text === '&');
            const addressSpace = typeTokens.find((x) => ['device', 'constant', 'threadgroup', 'thread'].includes(x.text))?.text ?? '';
            const isConst = addressSpace === 'constant' || typeTokens.slice(0, firstIndirection).some((x) => x.text === 'const');
            params.push({ kind: 'buffer', index, name: nameTok.text, type, isConst, isReference, addressSpace });
          } else {
            params.push({ kind: 'threadgroup', index, name: nameTok.text, type });
          }
        } else if (POSITION_FIELDS[attr]) {
          params.push({ kind: 'position', attribute: attr, name: nameTok.text, type });
        } else {
          problem(pos, `kernel ${name}: [[${attr}]] on '${nameTok.text}' is not supported by the emulator`);
        }
      }
    }
    let b = close + 1;
    while (b < t.length && t[b]?.text !== '{' && t[b]?.text !== ';') b++;
    if (t[b]?.text !== '{') continue; /* a declaration */
    const bodyEnd = matching(t, b);
    const buffers = params.filter((x): x is { kind: 'buffer' } & MetalBufferParam => x.kind === 'buffer');
    const threadgroups = params.filter((x): x is { kind: 'threadgroup' } & MetalThreadgroupParam => x.kind === 'threadgroup');
    const positions = params.filter((x): x is { kind: 'position' } & MetalPositionParam => x.kind === 'position');
    for (const list of [buffers, threadgroups] as { index: number; name: string }[][]) {
      const seen = new Map<number, string>();
      for (const x of list) {
        if (seen.has(x.index)) problem(k.pos, `kernel ${name}: index ${x.index} is bound twice ('${seen.get(x.index)}' and '${x.name}')`);
        seen.set(x.index, x.name);
      }
    }
    out.push({
      kernel: {
        name,
        file: p.file,
        line: lineColumn(p.text, k.pos).line,
        params,
        buffers: buffers.map(({ kind: _k, ...rest }) => rest),
        threadgroups: threadgroups.map(({ kind: _k, ...rest }) => rest),
        positions: positions.map(({ kind: _k, ...rest }) => rest),
        usesSync: threadgroups.length > 0,
      },
      bodyStart: b,
      bodyEnd,
    });
    i = bodyEnd;
  }
  return out;
}

interface Body {
  file: ParsedFile;
  tokens: Token[];
  from: number;
  to: number;
}

/** function definitions by name: token ranges of their bodies */
function functionBodies(p: ParsedFile, into: Map<string, Body[]>): void {
  const t = p.tokens;
  for (let i = 0; i + 1 < t.length; i++) {
    const id = t[i] as Token;
    if (id.kind !== 'id' || t[i + 1]?.text !== '(' || NOT_FUNCTIONS.has(id.text)) continue;
    const close = matching(t, i + 1);
    let k = close + 1;
    while (k < t.length && ['const', 'noexcept', 'override', 'final', 'volatile', '&'].includes((t[k] as Token).text)) k++;
    if (t[k]?.text === '->') while (k < t.length && t[k]?.text !== '{' && t[k]?.text !== ';') k++;
    if (t[k]?.text !== '{') continue;
    const end = matching(t, k);
    const list = into.get(id.text) ?? [];
    list.push({ file: p, tokens: t, from: k, to: end });
    into.set(id.text, list);
  }
}

/** `threadgroup T name[N];` in a body would be per-thread storage in the emulator: demand the macro instead */
function lintThreadgroupDeclarations(p: ParsedFile, problems: MetalProblem[]): void {
  const t = p.tokens;
  for (let i = 0; i < t.length; i++) {
    if ((t[i] as Token).text !== 'threadgroup' || t[i + 1]?.text === '(') continue; /* [[threadgroup(i)]] */
    let j = i + 1;
    let indirect = false;
    while (j < t.length && ![';', '=', ')', ',', '{'].includes((t[j] as Token).text)) {
      if (t[j]?.text === '*' || t[j]?.text === '&') indirect = true;
      j++;
    }
    if (!indirect)
      problems.push({
        file: p.file,
        ...lineColumn(p.text, (t[i] as Token).pos),
        message:
          'a threadgroup variable declared with the threadgroup keyword: write SS_THREADGROUP_ARRAY(type, name, count) ' +
          'or SS_THREADGROUP_VAR(type, name) (docs/metal-emulator.md: threadgroup memory)',
      });
  }
}

export interface ScanOptions {
  includeDirs?: string[];
  /** also report unsuffixed float literals (default true) */
  checkLiterals?: boolean;
}

export interface ScanResult {
  kernels: MetalKernel[];
  problems: MetalProblem[];
  /** each .metal file and the quoted includes it reaches */
  dependencies: Map<string, string[]>;
}

/**
 * Parses kernel signatures from one source text (no includes followed).
 * usesSync covers the functions and macros defined in this text.
 */
export function parseMetalSource(text: string, file = '<source>'): MetalKernel[] {
  return scanParsed([parseFileText(text, file)], []).kernels;
}

function scanParsed(files: ParsedFile[], problems: MetalProblem[]): { kernels: MetalKernel[] } {
  const defines = new Map<string, string>();
  for (const f of files) for (const d of f.directives.defines) defines.set(d.name, d.body);
  const bodies = new Map<string, Body[]>();
  for (const f of files) functionBodies(f, bodies);
  const main = files[0] as ParsedFile;
  const kernels: MetalKernel[] = [];
  const parsed = parseKernels(main, defines, problems);
  for (const k of parsed) {
    k.kernel.usesSync ||= reachesSync(main.tokens, k.bodyStart, k.bodyEnd, bodies, defines);
    kernels.push(k.kernel);
  }
  /* Metal declares threadgroup variables at kernel scope only */
  const kernelBodies = new Set(parsed.map((k) => k.bodyStart));
  for (const list of bodies.values())
    for (const b of list) {
      if (b.file === main && kernelBodies.has(b.from)) continue;
      for (let i = b.from; i < b.to; i++) {
        const tok = b.tokens[i] as Token;
        if (tok.text === 'SS_THREADGROUP_ARRAY' || tok.text === 'SS_THREADGROUP_VAR')
          problems.push({ file: b.file.file, ...lineColumn(b.file.text, tok.pos),
            message: `${tok.text} outside a kernel function: Metal declares threadgroup variables at kernel scope only; pass a threadgroup pointer to the helper` });
      }
    }
  return { kernels };
}

function reachesSync(tokens: Token[], from: number, to: number, bodies: Map<string, Body[]>, defines: Map<string, string>): boolean {
  const visited = new Set<string>();
  const queue: Token[][] = [tokens.slice(from, to + 1)];
  while (queue.length) {
    for (const tok of queue.pop() as Token[]) {
      if (tok.kind !== 'id') continue;
      if (isSyncWord(tok.text)) return true;
      if (visited.has(tok.text)) continue;
      visited.add(tok.text);
      for (const b of bodies.get(tok.text) ?? []) queue.push(b.tokens.slice(b.from, b.to + 1));
      const macro = defines.get(tok.text);
      if (macro !== undefined) queue.push(tokenize(blankComments(macro, true)));
    }
  }
  return false;
}

/** Parses .metal files and the quoted includes they reach; reports what the emulator cannot run. */
export function scanMetalFiles(files: string[], options: ScanOptions = {}): ScanResult {
  const includeDirs = (options.includeDirs ?? []).map((d) => resolve(d));
  const problems: MetalProblem[] = [];
  const kernels: MetalKernel[] = [];
  const dependencies = new Map<string, string[]>();
  const cache = new Map<string, ParsedFile>();
  const load = (path: string): ParsedFile => {
    let p = cache.get(path);
    if (!p) {
      p = parseFileText(readFileSync(path, 'utf8'), path);
      cache.set(path, p);
    }
    return p;
  };
  for (const file of files.map((f) => resolve(f))) {
    const reached: ParsedFile[] = [];
    const seen = new Set<string>();
    const visit = (path: string): void => {
      if (seen.has(path)) return;
      seen.add(path);
      const p = load(path);
      reached.push(p);
      for (const inc of p.directives.includes) {
        if (!inc.quoted) continue;
        const candidates = [join(dirname(path), inc.path), ...includeDirs.map((d) => join(d, inc.path))];
        const found = candidates.find((c) => existsSync(c));
        if (found) visit(resolve(found));
        else problems.push({ file: path, ...lineColumn(p.text, inc.pos), message: `#include "${inc.path}" not found` });
      }
    };
    visit(file);
    dependencies.set(file, reached.map((p) => p.file));
    for (const p of reached) {
      lintThreadgroupDeclarations(p, problems);
      if (options.checkLiterals !== false)
        for (const lit of findUnsuffixedFloatLiterals(p.text))
          problems.push({
            file: p.file, line: lit.line, column: lit.column,
            message: `unsuffixed floating literal ${lit.text}: a double in C++ but a float in MSL; write ${lit.text}f`,
          });
    }
    kernels.push(...scanParsed(reached, problems).kernels);
  }
  const byName = new Map<string, MetalKernel>();
  for (const k of kernels) {
    const other = byName.get(k.name);
    if (other) problems.push({ file: k.file, line: k.line, column: 1, message: `kernel ${k.name} is also defined in ${other.file}:${other.line}` });
    byName.set(k.name, k);
  }
  return { kernels, problems, dependencies };
}

export function formatProblem(p: MetalProblem, root = process.cwd()): string {
  return `${relative(root, p.file)}:${p.line}:${p.column}: ${p.message}`;
}

const cString = (s: string): string => JSON.stringify(s);
const cIdent = (s: string): string => s.replace(/\W/g, '_');

function translationUnit(file: string, kernels: MetalKernel[], namespace: string): string {
  const lines = [
    `/* Generated by scripts/gen-metal-emu.ts from ${basename(file)}: do not edit. */`,
    '#include "msl_shim.h"',
    `namespace ${namespace} {`,
    `#include ${cString(file)}`,
    '',
  ];
  for (const k of kernels) {
    const args = k.params.map((p) => {
      if (p.kind === 'buffer') return `::msl_emu::bind_buffer<${p.type}>(invocation->buffers[${p.index}])`;
      if (p.kind === 'threadgroup') return `::msl_emu::bind_buffer<${p.type}>(invocation->threadgroup_buffers[${p.index}])`;
      const field = POSITION_FIELDS[p.attribute] as { field: string };
      return `::msl_emu::bind_position<${p.type}>(position->${field.field})`;
    });
    lines.push(
      `extern "C" void msl_emu_entry_${k.name}(const msl_emu_invocation* invocation, const msl_emu_thread_position* position) {`,
      `  (void)invocation;`,
      `  (void)position;`,
      `  ${k.name}(${args.join(',\n      ')});`,
      '}',
    );
  }
  lines.push(`} // namespace ${namespace}`, '');
  return lines.join('\n');
}

function registryUnit(kernels: MetalKernel[], registryName: string, root: string): string {
  const lines = [
    '/* Generated by scripts/gen-metal-emu.ts: do not edit. The emulated kernels by name. */',
    '#include "dispatch.h"',
    '',
  ];
  for (const k of kernels) {
    lines.push(`extern "C" void msl_emu_entry_${k.name}(const msl_emu_invocation*, const msl_emu_thread_position*);`);
    if (k.buffers.length)
      lines.push(`static const msl_emu_buffer_param buffers_${k.name}[] = {`,
        ...k.buffers.map((b) => `  {${b.index}, ${b.isConst ? 1 : 0}, ${b.isReference ? 1 : 0}, ${cString(b.name)}, ${cString(b.type)}},`),
        '};');
    if (k.threadgroups.length)
      lines.push(`static const msl_emu_threadgroup_param threadgroups_${k.name}[] = {`,
        ...k.threadgroups.map((g) => `  {${g.index}, ${cString(g.name)}, ${cString(g.type)}},`),
        '};');
  }
  lines.push('static const msl_emu_kernel_info kernels[] = {');
  for (const k of kernels)
    lines.push(`  {${cString(k.name)}, msl_emu_entry_${k.name}, ${k.usesSync ? 1 : 0}, ` +
      `${k.buffers.length ? `buffers_${k.name}` : 'nullptr'}, ${k.buffers.length}, ` +
      `${k.threadgroups.length ? `threadgroups_${k.name}` : 'nullptr'}, ${k.threadgroups.length}, ` +
      `${cString(relative(root, k.file))}, ${k.line}},`);
  if (!kernels.length) lines.push('  {nullptr, nullptr, 0, nullptr, 0, nullptr, 0, nullptr, 0},');
  lines.push('};',
    `static const msl_emu_kernel_registry registry = {kernels, ${kernels.length}};`,
    `extern "C" const msl_emu_kernel_registry* ${registryName}(void) { return &registry; }`, '');
  return lines.join('\n');
}

/** empty stand-ins for the Metal standard headers, so `#include <metal_stdlib>` compiles */
const METAL_HEADERS = ['metal_stdlib', 'metal_atomic', 'metal_common', 'metal_compute', 'metal_geometric',
  'metal_integer', 'metal_math', 'metal_relational', 'metal_simdgroup', 'metal_simdgroup_matrix', 'simd/simd.h'];

function writeIfChanged(path: string, content: string): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === content) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

export interface GenerateOptions extends ScanOptions {
  /** the registry function's name: `const msl_emu_kernel_registry* NAME(void)` */
  registryName?: string;
  /** paths in the registry are relative to this (default: the repository root) */
  root?: string;
}

export interface GeneratedSources extends ScanResult {
  /** one translation unit per .metal file, then the registry */
  sources: string[];
  /** where the stand-in Metal headers are: pass it with -I */
  includeDir: string;
}

/** Writes the trampolines and registry into outDir (files rewritten only when their content changes). */
export function generateEmulatorSources(files: string[], outDir: string, options: GenerateOptions = {}): GeneratedSources {
  const root = options.root ?? repoRoot;
  const scan = scanMetalFiles(files, options);
  const includeDir = join(outDir, 'include');
  for (const h of METAL_HEADERS) writeIfChanged(join(includeDir, h), `/* stand-in for Metal's <${h}>: msl_shim.h has the vocabulary */\n`);
  const sources: string[] = [];
  const stems = new Set<string>();
  for (const file of scan.dependencies.keys()) {
    let stem = cIdent(basename(file).replace(/\.metal$/, ''));
    while (stems.has(stem)) stem += '_';
    stems.add(stem);
    const path = join(outDir, `${stem}.emu.cpp`);
    writeIfChanged(path, translationUnit(file, scan.kernels.filter((k) => k.file === file), `msl_emu_src_${stem}`));
    sources.push(path);
  }
  const registry = join(outDir, 'registry.emu.cpp');
  writeIfChanged(registry, registryUnit(scan.kernels, options.registryName ?? 'msl_emu_registry', root));
  sources.push(registry);
  return { ...scan, sources, includeDir };
}

export const repoRoot = resolve(dirname(new URL(import.meta.url).pathname), '..');
export const emulatorDir = join(repoRoot, 'native', 'metal_emu');

/**
 * clang++ flags for the emulator's C++ (core and generated units).
 * -ffp-contract=off: every float operation rounds where the source says, so
 * results do not depend on the host's FMA (see docs/metal-emulator.md for the
 * CPU reference build, which does contract). -fno-strict-aliasing: MSL code
 * reinterprets buffers freely. -march=native on x86-64 (built where it runs,
 * like the CPU library; `portable` leaves it out): fma() becomes an
 * instruction instead of a libm call; with contraction off no result changes.
 */
export function emulatorCompileFlags(includeDirs: string[] = [], optimize = '-O2', portable = false): string[] {
  const arch = !portable && process.arch === 'x64' ? ['-march=native'] : [];
  return ['-std=c++17', ...optimize.split(' ').filter(Boolean), ...arch, '-g0', '-fPIC', '-ffp-contract=off', '-fno-math-errno',
    '-fno-strict-aliasing', '-Werror=double-promotion', '-I', emulatorDir, ...includeDirs.flatMap((d) => ['-I', d])];
}

export interface BuildOptions extends GenerateOptions {
  outDir: string;
  cxx?: string;
  /** optimisation flags, space-separated (default -O2) */
  optimize?: string;
  /** leave out -march=native */
  portable?: boolean;
  jobs?: number;
}

export interface BuildResult extends GeneratedSources {
  /** the core (fibers, dispatcher) and every generated unit, ready to link */
  objects: string[];
}

function run(cmd: string, args: string[]): Promise<{ status: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('error', (e) => done({ status: 127, output: String(e) }));
    child.on('close', (status) => done({ status: status ?? 1, output }));
  });
}

/**
 * Generates and compiles: objects are named by a hash of their inputs and
 * flags, so an unchanged unit is not compiled again. Throws with the
 * compiler's output on failure and with the problems list when the sources
 * break the emulator's rules.
 */
export async function buildEmulator(files: string[], options: BuildOptions): Promise<BuildResult> {
  const cxx = options.cxx ?? 'clang++';
  const gen = generateEmulatorSources(files, options.outDir, options);
  if (gen.problems.length) throw new Error(`MSL sources break the emulator's rules:\n${gen.problems.map((p) => formatProblem(p)).join('\n')}`);
  const includeDirs = [gen.includeDir, ...(options.includeDirs ?? [])];
  const flags = emulatorCompileFlags(includeDirs, options.optimize, options.portable);
  const shimDeps = ['msl_shim.h', 'dispatch.h'].map((f) => join(emulatorDir, f));
  const units: { source: string; deps: string[] }[] = [
    { source: join(emulatorDir, 'fiber.cpp'), deps: [join(emulatorDir, 'fiber.h')] },
    { source: join(emulatorDir, 'dispatch.cpp'), deps: [join(emulatorDir, 'fiber.h'), join(emulatorDir, 'dispatch.h')] },
  ];
  const metalFiles = [...gen.dependencies.keys()];
  gen.sources.forEach((source, i) => {
    const metal = metalFiles[i];
    units.push({ source, deps: [...shimDeps, ...(metal ? gen.dependencies.get(metal) ?? [] : [])] });
  });
  const objDir = join(options.outDir, 'obj');
  mkdirSync(objDir, { recursive: true });
  const objects = units.map((u) => {
    const h = createHash('sha1').update(cxx).update(flags.join(' '));
    for (const f of [u.source, ...u.deps]) h.update(f).update(readFileSync(f));
    return join(objDir, `${basename(u.source).replace(/\.\w+$/, '')}.${h.digest('hex').slice(0, 12)}.o`);
  });
  const pending = units.map((u, i) => ({ ...u, object: objects[i] as string })).filter((u) => !existsSync(u.object));
  const failures: string[] = [];
  const jobs = Math.max(1, options.jobs ?? cpus().length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < pending.length) {
      const u = pending[next++] as { source: string; object: string };
      const tmp = `${u.object}.tmp`;
      const r = await run(cxx, [...flags, '-c', u.source, '-o', tmp]);
      if (r.status !== 0) failures.push(`${cxx} ${u.source}:\n${r.output}`);
      else await run('mv', [tmp, u.object]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, pending.length) }, lane));
  if (failures.length) throw new Error(failures.join('\n'));
  /* objects of earlier inputs: the directory then links as a whole */
  const current = new Set(objects.map((o) => basename(o)));
  for (const f of readdirSync(objDir)) if (!current.has(f)) rmSync(join(objDir, f), { force: true });
  return { ...gen, objects };
}

async function main(argv: string[]): Promise<number> {
  const files: string[] = [];
  const includeDirs: string[] = [];
  let out: string | undefined;
  let registryName: string | undefined;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--out') out = argv[++i];
    else if (a === '--registry') registryName = argv[++i];
    else if (a === '-I') includeDirs.push(argv[++i] as string);
    else if (a.startsWith('-I')) includeDirs.push(a.slice(2));
    else if (a === '--check') check = true;
    else files.push(a);
  }
  if (!files.length || (!out && !check)) {
    console.error('usage: bun scripts/gen-metal-emu.ts --out DIR [--registry NAME] [-I DIR]... [--check] FILE.metal...');
    return 2;
  }
  const result = check ? scanMetalFiles(files, { includeDirs }) : generateEmulatorSources(files, out as string, { includeDirs, registryName });
  for (const p of result.problems) console.error(formatProblem(p));
  if (result.problems.length) return 1;
  for (const k of result.kernels)
    console.log(`${k.name}: ${k.usesSync ? 'fibers' : 'plain loop'}, buffers ${k.buffers.map((b) => `${b.index}${b.isConst ? '' : ' (written)'}`).join(', ') || 'none'}`);
  return 0;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
