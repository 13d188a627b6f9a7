/**
 * PLY meshes (Turk 1994): writes binary little-endian (vertex x y z float,
 * optional nx ny nz float and red green blue uchar; triangles as
 * `list uchar int vertex_indices`), reads binary little-endian and ASCII with
 * the usual property types. Polygons are fan-triangulated on read.
 */
import { writeFile } from 'node:fs/promises';
import { readInputFile } from '../frames/decode';
import type { TriangleMesh } from '../geometry/mesh';
import { SourceError } from '../frames/errors';

type ScalarType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

const TYPE_NAMES: Record<string, ScalarType> = {
  char: 'int8', int8: 'int8', uchar: 'uint8', uint8: 'uint8',
  short: 'int16', int16: 'int16', ushort: 'uint16', uint16: 'uint16',
  int: 'int32', int32: 'int32', uint: 'uint32', uint32: 'uint32',
  float: 'float32', float32: 'float32', double: 'float64', float64: 'float64',
};

const TYPE_SIZE: Record<ScalarType, number> = { int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, float32: 4, float64: 8 };

interface PlyProperty {
  name: string;
  type: ScalarType;
  /** for list properties: the count's type */
  countType?: ScalarType;
}

interface PlyElement {
  name: string;
  count: number;
  properties: PlyProperty[];
}

interface PlyHeader {
  format: 'ascii' | 'binary_little_endian';
  elements: PlyElement[];
  /** byte offset of the body */
  bodyOffset: number;
}

// ---- writing ---------------------------------------------------------------

function checkMesh(mesh: TriangleMesh): number {
  if (mesh.positions.length % 3 !== 0) throw new RangeError(`PLY: positions length ${mesh.positions.length} is not a multiple of 3`);
  const n = mesh.positions.length / 3;
  if (mesh.colors && mesh.colors.length !== n * 3) throw new RangeError(`PLY: ${mesh.colors.length} colour bytes for ${n} vertices (expected ${n * 3})`);
  if (mesh.normals && mesh.normals.length !== n * 3) throw new RangeError(`PLY: ${mesh.normals.length} normal values for ${n} vertices (expected ${n * 3})`);
  if (mesh.indices) {
    if (mesh.indices.length % 3 !== 0) throw new RangeError(`PLY: indices length ${mesh.indices.length} is not a multiple of 3`);
    for (let i = 0; i < mesh.indices.length; i++) {
      if (mesh.indices[i]! >= n) throw new RangeError(`PLY: index ${mesh.indices[i]} at ${i} is out of range (${n} vertices)`);
    }
  }
  return n;
}

function headerText(n: number, mesh: TriangleMesh): string {
  const lines = ['ply', 'format binary_little_endian 1.0', 'comment scanstream', `element vertex ${n}`, 'property float x', 'property float y', 'property float z'];
  if (mesh.normals) lines.push('property float nx', 'property float ny', 'property float nz');
  if (mesh.colors) lines.push('property uchar red', 'property uchar green', 'property uchar blue');
  if (mesh.indices) lines.push(`element face ${mesh.indices.length / 3}`, 'property list uchar int vertex_indices');
  lines.push('end_header');
  return `${lines.join('\n')}\n`;
}

/** Binary little-endian PLY bytes (for files and browser downloads). */
export function encodePly(mesh: TriangleMesh): Uint8Array {
  const n = checkMesh(mesh);
  const header = new TextEncoder().encode(headerText(n, mesh));
  const vertexSize = 12 + (mesh.normals ? 12 : 0) + (mesh.colors ? 3 : 0);
  const faces = mesh.indices ? mesh.indices.length / 3 : 0;
  const out = new Uint8Array(header.length + n * vertexSize + faces * 13);
  out.set(header, 0);
  const dv = new DataView(out.buffer);
  let at = header.length;
  const { positions: p, normals: nn, colors: c } = mesh;
  for (let i = 0; i < n; i++) {
    dv.setFloat32(at, p[3 * i]!, true); dv.setFloat32(at + 4, p[3 * i + 1]!, true); dv.setFloat32(at + 8, p[3 * i + 2]!, true);
    at += 12;
    if (nn) {
      dv.setFloat32(at, nn[3 * i]!, true); dv.setFloat32(at + 4, nn[3 * i + 1]!, true); dv.setFloat32(at + 8, nn[3 * i + 2]!, true);
      at += 12;
    }
    if (c) {
      out[at] = c[3 * i]!; out[at + 1] = c[3 * i + 1]!; out[at + 2] = c[3 * i + 2]!;
      at += 3;
    }
  }
  const idx = mesh.indices;
  for (let f = 0; f < faces; f++) {
    out[at] = 3;
    dv.setInt32(at + 1, idx![3 * f]!, true); dv.setInt32(at + 5, idx![3 * f + 1]!, true); dv.setInt32(at + 9, idx![3 * f + 2]!, true);
    at += 13;
  }
  return out;
}

