import { afterAll, describe, expect, test } from 'bun:test';
import { suffix } from 'bun:ffi';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BlockHash } from '../../src/fusion/blockHash';
import { TsdfVolume } from '../../src/fusion/tsdfVolume';
import { NativeContext } from '../../src/native';
import { projectRoot } from '../../src/native/library';
import { orbitPoses, renderSphereScene, smallIntrinsics as K, type SphereScene } from '../helpers/analyticScene';
import { seededRandom } from '../helpers/random';

// the CPU stand-in with CUDA's memory model: kernels read a copy apart from the host memory TypeScript writes
const standin = join(projectRoot, 'build', 'cpu', `libscanstream_standin.${suffix}`);
const contexts: [string, NativeContext][] = [['cpu', NativeContext.create({ backend: 'cpu' })]];
if (existsSync(standin)) contexts.push(['mirrored (CUDA memory model)', NativeContext.create({ backend: 'cuda', library: standin })]);
else console.error(`skipping the mirrored-memory cases: ${standin} is not built (node scripts/build-native.mjs --standin)`);
afterAll(() => {
  for (const [, ctx] of contexts) ctx.destroy();
});

/** the kernels' copy of the table, read without disturbing the host's (a download overwrites the host memory) */
function deviceTable(hash: BlockHash): Int32Array {
  const host = hash.table.i32().slice();
  const device = hash.table.download().i32().slice();
  hash.table.i32().set(host);
  return device;
}

describe.each(contexts)('block hash on %s', (_label, ctx) => {
  test('sync() sends exactly the entries written since the last one: the kernels\' table equals the host\'s, as a whole-table upload gives', () => {
    const a = new BlockHash(ctx, 3000), b = new BlockHash(ctx, 3000);
    const r = seededRandom(5);
    let inserted = 0;
    for (let round = 0; round < 6; round++) {
      // some blocks seen before, some new, with clusters that collide in the table and probe
      for (let k = 0; k < 400; k++) {
        const x = Math.floor(r() * 40) - 20, y = Math.floor(r() * 12) - 6, z = Math.floor(r() * 8);
        const sa = a.findOrInsertSlot(x, y, z), sb = b.findOrInsertSlot(x, y, z);
        expect(sa).toBe(sb);
        if (a.inserted) inserted++;
      }
      expect(a.unsynced).toBeGreaterThan(0);
      a.sync();
      b.syncAll();
      expect(a.unsynced).toBe(0);
      expect(deviceTable(a)).toEqual(deviceTable(b));
      expect(deviceTable(a)).toEqual(a.table.i32().slice());
    }
    expect(a.size).toBe(inserted);
    a.sync(); // nothing pending: no call
    a.clear();
    expect(deviceTable(a).every((v) => v === -1)).toBe(true);
    a.destroy();
    b.destroy();
  });

  test('after every integrate the kernels\' table is the host\'s, and meshes and ray-casts match the CPU\'s bit for bit', () => {
    const sphere: SphereScene = { center: [0, 0, 1.2], radius: 0.25, wallZ: 1.9 };
    const poses = orbitPoses(sphere, 0.8, 6);
    const cpu = contexts[0]![1];
    const vol = new TsdfVolume(ctx, { voxelSize: 0.01 }), ref = new TsdfVolume(cpu, { voxelSize: 0.01 });
    for (const pose of poses) {
      const f = renderSphereScene(sphere, K, pose);
      const got = vol.integrate(f.depth, f.rgb, K, pose), want = ref.integrate(f.depth, f.rgb, K, pose);
      expect(got).toEqual(want);
      const { hash } = vol.modelBuffers();
      expect(deviceTable((vol as unknown as { blocks: { hash: BlockHash } }).blocks.hash)).toEqual(hash.i32().slice());
      const ma = vol.meshDirty(), mb = ref.meshDirty();
      expect(ma.map((m) => [m.bx, m.by, m.bz, m.version])).toEqual(mb.map((m) => [m.bx, m.by, m.bz, m.version]));
      ma.forEach((m, k) => {
        expect(m.positions).toEqual(mb[k]!.positions);
        expect(m.indices).toEqual(mb[k]!.indices);
      });
    }
    expect(vol.raycast(K, poses[2]!).depth).toEqual(ref.raycast(K, poses[2]!).depth);
    vol.destroy();
    ref.destroy();
  });
});
