/**
 * NativeContext.call()'s own checks and its reused per-kernel args bytes: the
 * same errors as a freshly packed struct, and no value of one call seen by the next.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { NativeContext, NativeError, UseAfterDestroyError, kernelSpec } from '../../src/native';
import type { NativeLibrary } from '../../src/native/library';

const ctx = NativeContext.create({ backend: 'cpu', threads: 1 });
afterAll(() => ctx.destroy());

/** a 4×4 row-major transform (dim 3) translating by (x, y, z), as ss_geotrf's t */
const translate = (x: number, y: number, z: number): number[] => [1, 0, 0, x, 0, 1, 0, y, 0, 0, 1, z, 0, 0, 0, 1];

describe('NativeContext.call: errors', () => {
  const rgb = ctx.buffer(16), gray = ctx.buffer(16);

  test('a missing buffer is a TypeError naming it', () => {
    expect(() => ctx.call('ss_rgb_to_gray', { width: 1, height: 1 }, { rgb } as never)).toThrow(
      new TypeError("ss_rgb_to_gray: buffer 'gray' is missing"));
    expect(() => ctx.call('ss_rgb_to_gray', { width: 1, height: 1 }, { rgb, gray: new Uint8Array(4) } as never)).toThrow(
      new TypeError("ss_rgb_to_gray: buffer 'gray' is missing"));
  });

  test('an unknown field, a wrong count or a scalar for an array is the same TypeError as before', () => {
    expect(() => ctx.call('ss_rgb_to_gray', { width: 1, height: 1, depth: 2 } as never, { rgb, gray })).toThrow(
      new TypeError("ss_rgb_to_gray_args has no field 'depth'"));
    expect(() => ctx.call('ss_rgb_to_gray', { width: [1, 2], height: 1 } as never, { rgb, gray })).toThrow(
      new TypeError('ss_rgb_to_gray_args.width takes 1 value(s), got 2'));
    expect(() => ctx.call('ss_geotrf', { count: 1, dim: 3, t: [1, 2, 3] }, { in: rgb, out: gray })).toThrow(
      new TypeError('ss_geotrf_args.t takes 16 value(s), got 3'));
    expect(() => ctx.call('ss_geotrf', { count: 1, dim: 3, t: 1 } as never, { in: rgb, out: gray })).toThrow(
      new TypeError('ss_geotrf_args.t takes 16 value(s), got 1'));
    // the first bad field in the values' key order is the one named; args are checked before buffers
    expect(() => ctx.call('ss_rgb_to_gray', { bogus: 1, width: [1, 2] } as never, {} as never)).toThrow(
      new TypeError("ss_rgb_to_gray_args has no field 'bogus'"));
    // undefined fields are omitted, known or not
    expect(ctx.call('ss_rgb_to_gray', { width: 1, height: 1, nothing: undefined } as never, { rgb, gray })).toBe(0);
  });

  test('a failing kernel throws NativeError with ss_last_error unless its status is allowed', () => {
    const bufs = {
      cur_points: ctx.buffer(16), cur_normals: ctx.buffer(16), cur_gray: ctx.buffer(4), ref_points: ctx.buffer(16),
      ref_normals: ctx.buffer(16), ref_gray: ctx.buffer(4), out: ctx.buffer(4096),
    };
    let error: unknown;
    try {
      ctx.call('ss_icp_reduce', { width: 1, height: 1 }, bufs);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NativeError);
    expect((error as NativeError).status).toBe(1);
    expect((error as Error).message).toContain('smaller than 4x4');
    expect(ctx.call('ss_icp_reduce', { width: 1, height: 1 }, bufs, [1])).toBe(1);
    for (const b of Object.values(bufs)) b.destroy();
  });

  test('a destroyed buffer is UseAfterDestroyError, and the next call still works', () => {
    const dead = ctx.buffer(16);
    dead.destroy();
    expect(() => ctx.call('ss_rgb_to_gray', { width: 1, height: 1 }, { rgb, gray: dead })).toThrow(UseAfterDestroyError);
    expect(ctx.call('ss_rgb_to_gray', { width: 1, height: 1 }, { rgb, gray })).toBe(0);
  });

  test('kernel calls are still tallied', () => {
    const before = ctx.runReport().times.byKernel.find((k) => k.kernel === 'ss_rgb_to_gray')?.calls ?? 0;
    for (let i = 0; i < 3; i++) ctx.call('ss_rgb_to_gray', { width: 1, height: 1 }, { rgb, gray });
    expect(ctx.runReport().times.byKernel.find((k) => k.kernel === 'ss_rgb_to_gray')?.calls).toBe(before + 3);
  });
});

