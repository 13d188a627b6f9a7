/**
 * Reading ScanKit's Swift without a Swift compiler: tree-sitter-swift (the wasm grammar
 * of tree-sitter-wasms, run by web-tree-sitter) parses every .swift file, and the C
 * exports (@_cdecl / @c functions) are read from the syntax tree.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { root } from '../../scripts/abi.mjs';

export const swiftDir = join(root, 'swift');
const grammarPath = join(root, 'node_modules', 'tree-sitter-wasms', 'out', 'tree-sitter-swift.wasm');

let parser: Parser | undefined;

/** The Swift parser (loaded once per process). */
export async function swiftParser(): Promise<Parser> {
  if (parser) return parser;
  await Parser.init();
  const language = await Language.load(grammarPath);
  const p = new Parser();
  p.setLanguage(language);
  parser = p;
  return p;
}

/** Every .swift file of the package (Package.swift and Sources/), skipping build output and symlinks. */
export function swiftFiles(dir = swiftDir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.isSymbolicLink()) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...swiftFiles(p));
    else if (entry.name.endsWith('.swift') && statSync(p).isFile()) out.push(p);
  }
  return out.sort();
}

export interface RawString {
  /** the delimiter's hashes: #"""…"""# has 1 */
  hashes: number;
  /** 1-based lines of the opening and closing delimiters */
  openLine: number;
  closeLine: number;
  problems: string[];
}

/**
 * Multi-line raw strings (#"""…"""#), found by Swift's rules: the opening delimiter ends its
 * line, the literal ends at the first `"""` followed by as many hashes, which starts its own
 * line (only whitespace before it). tree-sitter-wasms' Swift grammar (tree-sitter-swift 0.4)
 * does not know raw multi-line strings, so `parseErrors` checks them here and hands the
 * grammar the same literal as a plain multi-line string of blank lines.
 */
