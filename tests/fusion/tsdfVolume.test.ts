import { afterAll, describe, expect, test } from 'bun:test';
import { VolumeFullError } from '../../src/fusion/blockAllocator';
import { TsdfVolume } from '../../src/fusion/tsdfVolume';
import { blockKey, MeshBlockRetiredError, packedMeshBytes, PackedMeshBlock, type MeshBlock } from '../../src/fusion/meshBlock';
import { packMeshBlocks } from '../../src/server/dataMessages';
import { NativeContext } from '../../src/native';
import { lookAt, orbitPoses, renderSphereScene, smallIntrinsics as K, type SphereScene } from '../helpers/analyticScene';

const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => ctx.destroy());

const sphere: SphereScene = { center: [0, 0, 1.2], radius: 0.25, wallZ: null };
const poses = orbitPoses(sphere, 0.8, 12);
const frames = poses.map((pose) => ({ pose, ...renderSphereScene(sphere, K, pose) }));

function fuseAll(vol: TsdfVolume, meshEachFrame: boolean): void {
  for (const f of frames) {
    vol.integrate(f.depth, f.rgb, K, f.pose);
    if (meshEachFrame) vol.meshDirty();
  }
  vol.meshDirty();
}

function sphereErrors(positions: Float32Array): Float64Array {
  const n = positions.length / 3;
  const e = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    e[i] = Math.abs(Math.hypot(positions[3 * i]! - sphere.center[0], positions[3 * i + 1]! - sphere.center[1],
      positions[3 * i + 2]! - sphere.center[2]) - sphere.radius);
  }
  return e.sort();
}

