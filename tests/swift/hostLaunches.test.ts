/**
 * Every pipeline name and buffer index the Metal host logic (native/metal_host/*.cpp) uses
 * exists in metal/*.metal with that index (parsed by scripts/gen-metal-emu.ts), and every
 * [[buffer(i)]] of a launched kernel is bound: on a Mac either mistake fails at run time
 * (makeFunction finds nothing; a missing or misplaced binding; constants where the kernel
 * writes). Constants bound where a kernel reads none are harmless and only noted. The emulator checks the same
 * when it runs a launch; this covers every launch whether a test reaches it or not.
 * Each kind of drift is shown failing on a modified copy.
 */
import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../../scripts/abi.mjs';
import { scanMetalFiles } from '../../scripts/gen-metal-emu';
import { compareLaunches, scanHostSources } from './hostLaunches';

const hostDir = join(root, 'native', 'metal_host');
const metalDir = join(root, 'metal');
const hostSources = existsSync(hostDir)
  ? readdirSync(hostDir).filter((f) => f.endsWith('.cpp')).sort().map((f) => ({ file: `native/metal_host/${f}`, text: readFileSync(join(hostDir, f), 'utf8') }))
  : [];
const metalFiles = existsSync(metalDir) ? readdirSync(metalDir).filter((f) => f.endsWith('.metal')).sort().map((f) => join(metalDir, f)) : [];
const kernels = scanMetalFiles(metalFiles, { includeDirs: [join(root, 'native'), join(root, 'native', 'kernels'), join(root, 'native', 'include')], checkLiterals: false }).kernels;
const scan = scanHostSources(hostSources);

test('the host logic\'s launches are all readable', () => {
  if (hostSources.length === 0) console.error('tests/swift: native/metal_host has no .cpp yet: nothing to check (vacuous pass)');
  if (scan.problems.length) console.error(scan.problems.join('\n'));
  expect(scan.problems).toEqual([]);
});

test('every pipeline name and buffer index the host logic uses exists in metal/*.metal with that index, and every buffer is bound', () => {
  // vacuous only where there is nothing to check: no host logic yet
  if (hostSources.length > 0) expect(scan.launches.length).toBeGreaterThan(0);
  const notes: string[] = [];
  const problems = compareLaunches(scan.launches, kernels, notes);
  if (problems.length) console.error(problems.join('\n'));
  if (notes.length) console.error(`tests/swift (harmless on Metal): ${notes.join('; ')}`);
  expect(problems).toEqual([]);
  const launched = new Set(scan.launches.flatMap((l) => l.pipelines));
  const unused = kernels.map((k) => k.name).filter((k) => !launched.has(k));
  if (unused.length) console.error(`tests/swift: kernels of metal/*.metal no host launch uses yet: ${unused.join(', ')}`);
});

