/**
 * The MASt3R calls over native memory: inputs in NativeBuffers are read in
 * place, outputs land in the caller's buffers and equal the allocating form,
 * and what the calls return is the kernels' output itself (never recomputed
 * in JavaScript).
 */
import { afterAll, describe, expect, test } from 'bun:test';
import {
  batchedTriangulate, depthmapToPts3d, geotrf, infoNCELoss, Mast3rInputError, matchesToDepths, refineDepthsTSDF, similarities,
} from '../../src/mast3r';
import { randomUnitRows } from '../../src/mast3r/synthetic';
import { NativeContext, type NativeBuffer } from '../../src/native';
import type { KernelSymbol } from '../../src/native/args';
import { seededRandom } from '../helpers/random';

const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => ctx.destroy());

/** bytes the call allocated in native memory (each buffer's size), the kernels it ran and their buffers */
function watch<T>(c: NativeContext, fn: () => T, after?: (kernel: KernelSymbol, buffers: Record<string, NativeBuffer>) => void):
  { result: T; allocated: number[]; calls: { kernel: KernelSymbol; buffers: Record<string, NativeBuffer> }[] } {
  const allocated: number[] = [];
  const calls: { kernel: KernelSymbol; buffers: Record<string, NativeBuffer> }[] = [];
  const buffer = c.buffer.bind(c);
  const call = c.call.bind(c);
  c.buffer = (bytes: number): NativeBuffer => {
    allocated.push(bytes);
    return buffer(bytes);
  };
  c.call = ((kernel, values, buffers, allow) => {
    const status = call(kernel, values, buffers, allow);
    calls.push({ kernel, buffers: buffers as Record<string, NativeBuffer> });
    after?.(kernel, buffers as Record<string, NativeBuffer>);
    return status;
  }) as NativeContext['call'];
  try {
    return { result: fn(), allocated, calls };
  } finally {
    c.buffer = buffer;
    c.call = call;
  }
}

/** the same memory: a write through one view shows through the other */
function sharesMemory(view: Float32Array | Uint8Array, buf: NativeBuffer): boolean {
  return view.buffer === buf.u8().buffer && view.byteOffset === 0;
}

const B = 2, H = 6, W = 40, n = B * H * W;
const r = seededRandom(4);
const depth = Float32Array.from({ length: n }, (_, i) => (i % 9 === 0 ? 0 : i % 13 === 0 ? -1 : 0.5 + 3 * r()));

describe('depthmapToPts3d over native buffers', () => {
  test('into the caller\'s buffers: equal to the allocating form, returned as views of them, the input read in place', () => {
    const alloc = depthmapToPts3d({ data: depth, shape: [B, H, W] }, [300, 310], [20, 3], { ctx });
    const din = ctx.bufferFrom(depth), pts = ctx.buffer(12 * n + 64), valid = ctx.buffer(n);
    const w = watch(ctx, () => depthmapToPts3d({ buffer: din, shape: [B, H, W] }, [300, 310], [20, 3], { ctx, out: pts, validOut: valid }));
    expect(w.result.pts.data).toEqual(alloc.pts.data);
    expect(w.result.valid).toEqual(alloc.valid);
    expect(sharesMemory(w.result.pts.data, pts) && sharesMemory(w.result.valid, valid)).toBe(true);
    // no copy of the depth or the results: the only allocation is the 16-byte-per-image intrinsics
    expect(w.allocated).toEqual([16 * B]);
    expect(w.calls.map((c) => c.kernel)).toEqual(['ss_mast3r_depthmap_to_pts3d']);
    expect(w.calls[0]!.buffers.depth).toBe(din);
    for (const b of [din, pts, valid]) b.destroy();
  });
  test('the returned points and mask are the kernel\'s output, not recomputed (MASt3R values for invalid depths included)', () => {
    // overwrite what the kernel wrote: the call must return exactly that
    const w = watch(ctx, () => depthmapToPts3d({ data: depth, shape: [B, H, W] }, 300, undefined, { ctx }), (_, bufs) => {
      bufs.points!.f32(0, 3 * n).fill(7.25);
      bufs.valid!.u8(0, n).fill(3);
    });
    expect(w.result.pts.data.every((v) => v === 7.25)).toBe(true);
    expect(w.result.valid.every((v) => v === 3)).toBe(true);
  });
  test('refuses an output that is too small or is the depth buffer', () => {
    const din = ctx.bufferFrom(depth), small = ctx.buffer(12 * n - 4);
    expect(() => depthmapToPts3d({ buffer: din, shape: [B, H, W] }, 300, undefined, { ctx, out: small })).toThrow(/too small/);
    expect(() => depthmapToPts3d({ buffer: din, shape: [B, H, W] }, 300, undefined, { ctx, out: din })).toThrow(/in place/);
    expect(() => depthmapToPts3d({ buffer: small, shape: [B, H, 4 * W] }, 300, undefined, { ctx })).toThrow(Mast3rInputError);
    din.destroy();
    small.destroy();
  });
});

