/**
 * What can be checked of the ScanKit package here, short of a Swift compiler: its layout
 * (Package.swift, the symlinks that bring the shared C and headers inside it), its C++
 * target compiled with the include paths Package.swift declares, the C interface Swift
 * imports compiled as C, whether the objects define every function the Swift calls and no
 * ss_ symbol the Swift also exports, and that the Swift holds nothing that can trap.
 */
import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headerPath, parseCoreSignatures, parseHeader, renderSwiftHostUnits, root, swiftExportSpecs, swiftHostDir } from '../../scripts/abi.mjs';
import { rawMultilineStrings, rel, swiftDir, swiftFiles, swiftParser } from './swiftSyntax';
import type { Node } from 'web-tree-sitter';

const manifest = readFileSync(join(swiftDir, 'Package.swift'), 'utf8');
const headerText = readFileSync(headerPath, 'utf8');
const specs = swiftExportSpecs(parseHeader(headerText), parseCoreSignatures(headerText));

describe('Package.swift', () => {
  test('tools 5.9+, macOS 13+, a dynamic library product ScanKit where src/native/library.ts looks for it', () => {
    const tools = /^\/\/ swift-tools-version:\s*(\d+)\.(\d+)/.exec(manifest);
    expect(tools).not.toBeNull();
    expect(Number(tools?.[1]) * 100 + Number(tools?.[2])).toBeGreaterThanOrEqual(509);
    expect(manifest).toContain('.macOS(.v13)');
    expect(manifest).toMatch(/\.library\(name: "ScanKit", type: \.dynamic, targets: \["ScanKit"\]\)/);
    const library = readFileSync(join(root, 'src', 'native', 'library.ts'), 'utf8');
    expect(library).toContain("join(projectRoot, 'swift', '.build', 'release', `libScanKit.${suffix}`)");
  });

  test('its header search paths stay inside the package (SwiftPM refuses "../") and exist through the symlink', () => {
    const paths = [...manifest.matchAll(/\.headerSearchPath\("([^"]+)"\)/g)].map((m) => m[1] as string);
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) {
      expect(p.startsWith('..') || p.startsWith('/')).toBe(false);
      expect(existsSync(join(swiftHostDir, p))).toBe(true);
    }
  });
});

describe('the symlinks bring the shared sources inside the package', () => {
  const links: [string, string][] = [
    ['native', 'native'],
    ['include/scanstream.h', 'native/include/scanstream.h'],
    ['include/gpu_ops.h', 'native/metal_host/gpu_ops.h'],
    ['include/metal_host.h', 'native/metal_host/metal_host.h'],
  ];
  for (const [link, target] of links) {
    test(`${link} → ${target} (relative, so any checkout works)`, () => {
      const at = join(swiftHostDir, link);
      expect(lstatSync(at).isSymbolicLink()).toBe(true);
      expect(readlinkSync(at).startsWith('/')).toBe(false);
      expect(realpathSync(at)).toBe(realpathSync(join(root, target)));
    });
  }

  test('one ScanKitHost unit per shared .cpp, and no other .cpp (gen-abi.mjs writes them)', () => {
    const want = renderSwiftHostUnits();
    for (const [path, text] of want) expect(existsSync(path) ? readFileSync(path, 'utf8') : `${rel(path)} missing`).toBe(text);
    const have = readdirSync(swiftHostDir).filter((f) => f.endsWith('.cpp')).sort();
    expect(have).toEqual(want.map(([p]) => p.slice(swiftHostDir.length + 1)).sort());
    expect(have).toContain('common_kernel_table.cpp');
  });
});

