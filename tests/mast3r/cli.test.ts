import { afterAll, beforeAll, describe, expect, spyOn, test, type Mock } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../../src/cli/mast3r';
import { batchedTriangulate, depthmapToPts3d, fastReciprocalNN, reciprocalNN, refineDepthsTSDF } from '../../src/mast3r';
import { readNpy, writeNpy } from '../../src/mast3r/npy';
import { randomUnitRows, syntheticDescriptorPair } from '../../src/mast3r/synthetic';
import { refReciprocalNN } from './reference';

const D = 24;
let dir = '';
let errors: Mock<(...a: unknown[]) => void>;
let stderr: Mock<typeof process.stderr.write>;
const at = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ss-mast3r-cli-'));
  errors = spyOn(console, 'error').mockImplementation(() => {});
  stderr = spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterAll(() => {
  errors.mockRestore();
  stderr.mockRestore();
  rmSync(dir, { recursive: true, force: true });
});

const ints = (p: string): number[] => {
  const a = readNpy(p);
  expect(a.data).toBeInstanceOf(BigInt64Array);
  return Array.from(a.data as BigInt64Array, Number);
};

describe('scanstream mast3r … round trips through .npy files', () => {
  test('reciprocal-nn: int64 outputs equal the reference, float64 input accepted', async () => {
    const a = randomUnitRows(70, D, 1), b = randomUnitRows(90, D, 2);
    writeNpy(at('A.npy'), { data: Float64Array.from(a), shape: [70, D] });
    writeNpy(at('B.npy'), { data: b, shape: [90, D] });
    for (const dist of ['dot', 'l2'] as const) {
      expect(await run(['reciprocal-nn', at('A.npy'), at('B.npy'), '--dist', dist, '--block', '32', '--out', at(`r_${dist}`)])).toBe(0);
      const ref = refReciprocalNN(a, b, 70, 90, D, dist);
      expect(ints(at(`r_${dist}.nn_a.npy`))).toEqual(Array.from(ref.nnA));
      expect(ints(at(`r_${dist}.nn_b.npy`))).toEqual(Array.from(ref.nnB));
    }
  });
  test('fast-reciprocal-nn: N×2 (x, y) int64, as the API gives', async () => {
    const [m1, m2] = syntheticDescriptorPair(40, 48, D, 3);
    writeNpy(at('m1.npy'), m1);
    writeNpy(at('m2.npy'), m2);
    expect(await run(['fast-reciprocal-nn', at('m1.npy'), at('m2.npy'), '--subsample', '4', '--max-iter', '6', '--out', at('f')])).toBe(0);
    const api = fastReciprocalNN(m1, m2, { subsample: 4, maxIter: 6 });
    const xy1 = readNpy(at('f.xy1.npy'));
    expect(xy1.shape).toEqual([api.count, 2]);
    expect(ints(at('f.xy1.npy'))).toEqual(Array.from(api.xy1));
    expect(ints(at('f.xy2.npy'))).toEqual(Array.from(api.xy2));
    expect(await run(['fast-reciprocal-nn', at('m1.npy'), at('m2.npy'), '--pixel-tol', '3', '--dist', 'l2', '--out', at('g')])).toBe(0);
    expect(ints(at('g.xy1.npy'))).toEqual(Array.from(fastReciprocalNN(m1, m2, { pixelTol: 3, dist: 'l2' }).xy1));
  });
  test('depthmap-to-pts3d with and without a principal point', async () => {
    const depth = Float32Array.from({ length: 2 * 6 * 8 }, (_, i) => 1 + (i % 5) * 0.25);
    writeNpy(at('depth.npy'), { data: depth, shape: [2, 6, 8] });
    expect(await run(['depthmap-to-pts3d', at('depth.npy'), '--fx', '300', '--fy', '310', '--out', at('pts.npy')])).toBe(0);
    expect(Array.from(readNpy(at('pts.npy')).data as Float32Array)).toEqual(Array.from(depthmapToPts3d({ data: depth, shape: [2, 6, 8] }, [300, 310]).pts.data));
    expect(await run(['depthmap-to-pts3d', at('depth.npy'), '--fx', '300', '--fy', '310', '--cx', '1', '--cy', '2', '--out', at('pts2.npy')])).toBe(0);
    const p = readNpy(at('pts2.npy'));
    expect(p.shape).toEqual([2, 6, 8, 3]);
    expect(p.data[0]).toBeCloseTo((1 * (0 - 1)) / 300, 6);
  });
  test('triangulate', async () => {
    const P = Float32Array.of(500, 0, 100, 0, 0, 500, 80, 0, 0, 0, 1, 0, 500, 0, 100, -50, 0, 500, 80, 0, 0, 0, 1, 0);
    const pts = Float32Array.of(100, 80, 150, 130, 50, 80, 100, 130);
    writeNpy(at('p2.npy'), { data: pts, shape: [1, 2, 2, 2] });
    writeNpy(at('P.npy'), { data: P, shape: [1, 2, 3, 4] });
    expect(await run(['triangulate', at('p2.npy'), at('P.npy'), '--out', at('X.npy')])).toBe(0);
    const X = readNpy(at('X.npy'));
    expect(X.shape).toEqual([1, 2, 3]);
    expect(Array.from(X.data as Float32Array)).toEqual(Array.from(batchedTriangulate({ data: pts, shape: [1, 2, 2, 2] }, { data: P, shape: [1, 2, 3, 4] }).data));
    expect(X.data[2]).toBeCloseTo(1, 4);
  });
  test('refine-depths-tsdf: seeded, equal to the API', async () => {
    const N = 2, H = 5, W = 6;
    const depths = Float32Array.from({ length: N * H * W }, (_, i) => 2 + 0.01 * (i % 7));
    const confs = Float32Array.from({ length: N * H * W }, (_, i) => 1 + (i % 3));
    const poses = Float32Array.of(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0.1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1);
    const K = Float32Array.of(10, 0, 2.5, 0, 10, 2, 0, 0, 1, 10, 0, 2.5, 0, 10, 2, 0, 0, 1);
    const arrs = [{ data: depths, shape: [N, H, W] }, { data: confs, shape: [N, H, W] }, { data: poses, shape: [N, 4, 4] }, { data: K, shape: [N, 3, 3] }] as const;
    ['d', 'c', 'p', 'k'].forEach((n, i) => writeNpy(at(`${n}.npy`), arrs[i]!));
    expect(await run(['refine-depths-tsdf', at('d.npy'), at('c.npy'), at('p.npy'), at('k.npy'), '--tau', '0.05', '--samples', '20', '--seed', '99', '--out', at('o.npy')])).toBe(0);
    const api = refineDepthsTSDF(...arrs, { tau: 0.05, samples: 20, seed: 99 });
    expect(Array.from(readNpy(at('o.npy')).data as Float32Array)).toEqual(Array.from(api.data));
  });
});

