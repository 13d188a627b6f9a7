/**
 * Every backend present (CPU, and CUDA, Metal or metal-emu when their library is built):
 * (1) the fusion kernels per frame — integrate and incremental meshing on the synthetic room at
 * 640×480 with 1 cm and 5 mm voxels, and one ray-cast; (2) every kernel of the ABI through its parity case
 * (tests/parity: small random inputs), median ms per case, where it ran (on the backend or on the
 * CPU in its place) and the ratio to the CPU. Run on the GPU machine to compare backends on the
 * same inputs (with SCANSTREAM_CUDA_SYNC=1, so a CUDA call's time includes its kernels); on metal-emu
 * it shows what emulation costs.
 */
import { existsSync } from 'node:fs';
import { lastValueFrom, toArray } from 'rxjs';
import { syntheticSource } from '../src/frames/synthetic/source';
import { TsdfVolume } from '../src/fusion/tsdfVolume';
import { NativeContext } from '../src/native';
import { libraryPath, type BackendName } from '../src/native/library';
import { summarize } from '../src/pipeline/runTimer';
import { parityCases } from '../tests/parity/kernels';

const backends: BackendName[] = ['cpu', 'cuda', 'metal', 'metal-emu'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** Each parity case's median ms on each backend present, where its kernels ran, and the ratio to the CPU. */
export function runKernelCasesBench(reps = 5): object {
  const perBackend: Record<string, Record<string, { medianMs: number; runsOn: string; vsCpu?: number }>> = {};
  for (const backend of backends) {
    if (!existsSync(libraryPath(backend))) continue;
    let ctx: NativeContext;
    try {
      ctx = NativeContext.create({ backend });
    } catch (e) {
      perBackend[backend] = { error: { medianMs: NaN, runsOn: (e as Error).message } };
      continue;
    }
    try {
      const rows: Record<string, { medianMs: number; runsOn: string; vsCpu?: number }> = {};
      for (const c of parityCases) {
        c.run(ctx, 1); // warm: pipelines, buffers, the fallback context
        const times: number[] = [];
        for (let r = 0; r < reps; r++) {
          const t0 = performance.now();
          c.run(ctx, 1 + r);
          times.push(performance.now() - t0);
        }
        const own = c.symbols.filter((k) => ctx.supports(k)).length;
        const runsOn = own === c.symbols.length ? backend : own === 0 ? 'cpu-fallback' : 'partly cpu-fallback';
        const cpu = perBackend.cpu?.[c.name]?.medianMs;
        const ms = median(times);
        rows[c.name] = { medianMs: ms, runsOn, ...(cpu !== undefined && backend !== 'cpu' ? { vsCpu: ms / cpu } : {}) };
      }
      perBackend[backend] = rows;
    } finally {
      ctx.destroy();
    }
  }
  return perBackend;
}

export async function runBackendsBench(): Promise<object> {
  const frames = await lastValueFrom(syntheticSource({ scene: 'room', frames: 60, seed: 1 }).pipe(toArray()));
  const results: Record<string, unknown> = {};
  for (const backend of backends) {
    if (!existsSync(libraryPath(backend))) continue;
    // the emulator would take minutes over 60 full frames: it is measured through the kernel cases
    if (backend === 'metal-emu') continue;
    const ctx = NativeContext.create({ backend });
    try {
      // 1 cm (the default) and 5 mm voxels (the fine-scale target: 8× the blocks)
      const row: Record<string, unknown> = { threads: ctx.threads };
      for (const [key, voxelSize, maxBlocks] of [['voxel10mm', 0.01, 200_000], ['voxel5mm', 0.005, 300_000]] as const) {
        const integrate: number[] = [], mesh: number[] = [], raycast: number[] = [];
        let triangles = 0, blocks = 0;
        for (let pass = 0; pass < 2; pass++) {
          const vol = new TsdfVolume(ctx, { voxelSize, maxDepth: 4, maxBlocks });
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
          blocks = vol.blockCount;
          vol.destroy();
        }
        row[key] = { integrate: summarize(integrate), incrementalMesh: summarize(mesh), raycast: summarize(raycast), triangles, blocks };
      }
      results[backend] = row;
    } finally {
      ctx.destroy();
    }
  }
  return { suite: 'backends', frames: frames.length, resolution: '640x480', voxels: [0.01, 0.005], results, kernelCases: runKernelCasesBench() };
}

if (import.meta.main) console.log(JSON.stringify(await runBackendsBench(), null, 2));
