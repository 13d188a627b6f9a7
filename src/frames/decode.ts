/**
 * Image decoding and encoding through sharp (libvips): 8-bit colour PNG/JPEG
 * to packed RGB, 16-bit single-channel depth PNG to raw sensor units, and the
 * inverse encoders the recorder uses. Every failure is a SourceError naming
 * the file and what was expected.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { SourceError } from './errors';

export interface ColourImage {
  width: number;
  height: number;
  /** packed RGB, 3 bytes per pixel, row-major */
  rgb: Uint8Array;
}

export interface Depth16Image {
  width: number;
  height: number;
  /** raw sensor units (TUM: 5000 per metre), 0 = no measurement */
  data: Uint16Array;
}

export interface ImageSize {
  width: number;
  height: number;
}

/** Read a file's bytes; a missing or unreadable file becomes a SourceError naming it. */
export async function readInputFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String((err as Error).message);
    throw new SourceError(`cannot read ${what}: ${reason}`, { file: path, cause: err });
  }
}

async function imageMetadata(bytes: Uint8Array, path: string, what: string): Promise<Metadata> {
  try {
    return await sharp(bytes).metadata();
  } catch (err) {
    throw new SourceError(`expected ${what}, but the file is not a readable image (${(err as Error).message})`, { file: path, cause: err });
  }
}

function checkSize(meta: ImageSize, expected: ImageSize | undefined, path: string, what: string): void {
  if (!expected) return;
  if (meta.width !== expected.width || meta.height !== expected.height) {
    throw new SourceError(
      `expected ${what} of ${expected.width}×${expected.height} (the size of its colour image), got ${meta.width}×${meta.height}`,
      { file: path },
    );
  }
}

/** Decode an 8-bit colour image (PNG, JPEG, …) to RGB: alpha is dropped, grey is expanded to RGB. */
export async function decodeColour(path: string, expected?: ImageSize): Promise<ColourImage> {
  const what = 'an 8-bit colour image (PNG or JPEG)';
  const bytes = await readInputFile(path, 'colour image');
  const meta = await imageMetadata(bytes, path, what);
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  checkSize({ width, height }, expected, path, 'a colour image');
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(bytes).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new SourceError(`expected ${what}, but it does not decode (${(err as Error).message})`, { file: path, cause: err });
  }
  if (out.info.channels !== 3 || out.info.width !== width || out.info.height !== height) {
    throw new SourceError(`expected ${what}, decoded ${out.info.width}×${out.info.height}×${out.info.channels}`, { file: path });
  }
  return { width, height, rgb: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length) };
}

/**
 * Decode a 16-bit single-channel PNG (TUM depth) to its stored values.
 * `raw({ depth: 'ushort' })` alone would convert grey16 to sRGB and rescale;
 * `toColourspace('grey16')` keeps the stored units (see shared/data/README.md).
 */
export async function decodeDepth16(path: string, expected?: ImageSize): Promise<Depth16Image> {
  const what = 'a 16-bit single-channel depth PNG';
  const bytes = await readInputFile(path, 'depth image');
  const meta = await imageMetadata(bytes, path, what);
  if (meta.format !== 'png') throw new SourceError(`expected ${what}, got a ${meta.format} image`, { file: path });
  const bits = meta.bitsPerSample ?? (meta.depth === 'ushort' ? 16 : 8);
  if (meta.depth !== 'ushort' || bits !== 16) {
    throw new SourceError(`expected ${what}, got ${bits}-bit samples (${meta.channels ?? '?'} channel(s))`, { file: path });
  }
  if (meta.channels !== 1) throw new SourceError(`expected ${what}, got ${meta.channels ?? '?'} channels`, { file: path });
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  checkSize({ width, height }, expected, path, 'a depth image');
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(bytes).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new SourceError(`expected ${what}, but it does not decode (${(err as Error).message})`, { file: path, cause: err });
  }
  if (out.info.channels !== 1 || out.data.length !== width * height * 2) {
    throw new SourceError(`expected ${what}, decoded ${out.info.width}×${out.info.height}×${out.info.channels}`, { file: path });
  }
  return { width, height, data: uint16View(out.data) };
}

function uint16View(buf: Uint8Array): Uint16Array {
  if (buf.byteOffset % 2 === 0) return new Uint16Array(buf.buffer, buf.byteOffset, buf.length / 2);
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new Uint16Array(copy.buffer);
}

/** Deterministic PNG encoding (same pixels → same bytes) of packed RGB. */
export async function encodeColourPng(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  if (rgb.length !== width * height * 3) throw new RangeError(`encodeColourPng: ${rgb.length} bytes is not ${width}×${height}×3`);
  const png = await sharp(rgb, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}

/** 16-bit single-channel PNG of raw depth units; decodeDepth16 reads it back bit-exact. */
export async function encodeDepthPng(data: Uint16Array, width: number, height: number): Promise<Uint8Array> {
  if (data.length !== width * height) throw new RangeError(`encodeDepthPng: ${data.length} samples is not ${width}×${height}`);
  const png = await sharp(data, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.length);
}
