import { afterAll, describe, expect, test } from 'bun:test';
import { ArenaPool } from '../../src/fusion/meshArena';
import { NativeContext } from '../../src/native';

const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => ctx.destroy());

describe('ArenaPool', () => {
  test('a meshing output that grows a little per call reuses the buffer made with headroom (no buffer per call)', () => {
    const pool = new ArenaPool(ctx);
    const made = new Set<unknown>();
    let bytes = 1_000_000;
    let buf = pool.take(bytes, 1.5);
    made.add(buf);
    for (let call = 0; call < 20; call++) {
      pool.give(buf);
      bytes = Math.ceil(bytes * 1.02);
      buf = pool.take(bytes, 1.5);
      made.add(buf);
      expect(buf.bytes).toBeGreaterThanOrEqual(bytes);
    }
    // 1.02^20 ≈ 1.49: the first buffer (≥ 1.5 MB) holds every call's output
    expect(made.size).toBe(1);
    pool.give(buf);
    pool.clear();
    expect(pool.bytes).toBe(0);
  });

  test('made to measure (no headroom), the same calls need a new buffer most of the time', () => {
    const pool = new ArenaPool(ctx);
    const made = new Set<unknown>();
    let bytes = 1_000_000;
    let buf = pool.take(bytes);
    made.add(buf);
    for (let call = 0; call < 20; call++) {
      pool.give(buf);
      bytes = Math.ceil(bytes * 1.02);
      buf = pool.take(bytes);
      made.add(buf);
    }
    expect(made.size).toBeGreaterThan(3);
    pool.give(buf);
    pool.clear();
  });

  test('a free buffer over twice the request is not spent on it', () => {
    const pool = new ArenaPool(ctx);
    const big = pool.take(4_000_000);
    pool.give(big);
    const small = pool.take(100_000);
    expect(small).not.toBe(big);
    expect(small.bytes).toBeLessThan(200_000);
    pool.give(small);
    pool.clear();
  });
});
