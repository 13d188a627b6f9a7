import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { NativeContext, NativeError, Status } from '../../src/native';
import { libraryPath, type BackendName } from '../../src/native/library';
import { kernelSymbols } from '../../src/native/symbols';
import { normalisedError, parityCases, type Outputs } from './kernels';

const cpu = NativeContext.create({ backend: 'cpu' });
const cpuSingle = NativeContext.create({ backend: 'cpu', threads: 1 });
afterAll(() => {
  cpu.destroy();
  cpuSingle.destroy();
});

function expectSame(a: Outputs, b: Outputs, tolerance: number, label: string): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const key of Object.keys(b)) {
    const err = normalisedError(a[key]!, b[key]!);
    if (!(err <= tolerance)) console.error(`${label}: output '${key}' differs, normalised error ${err}`);
    expect(err).toBeLessThanOrEqual(tolerance);
  }
}

test('every kernel in the C ABI symbol table has a parity case', () => {
  const covered = new Set(parityCases.flatMap((c) => c.symbols));
  const missing = kernelSymbols().filter((s) => !covered.has(s));
  expect(missing).toEqual([]);
});

describe('CPU backend determinism', () => {
  for (const c of parityCases) {
    test(`${c.name}: two runs agree bit for bit, and 1 thread equals all threads`, () => {
      const a = c.run(cpu, 7);
      const b = c.run(cpu, 7);
      const single = c.run(cpuSingle, 7);
      expectSame(a, b, 0, c.name);
      expectSame(single, a, 0, `${c.name} (1 thread)`);
      // the case must produce real data, not empty or all-NaN arrays
      for (const [key, arr] of Object.entries(a)) {
        const finite = Array.from(arr as ArrayLike<number>).some((v) => Number.isFinite(v) && v !== 0);
        if (!finite) console.error(`${c.name}: output '${key}' holds no finite non-zero value`);
        expect(finite).toBe(true);
      }
    });
  }
});

for (const backend of ['cuda', 'metal'] as BackendName[]) {
  const present = existsSync(libraryPath(backend));
  describe(`${backend} backend vs CPU`, () => {
    if (!present) {
      test.skip(`${backend} library not built here (${libraryPath(backend)})`, () => {});
      return;
    }
    // built, but this machine may have no such device (a CUDA build on a machine without a GPU)
    let ctx: NativeContext;
    try {
      ctx = NativeContext.create({ backend });
    } catch (e) {
      test.skip(`${backend} library built but cannot start here (${(e as Error).message})`, () => {});
      return;
    }
    afterAll(() => ctx.destroy());
    for (const c of parityCases) {
      // a kernel the backend does not implement yet answers SS_ERR_UNSUPPORTED: skipped, saying so
      let unsupported = '';
      try {
        c.run(ctx, 1);
      } catch (e) {
        if (e instanceof NativeError && e.status === Status.UNSUPPORTED) unsupported = e.message;
      }
      test.skipIf(unsupported !== '')(`${c.name}: within ${c.tolerance} normalised error of CPU${unsupported ? ` (${unsupported})` : ''}`, () => {
        const view = c.crossBackend ?? ((o: Outputs): Outputs => o);
        for (const seed of [1, 2, 3]) expectSame(view(c.run(ctx, seed)), view(c.run(cpu, seed)), c.tolerance, `${backend} ${c.name}`);
      });
    }
  });
}
