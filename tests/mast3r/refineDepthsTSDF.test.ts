import { describe, expect, test } from 'bun:test';
import { NativeContext } from '../../src/native';
import { Mast3rInputError, refineDepthsTSDF } from '../../src/mast3r';
import { maxRelativeError } from '../helpers/random';
import { philox4x32_10, refRefineTSDF } from './reference';

describe('Philox4x32-10 (Random123 known-answer vectors)', () => {
  test('the reference implementation', () => {
    expect(philox4x32_10([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(philox4x32_10([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))
      .toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    expect(philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))
      .toEqual([0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]);
  });
});

/** three cameras side by side looking at a tilted plane, depths off by a few mm */
function scene(N: number, H: number, W: number): { depths: Float32Array; confs: Float32Array; poses: Float32Array; K: Float32Array; cams: Float32Array } {
  const depths = new Float32Array(N * H * W), confs = new Float32Array(N * H * W);
  const poses = new Float32Array(N * 16), K = new Float32Array(N * 9), cams = new Float32Array(N * 16);
  const f = 20, cx = (W - 1) / 2, cy = (H - 1) / 2;
  for (let i = 0; i < N; i++) {
    const tx = 0.1 * i;
    poses.set([1, 0, 0, tx, 0, 1, 0, 0.02 * i, 0, 0, 1, 0, 0, 0, 0, 1], i * 16);
    K.set([f, 0, cx, 0, f, cy, 0, 0, 1], i * 9);
    cams.set([1, 0, 0, tx, 0, 1, 0, 0.02 * i, 0, 0, 1, 0, f, f, cx, cy], i * 16);
    for (let p = 0; p < H * W; p++) {
      const u = p % W, v = Math.floor(p / W);
      // plane z = 2 + 0.05·X seen from camera i, plus a deterministic wobble
      const ray = (u - cx) / f;
      const z = (2 + 0.05 * tx) / (1 - 0.05 * ray);
      depths[i * H * W + p] = z + 0.01 * Math.sin(3 * p + i) + (v === 2 && u === 3 ? 0.3 : 0);
      confs[i * H * W + p] = 1 + ((p * 7 + i) % 5);
    }
  }
  return { depths, confs, poses, K, cams };
}

describe('refineDepthsTSDF', () => {
  const N = 3, H = 8, W = 10;
  const s = scene(N, H, W);
  const args = [{ data: s.depths, shape: [N, H, W] }, { data: s.confs, shape: [N, H, W] }, { data: s.poses, shape: [N, 4, 4] }, { data: s.K, shape: [N, 3, 3] }] as const;
  test('equals the spec reference (same RNG stream), float32 within 1e-5', () => {
    const got = refineDepthsTSDF(...args, { tau: 0.05, samples: 48, seed: 12345 });
    const ref = refRefineTSDF(s.depths, s.confs, s.cams, N, H, W, 0.05, 48, [12345, 0]);
    expect(maxRelativeError(got.data, ref, 1e-3)).toBeLessThan(1e-5);
    // it does something: most depths move, within the sampled range d + (n − 1)·τ
    let moved = 0;
    for (let i = 0; i < got.data.length; i++) {
      if (got.data[i] !== s.depths[i]) moved++;
      expect(Math.abs(got.data[i]! - s.depths[i]! + 0.05)).toBeLessThan(0.05 * 6);
    }
    expect(moved).toBeGreaterThan(got.data.length / 2);
  });
  test('deterministic for a seed, independent of threads; another seed differs', () => {
    const one = NativeContext.create({ backend: 'cpu', threads: 1 });
    try {
      const a = refineDepthsTSDF(...args, { tau: 0.05, samples: 16, seed: 7n });
      const b = refineDepthsTSDF(...args, { tau: 0.05, samples: 16, seed: 7, ctx: one });
      const c = refineDepthsTSDF(...args, { tau: 0.05, samples: 16, seed: 8 });
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      expect(Array.from(a.data)).not.toEqual(Array.from(c.data));
    } finally {
      one.destroy();
    }
  });
  test('a 64-bit seed uses both key words', () => {
    const ref = refRefineTSDF(s.depths, s.confs, s.cams, N, H, W, 0.02, 8, [5, 3]);
    const got = refineDepthsTSDF(...args, { tau: 0.02, samples: 8, seed: (3n << 32n) | 5n });
    expect(maxRelativeError(got.data, ref, 1e-3)).toBeLessThan(1e-5);
  });
  test('bad input', () => {
    expect(() => refineDepthsTSDF(...args, { tau: 0 })).toThrow(/tau must be/);
    expect(() => refineDepthsTSDF(args[0], { data: s.confs.subarray(0, H * W), shape: [1, H, W] }, args[2], args[3], { tau: 0.1 })).toThrow(/confs: expected/);
    expect(() => refineDepthsTSDF(...args.slice(0, 3) as [typeof args[0], typeof args[1], typeof args[2]],
      { data: Float32Array.from(s.K, (v, i) => (i === 1 ? 0.5 : v)), shape: [N, 3, 3] }, { tau: 0.1 })).toThrow(/pinhole/);
    expect(() => refineDepthsTSDF(...args, { tau: 0.1, samples: 0 })).toThrow(Mast3rInputError);
    expect(() => refineDepthsTSDF(...args, { tau: 0.1, seed: -1 })).toThrow(/seed/);
  });
});