describe('TsdfVolume on an analytic sphere (1 cm voxels)', () => {
  const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
  fuseAll(vol, true);
  const mesh = vol.extractMesh();
  afterAll(() => vol.destroy());

  test('mesh vertices lie on the sphere (a curved, harder case than the room): median ≤ 0.6 mm, mean ≤ 1 mm', () => {
    const e = sphereErrors(mesh.positions);
    const median = e[e.length >> 1]!;
    const mean = e.reduce((a, b) => a + b, 0) / e.length;
    console.log(`sphere: ${e.length} vertices, median ${(median * 1000).toFixed(3)} mm, mean ${(mean * 1000).toFixed(3)} mm`);
    expect(e.length).toBeGreaterThan(5000);
    expect(median).toBeLessThanOrEqual(0.0006);
    expect(mean).toBeLessThanOrEqual(0.001);
  });

  test('the sphere seen from all sides meshes watertight: every edge has exactly two triangles, across block seams', () => {
    const edges = new Map<number, number>();
    const nv = mesh.positions.length / 3;
    for (let t = 0; t < mesh.indices.length; t += 3) {
      for (let k = 0; k < 3; k++) {
        const a = mesh.indices[t + k]!, b = mesh.indices[t + ((k + 1) % 3)]!;
        const key = Math.min(a, b) * nv + Math.max(a, b);
        edges.set(key, (edges.get(key) ?? 0) + 1);
      }
    }
    let open = 0;
    for (const c of edges.values()) if (c !== 2) open++;
    expect(edges.size).toBeGreaterThan(10000);
    expect(open).toBe(0);
  });

  test('triangles wind outward (towards free space)', () => {
    let inward = 0;
    const p = mesh.positions;
    for (let t = 0; t < mesh.indices.length; t += 3) {
      const [a, b, c] = [mesh.indices[t]!, mesh.indices[t + 1]!, mesh.indices[t + 2]!].map((i) => 3 * i) as [number, number, number];
      const u = [p[b]! - p[a]!, p[b + 1]! - p[a + 1]!, p[b + 2]! - p[a + 2]!];
      const v = [p[c]! - p[a]!, p[c + 1]! - p[a + 1]!, p[c + 2]! - p[a + 2]!];
      const n = [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
      const r = [p[a]! - sphere.center[0], p[a + 1]! - sphere.center[1], p[a + 2]! - sphere.center[2]];
      if (n[0]! * r[0]! + n[1]! * r[1]! + n[2]! * r[2]! <= 0) inward++;
    }
    expect(inward).toBe(0);
  });

  test('raycast from a fused view reproduces the true depth (median |error| ≤ 1 mm) and normals (98% within 18°, median within 8°)', () => {
    const f = frames[0]!;
    const rc = vol.raycast(K, f.pose);
    const errs: number[] = [];
    let normalsOk = 0, normals = 0;
    const dots: number[] = [];
    for (let i = 0; i < f.depth.length; i++) {
      if (!(rc.depth[i]! > 0) || !(f.depth[i]! > 0)) continue;
      errs.push(Math.abs(rc.depth[i]! - f.depth[i]!));
      const u = i % K.width, v = Math.floor(i / K.width);
      const rcam = [(u - K.cx) / K.fx * f.depth[i]!, (v - K.cy) / K.fy * f.depth[i]!, f.depth[i]!];
      const P = f.pose;
      const w = [0, 1, 2].map((r) => P[r * 4]! * rcam[0]! + P[r * 4 + 1]! * rcam[1]! + P[r * 4 + 2]! * rcam[2]! + P[r * 4 + 3]!);
      const n = [w[0]! - sphere.center[0], w[1]! - sphere.center[1], w[2]! - sphere.center[2]].map((x) => x / sphere.radius);
      const dot = rc.normals[3 * i]! * n[0]! + rc.normals[3 * i + 1]! * n[1]! + rc.normals[3 * i + 2]! * n[2]!;
      normals++;
      if (dot > 0.95) normalsOk++;
      dots.push(dot);
    }
    errs.sort((a, b) => a - b);
    const seen = f.depth.filter((d) => d > 0).length;
    expect(errs.length).toBeGreaterThan(0.95 * seen);
    expect(errs[errs.length >> 1]!).toBeLessThanOrEqual(0.001);
    dots.sort((a, b) => a - b);
    console.log('normal dot quantiles', [0.01, 0.05, 0.1, 0.5].map((q) => dots[Math.floor(q * dots.length)]!.toFixed(4)).join(' '));
    expect(normalsOk / normals).toBeGreaterThan(0.98);
    expect(dots[dots.length >> 1]!).toBeGreaterThan(0.99);
  });
});

describe('incremental meshing', () => {
  test('meshing dirty blocks after every frame gives exactly the meshes of one full meshing at the end', () => {
    const a = new TsdfVolume(ctx, { voxelSize: 0.01 });
    const b = new TsdfVolume(ctx, { voxelSize: 0.01 });
    fuseAll(a, true);
    fuseAll(b, false);
    const ma = new Map(a.meshBlocks().map((m) => [blockKey(m), m]));
    const mb = b.meshBlocks();
    expect(ma.size).toBe(mb.length);
    let mismatched = 0;
    for (const m of mb) {
      const other = ma.get(blockKey(m));
      if (!other || !Bun.deepEquals(other.positions, m.positions) || !Bun.deepEquals(other.indices, m.indices) ||
        !Bun.deepEquals(other.colors, m.colors)) mismatched++;
    }
    expect(mismatched).toBe(0);
    expect(a.triangles).toBe(b.triangles);
    a.destroy();
    b.destroy();
  });

  test('a frame only re-meshes blocks near what it touched, with increasing versions', () => {
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
    const f = frames[0]!;
    vol.integrate(f.depth, f.rgb, K, f.pose);
    const first = vol.meshDirty();
    expect(first.length).toBeGreaterThan(0);
    expect(first.every((m) => m.version === 1)).toBe(true);
    expect(vol.meshDirty()).toEqual([]);
    vol.integrate(f.depth, f.rgb, K, f.pose);
    const second = vol.meshDirty();
    expect(second.length).toBeGreaterThan(0);
    expect(second.every((m) => m.version === 2)).toBe(true);
    vol.destroy();
  });
});

describe('packed block meshes and their arenas', () => {
  test('a block\'s packed record holds exactly its positions, colours (zero-padded to 4 bytes) and indices', () => {
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
    fuseAll(vol, false);
    const blocks = vol.meshBlocks() as PackedMeshBlock[];
    expect(blocks.length).toBeGreaterThan(50);
    for (const b of blocks.slice(0, 50)) {
      const nv = b.positions.length / 3, ni = b.indices.length;
      expect([b.vertexCount, b.indexCount, b.colors.length]).toEqual([nv, ni, 3 * nv]);
      expect(b.packed.byteLength).toBe(packedMeshBytes(nv, ni));
      const bytes = (a: ArrayBufferView): number[] => [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)];
      const padded = [...bytes(b.colors), ...new Array(((3 * nv + 3) & ~3) - 3 * nv).fill(0)];
      expect([...b.packed]).toEqual([...bytes(b.positions), ...padded, ...bytes(b.indices)]);
      expect(Math.max(...b.indices)).toBeLessThan(nv);
    }
    vol.destroy();
  });

  test('arenas: panning along a wall, the memory behind the current meshes stays within 4× their size plus the last call\'s', () => {
    // each frame re-meshes the part of the wall it sees; blocks left behind
    // would pin every earlier call's arena if survivors did not move out
    const wall: SphereScene = { center: [0, 0, 5], radius: 0.01, wallZ: 1.0 };
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
    let last: MeshBlock[] = [];
    for (let i = 0; i < 40; i++) {
      const x = 0.03 * i;
      const pose = lookAt([x, 0, 0.4], [x, 0, 1.0]);
      const f = renderSphereScene(wall, K, pose);
      vol.integrate(f.depth, f.rgb, K, pose);
      last = vol.meshDirty();
    }
    const current = vol.meshBlocks() as PackedMeshBlock[];
    const live = current.reduce((n, b) => n + b.packed.byteLength, 0);
    const held = new Set(current.map((b) => b.packed.buffer));
    const heldBytes = [...held].reduce((n, buf) => n + buf.byteLength, 0);
    const lastBytes = [...new Set((last as PackedMeshBlock[]).map((b) => b.packed.buffer))].reduce((n, buf) => n + buf.byteLength, 0);
    expect(current.length).toBeGreaterThan(100);
    expect(heldBytes).toBeLessThanOrEqual(4 * live + lastBytes);
    vol.destroy();
  });

  test('a block that stays current stays readable, with the same bytes, after its arena is compacted away', () => {
    // panning along a wall leaves strips behind: their blocks stay current while the arenas they were written
    // into empty out, so compaction moves them
    const wall: SphereScene = { center: [0, 0, 5], radius: 0.01, wallZ: 1.0 };
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
    const emitted = new Map<PackedMeshBlock, { buffer: ArrayBufferLike; bytes: number[] }>();
    for (let i = 0; i < 40; i++) {
      const pose = lookAt([0.03 * i, 0, 0.4], [0.03 * i, 0, 1.0]);
      const f = renderSphereScene(wall, K, pose);
      vol.integrate(f.depth, f.rgb, K, pose);
      for (const b of vol.meshDirty() as PackedMeshBlock[]) {
        if (b.indexCount > 0) emitted.set(b, { buffer: b.packed.buffer, bytes: [...b.packed] });
      }
    }
    const current = vol.meshBlocks() as PackedMeshBlock[];
    const relocated = current.filter((b) => b.packed.buffer !== emitted.get(b)!.buffer);
    expect(current.every((b) => emitted.has(b))).toBe(true);
    expect(relocated.length).toBeGreaterThan(20);
    for (const b of relocated) expect([...b.packed]).toEqual(emitted.get(b)!.bytes);
    vol.destroy();
  });

  test('a block kept past its re-meshing reads as it was or throws MeshBlockRetiredError, never as a later mesh; copy() keeps it', () => {
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
    const f = frames[0]!;
    vol.integrate(f.depth, f.rgb, K, f.pose);
    const kept = vol.meshDirty() as PackedMeshBlock[];
    const snapshot = kept.map((b) => [...b.packed]);
    const copies = kept.map((b) => b.copy());
    // the same view, the surface 2 mm further each time: every block re-meshed with new values, so the first
    // call's memory is retired and reused
    for (let i = 1; i <= 4; i++) {
      vol.integrate(f.depth.map((d) => d + 0.002 * i), f.rgb, K, f.pose);
      vol.meshDirty();
    }
    let retired = 0;
    kept.forEach((b, k) => {
      let bytes: number[] | null = null;
      try {
        bytes = [...b.packed];
      } catch (e) {
        expect(e).toBeInstanceOf(MeshBlockRetiredError);
        expect(() => b.positions).toThrow(/was re-meshed and its memory reused/);
        retired++;
      }
      if (bytes) expect(bytes).toEqual(snapshot[k]!);
      expect([...copies[k]!.packed]).toEqual(snapshot[k]!);
    });
    expect(kept.length).toBeGreaterThan(20);
    expect(retired).toBeGreaterThan(kept.length / 2);
    vol.destroy();
  });

  test('the server packs a packed block into the same bytes as its three arrays', () => {
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
    fuseAll(vol, false);
    const blocks = vol.meshBlocks().slice(0, 20) as PackedMeshBlock[];
    const plain = blocks.map((b) => ({ bx: b.bx, by: b.by, bz: b.bz, version: b.version, positions: b.positions, colors: b.colors, indices: b.indices }));
    const a = packMeshBlocks(blocks, 7, 100), p = packMeshBlocks(plain, 7, 100);
    expect([...new Uint8Array(a.buffer)]).toEqual([...new Uint8Array(p.buffer)]);
    expect(a.blocks).toEqual(p.blocks);
    vol.destroy();
  });

  test('when the records outgrow the guessed output size, meshing runs again and gives the same meshes', () => {
    const guessed = new TsdfVolume(ctx, { voxelSize: 0.01 });
    const tight = new TsdfVolume(ctx, { voxelSize: 0.01 });
    // the first output buffer is sized from this guess: 1 byte per block cannot hold any record
    (tight as unknown as { recordBytesPerBlock: number }).recordBytesPerBlock = 1;
    const f = frames[0]!;
    for (const v of [guessed, tight]) v.integrate(f.depth, f.rgb, K, f.pose);
    const a = guessed.meshDirty() as PackedMeshBlock[], b = tight.meshDirty() as PackedMeshBlock[];
    expect(b.length).toBe(a.length);
    // more than the smallest output buffer (64 KiB), so the first call must have run out of room
    expect(a.reduce((n, blk) => n + blk.packed.byteLength, 0)).toBeGreaterThan(64 * 1024);
    b.forEach((blk, k) => expect([...blk.packed]).toEqual([...a[k]!.packed]));
    guessed.destroy();
    tight.destroy();
  });

  test('a packed block refuses a record of the wrong size', () => {
    expect(() => new PackedMeshBlock(0, 0, 0, 1, new Uint8Array(16), 1, 3)).toThrow(/do not hold 1 vertices and 3 indices/);
  });
});