const compiler = ['clang++', 'g++', 'c++'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
const cCompiler = ['clang', 'gcc', 'cc'].find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
const includeFlags = [
  `-I${join(swiftHostDir, /publicHeadersPath:\s*"([^"]+)"/.exec(manifest)?.[1] ?? 'include')}`,
  ...[...manifest.matchAll(/\.headerSearchPath\("([^"]+)"\)/g)].map((m) => `-I${join(swiftHostDir, m[1] as string)}`),
];

describe.skipIf(!compiler || !cCompiler)('ScanKitHost compiled here as SwiftPM would (its include paths, C++17)', () => {
  test('the C interface Swift imports (ScanKitHost.h) is C', () => {
    const r = spawnSync(cCompiler as string, ['-x', 'c', '-std=c11', '-fsyntax-only', '-Wall', '-Werror', '-Wno-unused-function', ...includeFlags,
      join(swiftHostDir, 'include', 'ScanKitHost.h')], { encoding: 'utf8' });
    if (r.status !== 0) console.error(r.stderr);
    expect(r.status).toBe(0);
  });

  test('every unit compiles; together they define each host function the Swift calls and no ss_ symbol the Swift exports', () => {
    const out = mkdtempSync(join(tmpdir(), 'scankit-host-'));
    try {
      const defined = new Set<string>();
      const undefinedSymbols = new Set<string>();
      for (const [path] of renderSwiftHostUnits()) {
        const object = join(out, `${path.slice(swiftHostDir.length + 1)}.o`);
        const r = spawnSync(compiler as string, ['-std=c++17', '-O0', '-c', ...includeFlags, path, '-o', object], { encoding: 'utf8' });
        if (r.status !== 0) console.error(r.stderr);
        expect(`${rel(path)}: exit ${r.status}`).toBe(`${rel(path)}: exit 0`);
        const nm = spawnSync('nm', ['-g', object], { encoding: 'utf8' });
        for (const line of nm.stdout.split('\n')) {
          const m = /^\s*(?:[0-9a-f]+\s+)?([A-Za-z])\s+_?(\S+)$/.exec(line);
          if (!m) continue;
          if (m[1] === 'U') undefinedSymbols.add(m[2] as string);
          else defined.add(m[2] as string);
        }
      }
      // C symbols the Swift exports itself would be defined twice in libScanKit.dylib
      const clashes = [...defined].filter((s) => /^ss_/.test(s) && !s.startsWith('ss_metal_'));
      expect(clashes).toEqual([]);
      // what the exports call must be there to link
      const needed = [...new Set(specs.map((s) => s.callee).filter((c) => c.startsWith('ss_metal_') || (c.startsWith('scankit_') && c !== 'scankit_abi_version')))];
      needed.push('ss_metal_context_create');
      expect(needed.filter((c) => !defined.has(c))).toEqual([]);
      // a host source calling into code ScanKit does not compile (native/cpu, the emulator) would not link
      const unresolved = [...undefinedSymbols].filter((s) => /ss_|scankit|msl_emu/.test(s) && !defined.has(s));
      expect(unresolved).toEqual([]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);
});

/** Constructs that trap at run time: a trap inside a bun:ffi call kills the whole process. */
async function trapSites(text: string): Promise<string[]> {
  const tree = (await swiftParser()).parse(rawMultilineStrings(text).substituted);
  const sites: string[] = [];
  const at = (n: Node): string => `${n.startPosition.row + 1}:${n.startPosition.column + 1}`;
  const visit = (n: Node): void => {
    const kids = n.children.filter((c): c is Node => c !== null);
    if (n.type === 'postfix_expression' && kids.some((k) => k.type === 'bang')) sites.push(`${at(n)} force unwrap ${n.text}`);
    if (n.type === 'try_operator' && n.text.replace(/\s/g, '') === 'try!') sites.push(`${at(n)} try!`);
    if (n.type === 'as!') sites.push(`${at(n)} as!`);
    if (!n.isNamed && n.type === '!' && n.parent?.type !== 'try_operator' && /type/.test(n.parent?.type ?? '')) sites.push(`${at(n)} implicitly unwrapped ${n.parent?.text}`);
    if (n.type === 'call_expression' && /^(fatalError|precondition|preconditionFailure|assert|assertionFailure)$/.test(kids[0]?.text ?? ''))
      sites.push(`${at(n)} ${kids[0]?.text}`);
    for (const k of kids) visit(k);
  };
  if (tree) visit(tree.rootNode);
  tree?.delete();
  return sites;
}

describe('nothing in the Swift can trap (no !, try!, as!, IUO declarations, fatalError, precondition, assert)', () => {
  for (const file of swiftFiles().filter((f) => !f.endsWith('Package.swift'))) {
    test(rel(file), async () => {
      const sites = await trapSites(readFileSync(file, 'utf8'));
      if (sites.length) console.error(sites.map((s) => `${rel(file)}:${s}`).join('\n'));
      expect(sites).toEqual([]);
    });
  }

  test('the check finds each', async () => {
    const text = 'func f() {\n let a = b!\n let c = try! g()\n let d = e as! Int\n var q: Int! = nil\n fatalError("x")\n precondition(a)\n if !x { }\n let z = y != 1\n}\n';
    const sites = await trapSites(text);
    expect(sites.length).toBe(6);
  });
});

test('the Swift refers to the embedded MSL the generator writes', () => {
  const metal = readFileSync(join(swiftDir, 'Sources', 'ScanKit', 'MetalSource.generated.swift'), 'utf8');
  expect(metal).toMatch(/^let scanKitMetalSource = #+"""$/m);
  expect(readFileSync(join(swiftDir, 'Sources', 'ScanKit', 'MetalGPU.swift'), 'utf8')).toContain('makeLibrary(source: scanKitMetalSource, options: options)');
});