export function rawMultilineStrings(text: string): { strings: RawString[]; substituted: string } {
  const lines = text.split('\n');
  const strings: RawString[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /(#+)"""\s*$/.exec(lines[i] as string);
    if (!open || /^\s*\/\//.test(lines[i] as string)) continue;
    const hashes = (open[1] as string).length;
    const closing = `"""${'#'.repeat(hashes)}`;
    const problems: string[] = [];
    let close = -1;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j] as string;
      const at = line.indexOf(closing);
      if (at < 0) {
        // a backslash followed by the hashes is an escape inside a raw string
        if (line.includes(`\\${'#'.repeat(hashes)}`)) problems.push(`line ${j + 1}: \\${'#'.repeat(hashes)} is an escape inside #"""…"""#`);
        continue;
      }
      if (line.slice(0, at).trim() !== '') problems.push(`line ${j + 1}: the content holds ${closing}, which ends the literal early`);
      close = j;
      break;
    }
    if (close < 0) {
      problems.push(`line ${i + 1}: ${'#'.repeat(hashes)}""" is never closed`);
      strings.push({ hashes, openLine: i + 1, closeLine: -1, problems });
      continue;
    }
    strings.push({ hashes, openLine: i + 1, closeLine: close + 1, problems });
    lines[i] = (lines[i] as string).replace(/#+"""\s*$/, '"""');
    for (let k = i + 1; k < close; k++) lines[k] = '';
    lines[close] = (lines[close] as string).replace(closing, '"""');
    i = close;
  }
  return { strings, substituted: lines.join('\n') };
}

export interface SyntaxProblem {
  line: number;
  column: number;
  what: string;
}

/** ERROR and MISSING nodes of a Swift text (after the raw-string substitution), and raw-string problems. */
export async function parseErrors(text: string): Promise<SyntaxProblem[]> {
  const { strings, substituted } = rawMultilineStrings(text);
  const problems: SyntaxProblem[] = strings.flatMap((s) => s.problems.map((what) => ({ line: s.openLine, column: 1, what: `raw string: ${what}` })));
  const tree = (await swiftParser()).parse(substituted);
  if (!tree) return [...problems, { line: 1, column: 1, what: 'the parser returned no tree' }];
  const visit = (n: Node): void => {
    if (n.type === 'ERROR' || n.isMissing) {
      problems.push({
        line: n.startPosition.row + 1,
        column: n.startPosition.column + 1,
        what: `${n.isMissing ? `MISSING ${n.type}` : 'ERROR'}: ${JSON.stringify(n.text.slice(0, 60))}`,
      });
    }
    for (const c of n.children) if (c) visit(c);
  };
  visit(tree.rootNode);
  tree.delete();
  return problems;
}

export interface SwiftExport {
  /** the C symbol (@_cdecl("x") or @c(x)) */
  symbol: string;
  /** the Swift function's name */
  name: string;
  params: { name: string; type: string }[];
  /** 'Void' when the function declares none */
  returns: string;
  /** the functions its body calls, in order */
  calls: string[];
  /** public (a non-public @_cdecl symbol is stripped from release builds) */
  isPublic: boolean;
  /** the body is one autoreleasepool { … } */
  inAutoreleasePool: boolean;
  line: number;
}

const compact = (s: string): string => s.replace(/\s+/g, '');

function childrenOf(n: Node): Node[] {
  return n.children.filter((c): c is Node => c !== null);
}

function descendants(n: Node, type: string): Node[] {
  const out: Node[] = [];
  const visit = (m: Node): void => {
    if (m.type === type) out.push(m);
    for (const c of childrenOf(m)) visit(c);
  };
  visit(n);
  return out;
}

/** The C exports of a Swift text: every function with @_cdecl("x") or @c(x) / @c among its attributes. */
export async function swiftExports(text: string): Promise<SwiftExport[]> {
  const tree = (await swiftParser()).parse(rawMultilineStrings(text).substituted);
  if (!tree) return [];
  const out: SwiftExport[] = [];
  for (const fn of descendants(tree.rootNode, 'function_declaration')) {
    const kids = childrenOf(fn);
    const modifiers = kids.find((k) => k.type === 'modifiers');
    const nameNode = kids.find((k) => k.type === 'simple_identifier');
    if (!modifiers || !nameNode) continue;
    let symbol: string | undefined;
    for (const attr of childrenOf(modifiers).filter((m) => m.type === 'attribute')) {
      const attrName = childrenOf(attr).find((k) => k.type === 'user_type')?.text;
      if (attrName === '_cdecl') symbol = /"([^"]*)"/.exec(attr.text)?.[1];
      else if (attrName === 'c') symbol = /\(\s*"?(\w+)"?\s*\)/.exec(attr.text)?.[1] ?? nameNode.text;
    }
    if (symbol === undefined) continue;
    const params = kids.filter((k) => k.type === 'parameter').map((p) => {
      const parts = childrenOf(p);
      const colon = parts.findIndex((k) => k.type === ':');
      const names = parts.slice(0, colon).filter((k) => k.type === 'simple_identifier').map((k) => k.text);
      return { name: (names[names.length - 1] ?? '').replace(/`/g, ''), type: compact(parts.slice(colon + 1).map((k) => k.text).join('')) };
    });
    const arrow = kids.findIndex((k) => k.type === '->');
    const returns = arrow >= 0 ? compact((kids[arrow + 1] as Node).text) : 'Void';
    const body = kids.find((k) => k.type === 'function_body');
    const calls = body
      ? descendants(body, 'call_expression').map((c) => childrenOf(c)[0]?.text ?? '')
      : [];
    const statements = body ? childrenOf(body).find((k) => k.type === 'statements') : undefined;
    const only = statements ? childrenOf(statements) : [];
    const inAutoreleasePool = only.length === 1 && only[0]?.type === 'call_expression' && childrenOf(only[0])[0]?.text === 'autoreleasepool';
    out.push({
      symbol, name: nameNode.text, params, returns, calls, isPublic: /\bpublic\b/.test(modifiers.text), inAutoreleasePool,
      line: fn.startPosition.row + 1,
    });
  }
  tree.delete();
  return out;
}

export const rel = (p: string): string => relative(root, p);
export const readText = (p: string): string => readFileSync(p, 'utf8');
