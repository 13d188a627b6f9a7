/**
 * The kernel launches of the Metal host logic (native/metal_host/*.cpp), read from its
 * source: each pipeline name and the buffer indices bound to it, for a test that holds them
 * to the kernels of metal/*.metal (parsed by scripts/gen-metal-emu.ts). On a Mac a wrong
 * name or index is a run-time failure (no such function; a missing or misplaced binding),
 * so it is found here instead.
 *
 * Launches are written with host.h's builder or its helpers:
 *   ss_metal_launch l("k_x"); l.threads(…).bytes(0, &a, sizeof a).buffer(1, in).buffer(2, out);
 *   ss_metal_dispatch(ctx, ss_metal_launch("k_x").groups(…).bytes(0, …).buffer(1, …));
 *   ss_metal_run_elementwise(ctx, fn, "k_x", n, &a, sizeof a, {in, out});   // bytes 0, buffers 1…
 *   ss_metal_limits(ctx, "k_x", …) / ss_metal_group_width(ctx, "k_x", …)    // names only
 * A name must be a string literal, a choice of literals (a ? "k_a" : "k_b"), or a local
 * assigned from them; an index an integer literal. What cannot be read is reported, so a new
 * way of launching shows up here rather than passing unchecked.
 */

export interface Binding {
  index: number;
  kind: 'buffer' | 'bytes' | 'threadgroup';
}

export interface Launch {
  file: string;
  line: number;
  /** every name the launch may use (a ternary gives two) */
  pipelines: string[];
  /** undefined: a name-only use (limits, group width), no bindings to check */
  bindings?: Binding[];
}

export interface HostScan {
  launches: Launch[];
  problems: string[];
}

/** Helpers that launch a pipeline they are given: where the name and the bindings are in a call of each. */
const LAUNCH_HELPERS: Record<string, { pipelineArg: number; bindings?: (args: string[]) => Binding[] | string }> = {
  ss_metal_run_elementwise: {
    pipelineArg: 2,
    bindings: (args) => {
      const list = args[6]?.trim() ?? '';
      if (!/^\{[\s\S]*\}$/.test(list)) return `its buffers are not a braced list: ${list}`;
      const inner = list.slice(1, -1).trim();
      const count = inner === '' ? 0 : splitTopLevel(inner, ',').length;
      return [{ index: 0, kind: 'bytes' }, ...Array.from({ length: count }, (_, i): Binding => ({ index: i + 1, kind: 'buffer' }))];
    },
  },
  ss_metal_limits: { pipelineArg: 1 },
  ss_metal_group_width: { pipelineArg: 1 },
};

/** Blanks comments, keeping offsets (string literals stay: they are the pipeline names). */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (m) => m.replace(/[^\n]/g, ' '));
}

/** Splits at `sep` outside (), [], {} and string literals. */
export function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === sep && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** The text inside the parentheses that open at `open` (text[open] === '('), and the index after them. */
function parenthesised(text: string, open: number): { inner: string; end: number } {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return { inner: text.slice(open + 1, i), end: i + 1 };
  }
  return { inner: text.slice(open + 1), end: text.length };
}

interface FunctionBody {
  name: string;
  params: Set<string>;
  from: number;
  to: number;
}

/** Function definitions at namespace scope (also inside extern "C" and namespaces): name, parameter names, body range. */
function functionBodies(code: string): FunctionBody[] {
  const out: FunctionBody[] = [];
  const stack: ('scope' | 'other')[] = [];
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '"' || c === "'") {
      for (i++; i < code.length && code[i] !== c; i++) if (code[i] === '\\') i++;
      continue;
    }
    if (c === '}') {
      stack.pop();
      continue;
    }
    if (c !== '{') continue;
    const before = code.slice(Math.max(0, i - 2000), i).trimEnd();
    if (/extern\s+"C"$/.test(before) || /\bnamespace(\s+\w+)?$/.test(before)) {
      stack.push('scope');
      continue;
    }
    const sig = stack.every((s) => s === 'scope') ? /(\w+)\s*\(((?:[^()]|\([^()]*\))*)\)\s*(?:const\s*)?(?:noexcept\s*)?$/.exec(before) : null;
    if (!sig || /^(if|for|while|switch|catch|return)$/.test(sig[1] as string)) {
      stack.push('other');
      continue;
    }
    let depth = 0;
    let j = i;
    for (; j < code.length; j++) {
      const d = code[j];
      if (d === '"' || d === "'") {
        for (j++; j < code.length && code[j] !== d; j++) if (code[j] === '\\') j++;
      } else if (d === '{') depth++;
      else if (d === '}' && --depth === 0) break;
    }
    const params = new Set(splitTopLevel(sig[2] as string, ',').map((p) => /(\w+)\s*(?:=[^,]*)?$/.exec(p.trim())?.[1] ?? '').filter(Boolean));
    out.push({ name: sig[1] as string, params, from: i, to: j });
    i = j;
  }
  return out;
}

