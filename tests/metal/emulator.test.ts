/**
 * The MSL emulator (native/metal_emu, scripts/gen-metal-emu.ts): fixtures in
 * tests/metal/fixtures are compiled with clang++ through the shim, run by the
 * dispatcher through tests/metal/emu_driver.cpp, and their outputs compared
 * with references computed here. Needs clang++ (Debian: apt-get install clang).
 */
import { beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildEmulator,
  emulatorCompileFlags,
  emulatorDir,
  findUnsuffixedFloatLiterals,
  generateEmulatorSources,
  parseMetalSource,
  repoRoot,
  scanMetalFiles,
} from '../../scripts/gen-metal-emu';
import { maxRelativeError, seededRandom } from '../helpers/random';

const fixtures = join(repoRoot, 'tests', 'metal', 'fixtures');
const out = join(repoRoot, 'build', 'metal_emu_test');
const io = join(out, 'io');
const driver = join(out, 'emu_driver');
const clang = 'clang++';
const clangVersion = spawnSync(clang, ['--version'], { encoding: 'utf8' });
const haveClang = clangVersion.status === 0;
const shim = join(emulatorDir, 'msl_shim.h');
const runnable = readdirSync(fixtures).filter((f) => f.endsWith('.metal') && !f.startsWith('refuse_')).sort();

let buildError = '';
beforeAll(async () => {
  if (!haveClang) return;
  try {
    const built = await buildEmulator(runnable.map((f) => join(fixtures, f)), { outDir: out, registryName: 'msl_emu_registry_fixtures' });
    const link = spawnSync(clang, ['-std=c++17', '-O2', '-I', emulatorDir, join(repoRoot, 'tests', 'metal', 'emu_driver.cpp'),
      ...built.objects, '-o', driver, '-lpthread'], { encoding: 'utf8' });
    if (link.status !== 0) buildError = link.stderr;
  } catch (e) {
    buildError = String(e);
  }
  mkdirSync(io, { recursive: true });
}, 120_000);

test('clang++ is installed: the emulator compiles .metal files with it (CI: apt-get install clang)', () => {
  expect(haveClang ? 'found' : `clang++ not found (${clangVersion.error?.message ?? 'no output'})`).toBe('found');
  expect(buildError).toBe('');
});

type Data = Float32Array | Uint32Array | Int32Array;
type Order = 'forward' | 'reverse' | 'shuffle' | 'env';

interface Dispatch {
  kernel: string;
  kind?: 'threads' | 'threadgroups';
  grid: [number, number, number];
  group: [number, number, number];
  order?: Order;
  seed?: number;
  workers?: number;
  buffers?: Record<number, Data>;
  bytes?: Record<number, Data>;
  threadgroup?: Record<number, number>;
  env?: Record<string, string>;
}

interface Result {
  ok: boolean;
  message: string;
  buffers: Record<number, ArrayBuffer>;
}

