import { afterAll, describe, expect, test } from 'bun:test';
import type { Intrinsics } from '../../src/geometry/intrinsics';
import { SeededRandom } from '../../src/geometry/random';
import { NativeContext } from '../../src/native';
import { OrbExtractor } from '../../src/tracking/features';
import { ReciprocalMatcher } from '../../src/tracking/matching';
import { lookAt } from '../helpers/analyticScene';
import { renderRoom } from './scene';

const ctx = NativeContext.create({ backend: 'cpu' });
const orb = new OrbExtractor(ctx);
const portable = new OrbExtractor(ctx, { portable: true });
const matcher = new ReciprocalMatcher(ctx);
afterAll(() => {
  orb.destroy();
  portable.destroy();
  matcher.destroy();
  ctx.destroy();
});

const K: Intrinsics = { fx: 525, fy: 525, cx: 319.5, cy: 239.5, width: 640, height: 480 };
const view = renderRoom(K, lookAt([-0.1, 0.0, 0.9], [0.1, 0.5, 2.5]));
const gray = new Uint8Array(K.width * K.height);
for (let i = 0; i < gray.length; i++) gray[i] = (77 * view.rgb[3 * i]! + 150 * view.rgb[3 * i + 1]! + 29 * view.rgb[3 * i + 2]! + 128) >> 8;

describe('ORB extraction (640×480)', () => {
  const f = orb.extract(gray, K.width, K.height);

  test('finds up to 1000 features on every pyramid level, spread over the image (grid bucketing)', () => {
    console.log(`ORB: ${f.count} features, per level ${Array.from({ length: 8 }, (_, l) => f.level.filter((v) => v === l).length).join('/')}`);
    expect(f.count).toBeGreaterThan(800);
    expect(f.count).toBeLessThanOrEqual(1000);
    for (let l = 0; l < 8; l++) expect(f.level.filter((v) => v === l).length).toBeGreaterThan(0);
    // 8×6 coarse cells: features in nearly all of them
    const cells = new Set<number>();
    for (let i = 0; i < f.count; i++) cells.add(Math.floor(f.xy[2 * i]! / 80) + 8 * Math.floor(f.xy[2 * i + 1]! / 80));
    expect(cells.size).toBeGreaterThanOrEqual(44);
    for (let i = 0; i < f.count; i++) {
      expect(f.xy[2 * i]!).toBeGreaterThanOrEqual(16);
      expect(f.xy[2 * i]!).toBeLessThan(K.width - 16);
    }
  });

  test('deterministic, and the SIMD paths give exactly the portable kernel bodies\' output', () => {
    const again = orb.extract(gray, K.width, K.height);
    expect(Array.from(again.descriptors)).toEqual(Array.from(f.descriptors));
    const p = portable.extract(gray, K.width, K.height);
    expect(p.count).toBe(f.count);
    expect(Array.from(p.xy)).toEqual(Array.from(f.xy));
    expect(Array.from(p.angle)).toEqual(Array.from(f.angle));
    expect(Array.from(p.descriptors)).toEqual(Array.from(f.descriptors));
    const rng = new SeededRandom(3);
    const a = Uint8Array.from({ length: 300 * 32 }, () => rng.int(256)), b = Uint8Array.from({ length: 333 * 32 }, () => rng.int(256));
    const simd = matcher.matchBinary(a, b), port = matcher.matchBinary(a, b, { portable: true });
    expect(Array.from(simd.nnA)).toEqual(Array.from(port.nnA));
    expect(Array.from(simd.nnB)).toEqual(Array.from(port.nnB));
    expect(Array.from(simd.secondA)).toEqual(Array.from(port.secondA));
  });

  test('rotation invariance: the image turned 90° matches back to the same points (≥ 70% of ≥ 200 matches within 2 px)', () => {
    // rotate 90° clockwise: (x, y) → (H − 1 − y, x) in a 480×640 image
    const W = K.width, H = K.height;
    const rot = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) rot[x * H + (H - 1 - y)] = gray[y * W + x]!;
    const g = orb.extract(rot, H, W);
    const m = matcher.matchBinary(f.descriptors, g.descriptors, { maxDistance: 50, ratio: 0.9 });
    let good = 0;
    const n = m.pairs.length / 2;
    for (let k = 0; k < n; k++) {
      const i = m.pairs[2 * k]!, j = m.pairs[2 * k + 1]!;
      const ex = H - 1 - f.xy[2 * i + 1]!, ey = f.xy[2 * i]!;
      if (Math.hypot(g.xy[2 * j]! - ex, g.xy[2 * j + 1]! - ey) <= 2) good++;
    }
    console.log(`ORB rotated 90°: ${good}/${n} matches at the rotated position`);
    expect(n).toBeGreaterThanOrEqual(200);
    expect(good / n).toBeGreaterThanOrEqual(0.7);
  });

  test('a blank image has no features (not an error); bad sizes are rejected', () => {
    expect(orb.extract(new Uint8Array(K.width * K.height).fill(128), K.width, K.height).count).toBe(0);
    expect(() => orb.extract(new Uint8Array(10), K.width, K.height)).toThrow(/640×480/);
    expect(() => orb.extract(new Uint8Array(20 * 20), 20, 20)).toThrow(/too small/);
  });
});