describe('scanstream mast3r … refuses bad input with a clear message', () => {
  const message = (): string => errors.mock.calls.map((c) => String(c[0])).join('\n');
  const cases: [string, () => string[], number, RegExp][] = [
    ['unknown kernel', () => ['nope'], 2, /unknown kernel 'nope'/],
    ['missing --dist', () => ['reciprocal-nn', at('A.npy'), at('B.npy'), '--out', at('x')], 2, /--dist must be dot or l2 \(required\)/],
    ['missing --out', () => ['reciprocal-nn', at('A.npy'), at('B.npy'), '--dist', 'dot'], 2, /--out is required/],
    ['one input', () => ['reciprocal-nn', at('A.npy'), '--dist', 'dot', '--out', at('x')], 2, /expected 2 input file/],
    ['unknown option', () => ['triangulate', at('p2.npy'), at('P.npy'), '--out', at('x'), '--fast'], 2, /fast/],
    ['bad number', () => ['depthmap-to-pts3d', at('depth.npy'), '--fx', 'abc', '--fy', '1', '--out', at('x')], 2, /--fx must be a number/],
    ['cx without cy', () => ['depthmap-to-pts3d', at('depth.npy'), '--fx', '1', '--fy', '1', '--cx', '3', '--out', at('x')], 2, /both --cx and --cy/],
    ['Fortran order file', () => ['reciprocal-nn', at('fortran.npy'), at('B.npy'), '--dist', 'dot', '--out', at('x')], 1, /Fortran-order arrays are not supported/],
    ['int32 descriptors', () => ['reciprocal-nn', at('ints.npy'), at('B.npy'), '--dist', 'dot', '--out', at('x')], 1, /A: dtype int32 is not supported here, expected float32 or float64/],
    ['NaN descriptor', () => ['reciprocal-nn', at('nan.npy'), at('B.npy'), '--dist', 'l2', '--out', at('x')], 1, /A: NaN at \[1, 2\]/],
    ['mismatched D', () => ['reciprocal-nn', at('A.npy'), at('d5.npy'), '--dist', 'dot', '--out', at('x')], 1, /same descriptor size D/],
    ['empty', () => ['reciprocal-nn', at('empty.npy'), at('B.npy'), '--dist', 'dot', '--out', at('x')], 1, /A: is empty/],
    ['map rank', () => ['fast-reciprocal-nn', at('A.npy'), at('A.npy'), '--out', at('x')], 1, /\[H, W, D\] descriptor map/],
    ['tau', () => ['refine-depths-tsdf', at('d.npy'), at('c.npy'), at('p.npy'), at('k.npy'), '--tau', '0', '--out', at('x')], 2, /--tau must be > 0/],
  ];
  beforeAll(() => {
    // a Fortran-order header, by hand
    let h = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 24), }";
    h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
    const f = new Uint8Array(10 + h.length + 2 * 24 * 4);
    f.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    new DataView(f.buffer).setUint16(8, h.length, true);
    for (let i = 0; i < h.length; i++) f[10 + i] = h.charCodeAt(i);
    writeFileSync(at('fortran.npy'), f);
    writeNpy(at('ints.npy'), { data: new Int32Array(2 * D), shape: [2, D] });
    writeNpy(at('nan.npy'), { data: Float32Array.from(randomUnitRows(3, D, 4), (v, i) => (i === D + 2 ? NaN : v)), shape: [3, D] });
    writeNpy(at('d5.npy'), { data: randomUnitRows(3, 5, 4), shape: [3, 5] });
    writeNpy(at('empty.npy'), { data: new Float32Array(0), shape: [0, D] });
  });
  for (const [name, argv, code, msg] of cases) {
    test(name, async () => {
      errors.mockClear();
      expect(await run(argv())).toBe(code);
      expect(message()).toMatch(msg);
      expect(existsSync(at('x.nn_a.npy'))).toBe(false);
    });
  }
  test('--help per kernel', async () => {
    const log = spyOn(console, 'log').mockImplementation(() => {});
    try {
      for (const k of ['reciprocal-nn', 'fast-reciprocal-nn', 'depthmap-to-pts3d', 'triangulate', 'refine-depths-tsdf']) {
        log.mockClear();
        expect(await run([k, '--help'])).toBe(0);
        expect(String(log.mock.calls[0]?.[0])).toContain(`scanstream mast3r ${k}`);
      }
    } finally {
      log.mockRestore();
    }
  });
});

test('the scanstream binary runs a kernel end to end', () => {
  const bun = process.execPath;
  const cli = resolve(import.meta.dir, '..', '..', 'src', 'cli.ts');
  const r = spawnSync(bun, [cli, 'mast3r', 'reciprocal-nn', at('A.npy'), at('B.npy'), '--dist', 'dot', '--out', at('e2e')], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('wrote');
  expect(ints(at('e2e.nn_a.npy'))).toEqual(Array.from(reciprocalNN(readNpy(at('A.npy')), readNpy(at('B.npy')), { dist: 'dot' }).nnA));
  const bad = spawnSync(bun, [cli, 'mast3r', 'reciprocal-nn', at('fortran.npy'), at('B.npy'), '--dist', 'dot', '--out', at('x')], { encoding: 'utf8' });
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain('Fortran-order arrays are not supported');
});
