import { afterAll, describe, expect, test } from 'bun:test';
import { suffix } from 'bun:ffi';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { libraryPath } from '../../src/native/library';
import { NativeContext, NativeError, UseAfterDestroyError } from '../../src/native';
import { depthPyramidDown, depthToPoints, geotrf, imagePyramidDown, pointsToNormals } from '../../src/native/kernels/pointmaps';
import { maxRelativeError, seededRandom } from '../helpers/random';

const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => ctx.destroy());

const W = 64, H = 48;
const cam = { width: W, height: H, fx: 60.5, fy: 58.25, cx: 31.7, cy: 23.2 };

function randomDepth(seed: number, holes = 0.1): Float32Array {
  const r = seededRandom(seed);
  const d = new Float32Array(W * H);
  for (let i = 0; i < d.length; i++) d[i] = r() < holes ? 0 : 0.5 + 3 * r();
  return d;
}

function refPoints(depth: Float32Array): Float32Array {
  const out = new Float32Array(depth.length * 3);
  for (let i = 0; i < depth.length; i++) {
    const d = depth[i] as number, x = i % W, y = Math.floor(i / W);
    if (!(d > 0)) out.fill(NaN, 3 * i, 3 * i + 3);
    else out.set([d * (x - cam.cx) / cam.fx, d * (y - cam.cy) / cam.fy, d], 3 * i);
  }
  return out;
}

describe('ss_depth_to_points', () => {
  test('float depth matches the pinhole back-projection within 1e-5 relative, NaN where depth is 0', () => {
    const depth = randomDepth(1);
    const d = ctx.bufferFrom(depth), p = ctx.buffer(depth.length * 12);
    depthToPoints(ctx, cam, d, p);
    const got = p.f32();
    expect(maxRelativeError(got, refPoints(depth), 1e-3)).toBeLessThan(1e-5);
    expect(Number.isNaN(got[3 * depth.indexOf(0)] as number)).toBe(true);
    d.destroy(); p.destroy();
  });

  test('uint16 depth with a depth scale gives the same points as metres', () => {
    const r = seededRandom(2);
    const raw = new Uint16Array(W * H).map(() => (r() < 0.1 ? 0 : 1000 + Math.floor(r() * 20000)));
    const metres = Float32Array.from(raw, (v) => v / 5000);
    const d = ctx.bufferFrom(raw), p = ctx.buffer(raw.length * 12);
    depthToPoints(ctx, cam, d, p, { u16: true, depthScale: 5000 });
    expect(maxRelativeError(p.f32(), refPoints(metres), 1e-3)).toBeLessThan(1e-5);
    d.destroy(); p.destroy();
  });

  test('depth outside [minDepth, maxDepth] and NaN/negative depth become NaN points', () => {
    const depth = new Float32Array(W * H).fill(2);
    depth[0] = -1; depth[1] = NaN; depth[2] = 0.05; depth[3] = 9;
    const d = ctx.bufferFrom(depth), p = ctx.buffer(depth.length * 12);
    depthToPoints(ctx, cam, d, p, { minDepth: 0.1, maxDepth: 8 });
    const z = p.f32();
    expect([z[2], z[5], z[8], z[11]].every((v) => Number.isNaN(v))).toBe(true);
    expect(z[14]).toBe(2);
    d.destroy(); p.destroy();
  });

  test('a too-small output buffer is refused with the buffer named', () => {
    const d = ctx.bufferFrom(randomDepth(3)), p = ctx.buffer(16);
    expect(() => depthToPoints(ctx, cam, d, p)).toThrow(/buffer 'points' holds 16 bytes/);
    d.destroy(); p.destroy();
  });
});

describe('ss_points_to_normals', () => {
  test('normals of a tilted plane equal its analytic normal, facing the camera', () => {
    // plane z = 2 + 0.3x - 0.2y in camera frame, sampled through the pinhole
    const pts = new Float32Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const rx = (x - cam.cx) / cam.fx, ry = (y - cam.cy) / cam.fy;
      const z = 2 / (1 - 0.3 * rx + 0.2 * ry);
      pts.set([rx * z, ry * z, z], 3 * (y * W + x));
    }
    const p = ctx.bufferFrom(pts), n = ctx.buffer(pts.length * 4);
    pointsToNormals(ctx, W, H, p, n, 1);
    const nn = n.f32();
    const len = Math.hypot(0.3, 0.2, 1);
    const expected = [0.3 / len, -0.2 / len, -1 / len];
    const i = 20 * W + 30;
    for (let k = 0; k < 3; k++) expect(Math.abs((nn[3 * i + k] as number) - (expected[k] as number))).toBeLessThan(1e-4);
    expect(Number.isNaN(nn[0] as number)).toBe(true); // border
    p.destroy(); n.destroy();
  });
});

