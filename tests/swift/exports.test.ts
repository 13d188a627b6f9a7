/**
 * libScanKit.dylib must export the whole C ABI: every ss_ function of scanstream.h (core
 * functions and every kernel of SS_KERNEL_TABLE) exactly once, as a public @_cdecl (or @c)
 * Swift function with the header's parameter count and the Swift spellings of its C types,
 * its body one autorelease pool around a call of the host logic (ss_metal_<name>, declared
 * in metal_host.h with as many parameters) or of ScanKit's own implementation. Each drift is
 * shown failing on a modified copy.
 */
import { describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { headerPath, parseCoreSignatures, parseHeader, renderSwiftExports, swiftExportSpecs, swiftExportsPath } from '../../scripts/abi.mjs';
import { type SwiftExport, rel, swiftDir, swiftExports, swiftFiles } from './swiftSyntax';

const headerText = readFileSync(headerPath, 'utf8');
const abi = parseHeader(headerText);
const specs = swiftExportSpecs(abi, parseCoreSignatures(headerText));
const metalHostHeader = readFileSync(join(swiftDir, '..', 'native', 'metal_host', 'metal_host.h'), 'utf8');
const scanKitHostHeader = readFileSync(join(swiftDir, 'Sources', 'ScanKitHost', 'include', 'ScanKitHost.h'), 'utf8');

/** name → parameter count of the C functions Swift may call: metal_host.h's and ScanKitHost.h's declarations, the kernels */
function cDeclarations(): Map<string, number> {
  const found = new Map<string, number>();
  const code = `${metalHostHeader}\n${scanKitHostHeader}`.replace(/\/\*[\s\S]*?\*\//g, ' ');
  for (const m of code.matchAll(/^\s*(?:static\s+inline\s+)?[\w\s*]+?\b((?:ss_metal|scankit)_\w+)\s*\(([^)]*)\)\s*[;{]/gm)) {
    const params = (m[2] as string).trim();
    found.set(m[1] as string, params === '' || params === 'void' ? 0 : params.split(',').length);
  }
  // SS_METAL_DECLARE_KERNEL_: ss_metal_<kernel>(ctx, args, buffers...)
  if (/SS_KERNEL_TABLE\(SS_METAL_DECLARE_KERNEL_/.test(metalHostHeader))
    for (const k of abi.kernels) found.set(`ss_metal_${k.name}`, 2 + k.buffers.length);
  return found;
}

/** name → parameter count of ScanKit's own Swift functions the exports may call */
function swiftFunctions(texts: string[]): Map<string, number> {
  const found = new Map<string, number>();
  for (const t of texts) {
    for (const m of t.matchAll(/^func\s+(scanKit\w+)\s*\(([^)]*)\)/gm)) {
      const params = (m[2] as string).trim();
      found.set(m[1] as string, params === '' ? 0 : params.split(',').length);
    }
  }
  return found;
}

/** Every way the exports of these Swift texts differ from the ABI, one line each. */
async function exportProblems(files: { path: string; text: string }[]): Promise<string[]> {
  const problems: string[] = [];
  const bySymbol = new Map<string, (SwiftExport & { path: string })[]>();
  for (const f of files) {
    for (const e of await swiftExports(f.text)) bySymbol.set(e.symbol, [...(bySymbol.get(e.symbol) ?? []), { ...e, path: f.path }]);
  }
  const c = cDeclarations();
  const own = swiftFunctions(files.map((f) => f.text));
  const wanted = new Set(specs.map((s) => s.symbol));
  for (const s of specs) {
    const found = bySymbol.get(s.symbol) ?? [];
    if (found.length === 0) {
      problems.push(`${s.symbol}: no @_cdecl export`);
      continue;
    }
    if (found.length > 1) problems.push(`${s.symbol}: exported ${found.length} times (${found.map((e) => `${e.path}:${e.line}`).join(', ')})`);
    const e = found[0] as SwiftExport & { path: string };
    const where = `${s.symbol} (${e.path}:${e.line})`;
    if (e.params.length !== s.params.length) problems.push(`${where}: ${e.params.length} parameters, the header has ${s.params.length}`);
    else
      s.params.forEach((p, i) => {
        const got = e.params[i]?.type;
        if (got !== p.type) problems.push(`${where}: parameter ${i + 1} (${p.name}) is ${got}, the C type imports as ${p.type}`);
      });
    if (e.returns !== s.returns) problems.push(`${where}: returns ${e.returns}, the header's return type imports as ${s.returns}`);
    if (!e.isPublic) problems.push(`${where}: not public (release builds strip it)`);
    if (!e.inAutoreleasePool) problems.push(`${where}: the body is not one autoreleasepool { … }`);
    const callee = e.calls.find((name) => name !== 'autoreleasepool');
    if (callee === undefined) problems.push(`${where}: calls nothing`);
    else {
      const arity = c.get(callee) ?? own.get(callee);
      if (arity === undefined) problems.push(`${where}: calls ${callee}, which neither metal_host.h, ScanKitHost.h nor ScanKit declares`);
      else if (arity !== s.params.length) problems.push(`${where}: calls ${callee}, which takes ${arity} parameters, not ${s.params.length}`);
    }
  }
  for (const [symbol, list] of bySymbol)
    if (!wanted.has(symbol)) problems.push(`${symbol}: exported (${list.map((e) => `${e.path}:${e.line}`).join(', ')}) but not in scanstream.h`);
  return problems;
}

const current = swiftFiles().filter((f) => f.includes(`${join('Sources', 'ScanKit')}`)).map((path) => ({ path: rel(path), text: readFileSync(path, 'utf8') }));
const exportsFile = rel(swiftExportsPath);
const withExports = (edit: (t: string) => string): { path: string; text: string }[] =>
  current.map((f) => (f.path === exportsFile ? { ...f, text: edit(f.text) } : f));

test('the ABI has core functions and kernels to export', () => {
  expect(abi.kernels.length).toBeGreaterThan(20);
  expect(specs.length).toBe(abi.core.length + abi.kernels.length);
  expect(specs.map((s) => s.symbol)).toContain('ss_context_create');
});

test('every ss_ function of scanstream.h has exactly one @_cdecl export with its parameter count and C types (100% coverage)', async () => {
  const problems = await exportProblems(current);
  if (problems.length) console.error(problems.join('\n'));
  expect(problems).toEqual([]);
  const exported = new Set((await Promise.all(current.map((f) => swiftExports(f.text)))).flat().map((e) => e.symbol));
  expect(specs.filter((s) => exported.has(s.symbol)).length / specs.length).toBe(1);
});

test(`${exportsFile} is what scripts/gen-abi.mjs writes from the header`, () => {
  expect(readFileSync(swiftExportsPath, 'utf8')).toBe(renderSwiftExports(abi, parseCoreSignatures(headerText)));
});

test('ss_context_create is ScanKit\'s own (Metal device, queue, library), every kernel goes to the host logic', () => {
  const byName = new Map(specs.map((s) => [s.symbol, s.callee]));
  expect(byName.get('ss_context_create')).toBe('scanKitContextCreate');
  for (const k of abi.kernels) expect(byName.get(k.symbol)).toBe(`ss_metal_${k.name}`);
});

describe('the check fails on', () => {
  test('a removed export', async () => {
    const edited = withExports((t) => t.replace(/@_cdecl\("ss_geotrf"\)\npublic func[^\n]*\n[^\n]*\n}\n/, ''));
    expect(await exportProblems(edited)).toEqual(['ss_geotrf: no @_cdecl export']);
  });

  test('a removed core export', async () => {
    const edited = withExports((t) => t.replace(/@_cdecl\("ss_buffer_fill"\)\npublic func[^\n]*\n[^\n]*\n}\n/, ''));
    expect(await exportProblems(edited)).toEqual(['ss_buffer_fill: no @_cdecl export']);
  });

  test('a parameter too few', async () => {
    const edited = withExports((t) => t.replace(', _ out: OpaquePointer?) -> Int32 {\n  autoreleasepool { ss_metal_geotrf(ctx, args, `in`, out) }',
      ') -> Int32 {\n  autoreleasepool { ss_metal_geotrf(ctx, args, `in`) }'));
    const problems = await exportProblems(edited);
    expect(problems.some((p) => p.startsWith('ss_geotrf') && p.includes('3 parameters, the header has 4'))).toBe(true);
  });

  test('a wrong C type', async () => {
    const edited = withExports((t) => t.replace('public func ss_buffer_size(_ buf: OpaquePointer?) -> UInt64', 'public func ss_buffer_size(_ buf: OpaquePointer?) -> UInt32'));
    expect((await exportProblems(edited)).some((p) => p.startsWith('ss_buffer_size') && p.includes('returns UInt32'))).toBe(true);
  });

  test('an export twice, an unknown export, a non-public one, one outside an autorelease pool', async () => {
    const extra = '\n@_cdecl("ss_geotrf")\npublic func geotrfAgain(_ ctx: OpaquePointer?, _ args: UnsafePointer<ss_geotrf_args>?, _ a: OpaquePointer?, _ b: OpaquePointer?) -> Int32 {\n  autoreleasepool { ss_metal_geotrf(ctx, args, a, b) }\n}\n' +
      '\n@_cdecl("ss_not_in_the_header")\npublic func ss_not_in_the_header() {\n  autoreleasepool { ss_metal_context_destroy(nil) }\n}\n';
    const edited = withExports((t) => `${t}${extra}`.replace('public func ss_kernel_count()', 'func ss_kernel_count()')
      .replace('  autoreleasepool { ss_metal_buffer_size(buf) }', '  ss_metal_buffer_size(buf)'));
    const problems = await exportProblems(edited);
    expect(problems.some((p) => p.startsWith('ss_geotrf: exported 2 times'))).toBe(true);
    expect(problems.some((p) => p.startsWith('ss_not_in_the_header: exported'))).toBe(true);
    expect(problems.some((p) => p.startsWith('ss_kernel_count') && p.includes('not public'))).toBe(true);
    expect(problems.some((p) => p.startsWith('ss_buffer_size') && p.includes('autoreleasepool'))).toBe(true);
  });

  test('a call of a host function metal_host.h does not declare', async () => {
    const edited = withExports((t) => t.replace('autoreleasepool { ss_metal_buffer_fill(', 'autoreleasepool { ss_metal_buffer_fil('));
    expect((await exportProblems(edited)).some((p) => p.startsWith('ss_buffer_fill') && p.includes('neither metal_host.h'))).toBe(true);
  });
});
