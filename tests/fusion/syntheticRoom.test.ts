import { afterAll, expect, test } from 'bun:test';
import { lastValueFrom, toArray } from 'rxjs';
import { evaluateMesh } from '../../src/eval/meshMetrics';
import { syntheticSource } from '../../src/frames/synthetic/source';
import { cullToSeen, syntheticTruthMesh } from '../../src/frames/synthetic/truth';
import { NativeContext } from '../../src/native';
import { runFusion } from '../../src/pipeline/runFusion';

const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => ctx.destroy());

test('synthetic room, exact depth, ground-truth poses, 1 cm voxels: accuracy median ≤ 0.5 mm, mean ≤ 1 mm, completeness ≥ 99%', async () => {
  const frames = await lastValueFrom(syntheticSource({ scene: 'room', frames: 30, seed: 3 }).pipe(toArray()));
  const { mesh, report } = await runFusion(ctx, syntheticSource({ scene: 'room', frames: 30, seed: 3 }), { voxelSize: 0.01, meshEvery: 5 });
  const truth = cullToSeen(syntheticTruthMesh('room'), frames);
  const q = evaluateMesh(mesh, truth, { voxelSize: 0.01 });
  console.log(`synthetic room: ${report.frames} frames, ${report.triangles} triangles; accuracy median ${(q.accuracy.median * 1000).toFixed(4)} mm, ` +
    `mean ${(q.accuracy.mean * 1000).toFixed(4)} mm, p90 ${(q.accuracy.p90 * 1000).toFixed(4)} mm; completeness ${(q.completeness * 100).toFixed(3)}%`);
  expect(report.frames).toBe(30);
  expect(q.accuracy.samples).toBeGreaterThan(50_000);
  expect(q.accuracy.median).toBeLessThanOrEqual(0.0005);
  expect(q.accuracy.mean).toBeLessThanOrEqual(0.001);
  expect(q.completeness).toBeGreaterThanOrEqual(0.99);
});

test('the same fusion run twice gives bit-identical meshes (deterministic replay)', async () => {
  const a = await runFusion(ctx, syntheticSource({ scene: 'tabletop', frames: 8, seed: 5, depthNoise: 0.0015 }), { voxelSize: 0.01 });
  const b = await runFusion(ctx, syntheticSource({ scene: 'tabletop', frames: 8, seed: 5, depthNoise: 0.0015 }), { voxelSize: 0.01 });
  expect(a.mesh.indices.length).toBeGreaterThan(1000);
  expect(Bun.deepEquals(a.mesh.positions, b.mesh.positions)).toBe(true);
  expect(Bun.deepEquals(a.mesh.indices, b.mesh.indices)).toBe(true);
  expect(Bun.deepEquals(a.mesh.colors, b.mesh.colors)).toBe(true);
});