/** The member calls chained at `at`: `.a(…).b(…)…` (whitespace between allowed). */
function chainAfter(code: string, at: number): string {
  let i = at;
  let out = '';
  for (;;) {
    const m = /^\s*\.\s*(\w+)\s*\(/.exec(code.slice(i, i + 200));
    if (!m) return out;
    const { end } = parenthesised(code, i + m[0].length - 1);
    out += code.slice(i, end);
    i = end;
  }
}

const lineOf = (code: string, at: number): number => code.slice(0, at).split('\n').length;

/** The pipeline names an expression stands for, or why they cannot be read. */
function pipelineNames(expr: string, fn: FunctionBody, code: string): string[] | { parameter: string } | string {
  const literals = [...expr.matchAll(/"([^"\\]*)"/g)].map((m) => m[1] as string);
  if (literals.length) return literals;
  const id = /^\s*(\w+)\s*$/.exec(expr)?.[1];
  if (!id) return `pipeline name '${expr.trim()}' is neither a literal nor a variable`;
  if (fn.params.has(id)) return { parameter: id };
  const body = code.slice(fn.from, fn.to);
  const assigned = [...body.matchAll(new RegExp(`\\b${id}\\s*=\\s*([^;]+);`, 'g'))].flatMap((m) => [...(m[1] as string).matchAll(/"([^"\\]*)"/g)].map((l) => l[1] as string));
  return assigned.length ? assigned : `pipeline name '${id}' is assigned no string literal in ${fn.name}`;
}

/** `.buffer(i, …)`, `.bytes(i, …)`, `.threadgroup(i, …)` calls in a text, with literal indices. */
function bindingsIn(text: string, where: string, problems: string[]): Binding[] {
  const out: Binding[] = [];
  for (const m of text.matchAll(/\.(buffer|bytes|threadgroup_memory|threadgroup)\s*\(/g)) {
    const { inner } = parenthesised(text, (m.index as number) + m[0].length - 1);
    const first = splitTopLevel(inner, ',')[0]?.trim() ?? '';
    if (!/^\d+u?$/.test(first)) {
      problems.push(`${where}: .${m[1]}(${first}, …): the index is not an integer literal`);
      continue;
    }
    out.push({ index: Number.parseInt(first, 10), kind: m[1] === 'buffer' ? 'buffer' : m[1] === 'bytes' ? 'bytes' : 'threadgroup' });
  }
  return out;
}

/** Reads every launch of the host logic's sources. */
export function scanHostSources(sources: { file: string; text: string }[]): HostScan {
  const launches: Launch[] = [];
  const problems: string[] = [];
  for (const { file, text } of sources) {
    const code = stripComments(text);
    for (const fn of functionBodies(code)) {
      const body = code.slice(fn.from, fn.to);
      // helper calls
      for (const [helper, spec] of Object.entries(LAUNCH_HELPERS)) {
        for (const m of body.matchAll(new RegExp(`\\b${helper}\\s*\\(`, 'g'))) {
          const open = fn.from + (m.index as number) + m[0].length - 1;
          const where = `${file}:${lineOf(code, open)}`;
          const { inner } = parenthesised(code, open);
          const args = splitTopLevel(inner, ',');
          const names = pipelineNames(args[spec.pipelineArg] ?? '', fn, code);
          if (typeof names === 'string') problems.push(`${where}: ${helper}: ${names}`);
          else if (!Array.isArray(names)) continue; // the helper's own plumbing
          else {
            const bindings = spec.bindings?.(args);
            if (typeof bindings === 'string') problems.push(`${where}: ${helper}: ${bindings}`);
            else launches.push({ file, line: lineOf(code, open), pipelines: names, ...(bindings ? { bindings } : {}) });
          }
        }
      }
      // the builder
      for (const m of body.matchAll(/\bss_metal_launch\s*(&?)\s*(\w*)\s*([({])/g)) {
        if (m[1] === '&') continue; // a reference to a launch made elsewhere
        const open = fn.from + (m.index as number) + m[0].length - 1;
        const where = `${file}:${lineOf(code, open)}`;
        const { inner } = m[3] === '(' ? parenthesised(code, open) : { inner: code.slice(open + 1, code.indexOf('}', open)) };
        const names = pipelineNames(inner, fn, code);
        if (typeof names === 'string') {
          problems.push(`${where}: ss_metal_launch: ${names}`);
          continue;
        }
        if (!Array.isArray(names)) {
          if (!(fn.name in LAUNCH_HELPERS)) problems.push(`${where}: ss_metal_launch takes its name from parameter '${names.parameter}' of ${fn.name}: teach tests/swift/hostLaunches.ts this helper (LAUNCH_HELPERS)`);
          continue;
        }
        // the calls chained on the launch where it is made, and on its variable afterwards
        const variable = m[2] as string;
        const afterName = m[3] === '(' ? parenthesised(code, open).end : code.indexOf('}', open) + 1;
        let chains = chainAfter(code, afterName);
        if (variable) {
          for (const use of code.slice(afterName, fn.to).matchAll(new RegExp(`(^|[^\\w.>])${variable}(?=\\s*\\.)`, 'g')))
            chains += chainAfter(code, afterName + (use.index as number) + use[0].length);
        }
        const text2 = chains;
        launches.push({ file, line: lineOf(code, open), pipelines: names, bindings: bindingsIn(text2, where, problems) });
      }
    }
  }
  return { launches, problems };
}

export interface MetalKernelShape {
  name: string;
  buffers: { index: number; isConst: boolean; addressSpace: string }[];
  threadgroups: { index: number }[];
}

/** Every way the launches disagree with the kernels, one line each. */
export function compareLaunches(launches: Launch[], kernels: MetalKernelShape[], notes: string[] = []): string[] {
  const byName = new Map(kernels.map((k) => [k.name, k]));
  const problems: string[] = [];
  for (const l of launches) {
    for (const name of l.pipelines) {
      const where = `${l.file}:${l.line} ${name}`;
      const k = byName.get(name);
      if (!k) {
        problems.push(`${where}: no kernel function of that name in metal/*.metal`);
        continue;
      }
      if (!l.bindings) continue;
      const seen = new Set<string>();
      for (const b of l.bindings) {
        const key = `${b.kind === 'threadgroup' ? 'threadgroup' : 'buffer'}(${b.index})`;
        if (seen.has(key)) problems.push(`${where}: ${key} bound twice`);
        seen.add(key);
        if (b.kind === 'threadgroup') {
          if (!k.threadgroups.some((t) => t.index === b.index)) problems.push(`${where}: threadgroup(${b.index}) set, the kernel has no [[threadgroup(${b.index})]]`);
          continue;
        }
        const param = k.buffers.find((p) => p.index === b.index);
        // constants the kernel does not read are harmless on Metal (an element-wise helper binds
        // the args struct at 0 for every kernel); a buffer with nowhere to go is a misplaced index
        if (!param && b.kind === 'bytes') notes.push(`${where}: constants at buffer(${b.index}), which the kernel does not read`);
        else if (!param) problems.push(`${where}: buffer(${b.index}) bound, the kernel has no [[buffer(${b.index})]]`);
        else if (b.kind === 'bytes' && !param.isConst) problems.push(`${where}: setBytes at buffer(${b.index}), which the kernel writes (${param.addressSpace})`);
      }
      for (const p of k.buffers) if (!seen.has(`buffer(${p.index})`)) problems.push(`${where}: the kernel's [[buffer(${p.index})]] is never bound`);
      for (const t of k.threadgroups) if (!seen.has(`threadgroup(${t.index})`)) problems.push(`${where}: the kernel's [[threadgroup(${t.index})]] memory length is never set`);
    }
  }
  return problems;
}
