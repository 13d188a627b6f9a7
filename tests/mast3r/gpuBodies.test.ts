/**
 * The MASt3R GPU bodies without a GPU. The parity suite runs them as Metal
 * shapes them (metal-emu); these two checks cover what it cannot:
 *  - mast3r_x64_add (native/kernels/mast3r_real.h) as Metal computes it, in
 *    64-bit integers, equals this host's float64 bit for bit (the re-rank
 *    that makes Metal's nearest neighbours the CPU's);
 *  - the CUDA shape of the bodies (128 × 128 tiles, 256 threads, the register
 *    tile step, and the tensor-core nearest-neighbour scan of
 *    mast3r_nn_tc_gpu.h with its MMAs emulated), each block's threads run as
 *    fibers meeting at every barrier in forward and reverse order, gives the
 *    CPU's exact answers.
 * Both are compiled as plain C++ (tests/mast3r/gpu/).
 */
import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dir, '..', '..');
const out = join(root, 'build', 'mast3r_gpu_test');
const cxx = spawnSync('clang++', ['--version']).status === 0 ? 'clang++' : 'c++';
// contraction off: the float64 reference must round every operation
const flags = ['-std=c++17', '-O2', '-ffp-contract=off', '-Wno-unknown-pragmas'];
const includes = ['native/metal_emu', 'native/include', 'native/kernels'].map((d) => `-I${join(root, d)}`);

function buildAndRun(name: string, sources: string[], args: string[] = []): string {
  mkdirSync(out, { recursive: true });
  const exe = join(out, name);
  const build = spawnSync(cxx, [...flags, ...includes, ...sources.map((s) => join(root, s)), '-o', exe], { encoding: 'utf8' });
  if (build.status !== 0) console.error(build.stderr);
  expect(build.status).toBe(0);
  const run = spawnSync(exe, args, { encoding: 'utf8' });
  if (run.status !== 0) console.error(run.stdout, run.stderr);
  expect(run.status).toBe(0);
  return run.stdout.trim();
}

test('mast3r_x64_add in integers (Metal) is float64 addition of exact float32 products, bit for bit', () => {
  expect(buildAndRun('x64_check', ['tests/mast3r/gpu/x64_check.cpp'], ['100000'])).toMatch(/^ok \d+$/);
}, 120_000);

test('the CUDA shape of the nearest-neighbour (FFMA and tensor-core), similarity and InfoNCE bodies gives the CPU\'s answers in any thread order', () => {
  const text = buildAndRun('cuda_shape', ['tests/mast3r/gpu/cuda_shape.cpp', 'native/metal_emu/fiber.cpp']);
  console.log(text);
  expect(text.endsWith('ok')).toBe(true);
}, 120_000);