let runs = 0;
function dispatch(d: Dispatch): Result {
  const id = runs++;
  const args = ['run', d.kernel, d.kind ?? 'threads', ...d.grid.map(String), ...d.group.map(String),
    '--order', d.order ?? 'forward', '--seed', String(d.seed ?? 1), '--workers', String(d.workers ?? 1)];
  const paths: Record<number, string> = {};
  for (const [i, data] of Object.entries(d.buffers ?? {})) {
    const path = join(io, `${id}_buffer${i}.bin`);
    writeFileSync(path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    paths[Number(i)] = path;
    args.push('--buffer', `${i}:${path}`);
  }
  for (const [i, data] of Object.entries(d.bytes ?? {})) {
    const path = join(io, `${id}_bytes${i}.bin`);
    writeFileSync(path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    args.push('--bytes', `${i}:${path}`);
  }
  for (const [i, length] of Object.entries(d.threadgroup ?? {})) args.push('--threadgroup', `${i}:${length}`);
  const r = spawnSync(driver, args, { encoding: 'utf8', env: { ...process.env, ...d.env } });
  const buffers: Record<number, ArrayBuffer> = {};
  for (const [i, path] of Object.entries(paths)) {
    if (!existsSync(`${path}.out`)) continue; /* refused before running */
    const bytes = readFileSync(`${path}.out`);
    buffers[Number(i)] = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }
  return { ok: r.status === 0, message: (r.stdout + r.stderr).trim(), buffers };
}

function must(d: Dispatch): Record<number, ArrayBuffer> {
  const r = dispatch(d);
  if (!r.ok) throw new Error(`${d.kernel}: ${r.message}`);
  return r.buffers;
}

const f32 = (b: ArrayBuffer | undefined): Float32Array => new Float32Array(b as ArrayBuffer);
const u32 = (b: ArrayBuffer | undefined): Uint32Array => new Uint32Array(b as ArrayBuffer);
const i32 = (b: ArrayBuffer | undefined): Int32Array => new Int32Array(b as ArrayBuffer);

function randomFloats(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => r());
}

function randomUints(n: number, seed: number, below: number): Uint32Array {
  const r = seededRandom(seed);
  return Uint32Array.from({ length: n }, () => Math.floor(r() * below));
}

/** left-to-right float sum, as the emulator's simd_sum combines lanes */
function sequentialSum(values: ArrayLike<number>): number {
  const acc = new Float32Array(1);
  acc[0] = values[0] as number;
  for (let i = 1; i < values.length; i++) acc[0] = (acc[0] as number) + (values[i] as number);
  return acc[0] as number;
}

const ORDERS: Order[] = ['forward', 'reverse', 'shuffle'];

describe('generator', () => {
  test('parses kernel names, buffer indices (numbers and macros), const-ness, threadgroup and position parameters', () => {
    const src = `
      #define ARGS_INDEX 3
      struct Args { uint n; };
      kernel void k(device const float* a [[buffer(0)]], const device float4* b [[buffer(1)]],
                    device atomic_uint* counts [[buffer(2)]], constant Args& args [[buffer(ARGS_INDEX)]],
                    device float* const out [[buffer(4)]], threadgroup float* scratch [[threadgroup(1)]],
                    uint2 gid [[thread_position_in_grid]], ushort lane [[thread_index_in_simdgroup]]) {}
      kernel void plain(device float* x [[buffer(0)]], uint i [[thread_position_in_grid]]) { x[i] = 2.0f * x[i]; }`;
    const [k, plain] = parseMetalSource(src, 'inline.metal');
    expect(k?.name).toBe('k');
    expect(k?.buffers.map((b) => [b.index, b.name, b.isConst, b.isReference])).toEqual([
      [0, 'a', true, false], [1, 'b', true, false], [2, 'counts', false, false], [3, 'args', true, true], [4, 'out', false, false],
    ]);
    expect(k?.buffers[0]?.type).toBe('device const float*');
    expect(k?.threadgroups).toEqual([{ index: 1, name: 'scratch', type: 'threadgroup float*' }]);
    expect(k?.positions.map((p) => [p.attribute, p.type])).toEqual([['thread_position_in_grid', 'uint2'], ['thread_index_in_simdgroup', 'ushort']]);
    expect(k?.usesSync).toBe(true);
    expect(plain?.usesSync).toBe(false);
  });

  test('usesSync follows calls through helper functions and macros, and stays false for arithmetic helpers', () => {
    const src = `
      static float warp_total(float v) { return simd_sum(v); }
      static float twice(float v) { return 2.0f * v; }
      #define SYNC_ALL() threadgroup_barrier(mem_flags::mem_threadgroup)
      float outer(float v) { return warp_total(v) + 1.0f; }
      kernel void via_helper(device float* x [[buffer(0)]], uint i [[thread_position_in_grid]]) { x[i] = outer(x[i]); }
      kernel void via_macro(device float* x [[buffer(0)]], uint i [[thread_position_in_grid]]) { SYNC_ALL(); }
      kernel void arithmetic(device float* x [[buffer(0)]], uint i [[thread_position_in_grid]]) { x[i] = twice(x[i]); }`;
    expect(parseMetalSource(src).map((k) => [k.name, k.usesSync])).toEqual([['via_helper', true], ['via_macro', true], ['arithmetic', false]]);
  });

  test('refuses SS_THREADGROUP_ARRAY in a helper function (Metal: threadgroup variables at kernel scope only)', () => {
    const path = join(out, 'helper_array.metal');
    mkdirSync(out, { recursive: true });
    writeFileSync(path, `
      static float helper(uint i) { SS_THREADGROUP_ARRAY(float, tile, 32); tile[i] = 1.0f; return tile[i ^ 1u]; }
      kernel void k(device float* x [[buffer(0)]], uint i [[thread_index_in_threadgroup]]) {
        SS_THREADGROUP_ARRAY(float, ok, 32);
        ok[i] = helper(i);
      }`);
    const problems = scanMetalFiles([path]).problems.map((p) => `${p.line}: ${p.message}`);
    expect(problems).toEqual([
      '2: SS_THREADGROUP_ARRAY outside a kernel function: Metal declares threadgroup variables at kernel scope only; pass a threadgroup pointer to the helper',
    ]);
  });

  test('flags unsuffixed floating literals (1.0, 1e-3, .5, 0x1p3) but not 1.0f, 0.5h, 0x1p-3f, integers or text in comments', () => {
    const src = 'float a = 1.0 + 1e-3 + .5 + 0x1p3; // 2.0 in a comment\nfloat b = 1.0f + 0.5h + 0x1p-3f + 3 + 0x1f + 10u;';
    expect(findUnsuffixedFloatLiterals(src).map((l) => [l.line, l.text])).toEqual([[1, '1.0'], [1, '1e-3'], [1, '.5'], [1, '0x1p3']]);
  });

  test('refuses threadgroup variables declared with the keyword and unsuffixed literals, naming file and line', () => {
    const scan = scanMetalFiles([join(fixtures, 'refuse_source_rules.metal')]);
    const messages = scan.problems.map((p) => `${p.line}: ${p.message}`);
    expect(messages.some((m) => m.startsWith('6: a threadgroup variable') && m.includes('SS_THREADGROUP_ARRAY'))).toBe(true);
    expect(messages.some((m) => m.startsWith('7: unsuffixed floating literal 0.5'))).toBe(true);
    expect(messages.some((m) => m.startsWith('9: unsuffixed floating literal 1e-3'))).toBe(true);
    expect(messages.length).toBe(3);
  });

  test('the runnable fixtures break no source rule, and the generated registry lists every kernel once', () => {
    const gen = generateEmulatorSources(runnable.map((f) => join(fixtures, f)), join(out, 'gen_check'), { registryName: 'check' });
    expect(gen.problems).toEqual([]);
    const registry = readFileSync(gen.sources[gen.sources.length - 1] as string, 'utf8');
    for (const k of gen.kernels) expect(registry.split(`{"${k.name}", msl_emu_entry_${k.name},`).length).toBe(2);
  });
});

describe('shim', () => {
  const syntax = (file: string, extra: string[] = []): ReturnType<typeof spawnSync> =>
    spawnSync(clang, ['-std=c++17', '-x', 'c++', '-fsyntax-only', '-include', shim, ...emulatorCompileFlags([join(out, 'include')]), ...extra, file], { encoding: 'utf8' });

  test('every runnable fixture compiles unchanged as a .metal file with clang++ -include msl_shim.h', () => {
    for (const f of runnable) {
      const r = syntax(join(fixtures, f));
      expect(`${f}: ${r.status === 0 ? 'ok' : r.stderr}`).toBe(`${f}: ok`);
    }
  });

  test('double in a kernel fails to compile, naming the rule', () => {
    const r = syntax(join(fixtures, 'refuse_double.metal'));
    expect(r.status).not.toBe(0);
    expect(String(r.stderr)).toContain('msl_emu_error_double_is_not_available_in_Metal');
  });

  test('a 64-bit atomic fails to compile with a static_assert naming the rule', () => {
    const r = syntax(join(fixtures, 'refuse_atomic64.metal'));
    expect(r.status).not.toBe(0);
    expect(String(r.stderr)).toContain('64-bit atomics (atomic<ulong>, atomic_ulong, atomic<long>) are not available in Metal');
  });

  test('float arithmetic with an unsuffixed literal fails to compile (-Werror=double-promotion)', () => {
    const r = syntax(join(fixtures, 'refuse_source_rules.metal'));
    expect(r.status).not.toBe(0);
    expect(String(r.stderr)).toContain('-Werror,-Wdouble-promotion');
  });

  test('vectors, half and struct members read, written and updated through threadgroup (volatile) pointers compile', () => {
    const path = join(io, 'threadgroup_values.metal');
    mkdirSync(io, { recursive: true });
    writeFileSync(path, `
      using namespace metal;
      struct Pair { float a; uint b; };
      kernel void k(device float4* p [[buffer(0)]], threadgroup float4* t [[threadgroup(0)]], threadgroup half* h [[threadgroup(1)]],
                    threadgroup Pair* pairs [[threadgroup(2)]], uint i [[thread_position_in_grid]]) {
        t[i] = p[i];
        float4 v = t[i] + t[i ^ 1u];
        t[i] += v;
        t[i].x += 1.0f;
        float s = t[i][2] + dot(t[i], v) + simd_sum(t[i]).x + length(float3(t[i].x, t[i].y, t[i].z));
        h[i] = s;
        half copy = h[i];
        pairs[i].a = h[i] + float(copy);
        pairs[i].b = 3u;
        threadgroup float4& r = t[i];
        r.y = pairs[i].a;
        p[i] = max(t[i], float4(0.0f));
      }`);
    const r = syntax(path);
    expect(r.status === 0 ? 'ok' : String(r.stderr)).toBe('ok');
  });

  test('vector types have MSL sizes and alignments (float3 16 bytes, packed_float3 12, uchar3 4, half3 8)', () => {
    const path = join(io, 'sizes.metal');
    mkdirSync(io, { recursive: true });
    writeFileSync(path, `
      using namespace metal;
      #define CHECK(T, size, align) static_assert(sizeof(T) == size && alignof(T) == align, #T);
      CHECK(float2, 8, 8) CHECK(float3, 16, 16) CHECK(float4, 16, 16) CHECK(packed_float3, 12, 4) CHECK(packed_float4, 16, 4)
      CHECK(int3, 16, 16) CHECK(uint2, 8, 8) CHECK(uchar3, 4, 4) CHECK(uchar4, 4, 4) CHECK(ushort3, 8, 8) CHECK(half, 2, 2)
      CHECK(half3, 8, 8) CHECK(bool3, 4, 4) CHECK(atomic_uint, 4, 4) CHECK(atomic_int, 4, 4) CHECK(simdgroup_float8x8, 256, 4)
      kernel void k(device float3* p [[buffer(0)]], uint i [[thread_position_in_grid]]) {
        float3 v = float3(1.0f, 2, 3) * 2 + float3(p[i].x);
        float4 w = float4(v, 1.0f) - float4(float2(0.5f), 0.0f, 1.0f);
        int3 j = int3(v) % 3 + (int3(1) << 2);
        p[i] = select(v, float3(w.x, w.y, w.z), v > float3(2.0f)) + float3(j) + normalize(cross(v, float3(0.0f, 1.0f, 0.0f)));
        p[i].y = clamp(dot(v, v), 0.0f, 1.0f) + mix(1.0f, 2.0f, 0.25f) + fma(v.x, v.y, v.z) + float(popcount(7u) + clz(1u) + ctz(8u));
        half h = 1.5h;
        p[i].z = float(h) + as_type<float>(as_type<uint>(v.x)) + float(mulhi(0xffffffffu, 2u)) + rint(2.5f) + round(2.5f);
      }`);
    const r = syntax(path);
    expect(r.status === 0 ? 'ok' : String(r.stderr)).toBe('ok');
  });
});

describe('dispatcher', () => {
  const reduceInput = randomFloats(1000, 11);
  const reduceBytes = { 2: Uint32Array.of(reduceInput.length) };

  test('threadgroup tree reduction with barriers equals the same tree in float32, in every thread order', () => {
    const expected = Float32Array.from({ length: 4 }, (_, g) => {
      const s = new Float32Array(256);
      for (let i = 0; i < 256; i++) s[i] = reduceInput[g * 256 + i] ?? 0;
      for (let h = 128; h > 0; h >>= 1) for (let i = 0; i < h; i++) s[i] = (s[i] as number) + (s[i + h] as number);
      return s[0] as number;
    });
    for (const order of ORDERS) {
      const got = f32(must({ kernel: 'reduce_tree', kind: 'threadgroups', grid: [4, 1, 1], group: [256, 1, 1], order,
        buffers: { 0: reduceInput, 1: new Float32Array(4) }, bytes: reduceBytes, threadgroup: { 0: 1024 } })[1]);
      expect([order, [...got]]).toEqual([order, [...expected]]);
    }
  });

  test('SIMD-group sums combined through an SS_THREADGROUP_ARRAY equal lane-ordered float32 sums, in every order and with 2 workers', () => {
    const expected = Float32Array.from({ length: 4 }, (_, g) => {
      const parts = Array.from({ length: 8 }, (_, s) =>
        sequentialSum(Array.from({ length: 32 }, (_, l) => reduceInput[g * 256 + s * 32 + l] ?? 0)));
      return sequentialSum([...parts, ...new Array(24).fill(0)]);
    });
    for (const [order, workers] of [['forward', 1], ['reverse', 1], ['shuffle', 2]] as [Order, number][]) {
      const got = f32(must({ kernel: 'reduce_simd', kind: 'threadgroups', grid: [4, 1, 1], group: [256, 1, 1], order, workers,
        buffers: { 0: reduceInput, 1: new Float32Array(4) }, bytes: reduceBytes })[1]);
      expect([order, [...got]]).toEqual([order, [...expected]]);
    }
  });

  /* run serially in reverse, a tree reduction happens to be right: each thread finds its partners' subtrees done */
  test('a reduction missing a barrier gives different results in forward and reverse order, forward a wrong one', () => {
    const runOrder = (order: Order, env?: Record<string, string>): number[] => [...f32(must({
      kernel: 'reduce_racy', kind: 'threadgroups', grid: [4, 1, 1], group: [256, 1, 1], order, env,
      buffers: { 0: reduceInput, 1: new Float32Array(4) }, bytes: reduceBytes, threadgroup: { 0: 1024 } })[1])];
    const forward = runOrder('forward');
    const reverse = runOrder('reverse');
    const correct = [...f32(must({ kernel: 'reduce_tree', kind: 'threadgroups', grid: [4, 1, 1], group: [256, 1, 1],
      buffers: { 0: reduceInput, 1: new Float32Array(4) }, bytes: reduceBytes, threadgroup: { 0: 1024 } })[1])];
    expect(forward).not.toEqual(reverse);
    expect(forward).not.toEqual(correct);
    /* the order from SCANSTREAM_METAL_EMU_ORDER */
    expect(runOrder('env', { SCANSTREAM_METAL_EMU_ORDER: 'reverse', SCANSTREAM_METAL_EMU_THREADS: '1' })).toEqual(reverse);
  });

  test('SCANSTREAM_METAL_EMU_ORDER with an unknown value is an error that names the variable', () => {
    const r = dispatch({ kernel: 'reduce_tree', kind: 'threadgroups', grid: [1, 1, 1], group: [256, 1, 1], order: 'env',
      env: { SCANSTREAM_METAL_EMU_ORDER: 'sideways' }, buffers: { 0: reduceInput, 1: new Float32Array(1) }, bytes: reduceBytes, threadgroup: { 0: 1024 } });
    expect(r.ok).toBe(false);
    expect(r.message).toBe("SCANSTREAM_METAL_EMU_ORDER='sideways' is not forward, reverse or shuffle");
  });

  test('ballot compaction and SIMD-group prefix sums over a grid with a partial last threadgroup match the reference', () => {
    const n = 1000, stride = 256, groups = Math.ceil(n / stride);
    const values = randomUints(n, 5, 1000);
    const expectedOut = new Uint32Array(groups * stride).fill(0xffffffff);
    const expectedCounts = new Uint32Array(2 * groups);
    const expectedPrefix = new Uint32Array(2 * n);
    for (let g = 0; g < groups; g++) {
      let kept = 0;
      for (let gid = g * stride; gid < Math.min(n, (g + 1) * stride); gid++) {
        const v = values[gid] as number;
        if (v % 3 === 0) expectedOut[g * stride + kept++] = v;
      }
      expectedCounts[2 * g] = expectedCounts[2 * g + 1] = kept;
    }
    for (let s = 0; s * 32 < n; s++) {
      let sum = 0;
      for (let gid = s * 32; gid < Math.min(n, s * 32 + 32); gid++) {
        expectedPrefix[2 * gid] = sum;
        sum += values[gid] as number;
        expectedPrefix[2 * gid + 1] = sum;
      }
    }
    for (const order of ORDERS) {
      const b = must({ kernel: 'compact', grid: [n, 1, 1], group: [stride, 1, 1], order,
        buffers: { 0: values, 1: new Uint32Array(groups * stride).fill(0xffffffff), 2: new Uint32Array(2 * groups), 3: new Uint32Array(2 * n) },
        bytes: { 4: Uint32Array.of(n, stride) } });
      expect(u32(b[1])).toEqual(expectedOut);
      expect(u32(b[2])).toEqual(expectedCounts);
      expect(u32(b[3])).toEqual(expectedPrefix);
    }
  });

  test('simd_shuffle/_down/_up/_xor, broadcast, sum/min/max, any/all, prefix sums and ballot match the reference per lane', () => {
    const n = 128;
    const v = randomFloats(n, 3);
    const expected = new Float32Array(n * 14);
    for (let gid = 0; gid < n; gid++) {
      const base = gid - (gid % 32), lane = gid % 32;
      const lanes = Array.from({ length: 32 }, (_, l) => v[base + l] as number);
      const at = (l: number): number => lanes[l] as number;
      let ballot = 0;
      for (let l = 0; l < 16; l++) if (at(l) > 0.5) ballot |= 1 << l;
      const row = [at((lane * 7 + 3) & 31), lane + 3 < 32 ? at(lane + 3) : at(lane), lane >= 5 ? at(lane - 5) : at(lane),
        at(lane ^ 6), at(17), at(0), sequentialSum(lanes), Math.min(...lanes), Math.max(...lanes),
        lanes.some((x) => x > Math.fround(0.95)) ? 1 : 0, lanes.every((x) => x > Math.fround(0.05)) ? 1 : 0,
        sequentialSum([0, ...lanes.slice(0, lane + 1)]), sequentialSum([0, ...lanes.slice(0, lane)]), ballot];
      expected.set(row, gid * 14);
    }
    for (const order of ORDERS) {
      const got = f32(must({ kernel: 'simd_functions', grid: [n, 1, 1], group: [64, 1, 1], order,
        buffers: { 0: v, 1: new Float32Array(n * 14) } })[1]);
      expect(got).toEqual(expected);
    }
  });

  test('SIMD-group functions on float4 and int operands', () => {
    const n = 64;
    const v = randomFloats(4 * n, 8);
    const b = must({ kernel: 'simd_vectors', grid: [n, 1, 1], group: [64, 1, 1],
      buffers: { 0: v, 1: new Float32Array(8 * n), 2: new Int32Array(n) } });
    const got = f32(b[1]);
    for (let gid = 0; gid < n; gid++) {
      const base = gid - (gid % 32), other = base + ((gid % 32) ^ 1);
      for (let c = 0; c < 4; c++) {
        expect(got[8 * gid + c]).toBe(v[4 * other + c] as number);
        expect(got[8 * gid + 4 + c]).toBe(sequentialSum(Array.from({ length: 32 }, (_, l) => v[4 * (base + l) + c] as number)));
      }
    }
    expect([...i32(b[2])]).toEqual(new Array(n).fill(-16 + 31000));
  });

  test('32-bit atomics on device memory (add, or, sub, min, max, compare-exchange) from 2 workers give the exact histogram', () => {
    const n = 5000;
    const values = randomUints(n, 21, 1000);
    const bins = new Uint32Array(18);
    for (const v of values) {
      bins[v % 16] = (bins[v % 16] as number) + 1;
      bins[16] = ((bins[16] as number) | (1 << (v % 32))) >>> 0;
    }
    bins[17] = (2 ** 32 - n) >>> 0;
    const b = must({ kernel: 'histogram', grid: [n, 1, 1], group: [64, 1, 1], workers: 2,
      buffers: { 0: values, 1: new Uint32Array(18), 2: Int32Array.of(2 ** 31 - 1, -(2 ** 31)), 3: new Uint32Array(1) },
      bytes: { 4: Uint32Array.of(n) } });
    expect(u32(b[1])).toEqual(bins);
    expect([...i32(b[2])]).toEqual([Math.min(...values) - 500, Math.max(...values) - 500]);
    expect(u32(b[3])[0]).toBe(Math.max(...values));
    const local = must({ kernel: 'histogram_local', grid: [n, 1, 1], group: [128, 1, 1], order: 'shuffle', workers: 2,
      buffers: { 0: values, 1: new Uint32Array(16) }, bytes: { 2: Uint32Array.of(n) } });
    expect(u32(local[1])).toEqual(bins.slice(0, 16));
  });

  test('tiled simdgroup_float8x8 GEMM equals the fma loop bit for bit, and A·Bᵀ through transposed loads too', () => {
    const m = 32, n = 48, k = 40;
    const a = randomFloats(m * k, 31).map((x) => x - 0.5);
    const b = randomFloats(k * n, 32).map((x) => x - 0.5);
    const bt = new Float32Array(n * k);
    for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) bt[c * k + r] = b[r * n + c] as number;
    const args = { 3: Uint32Array.of(m, n, k) };
    const loop = f32(must({ kernel: 'gemm_loop', grid: [n, m, 1], group: [16, 4, 1], buffers: { 0: a, 1: b, 2: new Float32Array(m * n) }, bytes: args })[2]);
    const reference = Float64Array.from({ length: m * n }, (_, i) => {
      let s = 0;
      for (let q = 0; q < k; q++) s += (a[Math.floor(i / n) * k + q] as number) * (b[q * n + (i % n)] as number);
      return s;
    });
    expect(maxRelativeError(loop, reference, 1)).toBeLessThan(1e-5); /* |error| / max(|c|, 1) */
    for (const order of ORDERS) {
      const tiled = f32(must({ kernel: 'gemm_tiled', kind: 'threadgroups', grid: [n / 16, m / 16, 1], group: [128, 1, 1], order,
        buffers: { 0: a, 1: b, 2: new Float32Array(m * n) }, bytes: args })[2]);
      expect(tiled).toEqual(loop);
    }
    const transposed = f32(must({ kernel: 'gemm_transposed', kind: 'threadgroups', grid: [n / 8, m / 8, 1], group: [32, 1, 1],
      buffers: { 0: a, 1: bt, 2: new Float32Array(m * n) }, bytes: args })[2]);
    expect(transposed).toEqual(loop);
  });

  test('dispatchThreads over 37×23 with 8×4 threadgroups: every attribute right, partial edge threadgroups, each thread once', () => {
    const w = 37, h = 23;
    const got = u32(must({ kernel: 'positions_2d', grid: [w, h, 1], group: [8, 4, 1], order: 'shuffle',
      buffers: { 0: new Uint32Array(w * h * 16) }, bytes: { 1: Uint32Array.of(w, h) } })[0]);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const gx = Math.floor(x / 8), gy = Math.floor(y / 4), sx = Math.min(8, w - gx * 8), sy = Math.min(4, h - gy * 4);
        const index = (y % 4) * sx + (x % 8);
        const expected = [x, y, gx, gy, x % 8, y % 4, sx, sy, 5, 6, w, h, index, (index % 32) + 100 * Math.floor(index / 32), 1032, 1];
        expect([x, y, ...got.subarray((y * w + x) * 16, (y * w + x + 1) * 16)]).toEqual([x, y, ...expected]);
      }
  });

  test('dispatchThreadgroups 5×6 of 8×4 covers a 40×24 grid with full threadgroups', () => {
    const w = 40, h = 24;
    const got = u32(must({ kernel: 'positions_2d', kind: 'threadgroups', grid: [5, 6, 1], group: [8, 4, 1],
      buffers: { 0: new Uint32Array(w * h * 16) }, bytes: { 1: Uint32Array.of(w, h) } })[0]);
    for (let i = 0; i < w * h; i++) {
      expect([got[i * 16 + 6], got[i * 16 + 7], got[i * 16 + 10], got[i * 16 + 11], got[i * 16 + 15]]).toEqual([8, 4, w, h, 1]);
    }
  });

  test('3D dispatchThreads 5×4×3 with 2×3×2 threadgroups: positions, partial sizes and linear thread index', () => {
    const size = [5, 4, 3];
    const got = u32(must({ kernel: 'positions_3d', grid: [5, 4, 3], group: [2, 3, 2], order: 'reverse',
      buffers: { 0: new Uint32Array(60 * 4) }, bytes: { 1: Uint32Array.of(5, 4, 3, 0) } })[0]);
    for (let z = 0; z < 3; z++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 5; x++) {
          const g = [Math.floor(x / 2), Math.floor(y / 3), Math.floor(z / 2)];
          const s = [0, 1, 2].map((d) => Math.min([2, 3, 2][d] as number, (size[d] as number) - (g[d] as number) * ([2, 3, 2][d] as number)));
          const index = ((z % 2) * (s[1] as number) + (y % 3)) * (s[0] as number) + (x % 2);
          const i = (z * 4 + y) * 5 + x;
          expect([...got.subarray(i * 4, i * 4 + 4)]).toEqual([
            (g[0] as number) + 10 * (g[1] as number) + 100 * (g[2] as number),
            (s[0] as number) + 10 * (s[1] as number) + 100 * (s[2] as number), index, 1]);
        }
  });
});