export async function writePly(path: string, mesh: TriangleMesh): Promise<void> {
  await writeFile(path, encodePly(mesh));
}

// ---- reading ---------------------------------------------------------------

function findHeaderEnd(bytes: Uint8Array, file: string): number {
  const limit = Math.min(bytes.length, 1 << 20);
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, limit));
  const m = /end_header[ \t]*\r?\n/.exec(text);
  if (!m) throw new SourceError("expected a PLY header ending in 'end_header', found none", { file });
  return m.index + m[0].length;
}

function parseHeader(bytes: Uint8Array, file: string): PlyHeader {
  const bodyOffset = findHeaderEnd(bytes, file);
  const lines = new TextDecoder('latin1').decode(bytes.subarray(0, bodyOffset)).split(/\r?\n/);
  if (lines[0]?.trim() !== 'ply') throw new SourceError("expected a PLY file (first line 'ply')", { file, line: 1 });
  let format: PlyHeader['format'] | null = null;
  const elements: PlyElement[] = [];
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    const line = i + 1;
    switch (f[0]) {
      case 'format':
        if (f[1] === 'binary_big_endian') throw new SourceError('big-endian PLY is not supported; expected binary_little_endian or ascii', { file, line });
        if (f[1] !== 'ascii' && f[1] !== 'binary_little_endian') throw new SourceError(`unsupported PLY format '${f[1]}'; expected binary_little_endian or ascii`, { file, line });
        format = f[1];
        break;
      case 'element': {
        const count = Number(f[2]);
        if (f.length !== 3 || !Number.isInteger(count) || count < 0) throw new SourceError(`expected 'element NAME COUNT', got '${lines[i]}'`, { file, line });
        elements.push({ name: f[1]!, count, properties: [] });
        break;
      }
      case 'property':
        addProperty(elements, f, file, line, lines[i]!);
        break;
      case 'comment':
      case 'obj_info':
      case 'end_header':
      case '':
      case undefined:
        break;
      default:
        throw new SourceError(`unsupported PLY header line '${lines[i]}'`, { file, line });
    }
  }
  if (!format) throw new SourceError("expected a 'format' line in the PLY header", { file });
  return { format, elements, bodyOffset };
}

function scalarType(name: string | undefined, file: string, line: number): ScalarType {
  const t = name === undefined ? undefined : TYPE_NAMES[name];
  if (!t) throw new SourceError(`unsupported PLY property type '${name}'; expected char/uchar/short/ushort/int/uint/float/double`, { file, line });
  return t;
}

function addProperty(elements: PlyElement[], f: string[], file: string, line: number, raw: string): void {
  const el = elements.at(-1);
  if (!el) throw new SourceError(`PLY property before any element: '${raw}'`, { file, line });
  if (f[1] === 'list') {
    if (f.length !== 5) throw new SourceError(`expected 'property list COUNT_TYPE INDEX_TYPE NAME', got '${raw}'`, { file, line });
    el.properties.push({ name: f[4]!, countType: scalarType(f[2], file, line), type: scalarType(f[3], file, line) });
  } else {
    if (f.length !== 3) throw new SourceError(`expected 'property TYPE NAME', got '${raw}'`, { file, line });
    el.properties.push({ name: f[2]!, type: scalarType(f[1], file, line) });
  }
}

/** Sequential reader over either body encoding. */
interface ValueReader {
  next(type: ScalarType): number;
}

function binaryReader(bytes: Uint8Array, offset: number, file: string): ValueReader {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = offset;
  return {
    next(type: ScalarType): number {
      if (at + TYPE_SIZE[type] > bytes.length) throw new SourceError('PLY body ends early (truncated file?)', { file });
      let v: number;
      switch (type) {
        case 'int8': v = dv.getInt8(at); break;
        case 'uint8': v = dv.getUint8(at); break;
        case 'int16': v = dv.getInt16(at, true); break;
        case 'uint16': v = dv.getUint16(at, true); break;
        case 'int32': v = dv.getInt32(at, true); break;
        case 'uint32': v = dv.getUint32(at, true); break;
        case 'float32': v = dv.getFloat32(at, true); break;
        case 'float64': v = dv.getFloat64(at, true); break;
      }
      at += TYPE_SIZE[type];
      return v;
    },
  };
}

function asciiReader(bytes: Uint8Array, offset: number, file: string): ValueReader {
  const text = new TextDecoder('latin1').decode(bytes.subarray(offset));
  const re = /\S+/g;
  return {
    next(): number {
      const m = re.exec(text);
      if (!m) throw new SourceError('PLY body ends early (truncated file?)', { file });
      const v = Number(m[0]);
      if (Number.isNaN(v) && m[0].toLowerCase() !== 'nan') throw new SourceError(`expected a number in the PLY body, got '${m[0]}'`, { file });
      return v;
    },
  };
}

const COLOUR_NAMES: ReadonlyArray<readonly [string, string, string]> = [['red', 'green', 'blue'], ['r', 'g', 'b'], ['diffuse_red', 'diffuse_green', 'diffuse_blue']];

