import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceError } from '../../src/frames/errors';
import { decodePly, encodePly, readPly, writePly } from '../../src/fusion/ply';
import { type TriangleMesh } from '../../src/geometry/mesh';
import { seededRandom } from '../helpers/random';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'scanstream-ply-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function randomMesh(vertices: number, triangles: number, seed: number): TriangleMesh {
  const rnd = seededRandom(seed);
  return {
    positions: Float32Array.from({ length: vertices * 3 }, () => rnd() * 10 - 5),
    normals: Float32Array.from({ length: vertices * 3 }, () => rnd() * 2 - 1),
    colors: Uint8Array.from({ length: vertices * 3 }, () => Math.floor(rnd() * 256)),
    indices: Uint32Array.from({ length: triangles * 3 }, () => Math.floor(rnd() * vertices)),
  };
}

function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function expectError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SourceError);
  expect((caught as Error).message).toMatch(pattern);
}

describe('PLY', () => {
  test('write → read round-trips positions, normals, colours and indices exactly', async () => {
    const mesh = randomMesh(1000, 1500, 1);
    const path = join(dir, 'full.ply');
    await writePly(path, mesh);
    const back = await readPly(path);
    expect(back.positions).toEqual(mesh.positions);
    expect(back.normals).toEqual(mesh.normals!);
    expect(back.colors).toEqual(mesh.colors!);
    expect(back.indices).toEqual(mesh.indices!);
    const bytes = await Bun.file(path).bytes();
    // 3 floats + 3 floats + 3 bytes per vertex, 1 + 3·4 bytes per face
    const header = new TextDecoder().decode(bytes.subarray(0, 400)).split('end_header\n')[0]!;
    expect(bytes.length).toBe(header.length + 'end_header\n'.length + 1000 * 27 + 1500 * 13);
    expect(header).toContain('format binary_little_endian 1.0');
    expect(header).toContain('property list uchar int vertex_indices');
  });

  test('positions only, and a point cloud without faces', () => {
    const m = { positions: Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]), indices: Uint32Array.from([0, 1, 2]) };
    const back = decodePly(encodePly(m));
    expect(back).toEqual({ positions: m.positions, indices: m.indices });
    const cloud = decodePly(encodePly({ positions: m.positions }));
    expect(cloud.indices).toBeUndefined();
    expect(cloud.positions).toEqual(m.positions);
  });

  test('ASCII: double coordinates, uchar colours, other elements skipped, vertex_index with int counts, quads fan-triangulated', () => {
    const text = [
      'ply', 'format ascii 1.0', 'comment made by hand', 'obj_info test',
      'element vertex 4', 'property double x', 'property double y', 'property double z',
      'property uchar red', 'property uchar green', 'property uchar blue', 'property float confidence',
      'element face 2', 'property list int uint vertex_index', 'property uchar flags',
      'element edge 1', 'property int vertex1', 'property int vertex2',
      'end_header',
      '0 0 0 255 0 0 0.5', '1 0 0 0 255 0 0.5', '1 1 0 0 0 255 0.5', '0 1 0.25 10 20 30 0.5',
      '3 0 1 2 7', '4 0 1 2 3 0',
      '0 1', '',
    ].join('\n');
    const m = decodePly(ascii(text));
    expect(Array.from(m.positions)).toEqual([0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0.25]);
    expect(Array.from(m.colors!)).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);
    expect(m.normals).toBeUndefined();
    expect(Array.from(m.indices!)).toEqual([0, 1, 2, 0, 1, 2, 0, 2, 3]);
  });

  test('ASCII with float colours (0..1) and normals', () => {
    const text = 'ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\nproperty float nz\nproperty float red\nproperty float green\nproperty float blue\nend_header\n1 2 3 0 0 1 1 0.5 0\n';
    const m = decodePly(ascii(text));
    expect(Array.from(m.normals!)).toEqual([0, 0, 1]);
    expect(Array.from(m.colors!)).toEqual([255, 128, 0]);
  });

  test('binary with extra properties and uint indices is read by position in the header', () => {
    const header = 'ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty uchar alpha\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar uint vertex_indices\nend_header\n';
    const h = ascii(header);
    const body = new DataView(new ArrayBuffer(3 * 13 + 13));
    [[1, 9, 2, 3], [4, 9, 5, 6], [7, 9, 8, 9]].forEach(([x, a, y, z], i) => {
      body.setFloat32(i * 13, x!, true); body.setUint8(i * 13 + 4, a!); body.setFloat32(i * 13 + 5, y!, true); body.setFloat32(i * 13 + 9, z!, true);
    });
    body.setUint8(39, 3); body.setUint32(40, 2, true); body.setUint32(44, 1, true); body.setUint32(48, 0, true);
    const bytes = new Uint8Array(h.length + 52);
    bytes.set(h);
    bytes.set(new Uint8Array(body.buffer), h.length);
    const m = decodePly(bytes);
    expect(Array.from(m.positions)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(m.indices!)).toEqual([2, 1, 0]);
  });

  test('big-endian is refused with a clear message', async () => {
    const path = join(dir, 'be.ply');
    await writeFile(path, 'ply\nformat binary_big_endian 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n');
    const err = await readPly(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).message).toMatch(/be\.ply:2: big-endian PLY is not supported; expected binary_little_endian or ascii/);
  });

  test('unsupported or broken headers and bodies are SourceErrors', async () => {
    expectError(() => decodePly(ascii('OBJ\n')), /expected a PLY header ending in 'end_header'/);
    expectError(() => decodePly(ascii('solid\nend_header\n')), /expected a PLY file/);
    expectError(() => decodePly(ascii('ply\nformat ascii 1.0\nelement vertex 1\nproperty half x\nend_header\n')), /unsupported PLY property type 'half'/);
    expectError(() => decodePly(ascii('ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nend_header\n1 2\n')), /x, y and z/);
    expectError(() => decodePly(ascii('ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2 3\n')), /ends early/);
    expectError(() => decodePly(ascii('ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\n3 0 0 5\n')), /refers to vertex 5/);
    expectError(() => decodePly(ascii('ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n0 zero 0\n')), /expected a number/);
    expectError(() => decodePly(ascii('ply\nformat ascii 2.0\nbogus line\nend_header\n')), /unsupported PLY header line 'bogus line'/);
    const good = encodePly(randomMesh(10, 5, 2));
    expectError(() => decodePly(good.subarray(0, good.length - 7)), /truncated/);
    const missing = await readPly(join(dir, 'missing.ply')).catch((e: unknown) => e);
    expect((missing as SourceError).message).toMatch(/missing\.ply: cannot read PLY mesh: file not found/);
  });

  test('writing an inconsistent mesh throws before writing', () => {
    expect(() => encodePly({ positions: new Float32Array(4) })).toThrow(RangeError);
    expect(() => encodePly({ positions: new Float32Array(6), colors: new Uint8Array(3) })).toThrow(/colour/);
    expect(() => encodePly({ positions: new Float32Array(6), indices: Uint32Array.from([0, 1, 2]) })).toThrow(/out of range/);
  });
});
