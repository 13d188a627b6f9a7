/**
 * Fusion benchmark: per-frame TSDF integrate and incremental meshing at
 * 640×480, 1 cm voxels, on a synthetic room and on TUM fr1/rpy, with
 * Open3D's ScalableTSDFVolume timed on the same frames in the same run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { encodeColourPng, encodeDepthPng } from '../src/frames/decode';
import { metresToDepth16, TUM_DEPTH_SCALE } from '../src/frames/depthUnits';
import type { Frame } from '../src/frames/frame';
import { tumSource } from '../src/frames/tum';
import { readPly } from '../src/fusion/ply';
import { TsdfVolume } from '../src/fusion/tsdfVolume';
import { evaluateMesh, type MeshLike } from '../src/eval/meshMetrics';
import { NativeContext } from '../src/native';
import { summarize } from '../src/pipeline/runTimer';

const VOXEL = 0.01;
const TRUNC = 0.04;
const MAX_DEPTH = 4.0;
const PYTHON = '/usr/bin/python3';
const root = resolve(import.meta.dir, '..');

interface Dataset {
  name: string;
  frames: Frame[];
  /** files Open3D reads: original PNGs where they exist */
  files?: { rgb: string; depth: string }[];
  truth?: MeshLike;
}

function hasOpen3d(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import open3d'], { stdio: 'ignore' }).status === 0;
}

async function collect(frames$: Observable<Frame>): Promise<Frame[]> {
  return lastValueFrom(frames$.pipe(toArray()));
}

async function writeFramesForPeer(dir: string, frames: Frame[]): Promise<{ rgb: string; depth: string }[]> {
  const files: { rgb: string; depth: string }[] = [];
  for (const f of frames) {
    const rgb = join(dir, `rgb_${f.index}.png`), depth = join(dir, `depth_${f.index}.png`);
    writeFileSync(rgb, await encodeColourPng(f.rgb, f.width, f.height));
    writeFileSync(depth, await encodeDepthPng(metresToDepth16(f.depth as Float32Array, TUM_DEPTH_SCALE), f.width, f.height));
    files.push({ rgb, depth });
  }
  return files;
}

function runOurs(ctx: NativeContext, ds: Dataset, passes: number): { integrate: number[]; mesh: number[]; volume: TsdfVolume } {
  const integrate: number[] = [];
  const mesh: number[] = [];
  let volume: TsdfVolume | null = null;
  for (let pass = 0; pass < passes; pass++) {
    volume?.destroy();
    volume = new TsdfVolume(ctx, { voxelSize: VOXEL, sdfTrunc: TRUNC, maxDepth: MAX_DEPTH, maxBlocks: 200_000 });
    for (const f of ds.frames) {
      const pose = f.groundTruthPose ?? f.pose;
      if (!pose || !f.depth) continue;
      const t0 = performance.now();
      volume.integrate(f.depth, f.rgb, f.intrinsics, pose);
      const t1 = performance.now();
      volume.meshDirty();
      const t2 = performance.now();
      integrate.push(t1 - t0);
      mesh.push(t2 - t1);
    }
  }
  return { integrate, mesh, volume: volume as TsdfVolume };
}

function runOpen3d(ds: Dataset, work: string): Record<string, unknown> | null {
  const K = ds.frames[0]!.intrinsics;
  const meshOut = join(work, `${ds.name}_open3d.ply`);
  const cfg = {
    width: K.width, height: K.height, fx: K.fx, fy: K.fy, cx: K.cx, cy: K.cy, voxel: VOXEL, trunc: TRUNC,
    depth_scale: TUM_DEPTH_SCALE, depth_max: MAX_DEPTH, mesh_out: meshOut,
    frames: ds.frames.map((f, i) => ({ ...ds.files![i]!, cam_to_world: Array.from(f.groundTruthPose ?? f.pose ?? []) }))
      .filter((f) => f.cam_to_world.length === 16),
  };
  const cfgPath = join(work, `${ds.name}_open3d.json`);
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const r = spawnSync(PYTHON, [join(root, 'bench', 'peers', 'open3d_tsdf.py'), cfgPath], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    console.error(`open3d peer failed: ${r.stderr}`);
    return null;
  }
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  out.meshPath = meshOut;
  delete out.integrate_ms;
  return out;
}