describe('block budget and bad input', () => {
  const f = frames[0]!;

  test('a full budget with onFull=error throws VolumeFullError naming the budget', () => {
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01, maxBlocks: 20 });
    expect(() => vol.integrate(f.depth, f.rgb, K, f.pose)).toThrow(VolumeFullError);
    expect(() => vol.integrate(f.depth, f.rgb, K, f.pose)).toThrow(/all 20 voxel blocks/);
    vol.destroy();
  });

  test('onFull=drop keeps exactly maxBlocks blocks, counts the rest, and still meshes what it holds', () => {
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01, maxBlocks: 40, onFull: 'drop' });
    for (const g of frames.slice(0, 4)) vol.integrate(g.depth, g.rgb, K, g.pose);
    expect(vol.blockCount).toBe(40);
    expect(vol.droppedBlocks).toBeGreaterThan(0);
    const mesh = vol.extractMesh();
    const e = sphereErrors(mesh.positions);
    expect(e[e.length >> 1]!).toBeLessThan(0.002);
    vol.destroy();
  });

  test('a non-rigid or non-finite pose and mis-sized depth are refused before any native call', () => {
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
    const bad = Float64Array.from(f.pose);
    bad[0] = 2;
    expect(() => vol.integrate(f.depth, f.rgb, K, bad)).toThrow(/not a rigid transform/);
    bad[0] = NaN;
    expect(() => vol.integrate(f.depth, f.rgb, K, bad)).toThrow(/not finite/);
    expect(() => vol.integrate(f.depth.subarray(1), f.rgb, K, f.pose)).toThrow(/depth has/);
    expect(vol.blockCount).toBe(0);
    vol.destroy();
    expect(() => vol.integrate(f.depth, f.rgb, K, f.pose)).toThrow(/after destroy/);
  });

  test('NaN and negative depth are ignored, not fused', () => {
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
    const depth = f.depth.map((d, i) => (i % 3 === 0 ? NaN : i % 3 === 1 ? -d : d));
    vol.integrate(depth, f.rgb, K, f.pose);
    const e = sphereErrors(vol.extractMesh().positions);
    expect(e.length).toBeGreaterThan(0);
    expect(e[e.length - 1]!).toBeLessThan(0.01);
    vol.destroy();
  });
});