describe('errors the dispatcher detects', () => {
  const run = (kernel: string, extra: Partial<Dispatch> = {}): Result =>
    dispatch({ kernel, kind: 'threadgroups', grid: [1, 1, 1], group: [64, 1, 1], buffers: { 0: new Float32Array(64) }, ...extra });

  test('a barrier in divergent control flow is reported with the kernel name and both barriers, not a hang', () => {
    const r = run('divergent_barrier');
    expect(r.ok).toBe(false);
    expect(r.message).toContain("kernel 'divergent_barrier', threadgroup (0,0,0): threadgroup_barrier reached by only some threads");
    expect(r.message).toContain('threads 0-15 at threadgroup_barrier (errors.metal:12, call 1)');
    expect(r.message).toContain('threads 16-63 at threadgroup_barrier (errors.metal:15, call 1)');
  });

  test('a SIMD-group function reached by only some lanes is reported with the SIMD-group and the lanes', () => {
    const r = run('divergent_simd');
    expect(r.ok).toBe(false);
    expect(r.message).toContain("kernel 'divergent_simd', threadgroup (0,0,0), SIMD-group 0: simd_sum reached by only some of its lanes");
    expect(r.message).toContain('lanes 0-7 at simd_sum (errors.metal:23, call 1); lanes 8-31 at simd_max (errors.metal:24, call 1)');
  });

  test('a shuffle that reads a lane which has returned is reported', () => {
    const r = run('shuffle_from_returned_lane');
    expect(r.ok).toBe(false);
    expect(r.message).toContain("kernel 'shuffle_from_returned_lane'");
    expect(r.message).toContain('simd_shuffle_down (errors.metal:31): lane 20 reads lane 24, which has returned or does not exist');
  });

  test('threads that return before a barrier do not block the others', () => {
    const n = 100;
    const got = f32(must({ kernel: 'early_return_then_barrier', kind: 'threadgroups', grid: [2, 1, 1], group: [64, 1, 1], order: 'reverse',
      buffers: { 0: new Float32Array(128).fill(-1) }, bytes: { 1: Uint32Array.of(n) } })[0]);
    const expected = Float32Array.from({ length: 128 }, (_, gid) => (gid >= n ? -1 : gid + ((gid ^ 1) < n ? gid ^ 1 : 0)));
    expect(got).toEqual(expected);
  });

  test('threadgroup memory over 32 KiB is reported with the array name', () => {
    const r = run('too_much_threadgroup_memory');
    expect(r.ok).toBe(false);
    expect(r.message).toContain("the array 'big' (36000 bytes) takes the threadgroup's memory past its limit of 32768 bytes");
  });

  test('an unbound buffer and a threadgroup parameter without a length are refused before running', () => {
    expect(dispatch({ kernel: 'gemm_loop', grid: [8, 8, 1], group: [8, 8, 1] }).message).toBe("kernel 'gemm_loop': buffer(0) 'a' is not bound");
    expect(dispatch({ kernel: 'reduce_tree', kind: 'threadgroups', grid: [1, 1, 1], group: [256, 1, 1],
      buffers: { 0: reduceInputFor(256), 1: new Float32Array(1) }, bytes: { 2: Uint32Array.of(256) } }).message)
      .toBe("kernel 'reduce_tree': threadgroup(0) 'scratch' has no memory length");
    expect(dispatch({ kernel: 'gemm_loop', grid: [8, 8, 1], group: [64, 32, 1] }).message).toContain('together at most 1024');
  });
});

function reduceInputFor(n: number): Float32Array {
  return randomFloats(n, 99);
}
