/**
 * MASt3R kernels at MASt3R's sizes (512×384 maps, 24-d descriptors, subsample
 * 8 → 3072 seeds; N = 20 000 for brute force), with MASt3R's own torch code
 * (bench/peers/mast3r_torch.py, Debian's python3-torch on the CPU) timed on the
 * same inputs in the same run, its integer results compared with ours, and
 * this machine's SGEMM rate (torch.mm, and oneDNN's) as the roofline.
 *
 * The machine is shared: every time is a median, and CPU time (user + system
 * of this process) is reported beside wall time so contention shows.
 * `bun bench/mast3r.ts` runs it alone; SCANSTREAM_BENCH_QUICK=1 skips the slow
 * peers (torch on N = 20 000 and torch fast_reciprocal_NNs, ~10 s each).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultContext } from '../src/native';
import { fastReciprocalNN } from '../src/mast3r/fastReciprocalNN';
import { readNpy, writeNpy } from '../src/mast3r/npy';
import type { NdArray } from '../src/mast3r/ndarray';
import { depthmapToPts3d, geotrf } from '../src/mast3r/pointmaps';
import { reciprocalNN } from '../src/mast3r/reciprocalNN';
import { refineDepthsTSDF } from '../src/mast3r/refineDepthsTSDF';
import { infoNCELoss, similarities } from '../src/mast3r/similarities';
import { randomUnitRows, syntheticDescriptorPair } from '../src/mast3r/synthetic';
import { batchedTriangulate } from '../src/mast3r/triangulate';

const PYTHON = '/usr/bin/python3';
const PEER = resolve(import.meta.dir, 'peers', 'mast3r_torch.py');
const D = 24;

interface Timing {
  median_ms: number;
  min_ms: number;
  cpu_ms: number;
  reps: number;
}

function time<T>(reps: number, fn: () => T): { result: T; timing: Timing } {
  const wall: number[] = [];
  const cpu: number[] = [];
  let result!: T;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    result = fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const med = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;
  return { result, timing: { median_ms: med(wall), min_ms: Math.min(...wall), cpu_ms: med(cpu), reps } };
}

function hasTorch(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
}

type PeerResult = Record<string, unknown> & { median_ms?: number };

function peer(task: string, args: string[]): PeerResult | { error: string } {
  process.stderr.write(`bench mast3r: torch peer ${task}…\n`);
  const r = spawnSync(PYTHON, [PEER, task, '--threads', '2', ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: `peer ${task} exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as PeerResult;
  } catch {
    return { error: `peer ${task}: unparsable output` };
  }
}

function sameInt(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Number(a[i]) !== Number(b[i])) return false;
  return true;
}

function ratio(peerMs: number | undefined, ours: number): number | null {
  return peerMs === undefined ? null : Number((peerMs / ours).toFixed(2));
}

export async function runMast3rBench(): Promise<object> {
  const quick = process.env.SCANSTREAM_BENCH_QUICK === '1';
  const torch = hasTorch();
  const dir = mkdtempSync(join(tmpdir(), 'ss-mast3r-bench-'));
  const ctx = defaultContext();
  const report: Record<string, unknown> = {
    threads: ctx.threads,
    peer: torch ? 'MASt3R code on torch (CPU), bench/peers/mast3r_torch.py' : 'torch not installed: peer skipped',
  };
  try {
    // ---- roofline: this machine's SGEMM rate ------------------------------------------
    let sgemm: Record<string, { gflops?: number }> = {};
    if (torch) {
      const s = peer('sgemm', []);
      if (!('error' in s)) sgemm = (s.results ?? {}) as Record<string, { gflops?: number }>;
      report.sgemm = 'error' in s ? s : sgemm;
    }
    const torchRate = sgemm['torch.mm 1024x1024x1024']?.gflops;
    const onednnRate = sgemm['onednn 1024x1024x1024']?.gflops;

    // ---- brute-force reciprocal NN ---------------------------------------------------
    const recip: Record<string, unknown> = {};
    for (const n of [3072, 20000]) {
      const a = randomUnitRows(n, D, 11 + n);
      const b = randomUnitRows(n, D, 13 + n);
      const A: NdArray = { data: a, shape: [n, D] };
      const B: NdArray = { data: b, shape: [n, D] };
      reciprocalNN(A, B, { dist: 'dot' });
      const { result, timing } = time(n > 5000 ? 3 : 9, () => reciprocalNN(A, B, { dist: 'dot' }));
      const flops = 2 * n * n * D;
      const entry: Record<string, unknown> = {
        size: `${n}x${n}x${D} dot`, ours: timing, gflops: Number((flops / timing.median_ms / 1e6).toFixed(1)),
      };
      if (torchRate) entry.floor_torch_mm_ms = Number((flops / torchRate / 1e6).toFixed(2));
      if (onednnRate) entry.floor_onednn_ms = Number((flops / onednnRate / 1e6).toFixed(2));
      if (torchRate) entry.vs_floor_torch_mm = Number((timing.median_ms / (flops / torchRate / 1e6)).toFixed(3));
      if (onednnRate) entry.vs_floor_onednn = Number((timing.median_ms / (flops / onednnRate / 1e6)).toFixed(3));
      if (torch && (n <= 5000 || !quick)) {
        const pa = join(dir, `a${n}.npy`), pb = join(dir, `b${n}.npy`), out = join(dir, `nn${n}`);
        writeNpy(pa, A);
        writeNpy(pb, B);
        const p = peer('reciprocal', ['--in', pa, pb, '--dist', 'dot', '--block', String(2 ** 13), '--reps', n > 5000 ? '1' : '5', '--out', out]);
        entry.torch = p;
        if (!('error' in p)) {
          entry.speedup_vs_torch = ratio(p.median_ms, timing.median_ms);
          entry.same_as_torch = sameInt(result.nnA, readNpy(`${out}.nn_a.npy`).data as BigInt64Array) &&
            sameInt(result.nnB, readNpy(`${out}.nn_b.npy`).data as BigInt64Array);
        }
      }
      recip[String(n)] = entry;
    }
    report.reciprocal_nn = recip;

    // ---- fast reciprocal NN on 512×384×24 maps ------------------------------------------------
    const fast: Record<string, unknown> = {};
    const H = 384, W = 512;
    const pairs: Record<string, [NdArray, NdArray]> = {
      'smooth synthetic pair (warped multi-scale field + noise)': syntheticDescriptorPair(H, W, D, 5),
      'iid random unit vectors (worst case: nothing to exploit)': [
        { data: randomUnitRows(H * W, D, 21), shape: [H, W, D] }, { data: randomUnitRows(H * W, D, 22), shape: [H, W, D] }],
    };
    let first = true;
    for (const [name, [m1, m2]] of Object.entries(pairs)) {
      fastReciprocalNN(m1, m2);
      const { result, timing } = time(5, () => fastReciprocalNN(m1, m2));
      const entry: Record<string, unknown> = {
        size: `${W}x${H}x${D}, subsample 8, dot`, ours: timing, matches: result.count,
        queries_per_half_iteration: result.queries,
      };
      if (torch && first && !quick) {
        const p1 = join(dir, 'map1.npy'), p2 = join(dir, 'map2.npy'), out = join(dir, 'fast');
        writeNpy(p1, m1);
        writeNpy(p2, m2);
        const p = peer('fast', ['--in', p1, p2, '--reps', '1', '--out', out]);
        entry.torch = p;
        if (!('error' in p)) {
          entry.speedup_vs_torch = ratio(p.median_ms, timing.median_ms);
          entry.same_as_torch = sameInt(result.xy1, readNpy(`${out}.xy1.npy`).data as BigInt64Array) &&
            sameInt(result.xy2, readNpy(`${out}.xy2.npy`).data as BigInt64Array);
        }
      }
      first = false;
      fast[name] = entry;
    }
    report.fast_reciprocal_nn = fast;

    // ---- similarities and InfoNCE ------------------------------------------------------
    {
      const n = 4096;
      const d1: NdArray = { data: randomUnitRows(n, D, 31), shape: [1, n, D] };
      const d2: NdArray = { data: randomUnitRows(n, D, 32), shape: [1, n, D] };
      const s = time(5, () => similarities(d1, d2));
      const l = time(3, () => infoNCELoss(d1, d2, { temperature: 0.05 }));
      const entry: Record<string, unknown> = {
        size: `1x${n}x${n}x${D}`,
        similarity: { ours: s.timing, gflops: Number((2 * n * n * D / s.timing.median_ms / 1e6).toFixed(1)) },
        infonce: { ours: l.timing, loss: l.result.loss },
      };
      if (torch) {
        const p1 = join(dir, 'd1.npy'), p2 = join(dir, 'd2.npy');
        writeNpy(p1, d1);
        writeNpy(p2, d2);
        const p = peer('similarity', ['--in', p1, p2, '--reps', '3', '--temperature', '0.05']);
        entry.torch = p;
        if (!('error' in p)) {
          const ps = p.similarity as { median_ms: number };
          const pl = p.infonce as { median_ms: number; loss: number };
          entry.similarity_speedup_vs_torch = ratio(ps.median_ms, s.timing.median_ms);
          entry.infonce_speedup_vs_torch = ratio(pl.median_ms, l.timing.median_ms);
          entry.infonce_rel_diff_vs_torch = Math.abs(pl.loss - l.result.loss) / Math.abs(pl.loss);
        }
      }
      report.similarities = entry;
    }

    // ---- triangulation: 4 view pairs of 512×384 matches ---------------------------------------------
    {
      const B = 4, Np = H * W, Nc = 2;
      const pts = new Float32Array(B * Nc * Np * 2);
      const P = new Float32Array(B * Nc * 12);
      let s = 7;
      const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < Nc; c++) {
          const at = (b * Nc + c) * 12;
          P.set([500, 0, 256, 0.2 * c + 0.01 * b, 0, 500, 192, 0.05 * c, 0, 0, 1, 0.01 * c], at);
        }
      }
      for (let i = 0; i < pts.length; i++) pts[i] = 512 * rnd();
      const p2: NdArray = { data: pts, shape: [B, Nc, Np, 2] };
      const pm: NdArray = { data: P, shape: [B, Nc, 3, 4] };
      const t = time(3, () => batchedTriangulate(p2, pm));
      const entry: Record<string, unknown> = { size: `${B}x${Nc}x${Np} points`, ours: t.timing };
      if (torch) {
        const f1 = join(dir, 'p2.npy'), f2 = join(dir, 'P.npy');
        writeNpy(f1, p2);
        writeNpy(f2, pm);
        const p = peer('triangulate', ['--in', f1, f2, '--reps', '1']);
        entry.torch = p;
        if (!('error' in p)) entry.speedup_vs_torch = ratio(p.median_ms, t.timing.median_ms);
      }
      report.triangulate = entry;
    }

    // ---- point maps: 8 depth maps of 512×384, then a rigid transform --------------------------------
    {
      const B = 8;
      const depth = Float32Array.from({ length: B * H * W }, (_, i) => 1 + (i % 977) / 977);
      const dm: NdArray = { data: depth, shape: [B, H, W] };
      const T: NdArray = { data: Float32Array.from([0.8, -0.6, 0, 0.1, 0.6, 0.8, 0, 0.2, 0, 0, 1, 0.3, 0, 0, 0, 1]), shape: [4, 4] };
      const d = time(5, () => depthmapToPts3d(dm, [500, 500]));
      const pts = d.result.pts;
      const g = time(5, () => geotrf(T, pts));
      const entry: Record<string, unknown> = { size: `${B}x${H}x${W}`, depthmap_to_pts3d: { ours: d.timing }, geotrf: { ours: g.timing } };
      if (torch) {
        const f1 = join(dir, 'depth.npy'), f2 = join(dir, 'T.npy');
        writeNpy(f1, dm);
        writeNpy(f2, T);
        const p = peer('pointmaps', ['--in', f1, f2, '--reps', '5']);
        entry.torch = p;
        if (!('error' in p)) {
          entry.depthmap_to_pts3d_speedup_vs_torch = ratio((p.depthmap_to_pts3d as { median_ms: number }).median_ms, d.timing.median_ms);
          entry.geotrf_speedup_vs_torch = ratio((p.geotrf as { median_ms: number }).median_ms, g.timing.median_ms);
        }
      }
      report.pointmaps = entry;
    }

    // ---- TSDF depth refinement: 4 views of 64×48, 1000 samples ----------------------------------------
    {
      const N = 4, h = 48, w = 64, samples = 1000;
      const depths = new Float32Array(N * h * w);
      const confs = new Float32Array(N * h * w);
      const cams = new Float32Array(N * 16);
      const K = new Float32Array(N * 9);
      for (let i = 0; i < N; i++) {
        const tx = 0.05 * i;
        cams.set([1, 0, 0, tx, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], i * 16);
        K.set([60, 0, (w - 1) / 2, 0, 60, (h - 1) / 2, 0, 0, 1], i * 9);
        for (let p = 0; p < h * w; p++) {
          depths[i * h * w + p] = 2 + 0.1 * Math.sin(p * 0.37 + i) + 0.002 * ((p * 7919) % 13);
          confs[i * h * w + p] = 1 + ((p * 31) % 7) / 7;
        }
      }
      const dd: NdArray = { data: depths, shape: [N, h, w] }, cc: NdArray = { data: confs, shape: [N, h, w] };
      const pp: NdArray = { data: cams, shape: [N, 4, 4] }, kk: NdArray = { data: K, shape: [N, 3, 3] };
      const t = time(3, () => refineDepthsTSDF(dd, cc, pp, kk, { tau: 0.05, samples, seed: 1 }));
      const evals = N * N * h * w * samples;
      const entry: Record<string, unknown> = {
        size: `${N} images of ${w}x${h}, ${samples} samples`, ours: t.timing,
        view_evaluations_per_s: Number((evals / (t.timing.median_ms / 1000)).toExponential(3)),
      };
      if (torch) {
        const f = ['dep', 'conf', 'cam', 'K'].map((n) => join(dir, `${n}.npy`));
        writeNpy(f[0] as string, dd);
        writeNpy(f[1] as string, cc);
        writeNpy(f[2] as string, pp);
        writeNpy(f[3] as string, kk);
        const p = peer('tsdf', ['--in', ...f, '--tau', '0.05', '--samples', String(samples), '--reps', '1']);
        entry.torch = p;
        if (!('error' in p)) entry.speedup_vs_torch = ratio(p.median_ms, t.timing.median_ms);
      }
      report.refine_depths_tsdf = entry;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

if (import.meta.main) {
  runMast3rBench().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