describe('pyramids', () => {
  test('depth pyramid averages only depths within maxDiff of the nearest in each 2×2 cell', () => {
    const src = new Float32Array([1, 1.02, 3, 3, 0, 1.04, 3, 0, 0, 0, 2, 2, 0, 0, 2, 9]);
    const s = ctx.bufferFrom(src), d = ctx.buffer(16);
    depthPyramidDown(ctx, 4, 4, s, d, 0.05);
    expect(Array.from(d.f32(0, 4))).toEqual([Math.fround((1 + 1.02 + 1.04) / 3), 3, 0, 2]);
    s.destroy(); d.destroy();
  });

  test('image pyramid is the rounded 2×2 mean per channel on random images', () => {
    const r = seededRandom(4);
    const img = new Uint8Array(W * H * 3).map(() => Math.floor(r() * 256));
    const s = ctx.bufferFrom(img), d = ctx.buffer((W / 2) * (H / 2) * 3);
    imagePyramidDown(ctx, W, H, 3, s, d);
    const got = d.u8();
    let bad = 0;
    for (let y = 0; y < H / 2; y++) for (let x = 0; x < W / 2; x++) for (let c = 0; c < 3; c++) {
      const at = (yy: number, xx: number): number => img[(yy * W + xx) * 3 + c] as number;
      const sum = at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1);
      if (got[(y * (W / 2) + x) * 3 + c] !== Math.floor((sum + 2) / 4)) bad++;
    }
    expect(bad).toBe(0);
    s.destroy(); d.destroy();
  });
});

describe('ss_geotrf', () => {
  test('rigid 4×4 transform of random points equals pts @ Rᵀ + t within 1e-5 relative', () => {
    const r = seededRandom(5);
    const n = 1000;
    const pts = new Float32Array(n * 3).map(() => r() * 4 - 2);
    const c = Math.cos(0.7), s = Math.sin(0.7);
    // float32 entries, as the kernel receives them
    const T = [c, -s, 0, 0.5, s, c, 0, -1.25, 0, 0, 1, 2, 0, 0, 0, 1].map(Math.fround);
    const inb = ctx.bufferFrom(pts), out = ctx.buffer(n * 12);
    geotrf(ctx, T, 3, n, inb, out);
    const ref = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) for (let row = 0; row < 3; row++) {
      ref[3 * i + row] = (T[row * 4] as number) * (pts[3 * i] as number) + (T[row * 4 + 1] as number) * (pts[3 * i + 1] as number) +
        (T[row * 4 + 2] as number) * (pts[3 * i + 2] as number) + (T[row * 4 + 3] as number);
    }
    expect(maxRelativeError(out.f32(), ref, 1e-2)).toBeLessThan(1e-5);
    inb.destroy(); out.destroy();
  });

  test('2D homogeneous transform with normalize divides by the last coordinate', () => {
    const inb = ctx.bufferFrom(new Float32Array([1, 2, 3, 4])), out = ctx.buffer(16);
    geotrf(ctx, [2, 0, 0, 0, 1, 1, 0, 0, 1], 2, 2, inb, out, true);
    // rows: [2x, y+1] then divide by the last: [2x/(y+1), 1]
    expect(Array.from(out.f32())).toEqual([2 / 3, 1, 6 / 5, 1].map(Math.fround));
    inb.destroy(); out.destroy();
  });

  test('a wrong matrix size throws before the native call', () => {
    const b = ctx.buffer(12);
    expect(() => geotrf(ctx, [1, 0, 0, 1], 3, 1, b, b)).toThrow(/16 entries/);
    b.destroy();
  });
});

