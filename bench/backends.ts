/**
 * The fusion kernels on every backend present (CPU, and CUDA or Metal when their library is
 * built): per-frame integrate and incremental meshing on the synthetic room at 640×480 and 1 cm
 * voxels, and one ray-cast. Run on the GPU machine to compare backends on the same frames.
 */
import { existsSync } from 'node:fs';
import { lastValueFrom, toArray } from 'rxjs';
import { syntheticSource } from '../src/frames/synthetic/source';
import { TsdfVolume } from '../src/fusion/tsdfVolume';
import { NativeContext } from '../src/native';
import { libraryPath, type BackendName } from '../src/native/library';
import { summarize } from '../src/pipeline/runTimer';

export async function runBackendsBench(): Promise<object> {
  const frames = await lastValueFrom(syntheticSource({ scene: 'room', frames: 60, seed: 1 }).pipe(toArray()));
  const results: Record<string, unknown> = {};
  for (const backend of ['cpu', 'cuda', 'metal'] as BackendName[]) {
    if (!existsSync(libraryPath(backend))) continue;
    const ctx = NativeContext.create({ backend });
    try {
      const integrate: number[] = [], mesh: number[] = [], raycast: number[] = [];
      let triangles = 0;
      for (let pass = 0; pass < 2; pass++) {
        const vol = new TsdfVolume(ctx, { voxelSize: 0.01, maxDepth: 4, maxBlocks: 200_000 });
        for (const f of frames) {
          const t0 = performance.now();
          vol.integrate(f.depth as Float32Array, f.rgb, f.intrinsics, f.groundTruthPose as Float64Array);
          const t1 = performance.now();
          vol.meshDirty();
          const t2 = performance.now();
          if (pass === 1) {
            integrate.push(t1 - t0);
            mesh.push(t2 - t1);
          }
        }
        for (let k = 0; k < 5; k++) {
          const t = performance.now();
          vol.raycast(frames[30]!.intrinsics, frames[30]!.groundTruthPose as Float64Array);
          raycast.push(performance.now() - t);
        }
        triangles = vol.triangles;
        vol.destroy();
      }
      results[backend] = { threads: ctx.threads, integrate: summarize(integrate), incrementalMesh: summarize(mesh), raycast: summarize(raycast), triangles };
    } finally {
      ctx.destroy();
    }
  }
  return { suite: 'backends', frames: frames.length, resolution: '640x480', voxel: 0.01, results };
}

if (import.meta.main) console.log(JSON.stringify(await runBackendsBench(), null, 2));