describe('NativeContext.call: reused args bytes', () => {
  test('consecutive calls of one kernel each see their own values, omitted fields as 0', () => {
    const src = ctx.bufferFrom(new Float32Array([1, 2, 4])), dst = ctx.buffer(12);
    // divide by the last coordinate, then scale: (1, 2, 4) → (0.25, 0.5, 1) × 2
    ctx.call('ss_geotrf', { count: 1, dim: 3, normalize: 1, t: translate(0, 0, 0), scale: 2 }, { in: src, out: dst });
    expect([...dst.f32()]).toEqual([0.5, 1, 2]);
    // normalize and scale omitted: 0, a plain transform; a leak of the last call's would divide and scale
    ctx.call('ss_geotrf', { count: 1, dim: 3, t: translate(-1, 0, 1) }, { in: src, out: dst });
    expect([...dst.f32()]).toEqual([0, 2, 5]);
    // t omitted: all zero, so the point maps to the origin
    ctx.call('ss_geotrf', { count: 1, dim: 3 }, { in: src, out: dst });
    expect([...dst.f32()]).toEqual([0, 0, 0]);
    src.destroy();
    dst.destroy();
  });

  test('a call that throws while packing leaves nothing for the next', () => {
    const src = ctx.bufferFrom(new Float32Array([1, 2, 3])), dst = ctx.buffer(12);
    expect(() => ctx.call('ss_geotrf', { scale: 5, t: [1] } as never, { in: src, out: dst })).toThrow(TypeError);
    ctx.call('ss_geotrf', { count: 1, dim: 3, t: translate(0, 0, 0) }, { in: src, out: dst });
    expect([...dst.f32()]).toEqual([1, 2, 3]);
    src.destroy();
    dst.destroy();
  });

  test('two kernels interleaved keep their own bytes', () => {
    const rgb = ctx.bufferFrom(new Uint8Array([255, 255, 255, 0, 0, 0])), gray = ctx.buffer(2);
    const src = ctx.bufferFrom(new Float32Array([1, 2, 3])), dst = ctx.buffer(12);
    ctx.call('ss_rgb_to_gray', { width: 1, height: 1 }, { rgb, gray });
    ctx.call('ss_geotrf', { count: 1, dim: 3, t: translate(1, 1, 1) }, { in: src, out: dst });
    ctx.call('ss_rgb_to_gray', { width: 2, height: 1 }, { rgb, gray });
    expect([...gray.u8()]).toEqual([255, 0]);
    expect([...dst.f32()]).toEqual([2, 3, 4]);
    for (const b of [rgb, gray, src, dst]) b.destroy();
  });

  test('packReused writes what pack writes', () => {
    const args = kernelSpec('ss_tsdf_raycast_guided').args;
    const cases: Record<string, number | ArrayLike<number>>[] = [
      {},
      { width: 640, height: 480, flags: 0xffffffff, fx: 525.5, cam_to_world: new Float32Array(12).map((_, i) => i / 3) },
      { width: -1, hash_mask: 2 ** 33 + 5, band: NaN, min_depth: 1e40, cam_to_world: Array.from({ length: 12 }, (_, i) => -i) },
      { height: 3.7 },
    ];
    for (const values of cases) {
      const fresh = args.pack(values as never);
      expect([...args.packReused(values as never)]).toEqual([...fresh]);
    }
  });

  test('check() asks the library once, then answers without it', () => {
    const args = kernelSpec('ss_rgb_to_gray').args;
    let asked = 0;
    const fake = (size: number) => ({ symbols: { ss_args_sizeof: () => (asked++, size) } }) as unknown as NativeLibrary;
    const a = fake(args.size), b = fake(args.size);
    for (let i = 0; i < 5; i++) {
      args.check(a);
      args.check(b);
    }
    expect(asked).toBe(2);
    expect(() => args.check(fake(args.size + 4))).toThrow(/bytes in the native library but/);
    args.check(ctx.lib);
  });
});