async function loadDatasets(work: string): Promise<Dataset[]> {
  const sets: Dataset[] = [];
  try {
    const synth = await import('../src/frames/synthetic/source');
    const truthMod = await import('../src/frames/synthetic/truth');
    const frames = await collect(synth.syntheticSource({ scene: 'room', frames: 60, seed: 1 }));
    const truth = truthMod.cullToSeen(truthMod.syntheticTruthMesh('room'), frames);
    sets.push({ name: 'synthetic_room', frames, files: await writeFramesForPeer(work, frames), truth });
  } catch (e) {
    console.error(`bench fusion: synthetic room unavailable (${(e as Error).message})`);
  }
  const tum = resolve(root, '..', 'shared', 'data', 'tum_fr1_rpy');
  if (existsSync(tum)) {
    const frames = await collect(tumSource(tum));
    const files = frames.map((f) => ({ rgb: f.sourceInfo?.rgbPath ?? '', depth: f.sourceInfo?.depthPath ?? '' }));
    sets.push({ name: 'tum_fr1_rpy', frames, files: files.every((f) => f.rgb && f.depth) ? files : await writeFramesForPeer(work, frames) });
  } else {
    console.error(`bench fusion: ${tum} not found, skipping TUM`);
  }
  return sets;
}

export async function runFusionBench(): Promise<object> {
  const work = mkdtempSync(join(tmpdir(), 'scanstream-bench-fusion-'));
  const ctx = NativeContext.create();
  const peer = hasOpen3d();
  const results: Record<string, unknown>[] = [];
  try {
    for (const ds of await loadDatasets(work)) {
      console.error(`bench fusion: ${ds.name} (${ds.frames.length} frames)`);
      const ours = runOurs(ctx, ds, 3);
      const integrate = summarize(ours.integrate);
      const mesh = summarize(ours.mesh);
      const entry: Record<string, unknown> = {
        dataset: ds.name, frames: ds.frames.length, voxel: VOXEL, sdfTrunc: TRUNC, maxDepth: MAX_DEPTH,
        resolution: `${ds.frames[0]!.width}x${ds.frames[0]!.height}`, backend: ctx.backend, threads: ctx.threads,
        ours: { integrate, incrementalMesh: mesh, blocks: ours.volume.blockCount, triangles: ours.volume.triangles },
      };
      const ourMesh = ours.volume.extractMesh();
      if (ds.truth) {
        const acc = evaluateMesh(ourMesh, ds.truth, { voxelSize: VOXEL });
        (entry.ours as Record<string, unknown>).meshAccuracy = acc;
      }
      ours.volume.destroy();
      if (peer && ds.files) {
        const o3d = runOpen3d(ds, work);
        if (o3d) {
          entry.open3d = o3d;
          entry.integrateSpeedupVsOpen3d = Math.round(((o3d.integrate_ms_median as number) / integrate.medianMs) * 100) / 100;
          if (ds.truth && typeof o3d.meshPath === 'string') {
            const o3dMesh = await readPly(o3d.meshPath);
            (entry.open3d as Record<string, unknown>).meshAccuracy = evaluateMesh(o3dMesh, ds.truth, { voxelSize: VOXEL });
          }
          delete (entry.open3d as Record<string, unknown>).meshPath;
        }
      } else if (!peer) {
        entry.open3d = 'not installed (apt-get install python3-open3d)';
      }
      results.push(entry);
    }
  } finally {
    ctx.destroy();
    rmSync(work, { recursive: true, force: true });
  }
  return { suite: 'fusion', results };
}

if (import.meta.main) console.log(JSON.stringify(await runFusionBench(), null, 2));
