/**
 * The import graph of src/ and the checks DESIGN.md §2 ("Layers of src/")
 * asks for: every import goes to the same or a lower layer, and no files
 * import each other in a loop. Pure functions over a graph, so the test can
 * also show them failing on a seeded back-edge and cycle.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** DESIGN.md §2, bottom first; a folder (or top-level file) of src/ per name. */
export const LAYERS: readonly (readonly string[])[] = [
  ['config', 'geometry', 'native'],
  ['frames'],
  ['fusion', 'mast3r'],
  ['tracking', 'mono', 'eval'],
  ['pipeline'],
  ['server'],
  ['cli'],
];

/** file (relative to src/, e.g. 'fusion/ply.ts') → the files it imports */
export type ImportGraph = Map<string, string[]>;

// static and type imports, re-exports, import('…') and new URL('…', import.meta.url) (workers)
const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)|new URL\(\s*'(\.[^']+)'\s*,\s*import\.meta\.url\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function resolveImport(srcRoot: string, from: string, spec: string): string | null {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return relative(srcRoot, candidate);
    } catch {
      // not this one
    }
  }
  return null;
}

/** Reads every .ts file under srcRoot; an import that resolves to no file is reported as '?<spec>'. */
export function readImportGraph(srcRoot: string): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of sourceFiles(srcRoot)) {
    const text = readFileSync(file, 'utf8');
    const targets = new Set<string>();
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2] ?? m[3]) as string;
      targets.add(resolveImport(srcRoot, file, spec) ?? `?${spec}`);
    }
    graph.set(relative(srcRoot, file), [...targets].sort());
  }
  return graph;
}

/** 'fusion/ply.ts' → 'fusion'; 'config.ts' → 'config' */
export function layerOf(file: string): string {
  const slash = file.indexOf('/');
  return slash >= 0 ? file.slice(0, slash) : file.replace(/\.ts$/, '');
}

/** Imports that go up a layer, to a layer DESIGN.md does not name, or to no file. */
export function layerViolations(graph: ImportGraph, layers: readonly (readonly string[])[] = LAYERS): string[] {
  const rank = new Map<string, number>();
  layers.forEach((names, r) => names.forEach((n) => rank.set(n, r)));
  const out: string[] = [];
  for (const [file, targets] of graph) {
    const from = rank.get(layerOf(file));
    if (from === undefined) {
      out.push(`${file}: '${layerOf(file)}' is not a layer of DESIGN.md §2`);
      continue;
    }
    for (const target of targets) {
      if (target.startsWith('?')) {
        out.push(`${file} imports ${target.slice(1)}, which is no file`);
        continue;
      }
      const to = rank.get(layerOf(target));
      if (to === undefined || to > from) out.push(`${file} (${layerOf(file)}) imports ${target} (${layerOf(target)}): a higher layer`);
    }
  }
  return out;
}

/** Every loop of imports (one per strongly connected component), as the files in order. */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's strongly connected components
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(loopThrough(graph, new Set(component), v));
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

/** A shortest loop v → … → v inside one strongly connected component (breadth first). */
function loopThrough(graph: ImportGraph, component: Set<string>, v: string): string[] {
  const parent = new Map<string, string>();
  const queue = [v];
  while (queue.length > 0) {
    const u = queue.shift() as string;
    for (const w of graph.get(u) ?? []) {
      if (!component.has(w)) continue;
      if (w === v) {
        const path = [u];
        while (path[0] !== v) path.unshift(parent.get(path[0] as string) as string);
        return path;
      }
      if (!parent.has(w)) {
        parent.set(w, u);
        queue.push(w);
      }
    }
  }
  return [v];
}
