/**
 * native/compat/metal_ieee.h: the float64 arithmetic and the correctly rounded float division and square
 * root that Metal's kernels compute in integers must equal IEEE's bit for bit (CUDA uses the hardware's).
 * The header is compiled as plain C++ (tests/metal/ieee_check.cpp) and held to this host's IEEE results.
 */
import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dir, '..', '..');
const out = join(root, 'build', 'metal_emu_test');
const cxx = spawnSync('clang++', ['--version']).status === 0 ? 'clang++' : 'c++';

test('metal_ieee.h: float64 add, subtract, multiply, compare, conversions, and float division and square root are IEEE\'s', () => {
  mkdirSync(out, { recursive: true });
  const exe = join(out, 'ieee_check');
  // contraction off: the reference side must round every operation too
  const build = spawnSync(cxx, ['-std=c++17', '-O2', '-ffp-contract=off', join(root, 'tests', 'metal', 'ieee_check.cpp'), '-o', exe], { encoding: 'utf8' });
  expect(build.stderr).toBe('');
  expect(build.status).toBe(0);
  const run = spawnSync(exe, ['400000'], { encoding: 'utf8' });
  expect(run.stdout.trim()).toMatch(/^ok \d+$/);
  expect(run.status).toBe(0);
}, 120_000);
