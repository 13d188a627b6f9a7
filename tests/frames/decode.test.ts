import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeColour, decodeDepth16, encodeColourPng, encodeDepthPng } from '../../src/frames/decode';
import { depthToMetres, findInvalidDepth, metresToDepth16 } from '../../src/frames/depthUnits';
import { SourceError } from '../../src/frames/errors';
import { cleanup, expectSameBytes, tempDir } from './helpers';
import { seededRandom } from '../helpers/random';

let dir = '';
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await cleanup(dir);
});

async function rejection(p: Promise<unknown>): Promise<SourceError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SourceError);
    return err as SourceError;
  }
  throw new Error('expected a SourceError');
}

describe('colour decoding', () => {
  test('RGB PNG round-trips bit-exact through encodeColourPng / decodeColour', async () => {
    const rnd = seededRandom(3);
    const rgb = Uint8Array.from({ length: 37 * 23 * 3 }, () => Math.floor(rnd() * 256));
    const path = join(dir, 'rgb.png');
    await writeFile(path, await encodeColourPng(rgb, 37, 23));
    const img = await decodeColour(path);
    expect([img.width, img.height]).toEqual([37, 23]);
    expect(expectSameBytes(img.rgb, rgb)).toBe(true);
  });

  test('grey PNG becomes RGB with three equal channels', async () => {
    const path = join(dir, 'grey.png');
    await sharp(Uint8Array.from([0, 100, 200, 255]), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('b-w').png().toFile(path);
    expect((await sharp(path).metadata()).channels).toBe(1);
    const img = await decodeColour(path);
    expect(Array.from(img.rgb)).toEqual([0, 0, 0, 100, 100, 100, 200, 200, 200, 255, 255, 255]);
  });

  test('RGBA PNG loses its alpha channel', async () => {
    const path = join(dir, 'rgba.png');
    await sharp(Uint8Array.from([1, 2, 3, 40, 5, 6, 7, 80]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(path);
    const img = await decodeColour(path);
    expect(Array.from(img.rgb)).toEqual([1, 2, 3, 5, 6, 7]);
  });

  test('JPEG decodes to RGB of its size', async () => {
    const path = join(dir, 'c.jpg');
    await sharp(new Uint8Array(16 * 8 * 3).fill(128), { raw: { width: 16, height: 8, channels: 3 } }).jpeg({ quality: 95 }).toFile(path);
    const img = await decodeColour(path);
    expect([img.width, img.height, img.rgb.length]).toEqual([16, 8, 16 * 8 * 3]);
    expect(Math.abs(img.rgb[0]! - 128)).toBeLessThanOrEqual(2);
  });

  test('missing file and corrupt PNG: SourceError naming the file', async () => {
    const missing = join(dir, 'nope.png');
    const e1 = await rejection(decodeColour(missing));
    expect(e1.file).toBe(missing);
    expect(e1.message).toContain('file not found');
    const corrupt = join(dir, 'corrupt.png');
    const good = await encodeColourPng(new Uint8Array(64 * 64 * 3).fill(9), 64, 64);
    await writeFile(corrupt, good.subarray(0, good.length - 30));
    const e2 = await rejection(decodeColour(corrupt));
    expect(e2.message).toContain(corrupt);
    expect(e2.message).toContain('8-bit colour image');
  });

  test('a colour image of another size than expected is refused', async () => {
    const path = join(dir, 'small.png');
    await writeFile(path, await encodeColourPng(new Uint8Array(4 * 3 * 3), 4, 3));
    const e = await rejection(decodeColour(path, { width: 640, height: 480 }));
    expect(e.message).toMatch(/640×480.*4×3/);
  });
});

describe('16-bit depth decoding', () => {
  test('encodeDepthPng → decodeDepth16 round-trips every value bit-exact (0, 1, 65535 and random)', async () => {
    const rnd = seededRandom(11);
    const w = 61, h = 17;
    const data = Uint16Array.from({ length: w * h }, () => Math.floor(rnd() * 65536));
    data[0] = 0; data[1] = 1; data[2] = 65535; data[3] = 256; data[4] = 255;
    const path = join(dir, 'depth.png');
    await writeFile(path, await encodeDepthPng(data, w, h));
    const meta = await sharp(path).metadata();
    expect([meta.channels, meta.depth, meta.bitsPerSample]).toEqual([1, 'ushort', 16]);
    const back = await decodeDepth16(path);
    expect([back.width, back.height]).toEqual([w, h]);
    expect(expectSameBytes(back.data, data)).toBe(true);
  });

  test('8-bit PNG as depth is refused naming the bit depth', async () => {
    const path = join(dir, 'depth8.png');
    await sharp(new Uint8Array(8 * 8).fill(7), { raw: { width: 8, height: 8, channels: 1 } }).toColourspace('b-w').png().toFile(path);
    const e = await rejection(decodeDepth16(path));
    expect(e.message).toMatch(/expected a 16-bit single-channel depth PNG, got 8-bit/);
    expect(e.file).toBe(path);
  });

  test('16-bit RGB PNG as depth is refused (3 channels)', async () => {
    const path = join(dir, 'depth16rgb.png');
    await sharp(new Uint16Array(4 * 4 * 3).fill(1000), { raw: { width: 4, height: 4, channels: 3 } }).toColourspace('rgb16').png().toFile(path);
    const e = await rejection(decodeDepth16(path));
    expect(e.message).toMatch(/3 channels/);
  });

  test('depth of the wrong size is refused naming both sizes', async () => {
    const path = join(dir, 'depthsmall.png');
    await writeFile(path, await encodeDepthPng(new Uint16Array(6), 3, 2));
    const e = await rejection(decodeDepth16(path, { width: 640, height: 480 }));
    expect(e.message).toMatch(/640×480.*3×2/);
  });

  test('units: raw/scale with 0 kept, and round(depth·scale) recovers every raw value', () => {
    const raw = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const m = depthToMetres(raw, 5000);
    expect(m[0]).toBe(0);
    expect(m[6192]).toBe(Math.fround(6192 / 5000));
    expect(expectSameBytes(metresToDepth16(m, 5000), raw)).toBe(true);
    expect(Array.from(metresToDepth16(Float32Array.from([20, 0.00009, 0.00011]), 5000))).toEqual([65535, 0, 1]);
    expect(findInvalidDepth(Float32Array.from([0, 1, NaN]))).toBe(2);
    expect(findInvalidDepth(Float32Array.from([0, -0.5]))).toBe(1);
    expect(findInvalidDepth(Float32Array.from([0, 2]))).toBe(-1);
  });
});
