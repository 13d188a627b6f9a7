import { readFileSync, writeFileSync } from 'node:fs';
import { dtypeOf, shapeString, sizeOf, type DType, type NdArray, type NumericArray } from './ndarray';

/** A `.npy` file this reader refuses, with the reason (Fortran order, big-endian, object dtype, …). */
export class NpyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NpyError';
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const descrs: Record<string, DType> = { f4: 'float32', f8: 'float64', i4: 'int32', i8: 'int64' };
const bytesPer: Record<DType, number> = { float32: 4, float64: 8, int32: 4, int64: 8 };
const descrOf: Record<DType, string> = { float32: '<f4', float64: '<f8', int32: '<i4', int64: '<i8' };

function field(header: string, key: string, where: string): string {
  const re = new RegExp(`['"]${key}['"]\\s*:\\s*`);
  const m = re.exec(header);
  if (!m) throw new NpyError(`${where}: header has no '${key}' (${header.trim()})`);
  return header.slice(m.index + m[0].length);
}

function parseDescr(header: string, where: string): DType {
  const rest = field(header, 'descr', where);
  const m = /^['"]([^'"]*)['"]/.exec(rest);
  if (!m) {
    throw new NpyError(`${where}: structured dtype ${rest.split('}')[0]?.trim()} is not supported (float32, float64, int32, int64 only)`);
  }
  const descr = m[1] as string;
  const order = descr[0] ?? '';
  const code = descr.slice(1);
  if (code === 'O' || descr === 'O') {
    throw new NpyError(`${where}: object dtype ('${descr}') is not supported: save a numeric array (np.asarray(x, dtype=np.float32))`);
  }
  if (order === '>') {
    throw new NpyError(`${where}: big-endian dtype '${descr}' is not supported: convert with arr.astype(arr.dtype.newbyteorder('<'))`);
  }
  const dtype = descrs[code];
  if ((order !== '<' && order !== '=' && order !== '|') || dtype === undefined) {
    throw new NpyError(`${where}: dtype '${descr}' is not supported (float32, float64, int32, int64 only)`);
  }
  return dtype;
}

function parseFortran(header: string, where: string): boolean {
  const rest = field(header, 'fortran_order', where);
  if (rest.startsWith('True')) return true;
  if (rest.startsWith('False')) return false;
  throw new NpyError(`${where}: cannot read fortran_order in header (${header.trim()})`);
}

function parseShape(header: string, where: string): number[] {
  const rest = field(header, 'shape', where);
  const m = /^\(([^)]*)\)/.exec(rest);
  if (!m) throw new NpyError(`${where}: cannot read shape in header (${header.trim()})`);
  const parts = (m[1] as string).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  return parts.map((p) => {
    const v = Number(p.replace(/L$/, ''));
    if (!Number.isSafeInteger(v) || v < 0) throw new NpyError(`${where}: bad dimension '${p}' in shape`);
    return v;
  });
}

/** Parses `.npy` bytes (format 1.0–3.0; little-endian float32/float64/int32/int64, C order). */
export function parseNpy(bytes: Uint8Array, where = '.npy'): NdArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError(`${where}: not a .npy file (no \\x93NUMPY magic)`);
  }
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(`${where}: truncated header`);
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new NpyError(`${where}: .npy format version ${major} is not supported (1, 2 or 3)`);
  }
  if (start + headerLen > bytes.length) throw new NpyError(`${where}: truncated header`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const dtype = parseDescr(header, where);
  if (parseFortran(header, where)) {
    throw new NpyError(`${where}: Fortran-order arrays are not supported: save with np.ascontiguousarray(x)`);
  }
  const shape = parseShape(header, where);
  const count = sizeOf(shape);
  const offset = start + headerLen;
  const need = count * bytesPer[dtype];
  if (bytes.length - offset < need) {
    throw new NpyError(`${where}: data is truncated: shape ${shapeString(shape)} of ${dtype} needs ${need} bytes, file has ${bytes.length - offset}`);
  }
  // copy so the typed array is aligned and owns its memory (a Node Buffer's
  // slice() would share its pool instead)
  const copy = new Uint8Array(need);
  copy.set(bytes.subarray(offset, offset + need));
  const raw = copy.buffer;
  let data: NumericArray;
  switch (dtype) {
    case 'float32': data = new Float32Array(raw); break;
    case 'float64': data = new Float64Array(raw); break;
    case 'int32': data = new Int32Array(raw); break;
    case 'int64': data = new BigInt64Array(raw); break;
  }
  return { data, shape };
}

/** Serialises to `.npy` format 1.0 (header padded to 64 bytes, C order, little-endian). */
export function formatNpy(arr: NdArray): Uint8Array {
  const dtype = dtypeOf(arr.data);
  if (arr.data.length !== sizeOf(arr.shape)) {
    throw new NpyError(`formatNpy: ${arr.data.length} elements do not fill shape ${shapeString(arr.shape)}`);
  }
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descrOf[dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const body = new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(body, 10 + header.length);
  return out;
}

export function readNpy(path: string): NdArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new NpyError(`${path}: cannot read (${(err as Error).message})`);
  }
  return parseNpy(bytes, path);
}

export function writeNpy(path: string, arr: NdArray): void {
  writeFileSync(path, formatNpy(arr));
}
