import { afterAll, describe, expect, test } from 'bun:test';
import { suffix } from 'bun:ffi';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NativeContext } from '../../src/native';
import { libraryPath, projectRoot, type BackendName } from '../../src/native/library';
import { kernelSymbols } from '../../src/native/symbols';
import { setEmulatorOrder } from '../metal/emulatorOrder';
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

interface Group {
  label: string;
  /** why the group cannot run here, or a context factory */
  open: () => NativeContext | string;
  /** what the CPU fallback may copy: shared memory none, mirrored memory some */
  fallbackCopies: 'none' | 'some' | 'any';
}

const standin = join(projectRoot, 'build', 'cpu', `libscanstream_standin.${suffix}`);
const groups: Group[] = [
  ...(['cuda', 'metal', 'metal-emu'] as BackendName[]).map((backend): Group => ({
    label: backend,
    // Metal's buffers are unified memory: the CPU fallback runs over them in place
    fallbackCopies: backend === 'cuda' ? 'any' : 'none',
    open: () => {
      if (!existsSync(libraryPath(backend))) return `${backend} library not built here (${libraryPath(backend)})`;
      // built, but this machine may have no such device (a CUDA build on a machine without a GPU)
      try {
        return NativeContext.create({ backend });
      } catch (e) {
        return `${backend} library built but cannot start here (${(e as Error).message})`;
      }
    },
  })),
  // the Metal kernels again with each threadgroup's threads run last to first: a missing barrier changes results
  {
    label: 'metal-emu (threads in reverse order)',
    fallbackCopies: 'none',
    open: () => {
      if (!existsSync(libraryPath('metal-emu'))) return `metal-emu library not built here (${libraryPath('metal-emu')})`;
      const ctx = NativeContext.create({ backend: 'metal-emu' });
      setEmulatorOrder(ctx, 'reverse');
      return ctx;
    },
  },
  // a partial backend (the CPU library claiming only point maps and TSDF): the rest runs through the fallback,
  // in place over shared memory, and with download → CPU → upload under CUDA's memory model
  { label: 'partial stand-in, shared memory', fallbackCopies: 'none', open: () => NativeContext.create({ backend: 'cpu', library: standin }) },
  { label: 'partial stand-in, mirrored memory', fallbackCopies: 'some', open: () => NativeContext.create({ backend: 'cuda', library: standin }) },
];

for (const group of groups) {
  describe(`${group.label} backend vs CPU`, () => {
    const opened = group.open();
    if (typeof opened === 'string') {
      test.skip(opened, () => {});
      return;
    }
    const ctx = opened;
    afterAll(() => ctx.destroy());
    for (const c of parityCases) {
      const where = c.symbols.every((s) => ctx.supports(s)) ? `on ${ctx.backendLabel}` :
        c.symbols.some((s) => ctx.supports(s)) ? `partly on the CPU in ${ctx.backendLabel}'s place` : `on the CPU in ${ctx.backendLabel}'s place`;
      test(`${c.name} (${where}): within ${c.tolerance} normalised error of CPU`, () => {
        const view = c.crossBackend ?? ((o: Outputs): Outputs => o);
        for (const seed of [1, 2, 3]) expectSame(view(c.run(ctx, seed)), view(c.run(cpu, seed)), c.tolerance, `${group.label} ${c.name}`);
      });
    }
    test(`the CPU fallback copied ${group.fallbackCopies === 'none' ? 'no bytes (memory is shared)' : group.fallbackCopies === 'some' ? 'each fallen-back call\'s buffers (mirrored memory)' : 'what it had to'}`, () => {
      const f = ctx.fallbackStats();
      const lacking = ctx.placement().filter((p) => p.runsOn === 'cpu-fallback').map((p) => p.kernel);
      expect([...f.kernels].sort()).toEqual([...lacking].sort());
      if (group.fallbackCopies === 'none') expect(f.bytesCopied).toBe(0);
      if (group.fallbackCopies === 'some') expect(f.bytesCopied).toBeGreaterThan(0);
      if (lacking.length > 0) expect(f.calls).toBeGreaterThan(0);
    });
  });
}
