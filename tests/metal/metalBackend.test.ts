/**
 * The Metal backend as this machine can check it: the one-translation-unit
 * Metal source ScanKit embeds (current, a Swift literal that reads back
 * unchanged, every pipeline the host logic dispatches defined in it and every
 * kernel in it dispatched), and the metal-emu library that runs it (exports
 * the ABI and nothing else, answers ss_kernel_supported from
 * native/metal_host/IMPLEMENTED, fails bad input exactly as the CPU does,
 * and gives the same bits whatever order a threadgroup's threads run in).
 */
import { ptr } from 'bun:ffi';
import { afterAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAbi, readMetalImplemented, root } from '../../scripts/abi.mjs';
import { metalSourceFiles, renderMetalSource, renderSwift, swiftSourcePath } from '../../scripts/gen-metal-source.mjs';
import { emulatorCompileFlags, generateEmulatorSources, parseMetalSource } from '../../scripts/gen-metal-emu';
import { NativeContext, type NativeBuffer } from '../../src/native';
import type { KernelSymbol } from '../../src/native/args';
import { libraryPath } from '../../src/native/library';
import { parityCases, type Outputs } from '../parity/kernels';
import { setEmulatorOrder } from './emulatorOrder';

const abi = readAbi();
const implemented = readMetalImplemented();
const metal = renderMetalSource();
const hostSources = readdirSync(join(root, 'native', 'metal_host')).filter((f) => f.endsWith('.cpp'))
  .map((f) => readFileSync(join(root, 'native', 'metal_host', f), 'utf8'));