describe('memory over a long replay', () => {
  test('looping the same frames 40 times keeps blocks, native bytes and RSS flat after the first pass', () => {
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 });
    fuseAll(vol, true);
    const blocks = vol.blockCount;
    // mesh records live in native arenas that come and go; everything else is allocated once
    const fixedBytes = (): number => ctx.stats().bytes - vol.meshNativeBytes;
    const fixed = fixedBytes();
    Bun.gc(true);
    const rss0 = process.memoryUsage().rss;
    const meshBytes: number[] = [];
    for (let pass = 0; pass < 40; pass++) {
      const g = frames[pass % frames.length]!;
      vol.integrate(g.depth, g.rgb, K, g.pose);
      vol.meshDirty();
      meshBytes.push(vol.meshNativeBytes);
    }
    Bun.gc(true);
    const grown = (process.memoryUsage().rss - rss0) / 2 ** 20;
    const live = (vol.meshBlocks() as PackedMeshBlock[]).reduce((n, b) => n + b.packed.byteLength, 0);
    console.log(`RSS change over 40 more frames: ${grown.toFixed(1)} MiB; mesh arenas ${meshBytes.map((b) => (b / 2 ** 20).toFixed(1)).join(' ')} MiB for ${(live / 2 ** 20).toFixed(1)} MiB of current meshes`);
    expect(vol.blockCount).toBe(blocks);
    expect(fixedBytes()).toBe(fixed);
    expect(Math.max(...meshBytes.slice(20))).toBeLessThanOrEqual(Math.max(...meshBytes.slice(0, 20)));
    expect(grown).toBeLessThan(64);
    vol.reset();
    expect(vol.blockCount).toBe(0);
    expect(vol.extractMesh().indices.length).toBe(0);
    vol.destroy();
  });
});

test('lookAt builds a rigid pose whose z axis points at the target', () => {
  const P = lookAt([1, 0, 0], [0, 0, 1]);
  expect(Math.hypot(P[2]!, P[6]!, P[10]!)).toBeCloseTo(1, 12);
  expect(P[2]! * -1 + P[10]! * 1).toBeCloseTo(Math.SQRT2, 12);
});