function colourByte(v: number, type: ScalarType): number {
  const scaled = type === 'float32' || type === 'float64' ? Math.round(v * 255) : type === 'uint16' ? v >> 8 : v;
  return scaled < 0 ? 0 : scaled > 255 ? 255 : scaled;
}

function readVertices(el: PlyElement, r: ValueReader, file: string): Pick<TriangleMesh, 'positions' | 'normals' | 'colors'> {
  const slot = (name: string): number => el.properties.findIndex((p) => p.name === name && !p.countType);
  const xyz = ['x', 'y', 'z'].map(slot);
  if (xyz.some((s) => s < 0)) throw new SourceError("expected PLY vertex properties x, y and z", { file });
  const nrm = ['nx', 'ny', 'nz'].map(slot);
  const rgb = COLOUR_NAMES.map((names) => names.map(slot)).find((s) => s.every((i) => i >= 0)) ?? null;
  const hasNormals = nrm.every((s) => s >= 0);
  const positions = new Float32Array(el.count * 3);
  const normals = hasNormals ? new Float32Array(el.count * 3) : undefined;
  const colors = rgb ? new Uint8Array(el.count * 3) : undefined;
  const role = new Int8Array(el.properties.length).fill(-1);
  xyz.forEach((s, k) => (role[s] = k));
  if (hasNormals) nrm.forEach((s, k) => (role[s] = 3 + k));
  rgb?.forEach((s, k) => (role[s] = 6 + k));
  const values = new Float64Array(el.properties.length);
  for (let v = 0; v < el.count; v++) {
    for (let p = 0; p < el.properties.length; p++) values[p] = readProperty(el.properties[p]!, r);
    for (let p = 0; p < el.properties.length; p++) {
      const k = role[p]!;
      if (k < 0) continue;
      if (k < 3) positions[3 * v + k] = values[p]!;
      else if (k < 6) normals![3 * v + k - 3] = values[p]!;
      else colors![3 * v + k - 6] = colourByte(values[p]!, el.properties[p]!.type);
    }
  }
  return { positions, ...(normals ? { normals } : {}), ...(colors ? { colors } : {}) };
}

/** Scalars return their value; lists are consumed and return their length. */
function readProperty(p: PlyProperty, r: ValueReader): number {
  if (!p.countType) return r.next(p.type);
  const n = r.next(p.countType);
  for (let i = 0; i < n; i++) r.next(p.type);
  return n;
}

function readFaces(el: PlyElement, r: ValueReader, vertexCount: number, file: string): Uint32Array {
  const listAt = el.properties.findIndex((p) => p.countType && (p.name === 'vertex_indices' || p.name === 'vertex_index'));
  if (listAt < 0) throw new SourceError('expected a PLY face list property vertex_indices (or vertex_index)', { file });
  const out: number[] = [];
  const poly: number[] = [];
  for (let f = 0; f < el.count; f++) {
    for (let p = 0; p < el.properties.length; p++) {
      const prop = el.properties[p]!;
      if (p !== listAt) {
        readProperty(prop, r);
        continue;
      }
      const n = r.next(prop.countType!);
      poly.length = 0;
      for (let i = 0; i < n; i++) poly.push(r.next(prop.type));
      if (n < 3) throw new SourceError(`PLY face ${f} has ${n} vertices; expected at least 3`, { file });
      for (const idx of poly) {
        if (!Number.isInteger(idx) || idx < 0 || idx >= vertexCount) throw new SourceError(`PLY face ${f} refers to vertex ${idx}; expected 0…${vertexCount - 1}`, { file });
      }
      for (let k = 1; k + 1 < n; k++) out.push(poly[0]!, poly[k]!, poly[k + 1]!);
    }
  }
  return Uint32Array.from(out);
}

/** Parse PLY bytes (binary little-endian or ASCII); `file` names the source in errors. */
export function decodePly(bytes: Uint8Array, file = 'PLY'): TriangleMesh {
  const header = parseHeader(bytes, file);
  const r = header.format === 'ascii' ? asciiReader(bytes, header.bodyOffset, file) : binaryReader(bytes, header.bodyOffset, file);
  let mesh: TriangleMesh | null = null;
  let indices: Uint32Array | undefined;
  for (const el of header.elements) {
    if (el.name === 'vertex') mesh = readVertices(el, r, file);
    else if (el.name === 'face') {
      if (!mesh) throw new SourceError('PLY face element comes before the vertex element; expected vertices first', { file });
      indices = readFaces(el, r, mesh.positions.length / 3, file);
    } else {
      for (let i = 0; i < el.count; i++) for (const p of el.properties) readProperty(p, r);
    }
  }
  if (!mesh) throw new SourceError("expected a PLY 'vertex' element", { file });
  return indices ? { ...mesh, indices } : mesh;
}

export async function readPly(path: string): Promise<TriangleMesh> {
  return decodePly(await readInputFile(path, 'PLY mesh'), path);
}