describe('the check fails on', () => {
  const base = [{
    file: 'host.cpp',
    text: `#include "host.h"
extern "C" {
ss_status ss_metal_x(ss_context* ctx, const ss_x_args* args, ss_buffer* in, ss_buffer* out) {
  ss_metal_launch launch(args->flags & 1 ? "k_a" : "k_b");
  launch.groups(4, 32).bytes(0, args, sizeof *args);
  launch.buffer(1, in).buffer(2, out);
  SS_TRY(ss_metal_begin(ctx));
  ss_metal_dispatch(ctx, launch);
  ss_metal_dispatch(ctx, ss_metal_launch("k_c").threads(8, 1, 1, 8).bytes(0, args, sizeof *args).buffer(1, out));
  return ss_metal_run_elementwise(ctx, "ss_x", "k_d", 8, args, sizeof *args, {in, out});
}
}
`,
  }];
  const shape = (name: string, buffers: number, writes = true) => ({
    name,
    buffers: Array.from({ length: buffers }, (_, i) => ({ index: i, isConst: i === 0 || !writes, addressSpace: i === 0 ? 'constant' : 'device' })),
    threadgroups: [] as { index: number }[],
  });
  const fixtureKernels = [shape('k_a', 3), shape('k_b', 3), shape('k_c', 2), shape('k_d', 3)];

  test('(the fixture itself passes, read as four pipelines with their bindings)', () => {
    const s = scanHostSources(base);
    expect(s.problems).toEqual([]);
    expect(s.launches.map((l) => [l.pipelines, l.bindings?.map((b) => `${b.kind}${b.index}`)])).toEqual([
      [['k_d'], ['bytes0', 'buffer1', 'buffer2']],
      [['k_a', 'k_b'], ['bytes0', 'buffer1', 'buffer2']],
      [['k_c'], ['bytes0', 'buffer1']],
    ]);
    expect(compareLaunches(s.launches, fixtureKernels)).toEqual([]);
  });

  test('a pipeline name that is not in the MSL', () => {
    const s = scanHostSources([{ ...base[0]!, text: base[0]!.text.replace('"k_c"', '"k_cc"') }]);
    expect(compareLaunches(s.launches, fixtureKernels)).toEqual(['host.cpp:9 k_cc: no kernel function of that name in metal/*.metal']);
  });

  test('a buffer bound at an index the kernel lacks, and one of its buffers left unbound', () => {
    const s = scanHostSources([{ ...base[0]!, text: base[0]!.text.replace('launch.buffer(1, in).buffer(2, out)', 'launch.buffer(1, in).buffer(3, out)') }]);
    const problems = compareLaunches(s.launches, fixtureKernels);
    expect(problems).toContain('host.cpp:4 k_a: buffer(3) bound, the kernel has no [[buffer(3)]]');
    expect(problems).toContain('host.cpp:4 k_b: the kernel\'s [[buffer(2)]] is never bound');
  });

  test('a helper call with a buffer too few', () => {
    const s = scanHostSources([{ ...base[0]!, text: base[0]!.text.replace('{in, out}', '{in}') }]);
    expect(compareLaunches(s.launches, fixtureKernels)).toEqual(['host.cpp:10 k_d: the kernel\'s [[buffer(2)]] is never bound']);
  });

  test('constants (setBytes) bound where the kernel writes', () => {
    const s = scanHostSources([{ ...base[0]!, text: base[0]!.text.replace('.bytes(0, args, sizeof *args).buffer(1, out))', '.buffer(0, out).bytes(1, args, 4))') }]);
    expect(compareLaunches(s.launches, fixtureKernels)).toEqual(['host.cpp:9 k_c: setBytes at buffer(1), which the kernel writes (device)']);
  });

  test('a name or an index it cannot read', () => {
    const s = scanHostSources([{ ...base[0]!, text: base[0]!.text.replace('launch.buffer(1, in)', 'launch.buffer(i + 1, in)').replace('"k_c"', 'name_of(args)') }]);
    expect(s.problems.some((p) => p.includes('.buffer(i + 1, …): the index is not an integer literal'))).toBe(true);
    expect(s.problems.some((p) => p.includes("pipeline name 'name_of(args)' is neither a literal nor a variable"))).toBe(true);
  });

  test('constants the kernel does not read are only noted', () => {
    const notes: string[] = [];
    const s = scanHostSources([{ ...base[0]!, text: base[0]!.text.replace('"k_c"', '"k_e"') }]);
    const noArgs = { name: 'k_e', buffers: [{ index: 1, isConst: false, addressSpace: 'device' }], threadgroups: [] };
    expect(compareLaunches(s.launches, [...fixtureKernels, noArgs], notes)).toEqual([]);
    expect(notes).toEqual(['host.cpp:9 k_e: constants at buffer(0), which the kernel does not read']);
  });

  test('a kernel of the real MSL launched with a buffer missing', () => {
    if (kernels.length === 0) return;
    const k = kernels.find((x) => x.buffers.length >= 2) ?? kernels[0]!;
    const launch = { file: 'x.cpp', line: 1, pipelines: [k.name], bindings: k.buffers.slice(1).map((b) => ({ index: b.index, kind: 'buffer' as const })) };
    expect(compareLaunches([launch], kernels)).toEqual([`x.cpp:1 ${k.name}: the kernel's [[buffer(${k.buffers[0]!.index})]] is never bound`]);
  });
});