describe('the Metal source ScanKit embeds', () => {
  test('swift/Sources/ScanKit/MetalSource.generated.swift is what metal/*.metal generates now (node scripts/gen-metal-source.mjs)', () => {
    expect(existsSync(swiftSourcePath)).toBe(true);
    expect(readFileSync(swiftSourcePath, 'utf8')).toBe(renderSwift(metal.text));
  });

  test('the Swift raw string holds the MSL unchanged, with enough #s for any text', () => {
    const swift = renderSwift(metal.text);
    const open = /let scanKitMetalSource = (#+)"""\n/.exec(swift);
    expect(open).not.toBeNull();
    const hashes = open![1]!;
    const body = swift.slice(open!.index + open![0].length, swift.lastIndexOf(`\n"""${hashes}`));
    expect(`${body}\n`).toBe(metal.text);
    // a delimiter or an escape in the text forces a longer delimiter
    expect(renderSwift('a """# b \\# c\n')).toContain('let scanKitMetalSource = ##"""');
    expect(renderSwift('a """# b \\## c\n')).toContain('let scanKitMetalSource = ###"""');
  });

  test('every #include is inlined (nothing for makeLibrary(source:) to look up) and #line points at the original files', () => {
    const includes = metal.text.split('\n').filter((l) => /^\s*#\s*include/.test(l));
    expect(includes).toEqual(['#include <metal_stdlib>']);
    for (const [, file] of metal.text.matchAll(/^#line \d+ "([^"]+)"$/gm)) expect(existsSync(join(root, file!))).toBe(true);
    // the args structs come from scanstream.h with their C sizes asserted, its host functions do not
    expect(metal.text).toContain('static_assert(sizeof(ss_geotrf_args) == 96');
    expect(metal.text).not.toContain('ss_context_create');
  });

  const haveClang = spawnSync('clang++', ['--version']).status === 0;
  test.skipIf(!haveClang)(`each metal/*.metal file is whole on its own (it includes what it uses; the one unit would hide a missing include)${haveClang ? '' : ' (skipped: no clang++)'}`, () => {
    const dir = join(root, 'build', 'metal_emu_test', 'alone');
    for (const file of metalSourceFiles()) {
      const stem = file.replace(/^.*\//, '').replace(/\.metal$/, '');
      const alone = join(dir, `${stem}.metal`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(alone, renderMetalSource([file]).text);
      const gen = generateEmulatorSources([alone], join(dir, stem), { registryName: `alone_${stem}` });
      expect(gen.problems).toEqual([]);
      const r = spawnSync('clang++', [...emulatorCompileFlags([gen.includeDir]), '-fsyntax-only', gen.sources[0]!], { encoding: 'utf8' });
      expect(`${stem}: ${r.status === 0 ? 'compiles' : r.stderr.slice(0, 2000)}`).toBe(`${stem}: compiles`);
    }
  }, 120_000);

  test('the host logic dispatches exactly the kernels the source defines', () => {
    const kernels = new Set(parseMetalSource(metal.text).map((k) => k.name));
    const used = new Set(hostSources.flatMap((t) => [...t.matchAll(/"(k_\w+)"/g)].map((m) => m[1]!)));
    expect([...used].filter((k) => !kernels.has(k))).toEqual([]);
    expect([...kernels].filter((k) => !used.has(k))).toEqual([]);
    expect(kernels.size).toBeGreaterThan(0);
  });
});

const built = existsSync(libraryPath('metal-emu'));
const why = `metal-emu library not built here (${libraryPath('metal-emu')}; needs clang++)`;

describe.skipIf(!built)(`the metal-emu library${built ? '' : ` (skipped: ${why})`}`, () => {
  const cpu = NativeContext.create({ backend: 'cpu' });
  const emu = built ? NativeContext.create({ backend: 'metal-emu' }) : cpu;
  afterAll(() => {
    emu.destroy();
    cpu.destroy();
  });

  test('exports the whole C ABI and, beyond it, only ss_metal_emu_set_order', () => {
    const nm = spawnSync('nm', ['-D', '--defined-only', libraryPath('metal-emu')], { encoding: 'utf8' });
    expect(nm.status).toBe(0);
    const exported = new Set(nm.stdout.split('\n').map((l) => l.trim().split(/\s+/)[2]).filter((s): s is string => !!s && s.startsWith('ss_')));
    const want = [...abi.core.map((f) => f.name), ...abi.kernels.map((k) => k.symbol), 'ss_metal_emu_set_order'];
    expect([...exported].sort()).toEqual([...new Set(want)].sort());
  });

  test('is metal-emu on unified memory, and runs exactly the kernels native/metal_host/IMPLEMENTED lists', () => {
    expect(emu.backendLabel).toBe('metal-emu');
    expect(emu.unifiedMemory).toBe(true);
    const answers = abi.kernels.map((k) => [k.symbol, emu.lib.symbols.ss_kernel_supported(emu.handle, ptr(Buffer.from(`${k.symbol}\0`)))]);
    expect(answers).toEqual(abi.kernels.map((k) => [k.symbol, implemented.has(k.symbol) ? 1 : 0]));
    expect(emu.lib.symbols.ss_kernel_supported(emu.handle, ptr(Buffer.from('ss_no_such_kernel\0')))).toBe(-1);
    expect(implemented.size).toBeGreaterThan(0);
  });

  /** plausible args per kernel, so that undersized buffers are what fails */
  const plausible: Partial<Record<KernelSymbol, Record<string, number | number[]>>> = {
    ss_depth_to_points: { width: 8, height: 6, fx: 5, fy: 5, cx: 4, cy: 3, max_depth: 10 },
    ss_points_to_normals: { width: 8, height: 6, max_jump: 0.1 },
    ss_depth_pyramid_down: { src_width: 8, src_height: 6, max_diff: 0.1 },
    ss_image_pyramid_down: { src_width: 8, src_height: 6, channels: 3 },
    ss_geotrf: { count: 10, dim: 3, t: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] },
    ss_mast3r_depthmap_to_pts3d: { width: 8, height: 6, batch: 2 },
    ss_rgb_to_gray: { width: 8, height: 6 },
    ss_tsdf_touched_blocks: { width: 8, height: 6, stride: 1, hash_capacity: 64, max_out: 16, fx: 5, fy: 5, cx: 4, cy: 3,
      cam_to_world: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], voxel_size: 0.01, sdf_trunc: 0.04, min_depth: 0.1, max_depth: 4 },
    ss_tsdf_integrate: { width: 8, height: 6, block_count: 3, fx: 5, fy: 5, cx: 4, cy: 3, world_to_cam: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
      voxel_size: 0.01, sdf_trunc: 0.04, max_weight: 64, max_depth: 4 },
    ss_tsdf_mesh_blocks: { block_count: 3, hash_mask: 15, capacity: 64, voxel_size: 0.01 },
    ss_tsdf_raycast: { width: 8, height: 6, hash_mask: 15, fx: 5, fy: 5, cx: 4, cy: 3, cam_to_world: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
      voxel_size: 0.01, sdf_trunc: 0.04, min_depth: 0.1, max_depth: 4 },
    ss_tsdf_clear_blocks: { block_count: 3 },
    ss_tsdf_hash_scatter: { count: 3, hash_mask: 15 },
    ss_tsdf_hash_lookup: { count: 3, hash_mask: 15 },
    ss_tsdf_raycast_guided: { width: 8, height: 6, hash_mask: 15, fx: 5, fy: 5, cx: 4, cy: 3, cam_to_world: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
      voxel_size: 0.01, sdf_trunc: 0.04, min_depth: 0.1, max_depth: 4, band: 0.1 },
    ss_icp_reduce: { width: 8, height: 6, use_color: 1, fx: 5, fy: 5, cx: 4, cy: 3, cur_to_ref: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], max_dist: 0.1 },
    ss_orb_extract: { width: 80, height: 60, levels: 2, max_features: 10, fast_threshold: 20, fast_min_threshold: 7, grid_cell: 16, edge: 19,
      scale_factor: 1.2, harris_k: 0.04 },
    ss_hamming_match: { n: 4, m: 5, words: 8, max_distance: 64, ratio: 0.9 },
    ss_float_match: { n: 4, m: 5, dim: 8, dist: 1, threshold: 1, ratio: 0.9 },
    ss_plane_sweep: { width: 16, height: 12, views: 1, planes: 8, radius: 2, fx: 10, fy: 10, cx: 8, cy: 6, min_depth: 1, max_depth: 4,
      ref_to_src: [1, 0, 0, 0.1, 0, 1, 0, 0, 0, 0, 1, 0, ...new Array<number>(36).fill(0)] },
    ss_mast3r_reciprocal_nn: { n: 4, m: 5, dim: 24, dist: 0 },
    ss_mast3r_desc_index: { width: 8, height: 6, dim: 24, dist: 0 },
    ss_mast3r_nn_query: { count: 3, width: 8, height: 6, dim: 24, db_width: 8, db_height: 6, dist: 0 },
    ss_mast3r_triangulate: { batch: 1, cams: 2, points: 5 },
    ss_mast3r_matches_to_depths: { batch: 1, views: 2, width: 8, height: 6 },
    ss_mast3r_refine_depths_tsdf: { images: 2, width: 8, height: 6, samples: 4, tau: 0.05 },
    ss_mast3r_similarity: { batch: 1, n: 4, m: 5, dim: 24 },
    ss_mast3r_infonce: { batch: 1, n: 4, dim: 24, temperature: 0.05, eps: 1e-8 },
  };

  /** status and message of one call on a context, with every buffer 4 bytes of zeros */
  function attempt(ctx: NativeContext, kernel: KernelSymbol, values: Record<string, number | number[]>): string {
    const spec = abi.kernels.find((k) => k.symbol === kernel)!;
    const bufs: Record<string, NativeBuffer> = {};
    for (const b of spec.buffers) bufs[b.name] = ctx.buffer(4);
    try {
      const status = ctx.call(kernel, values as never, bufs as never, [1, 2, 3, 4, 5, 6]);
      return `${status} ${status === 0 ? '' : ctx.lastError()}`;
    } finally {
      for (const b of Object.values(bufs)) b.destroy();
    }
  }

  test('bad input fails as on the CPU: the same status and message (native/common/checks.h)', () => {
    for (const kernel of [...implemented] as KernelSymbol[]) {
      const args = plausible[kernel];
      if (!args) throw new Error(`${kernel}: add plausible args to this test`);
      for (const values of [{}, args, { ...args, fx: -1, voxel_size: 0 }]) {
        const filtered = Object.fromEntries(Object.entries(values).filter(([f]) => abi.kernels.find((k) => k.symbol === kernel)!.fields.some((x) => x.name === f)));
        const onEmu = attempt(emu, kernel, filtered);
        expect(`${kernel}: ${onEmu}`).toBe(`${kernel}: ${attempt(cpu, kernel, filtered)}`);
        if (values === args) expect(onEmu.startsWith('1 ')).toBe(true); // the buffers are too small
      }
      const status = (emu.lib.symbols[kernel] as unknown as (...a: unknown[]) => number)(emu.handle, null, ...abi.kernels.find((k) => k.symbol === kernel)!.buffers.map(() => null));
      expect(`${status} ${emu.lastError()}`).toBe(`1 ${kernel}: args is null`);
    }
  });

  test('touched blocks over a span of thousands of blocks (several 32-bit key windows) are the CPU\'s list', () => {
    // 0.5 mm voxels (4 mm blocks), depths to 20 m across a ±1 rad field of view: x spans ~10,000 blocks, 5 windows
    const w = 64, h = 48;
    const depth = Float32Array.from({ length: w * h }, (_, i) => 2 + 18 * (((i * 7919) % 97) / 96));
    const args = { width: w, height: h, stride: 3, hash_capacity: 4096, max_out: 2048, fx: 32, fy: 32, cx: 31.5, cy: 23.5,
      cam_to_world: [0.8, -0.6, 0, 0.3, 0.6, 0.8, 0, -0.2, 0, 0, 1, 0.1], voxel_size: 0.0005, sdf_trunc: 0.002, min_depth: 0.1, max_depth: 25 };
    const run = (ctx: NativeContext): number[] => {
      const d = ctx.bufferFrom(depth), scratch = ctx.buffer(4096 * 8), out = ctx.buffer(2048 * 12), counts = ctx.buffer(8);
      try {
        ctx.call('ss_tsdf_touched_blocks', args, { depth: d, scratch, out, counts });
        const c = counts.download().u32(0, 2);
        return [c[0]!, c[1]!, ...out.download().i32(0, 3 * c[0]!)];
      } finally {
        for (const b of [d, scratch, out, counts]) b.destroy();
      }
    };
    const mine = run(emu), theirs = run(cpu);
    expect(mine[0]).toBeGreaterThan(100);
    const xs = theirs.slice(2).filter((_, i) => i % 3 === 0);
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(2 * 2048);
    expect(mine).toEqual(theirs);
  });

  /** the parity cases that run wholly on the emulator */
  const onEmu = parityCases.filter((c) => c.symbols.every((s) => implemented.has(s)));
  const bits = (o: Outputs): Record<string, number[]> =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))]));
  for (const c of onEmu) {
    test(`${c.name}: the same bits with each threadgroup's threads forward, reversed and shuffled`, () => {
      const ctx = NativeContext.create({ backend: 'metal-emu' });
      try {
        setEmulatorOrder(ctx, 'forward');
        const forward = bits(c.run(ctx, 5));
        for (const [order, seed] of [['reverse', 1], ['shuffle', 7]] as const) {
          setEmulatorOrder(ctx, order, seed);
          expect(bits(c.run(ctx, 5))).toEqual(forward);
        }
      } finally {
        ctx.destroy();
      }
    });
  }
});