describe('NativeBuffer and NativeContext', () => {
  test('use after destroy throws UseAfterDestroyError, and the context counts live buffers', () => {
    const before = ctx.stats().buffers;
    const b = ctx.buffer(64);
    expect(ctx.stats().buffers).toBe(before + 1);
    b.destroy();
    expect(ctx.stats().buffers).toBe(before);
    expect(() => b.f32()).toThrow(UseAfterDestroyError);
    expect(() => b.handle).toThrow(UseAfterDestroyError);
  });

  test('views taken before destroy() read as empty after it, never as freed memory', () => {
    const b = ctx.buffer(64);
    const view = b.f32(0, 16);
    view[3] = 2.5;
    b.destroy();
    expect(view.length).toBe(0);
    expect(view[3]).toBeUndefined();
  });

  test('a leased ArrayBuffer shares the memory until revokeLeases() detaches it; the buffer itself stays usable', () => {
    const b = ctx.buffer(64);
    const leased = new Uint8Array(b.lease(32));
    expect(leased.length).toBe(32);
    b.u8()[5] = 9;
    expect(leased[5]).toBe(9);
    b.revokeLeases();
    expect(leased.length).toBe(0);
    expect(b.u8()[5]).toBe(9);
    const again = new Uint8Array(b.lease(8));
    b.destroy();
    expect(again.length).toBe(0);
    expect(() => b.lease(8)).toThrow(UseAfterDestroyError);
    const small = ctx.buffer(16);
    expect(() => small.lease(17)).toThrow(/lease: length must be 1\.\.16 bytes, got 17/);
    small.destroy();
  });

  test('buffers start zero-filled and write() copies at a byte offset', () => {
    const b = ctx.buffer(16);
    expect(Array.from(b.u8())).toEqual(new Array(16).fill(0));
    b.write(new Uint8Array([7, 8]), 4);
    expect(Array.from(b.u8(0, 8))).toEqual([0, 0, 0, 0, 7, 8, 0, 0]);
    expect(() => b.write(new Uint8Array(20))).toThrow(RangeError);
    b.destroy();
  });

  test('native errors carry ss_last_error and the call name', () => {
    const a = ctx.buffer(4);
    let err: unknown;
    try {
      geotrf(ctx, [1, 0, 0, 0, 1, 0, 0, 0, 1], 2, 10, a, a);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeError);
    expect((err as NativeError).call).toBe('ss_geotrf');
    expect((err as Error).message).toMatch(/buffer 'in' holds 4 bytes, the call needs 80/);
    a.destroy();
  });

  test('an unknown backend name is refused', () => {
    expect(() => NativeContext.create({ backend: 'opencl' as 'cpu' })).toThrow(/cpu, cuda, metal, metal-emu, auto/);
  });

  test('auto falls back to the CPU, saying why once, when a built GPU library cannot start; an explicit cuda choice still fails', () => {
    // a checkout whose "CUDA library" cannot create a CUDA context (here: the CPU library under that name, as on a
    // machine where the CUDA backend was built but no GPU or driver is present)
    const root = mkdtempSync(join(tmpdir(), 'scanstream-fallback-'));
    try {
      for (const b of ['cpu', 'cuda'] as const) {
        mkdirSync(join(root, 'build', b), { recursive: true });
        copyFileSync(libraryPath('cpu'), join(root, 'build', b, `libscanstream_${b}.${suffix}`));
      }
      const probe = (backend: string) => spawnSync(process.execPath, ['-e',
        `import { NativeContext } from ${JSON.stringify(join(import.meta.dir, '..', '..', 'src', 'native'))};
         for (let i = 0; i < 2; i++) { const c = NativeContext.create({ backend: ${JSON.stringify(backend)} }); console.log(c.backend); c.destroy(); }`],
      { encoding: 'utf8', env: { ...process.env, SCANSTREAM_ROOT: root, SCANSTREAM_BACKEND: '', SCANSTREAM_LIB: '' } });
      const auto = probe('auto');
      expect(auto.stdout.trim().split('\n')).toEqual(['cpu', 'cpu']);
      // said once per process, not at every context
      expect(auto.stderr.split('the cuda backend is built but cannot start here').length - 1).toBe(1);
      const cuda = probe('cuda');
      expect(cuda.status).not.toBe(0);
      expect(cuda.stderr).toContain('cannot create a cuda context');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
