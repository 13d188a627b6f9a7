/**
 * The Python package on partial backends, as src/native/context.ts runs them: the
 * stand-in library (the CPU library claiming only point maps and TSDF) with shared
 * memory and with CUDA-like mirrored memory. Kernels it lacks run on the CPU (over
 * the caller's arrays themselves, or over the backend's buffers with download →
 * CPU → upload where memory is mirrored) with results equal to the CPU's; `auto`
 * with a GPU library that cannot start falls back to the CPU with a note.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { depthmapToPts3d, fastReciprocalNN, geotrf, reciprocalNN, similarities, type NdArray } from '../../src/mast3r';
import { randomUnitRows, syntheticDescriptorPair } from '../../src/mast3r/synthetic';
import { libraryPath, projectRoot } from '../../src/native/library';
import { Job, numbers, python, pythonEnv, pythonStatus, runPython } from './harness';

const py = pythonStatus();
const suffix = process.platform === 'darwin' ? 'dylib' : 'so';
const standin = join(projectRoot, 'build', 'cpu', `libscanstream_standin.${suffix}`);
const D = 24;

describe.skipIf(py.missing !== null)(`scanstream.mast3r on the partial stand-in backend${py.missing ? ` (skipped: ${py.missing})` : ''}`, () => {
  const a = { data: randomUnitRows(130, D, 1), shape: [130, D] };
  const b = { data: randomUnitRows(257, D, 2), shape: [257, D] };
  const [m1, m2] = syntheticDescriptorPair(40, 48, D, 3);
  const depth: NdArray = { data: Float32Array.from({ length: 2 * 5 * 7 }, (_, i) => (i % 9) - 2), shape: [2, 5, 7] };
  const T: NdArray = { data: Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + 1)), shape: [4, 4] };
  const pts: NdArray = { data: Float32Array.from({ length: 90 }, (_, i) => Math.cos(i)), shape: [30, 3] };
  const want = {
    bf: reciprocalNN(a, b, { dist: 'dot' }),
    fast: fastReciprocalNN(m1, m2, { dist: 'dot' }),
    sim: similarities(m1, m2),
    depth: depthmapToPts3d(depth, [300, 310]),
    geotrf: geotrf(T, pts, { norm: true }),
  };

  for (const [mode, code] of [['shared', 'cpu'], ['mirrored', 'cuda']] as const) {
    describe(`${mode} memory`, () => {
      const job = new Job();
      job.add({ id: 'bf', fn: 'bruteforce_reciprocal_nns', args: [job.arr(a), job.arr(b)], kwargs: { dist: 'dot' } });
      job.add({ id: 'fast', fn: 'fast_reciprocal_NNs', args: [job.arr(m1), job.arr(m2)], kwargs: { dist: 'dot' } });
      job.add({ id: 'sim', fn: 'get_similarities', args: [job.arr(m1), job.arr(m2)] });
      job.add({ id: 'depth', fn: 'depthmap_to_pts3d', args: [job.arr(depth), { tuple: [300, 310] }] });
      job.add({ id: 'geotrf', fn: 'geotrf', args: [job.arr(T), job.arr(pts)], kwargs: { norm: true } });
      beforeAll(() => job.run({}, { backend: code, library: standin }));
      afterAll(() => job.cleanup());

      test(`the stand-in runs as ${mode === 'shared' ? 'cpu-standin' : 'cpu-standin-mirrored'}, lacking the MASt3R kernels`, () => {
        expect(job.backend?.backend).toBe(mode === 'shared' ? 'cpu-standin' : 'cpu-standin-mirrored');
        expect(job.backend?.unified_memory).toBe(mode === 'shared');
        expect(job.backend?.cpu_fallback_kernels).toContain('ss_mast3r_nn_query');
        expect(job.backend?.cpu_fallback_kernels).not.toContain('ss_geotrf');
      });
      test('kernels it lacks equal the CPU results, run on the CPU over the arrays in place', () => {
        expect(numbers(job.outputs('bf').arrays[0] as NdArray)).toEqual(Array.from(want.bf.nnA));
        expect(numbers(job.outputs('bf').arrays[1] as NdArray)).toEqual(Array.from(want.bf.nnB));
        expect(numbers(job.outputs('fast').arrays[0] as NdArray)).toEqual(Array.from(want.fast.xy1));
        expect(numbers(job.outputs('fast').arrays[1] as NdArray)).toEqual(Array.from(want.fast.xy2));
        expect(numbers(job.outputs('sim').arrays[0] as NdArray)).toEqual(Array.from(want.sim.data));
        expect(numbers(job.outputs('depth').arrays[0] as NdArray)).toEqual(Array.from(want.depth.pts.data));
        for (const [id, kernel] of [['bf', 'ss_mast3r_reciprocal_nn'], ['fast', 'ss_mast3r_nn_query'], ['sim', 'ss_mast3r_similarity'], ['depth', 'ss_mast3r_depthmap_to_pts3d']]) {
          const s = job.result(id as string).stats;
          expect(s?.fallback_kernels).toContain(kernel as string);
          expect(s?.copied_bytes).toBe(0);
          expect(s?.fallback_bytes).toBe(0);
        }
      });
      test(`a kernel it runs (geotrf) runs there: ${mode === 'shared' ? 'in place' : 'inputs copied in, the result copied back'}`, () => {
        expect(numbers(job.outputs('geotrf').arrays[0] as NdArray)).toEqual(Array.from(want.geotrf.data));
        const s = job.result('geotrf').stats;
        expect(s?.fallback_calls).toBe(0);
        if (mode === 'shared') expect(s?.copied_bytes).toBe(0);
        // pts in, the 30×3 result back (T travels in the args struct)
        else expect(s?.copied_bytes).toBe(2 * 30 * 3 * 4);
      });
      test(`the fallback over the backend's own buffers: ${mode === 'shared' ? 'no bytes moved' : 'download → CPU → upload'}`, () => {
        const r = JSON.parse(runPython([join(projectRoot, 'tests', 'python', 'native_check.py'), standin, code]).stdout) as Record<string, unknown>;
        expect(r.lacks_similarity).toBe(true);
        expect(r.runs_geotrf).toBe(true);
        expect(r.equal).toBe(true);
        expect(r.fallback_calls).toBe(1);
        // mirrored: a, b and out downloaded (2·30·24 + 2·20·24 + 2·30·20 floats), out uploaded
        expect(r.fallback_bytes).toBe(mode === 'shared' ? 0 : (2 * 30 * 24 + 2 * 20 * 24 + 2 * 2 * 30 * 20) * 4);
      });
    });
  }

  describe('backend choice', () => {
    const root = mkdtempSync(join(tmpdir(), 'scanstream-root-'));
    beforeAll(() => {
      // a checkout whose CUDA library is built but cannot load here
      mkdirSync(join(root, 'native', 'include'), { recursive: true });
      mkdirSync(join(root, 'build', 'cpu'), { recursive: true });
      mkdirSync(join(root, 'build', 'cuda'), { recursive: true });
      writeFileSync(join(root, 'native', 'include', 'scanstream.h'), '');
      symlinkSync(libraryPath('cpu'), join(root, 'build', 'cpu', `libscanstream_cpu.${suffix}`));
      writeFileSync(join(root, 'build', 'cuda', `libscanstream_cuda.${suffix}`), 'not a library');
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    const info = 'import json, scanstream; print(json.dumps(scanstream.backend_info()))';

    test('auto: a GPU library that cannot start falls back to the CPU, saying why', () => {
      const r = spawnSync(python, ['-c', info], { env: pythonEnv({ SCANSTREAM_ROOT: root, SCANSTREAM_BACKEND: undefined, SCANSTREAM_LIB: undefined }), encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).backend).toBe('cpu');
      expect(r.stderr).toContain('the cuda backend is built but cannot start here');
    });
    test('an explicit SCANSTREAM_BACKEND=cuda that cannot start fails with the reason', () => {
      const r = spawnSync(python, ['-c', info], { env: pythonEnv({ SCANSTREAM_ROOT: root, SCANSTREAM_BACKEND: 'cuda', SCANSTREAM_LIB: undefined }), encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('NativeLoadError: could not load');
    });
    test('SCANSTREAM_BACKEND must name a backend', () => {
      const r = spawnSync(python, ['-c', info], { env: pythonEnv({ SCANSTREAM_BACKEND: 'gpu' }), encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("SCANSTREAM_BACKEND must be cpu, cuda, metal, metal-emu, auto; got 'gpu'");
    });
    test('SCANSTREAM_LIB names the library directly', () => {
      const r = spawnSync(python, ['-c', info], { env: pythonEnv({ SCANSTREAM_LIB: standin, SCANSTREAM_BACKEND: 'cpu' }), encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout).library).toBe(standin);
    });
  });
});
