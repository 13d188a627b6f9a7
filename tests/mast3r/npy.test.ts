import { describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatNpy, NpyError, parseNpy, readNpy, writeNpy } from '../../src/mast3r/npy';
import type { NdArray } from '../../src/mast3r/ndarray';

function header(descr: string, fortran: boolean, shape: string, major = 1): Uint8Array {
  let h = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const pre = major === 1 ? 10 : 12;
  h += ' '.repeat((64 - ((pre + h.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + h.length + 64);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const v = new DataView(out.buffer);
  if (major === 1) v.setUint16(8, h.length, true);
  else v.setUint32(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[pre + i] = h.charCodeAt(i);
  return out;
}

describe('.npy round trips', () => {
  const cases: NdArray[] = [
    { data: Float32Array.of(1.5, -2, 3e-30, NaN, Infinity, 0), shape: [2, 3] },
    { data: Float64Array.of(Math.PI, -1e300, 5e-324), shape: [3] },
    { data: Int32Array.of(-2147483648, 2147483647, 0, 7), shape: [2, 1, 2] },
    { data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 42n, 0n), shape: [4, 1] },
    { data: new Float32Array(0), shape: [0, 24] },
    { data: Float64Array.of(2.5), shape: [] },
  ];
  for (const arr of cases) {
    test(`${arr.data.constructor.name} ${JSON.stringify(arr.shape)}`, () => {
      const bytes = formatNpy(arr);
      expect((bytes.length - arr.data.byteLength) % 64).toBe(0);
      const back = parseNpy(bytes);
      expect(back.shape).toEqual(arr.shape);
      expect(back.data.constructor).toBe(arr.data.constructor);
      expect(Array.from(back.data as ArrayLike<number | bigint>)).toEqual(Array.from(arr.data as ArrayLike<number | bigint>));
    });
  }
  test('format 2.0 headers and a data section not aligned in the file buffer', () => {
    const h = header('<f4', false, '(2,)', 2);
    const bytes = new Uint8Array(h.length - 64 + 8 + 3).subarray(3);
    bytes.set(h.subarray(0, h.length - 64));
    new DataView(bytes.buffer, bytes.byteOffset).setFloat32(h.length - 64, 1.25, true);
    new DataView(bytes.buffer, bytes.byteOffset).setFloat32(h.length - 60, -4, true);
    expect(Array.from(parseNpy(bytes).data as Float32Array)).toEqual([1.25, -4]);
  });
});

describe('.npy files this reader refuses, saying why', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['Fortran order', header('<f4', true, '(2, 3)'), /Fortran-order arrays are not supported/],
    ['big-endian', header('>f8', false, '(4,)'), /big-endian dtype '>f8' is not supported/],
    ['object dtype', header('|O', false, '(2,)'), /object dtype/],
    ['float16', header('<f2', false, '(2,)'), /dtype '<f2' is not supported \(float32, float64, int32, int64 only\)/],
    ['uint8', header('|u1', false, '(2,)'), /dtype '\|u1' is not supported/],
    ['truncated data', header('<f8', false, '(100,)'), /data is truncated/],
    ['not npy', new TextEncoder().encode('hello world, not numpy'), /not a .npy file/],
  ];
  for (const [name, bytes, msg] of cases) {
    test(name, () => {
      expect(() => parseNpy(bytes, 'x.npy')).toThrow(NpyError);
      expect(() => parseNpy(bytes, 'x.npy')).toThrow(msg);
    });
  }
  test('missing file', () => expect(() => readNpy('/nonexistent/x.npy')).toThrow(/cannot read/));
});

const python = '/usr/bin/python3';
const hasNumpy = existsSync(python) && spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

describe('numpy interop', () => {
  if (!hasNumpy) {
    test.skip('numpy not installed (/usr/bin/python3 -c "import numpy" failed)', () => {});
    return;
  }
  test('numpy writes every supported dtype, we read; we write, numpy reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ss-npy-'));
    try {
      const script = `
import numpy as np, sys, json
d = sys.argv[1]
for t in ['float32', 'float64', 'int32', 'int64']:
    np.save(f'{d}/{t}.npy', (np.arange(24).reshape(2, 3, 4) * 3 - 7).astype(t))
for t in ['float32', 'float64', 'int32', 'int64']:
    a = np.load(f'{d}/ours_{t}.npy') if len(sys.argv) > 2 else None
    if a is not None: print(json.dumps([str(a.dtype), list(a.shape), a.ravel().tolist()]))
`;
      writeFileSync(join(dir, 's.py'), script);
      expect(spawnSync(python, [join(dir, 's.py'), dir]).status).toBe(0);
      for (const t of ['float32', 'float64', 'int32', 'int64']) {
        const a = readNpy(join(dir, `${t}.npy`));
        expect(a.shape).toEqual([2, 3, 4]);
        expect(Array.from(a.data as ArrayLike<number | bigint>, Number)).toEqual(Array.from({ length: 24 }, (_, i) => i * 3 - 7));
        writeNpy(join(dir, `ours_${t}.npy`), a);
      }
      const r = spawnSync(python, [join(dir, 's.py'), dir, 'read'], { encoding: 'utf8' });
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as [string, number[], number[]]);
      expect(lines.map((l) => l[0])).toEqual(['float32', 'float64', 'int32', 'int64']);
      for (const l of lines) {
        expect(l[1]).toEqual([2, 3, 4]);
        expect(l[2]).toEqual(Array.from({ length: 24 }, (_, i) => i * 3 - 7));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
