/**
 * Soak: loops a replay through known-pose fusion + incremental meshing for a
 * while (default 10 minutes, SCANSTREAM_SOAK_SECONDS to change) and samples
 * process RSS, JS heap and native bytes (the volume's fixed buffers and the
 * mesh arenas, which come and go), to show memory stays flat once the scene
 * is covered.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import type { Frame } from '../src/frames/frame';
import { syntheticSource } from '../src/frames/synthetic/source';
import { tumSource } from '../src/frames/tum';
import { TsdfVolume } from '../src/fusion/tsdfVolume';
import { NativeContext } from '../src/native';

export async function runSoakBench(): Promise<object> {
  const seconds = Number(process.env.SCANSTREAM_SOAK_SECONDS ?? 600);
  const tum = resolve(import.meta.dir, '..', '..', 'shared', 'data', 'tum_fr1_rpy');
  const frames: Frame[] = existsSync(tum)
    ? await lastValueFrom(tumSource(tum).pipe(toArray()))
    : await lastValueFrom(syntheticSource({ scene: 'room', frames: 60 }).pipe(toArray()));
  const dataset = existsSync(tum) ? 'tum_fr1_rpy' : 'synthetic_room';
  const ctx = NativeContext.create();
  const volume = new TsdfVolume(ctx, { voxelSize: 0.01, maxDepth: 4, maxBlocks: 200_000 });
  const samples: { t: number; frames: number; rssMiB: number; heapMiB: number; nativeFixedMiB: number; meshArenaMiB: number; blocks: number }[] = [];
  const mib = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
  const start = performance.now();
  let processed = 0;
  let nextSample = 0;
  try {
    while ((performance.now() - start) / 1000 < seconds) {
      for (const f of frames) {
        volume.integrate(f.depth as Float32Array, f.rgb, f.intrinsics, (f.groundTruthPose ?? f.pose) as Float64Array);
        if (++processed % 6 === 0) volume.meshDirty();
      }
      const t = (performance.now() - start) / 1000;
      if (t >= nextSample) {
        Bun.gc(true);
        const m = process.memoryUsage();
        const arenas = volume.meshNativeBytes;
        samples.push({
          t: Math.round(t), frames: processed, rssMiB: mib(m.rss), heapMiB: mib(m.heapUsed),
          nativeFixedMiB: mib(ctx.stats().bytes - arenas), meshArenaMiB: mib(arenas), blocks: volume.blockCount,
        });
        console.error(`soak: ${Math.round(t)} s, ${processed} frames, RSS ${mib(m.rss)} MiB, mesh arenas ${mib(arenas)} MiB, blocks ${volume.blockCount}`);
        nextSample = t + Math.max(5, seconds / 20);
      }
    }
  } finally {
    volume.destroy();
    ctx.destroy();
  }
  // once the scene is covered RSS should not trend upwards: compare the halves after warm-up
  // (RSS swings with the allocator; a leak shows as a higher second half)
  const settled = samples.slice(1);
  const half = Math.floor(settled.length / 2);
  const stats = (xs: number[]): { min: number; max: number; mean: number } => ({
    min: Math.min(...xs), max: Math.max(...xs), mean: Math.round((xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)) * 10) / 10,
  });
  return {
    suite: 'soak', dataset, seconds, frames: processed, samples,
    rssFirstHalfMiB: stats(settled.slice(0, half).map((x) => x.rssMiB)),
    rssSecondHalfMiB: stats(settled.slice(half).map((x) => x.rssMiB)),
    meshArenaFirstHalfMiB: stats(settled.slice(0, half).map((x) => x.meshArenaMiB)),
    meshArenaSecondHalfMiB: stats(settled.slice(half).map((x) => x.meshArenaMiB)),
    nativeFixedBytesConstant: samples.every((x) => x.nativeFixedMiB === samples[0]?.nativeFixedMiB),
  };
}

if (import.meta.main) console.log(JSON.stringify(await runSoakBench(), null, 2));
