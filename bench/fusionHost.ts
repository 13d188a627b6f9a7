/**
 * Where a fusion frame's time goes outside the kernels: the loop of
 * bench/backends.ts (synthetic room, 60 frames at 640×480, per frame
 * integrate then meshDirty, medians of the second pass) with each step split
 * into native kernel time, host↔device transfers (time, bytes) and the rest
 * (TypeScript, FFI, allocation). Run on the CPU backend and on the CPU
 * stand-in with CUDA's memory model (build/cpu/libscanstream_standin.so as a
 * 'cuda' context: buffers are host mirrors, so the transfers a CUDA run makes
 * are counted). On a GPU the kernels are fast: the host part is what costs.
 *   bun bench/fusionHost.ts [--voxel 0.005] [--json]
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { syntheticSource } from '../src/frames/synthetic/source';
import { TsdfVolume } from '../src/fusion/tsdfVolume';
import { NativeContext } from '../src/native';
import type { NativeTimes } from '../src/native/nativeTimes';

interface Split { totalMs: number; kernelMs: number; transferMs: number; hostMs: number; upBytes: number; downBytes: number; transfers: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function snapshot(times: NativeTimes): { kernelMs: number; upMs: number; downMs: number; up: number; down: number; calls: number } {
  const k = (times as unknown as { kernels: Map<string, { ms: number }> }).kernels;
  let kernelMs = 0;
  for (const t of k.values()) kernelMs += t.ms;
  return { kernelMs, upMs: times.uploads.ms, downMs: times.downloads.ms, up: times.uploads.bytes, down: times.downloads.bytes,
    calls: times.uploads.calls + times.downloads.calls };
}

function diff(a: ReturnType<typeof snapshot>, b: ReturnType<typeof snapshot>, totalMs: number): Split {
  const kernelMs = b.kernelMs - a.kernelMs, transferMs = b.upMs - a.upMs + b.downMs - a.downMs;
  return { totalMs, kernelMs, transferMs, hostMs: totalMs - kernelMs - transferMs, upBytes: b.up - a.up, downBytes: b.down - a.down, transfers: b.calls - a.calls };
}

function summarise(xs: Split[]): Record<string, number> {
  const keys = ['totalMs', 'kernelMs', 'transferMs', 'hostMs', 'upBytes', 'downBytes', 'transfers'] as const;
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = Math.round(median(xs.map((x) => x[k])) * 1000) / 1000;
  return out;
}

const argv = process.argv.slice(2);
const voxelArg = argv.indexOf('--voxel');
const voxels = voxelArg >= 0 ? [Number(argv[voxelArg + 1])] : [0.01, 0.005];
const frames = await lastValueFrom(syntheticSource({ scene: 'room', frames: 60, seed: 1 }).pipe(toArray()));
const standin = join(resolve(import.meta.dir, '..'), 'build', 'cpu', 'libscanstream_standin.so');
const setups: { name: string; open: () => NativeContext }[] = [
  { name: 'cpu', open: () => NativeContext.create({ backend: 'cpu' }) },
  ...(existsSync(standin) ? [{ name: 'standin-mirrored', open: () => NativeContext.create({ backend: 'cuda', library: standin }) }] : []),
];
const report: Record<string, unknown> = {};
for (const setup of setups) {
  const ctx = setup.open();
  const times = (ctx as unknown as { times: NativeTimes }).times;
  try {
    for (const voxelSize of voxels) {
      const maxBlocks = voxelSize < 0.0075 ? 300_000 : 200_000;
      const integrate: Split[] = [], mesh: Split[] = [];
      let blocks = 0, triangles = 0;
      const touched: number[] = [], fresh: number[] = [], dirtied: number[] = [];
      const perKernel: Record<string, number[]> = {};
      const perKernelPrev = new Map<string, number>();
      for (let pass = 0; pass < 2; pass++) {
        const vol = new TsdfVolume(ctx, { voxelSize, maxDepth: 4, maxBlocks });
        for (const f of frames) {
          for (const [name, t] of (times as unknown as { kernels: Map<string, { ms: number }> }).kernels) perKernelPrev.set(name, t.ms);
          const s0 = snapshot(times);
          const t0 = performance.now();
          const r = vol.integrate(f.depth as Float32Array, f.rgb, f.intrinsics, f.groundTruthPose as Float64Array);
          const t1 = performance.now();
          const s1 = snapshot(times);
          const dirty = vol.dirtyCount;
          vol.meshDirty();
          const t2 = performance.now();
          const s2 = snapshot(times);
          if (pass === 1) {
            integrate.push(diff(s0, s1, t1 - t0));
            mesh.push(diff(s1, s2, t2 - t1));
            touched.push(r.blocks);
            fresh.push(r.newBlocks);
            dirtied.push(dirty);
            for (const [name, t] of (times as unknown as { kernels: Map<string, { ms: number }> }).kernels) {
              const before = perKernelPrev.get(name) ?? 0;
              (perKernel[name] ??= []).push(t.ms - before);
            }
          }
        }
        blocks = vol.blockCount;
        triangles = vol.triangles;
        vol.destroy();
      }
      report[`${setup.name} ${voxelSize * 1000}mm`] = {
        integrate: summarise(integrate), mesh: summarise(mesh), blocks, triangles,
        perFrame: { touched: median(touched), fresh: median(fresh), dirty: median(dirtied) },
        kernelMs: Object.fromEntries(Object.entries(perKernel).map(([k, v]) => [k, Math.round(median(v) * 1000) / 1000])),
      };
    }
  } finally {
    ctx.destroy();
  }
}
if (argv.includes('--json')) console.log(JSON.stringify(report, null, 2));
else {
  for (const [k, v] of Object.entries(report)) {
    const r = v as { integrate: Record<string, number>; mesh: Record<string, number>; blocks: number; triangles: number };
    console.log(`${k}: blocks ${r.blocks} triangles ${r.triangles} per frame ${JSON.stringify((v as { perFrame: object }).perFrame)}`);
    console.log(`  kernels ${JSON.stringify((v as { kernelMs: object }).kernelMs)}`);
    for (const step of ['integrate', 'mesh'] as const) {
      const s = r[step];
      console.log(`  ${step.padEnd(9)} total ${s.totalMs} ms  kernel ${s.kernelMs}  transfer ${s.transferMs}  host ${s.hostMs}  ` +
        `up ${((s.upBytes as number) / 1e6).toFixed(3)} MB  down ${((s.downBytes as number) / 1e6).toFixed(3)} MB  transfers ${s.transfers}`);
    }
  }
}
