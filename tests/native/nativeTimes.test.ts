/**
 * runReport().times counts what a context did natively: every kernel call by
 * name, and on a backend with a host mirror (the stand-in in CUDA's memory
 * model) every upload and download with its bytes; on shared memory none.
 */
import { suffix } from 'bun:ffi';
import { describe, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NativeContext } from '../../src/native';
import { depthToPoints } from '../../src/native/kernels/pointmaps';

const standin = join(resolve(import.meta.dir, '..', '..'), 'build', 'cpu', `libscanstream_standin.${suffix}`);

const width = 64, height = 48;

/** one upload (the depth), two depth→points calls, one download (the points) */
function pointsTwice(ctx: NativeContext): void {
  const depth = ctx.bufferFrom(Float32Array.from({ length: width * height }, (_, i) => 0.5 + (i % 7) * 0.1));
  const points = ctx.buffer(width * height * 12);
  const cam = { width, height, fx: 50, fy: 50, cx: 32, cy: 24 };
  for (let k = 0; k < 2; k++) depthToPoints(ctx, cam, depth, points);
  points.download();
}

describe('native time accounting', () => {
  test('the CPU context counts each kernel call and moves no bytes', () => {
    const ctx = NativeContext.create({ backend: 'cpu' });
    try {
      pointsTwice(ctx);
      const t = ctx.runReport().times;
      expect(t.kernelCalls).toBe(2);
      expect(t.byKernel).toEqual([{ kernel: 'ss_depth_to_points', calls: 2, ms: expect.any(Number) }]);
      expect(t.byKernel[0]!.ms).toBeGreaterThanOrEqual(0);
      expect(t.uploads).toEqual({ calls: 0, bytes: 0, ms: 0 });
      expect(t.downloads).toEqual({ calls: 0, bytes: 0, ms: 0 });
      expect(t.ffiCallUs).toBeGreaterThan(0);
      expect(t.ffiCallUs).toBeLessThan(100);
    } finally {
      ctx.destroy();
    }
  });

  test.skipIf(!existsSync(standin))('a mirrored-memory backend counts the bytes it moves', () => {
    const ctx = NativeContext.create({ backend: 'cuda', library: standin });
    try {
      expect(ctx.unifiedMemory).toBe(false);
      pointsTwice(ctx);
      const t = ctx.runReport().times;
      expect(t.kernelCalls).toBe(2);
      expect(t.uploads.calls).toBe(1);
      expect(t.uploads.bytes).toBe(width * height * 4);
      expect(t.downloads.calls).toBe(1);
      expect(t.downloads.bytes).toBe(width * height * 12);
    } finally {
      ctx.destroy();
    }
  });
});