describe('geotrf over native buffers', () => {
  const pts = Float32Array.from({ length: n * 3 }, () => 4 * r() - 2);
  const T = { data: Float32Array.from([0.8, -0.6, 0, 0.1, 0.6, 0.8, 0, 0.2, 0, 0, 1, 0.3, 0.01, 0, 0.02, 1, 1, 0, 0, 1, 0, 1, 0, 2, 0, 0, 1, 3, 0, 0, 0, 1]), shape: [B, 4, 4] };
  test('batched, into a caller\'s buffer and in place: equal to the allocating form, one call per transform, no copies', () => {
    for (const norm of [false, true]) {
      const alloc = geotrf(T, { data: pts, shape: [B, H * W, 3] }, { ctx, norm });
      const src = ctx.bufferFrom(pts), out = ctx.buffer(12 * n);
      const w = watch(ctx, () => geotrf(T, { buffer: src, shape: [B, H * W, 3] }, { ctx, norm, out }));
      expect(w.result.data).toEqual(alloc.data);
      expect(sharesMemory(w.result.data, out)).toBe(true);
      expect(w.allocated).toEqual([]);
      expect(w.calls.length).toBe(B);
      const inPlace = geotrf(T, { buffer: src, shape: [B, H * W, 3] }, { ctx, norm, out: src });
      expect(inPlace.data).toEqual(alloc.data);
      src.destroy();
      out.destroy();
    }
  });
  test('the result is the kernel\'s output, divide and scale included', () => {
    const w = watch(ctx, () => geotrf(T, { data: pts, shape: [B, H * W, 3] }, { ctx, norm: 2 }), (_, bufs) => bufs.out!.f32(0, 3 * n).fill(-3.5));
    expect(w.result.data.every((v) => v === -3.5)).toBe(true);
  });
});

describe('similarities and InfoNCE over native buffers', () => {
  const N = 70, M = 45, D = 24;
  const a = randomUnitRows(B * N, D, 1), b = randomUnitRows(B * M, D, 2);
  test('into a caller\'s buffer: equal to the allocating form, a view of it, inputs read in place', () => {
    for (const euc of [false, true]) {
      const alloc = similarities({ data: a, shape: [B, N, D] }, { data: b, shape: [B, M, D] }, { ctx, euc });
      const ba = ctx.bufferFrom(a), bb = ctx.bufferFrom(b), out = ctx.buffer(4 * B * N * M);
      const w = watch(ctx, () => similarities({ buffer: ba, shape: [B, N, D] }, { buffer: bb, shape: [B, M, D] }, { ctx, euc, out }));
      expect(w.result.data).toEqual(alloc.data);
      expect(w.result.shape).toEqual([B, N, M]);
      expect(sharesMemory(w.result.data, out)).toBe(true);
      expect(w.allocated).toEqual([]);
      for (const x of [ba, bb, out]) x.destroy();
    }
  });
  test('InfoNCE into a caller\'s buffer equals the allocating form; the loss is the mean of the kernel\'s output', () => {
    const b2 = randomUnitRows(B * N, D, 3);
    const alloc = infoNCELoss({ data: a, shape: [B, N, D] }, { data: b2, shape: [B, N, D] }, { ctx });
    const ba = ctx.bufferFrom(a), bb = ctx.bufferFrom(b2), out = ctx.buffer(4 * B * N);
    const got = infoNCELoss({ buffer: ba, shape: [B, N, D] }, { buffer: bb, shape: [B, N, D] }, { ctx, out });
    expect(got.perPair.data).toEqual(alloc.perPair.data);
    expect(got.loss).toBe(alloc.loss);
    expect(sharesMemory(got.perPair.data, out)).toBe(true);
    const w = watch(ctx, () => infoNCELoss({ data: a, shape: [B, N, D] }, { data: b2, shape: [B, N, D] }, { ctx }), (_, bufs) => bufs.loss!.f32(0, B * N).fill(2));
    expect(w.result.loss).toBe(2);
    for (const x of [ba, bb, out]) x.destroy();
  });
  test('refuses an output that is one of the inputs', () => {
    const ba = ctx.bufferFrom(a);
    expect(() => similarities({ buffer: ba, shape: [B, N, D] }, { data: b, shape: [B, M, D] }, { ctx, out: ba })).toThrow(/in place/);
    ba.destroy();
  });
});

