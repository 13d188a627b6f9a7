import { describe, expect, test } from 'bun:test';
import { infoNCELoss, Mast3rInputError, similarities } from '../../src/mast3r';
import { randomUnitRows } from '../../src/mast3r/synthetic';
import { maxRelativeError } from '../helpers/random';
import { refInfoNCE, refInfoNCEPairs, refSimilarity } from './reference';

const D = 24;

describe('similarities (get_similarities)', () => {
  for (const euc of [false, true]) {
    for (const [B, N, M] of [[1, 5, 3], [2, 33, 47], [3, 16, 130]] as [number, number, number][]) {
      test(`${euc ? 'euc' : 'dot'} ${B}×${N}×${M}`, () => {
        const a = randomUnitRows(B * N, D, N), b = randomUnitRows(B * M, D, M + 1);
        const got = similarities({ data: a, shape: [B, N, D] }, { data: b, shape: [B, M, D] }, { euc });
        expect(got.shape).toEqual([B, N, M]);
        // dot products of unit vectors reach ~0: judge against the unit scale they live on
        expect(maxRelativeError(got.data, refSimilarity(a, b, B, N, M, D, euc), 1)).toBeLessThan(1e-6);
      });
    }
  }
  test('2-d inputs give [N, M]', () => {
    const a = randomUnitRows(4, D, 1), b = randomUnitRows(6, D, 2);
    expect(similarities({ data: a, shape: [4, D] }, { data: b, shape: [6, D] }).shape).toEqual([4, 6]);
  });
  test('an output past the caches (16 MiB, streaming stores) equals the reference on sampled rows', () => {
    const N = 2048;
    const a = randomUnitRows(N, D, 5), b = randomUnitRows(N, D, 6);
    const got = similarities({ data: a, shape: [N, D] }, { data: b, shape: [N, D] });
    for (const row of [0, 1, 7, 8, 1000, 2047]) {
      const ref = refSimilarity(a.subarray(row * D, row * D + D), b, 1, 1, N, D, false);
      expect(maxRelativeError(got.data.subarray(row * N, row * N + N), ref, 1)).toBeLessThan(1e-6);
    }
  });
  test('a NaN descriptor gives NaN similarities, as MASt3R (the other rows are untouched)', () => {
    for (const euc of [false, true]) {
      const N = 20, M = 33;
      const a = randomUnitRows(N, D, 3), b = randomUnitRows(M, D, 4);
      a[5 * D + 7] = NaN;
      const got = similarities({ data: a, shape: [N, D] }, { data: b, shape: [M, D] }, { euc });
      const ref = refSimilarity(a, b, 1, N, M, D, euc);
      expect(Array.from(got.data.subarray(5 * M, 6 * M)).every(Number.isNaN)).toBe(true);
      expect(maxRelativeError(got.data, ref, 1)).toBeLessThan(1e-6);
    }
  });
  test('bad input', () => {
    const a = { data: randomUnitRows(4, D, 1), shape: [1, 4, D] };
    expect(() => similarities(a, { data: new Float32Array(4 * 5), shape: [1, 4, 5] })).toThrow(Mast3rInputError);
    expect(() => similarities(a, { data: new Int32Array(4 * D), shape: [1, 4, D] })).toThrow(/dtype int32/);
  });
});

describe('infoNCELoss (InfoNCE, mode proper)', () => {
  for (const [temperature, euc] of [[0.05, false], [0.07, false], [0.05, true]] as [number, boolean][]) {
    test(`τ = ${temperature}${euc ? ', euc' : ''}`, () => {
      const B = 2, N = 50;
      // matching rows: desc2 = desc1 + noise, normalised
      const a = randomUnitRows(B * N, D, 3);
      const noise = randomUnitRows(B * N, D, 4);
      const b = new Float32Array(a.length);
      for (let i = 0; i < B * N; i++) {
        let s = 0;
        for (let k = 0; k < D; k++) {
          const v = a[i * D + k]! + 0.4 * noise[i * D + k]!;
          b[i * D + k] = v;
          s += v * v;
        }
        for (let k = 0; k < D; k++) b[i * D + k] = b[i * D + k]! / Math.sqrt(s);
      }
      const got = infoNCELoss({ data: a, shape: [B, N, D] }, { data: b, shape: [B, N, D] }, { temperature, euc });
      const ref = refInfoNCE(a, b, B, N, D, temperature, euc);
      expect(Math.abs(got.loss - ref) / Math.abs(ref)).toBeLessThan(1e-5);
      expect(got.perPair.shape).toEqual([B, N]);
    });
  }
  test('the clip at eps: hopeless pairs cost −2·log(eps)', () => {
    const a = randomUnitRows(2, D, 7);
    const b = Float32Array.from(a);
    // pair 1's descriptors point opposite ways: its positive (−1/τ) is far below its rivals
    for (let k = 0; k < D; k++) b[D + k] = -b[D + k]!;
    const got = infoNCELoss({ data: a, shape: [2, D] }, { data: b, shape: [2, D] }, { temperature: 0.01 });
    expect(got.perPair.data[1]).toBeCloseTo(-2 * Math.log(1e-8), 4);
  });
  test('NaN similarities are ignored as MASt3R\'s −∞; a pair whose whole row is NaN has a NaN loss (0/0), as in torch', () => {
    for (const N of [12, 40]) {
      const a = randomUnitRows(N, D, 9), b = randomUnitRows(N, D, 10);
      a[3 * D] = NaN;
      const got = infoNCELoss({ data: a, shape: [N, D] }, { data: b, shape: [N, D] }, { temperature: 0.07 });
      const ref = refInfoNCEPairs(a, b, 1, N, D, 0.07, false);
      expect(Number.isNaN(ref[3])).toBe(true);
      expect(Number.isNaN(got.perPair.data[3])).toBe(true);
      expect(Number.isNaN(got.loss)).toBe(true);
      expect(maxRelativeError(got.perPair.data, ref, 1e-3)).toBeLessThan(1e-5);
    }
  });
  test('bad input', () => {
    const a = { data: randomUnitRows(4, D, 1), shape: [4, D] };
    expect(() => infoNCELoss(a, { data: randomUnitRows(5, D, 2), shape: [5, D] })).toThrow(/same shape/);
    expect(() => infoNCELoss(a, a, { temperature: 0 })).toThrow(/temperature must be > 0/);
  });
});
