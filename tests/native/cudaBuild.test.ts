/**
 * The CUDA backend keeps compiling on machines without a GPU (CI): nvcc builds
 * it into build/cuda-check (not build/cuda, which `auto` would then try), and
 * the library exports every function of the C ABI — the kernels it runs and
 * the ones it answers SS_ERR_UNSUPPORTED for, generated from the kernel table.
 */
import { expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { readAbi } from '../../scripts/abi.mjs';

const root = resolve(import.meta.dir, '..', '..');
const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' });
const hasNvcc = nvcc.status === 0;

test.skipIf(!hasNvcc)(`the CUDA library builds with nvcc${hasNvcc ? '' : ' (skipped: nvcc is not installed here)'} and exports every ABI function`, () => {
  const dir = join(root, 'build', 'cuda-check');
  const run = (args: string[]): void => {
    const r = spawnSync('cmake', args, { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) console.error(r.stdout.slice(-4000), r.stderr.slice(-4000));
    expect(r.status).toBe(0);
  };
  // sm_90 PTX only: the check is that it compiles, not a fat binary
  run(['-S', 'native/cuda', '-B', dir, '-DCMAKE_BUILD_TYPE=Release', '-DCMAKE_CUDA_ARCHITECTURES=90-virtual']);
  run(['--build', dir, '--parallel']);
  const nm = spawnSync('nm', ['-D', '--defined-only', join(dir, 'libscanstream_cuda.so')], { encoding: 'utf8' });
  expect(nm.status).toBe(0);
  const exported = new Set(nm.stdout.split('\n').map((l) => l.trim().split(/\s+/)[2]).filter(Boolean));
  const abi = readAbi();
  const missing = [...abi.core.map((f) => f.name), ...abi.kernels.map((k) => k.symbol)].filter((s) => !exported.has(s));
  expect(missing).toEqual([]);
}, 600_000);