describe('triangulation and TSDF refinement over native buffers', () => {
  test('batchedTriangulate into a caller\'s buffer equals the allocating form', () => {
    const Nc = 2, Np = 50;
    const P = new Float32Array(B * Nc * 12);
    for (let i = 0; i < B * Nc; i++) P.set([500, 0, 256, 0.3 * (i % Nc), 0, 500, 192, 0.1, 0, 0, 1, 0.05 * (i % Nc)], i * 12);
    const p2 = Float32Array.from({ length: B * Nc * Np * 2 }, () => 512 * r());
    const alloc = batchedTriangulate({ data: p2, shape: [B, Nc, Np, 2] }, { data: P, shape: [B, Nc, 3, 4] }, { ctx });
    const bp = ctx.bufferFrom(p2), bm = ctx.bufferFrom(P), out = ctx.buffer(B * Np * 12);
    const w = watch(ctx, () => batchedTriangulate({ buffer: bp, shape: [B, Nc, Np, 2] }, { buffer: bm, shape: [B, Nc, 3, 4] }, { ctx, out }));
    expect(w.result.data).toEqual(alloc.data);
    expect(sharesMemory(w.result.data, out)).toBe(true);
    expect(w.allocated).toEqual([]);
    for (const x of [bp, bm, out]) x.destroy();
  });
  test('matchesToDepths: one native call; into the caller\'s buffers equal to the allocating form; the results are the kernel\'s', () => {
    const Nv = 3, h = 5, w = 7;
    const K: number[] = [], E: number[] = [];
    for (let bc = 0; bc < B * (Nv + 1); bc++) {
      K.push(400, 0, 3, 0, 400, 2, 0, 0, 1);
      E.push(1, 0, 0, 0.2 * (bc % (Nv + 1)), 0, 1, 0, 0.01 * bc, 0, 0, 1, 0.1, 0, 0, 0, 1);
    }
    const Ka = { data: Float32Array.from(K), shape: [B, Nv + 1, 3, 3] }, Ea = { data: Float32Array.from(E), shape: [B, Nv + 1, 4, 4] };
    const m = Float32Array.from({ length: B * Nv * h * w * 5 }, (_, i) => (i % 5 === 4 ? 0.5 + r() : 10 * r()));
    const alloc = matchesToDepths(Ka, Ea, { data: m, shape: [B, Nv, h, w, 5] }, { ctx });
    expect(alloc.depths.data.some(Number.isFinite)).toBe(true);
    const bm = ctx.bufferFrom(m), pts = ctx.buffer(12 * B * h * w), dep = ctx.buffer(4 * B * h * w), cf = ctx.buffer(4 * B * h * w);
    const got = watch(ctx, () => matchesToDepths(Ka, Ea, { buffer: bm, shape: [B, Nv, h, w, 5] }, { ctx, out: pts, depthsOut: dep, confsOut: cf }));
    expect(got.result.points.data).toEqual(alloc.points.data);
    expect(got.result.depths.data).toEqual(alloc.depths.data);
    expect(got.result.confs.data).toEqual(alloc.confs.data);
    expect(sharesMemory(got.result.depths.data, dep)).toBe(true);
    expect(got.calls.map((c) => c.kernel)).toEqual(['ss_mast3r_matches_to_depths']);
    // only the cameras' projections are uploaded: 4 bytes × ((Nv + 1)·12 + 4) per batch element
    expect(got.allocated).toEqual([4 * B * ((Nv + 1) * 12 + 4)]);
    const tampered = watch(ctx, () => matchesToDepths(Ka, Ea, { data: m, shape: [B, Nv, h, w, 5] }, { ctx }), (_, bufs) => {
      bufs.depths!.f32(0, B * h * w).fill(9);
      bufs.confs!.f32(0, B * h * w).fill(8);
    });
    expect(tampered.result.depths.data.every((v) => v === 9) && tampered.result.confs.data.every((v) => v === 8)).toBe(true);
    for (const x of [bm, pts, dep, cf]) x.destroy();
  });
  test('refineDepthsTSDF into a caller\'s buffer equals the allocating form', () => {
    const N = 2, h = 8, w = 10;
    const d = Float32Array.from({ length: N * h * w }, () => 2 + 0.05 * r());
    const c = Float32Array.from({ length: N * h * w }, () => 1 + r());
    const poses = { data: Float32Array.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0.05, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]), shape: [N, 4, 4] };
    const K = { data: Float32Array.from([20, 0, 4.5, 0, 20, 3.5, 0, 0, 1, 20, 0, 4.5, 0, 20, 3.5, 0, 0, 1]), shape: [N, 3, 3] };
    const opts = { tau: 0.03, samples: 16, seed: 3, ctx };
    const alloc = refineDepthsTSDF({ data: d, shape: [N, h, w] }, { data: c, shape: [N, h, w] }, poses, K, opts);
    const bd = ctx.bufferFrom(d), bc = ctx.bufferFrom(c), out = ctx.buffer(4 * N * h * w);
    const got = watch(ctx, () => refineDepthsTSDF({ buffer: bd, shape: [N, h, w] }, { buffer: bc, shape: [N, h, w] }, poses, K, { ...opts, out }));
    expect(got.result.data).toEqual(alloc.data);
    expect(sharesMemory(got.result.data, out)).toBe(true);
    // only the 64-byte-per-image camera parameters are uploaded
    expect(got.allocated).toEqual([64 * N]);
    for (const x of [bd, bc, out]) x.destroy();
  });
});
