/**
 * MASt3R kernels at MASt3R's sizes (512×384 maps, 24-d descriptors, subsample
 * 8 → 3072 seeds; N = 20 000 for brute force), with MASt3R's own torch code
 * (bench/peers/mast3r_torch.py, Debian's python3-torch on the CPU) timed on the
 * same inputs in the same run, its integer results compared with ours, and
 * this machine's SGEMM rate (torch.mm, and oneDNN's) as the roofline.
 *
 * Each step reports where its time goes, every figure with its torch ratio:
 *   kernel       the native call alone on warm buffers (for fast_reciprocal_NNs,
 *                whose loop lives in TypeScript, the native calls within one run);
 *   api_buffers  the whole API call with inputs already in NativeBuffers and the
 *                result written into a caller's buffer (the zero-copy form);
 *   api_arrays   the whole API call on JS arrays: inputs copied in, a fresh
 *                result array (what a caller of the NdArray form pays).
 * Memory-bound steps also report a plain copy of their input + output bytes
 * between two warm buffers in the same run (memcpy_in_out), their floor, and a
 * fresh JS array of the output's size written once (fresh_output): what any
 * call returning a new array pays at least. That cost swings with the
 * allocator: reused memory is cheap, fresh pages fault one by one (on this VM
 * ~10–30 µs per 4 KiB page), which is why api_arrays (and torch, which
 * allocates its outputs too) have medians far above their minima.
 *
 * The machine is shared: every time is a median, the forms of a step (and its
 * copy floor) are timed round-robin so load falls on all of them alike, and
 * CPU time (user + system of this process) is reported beside wall time so
 * contention shows.
 * `bun bench/mast3r.ts` runs it alone (a table on stderr, JSON on stdout);
 * SCANSTREAM_BENCH_QUICK=1 skips the slow CPU peers (torch on N = 20 000 and
 * torch fast_reciprocal_NNs, ~10 s each).
 *
 * On a GPU: `--backend cuda` (or SCANSTREAM_BACKEND=cuda) runs our kernels on
 * CUDA and MASt3R's code on torch CUDA (the peer's --device cuda: inputs
 * already on the GPU, FP32 matmuls, synchronised timings), and the report
 * carries the GPU's name, the date, the commit (SCANSTREAM_COMMIT, else git)
 * and the targets checked (`targets`). From a bundle, SCANSTREAM_ROOT
 * locates the libraries and the peer; SCANSTREAM_PYTHON the python3 with torch.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultContext, type NativeBuffer, type NativeContext } from '../src/native';
import { projectRoot } from '../src/native/library';
import { abiConstants } from '../src/native/abi.generated';
import type { KernelSymbol } from '../src/native/args';
import { fastReciprocalNN } from '../src/mast3r/fastReciprocalNN';
import { descIndexFloats } from '../src/mast3r/native';
import { readNpy, writeNpy } from '../src/mast3r/npy';
import type { NdArray } from '../src/mast3r/ndarray';
import { depthmapToPts3d, geotrf } from '../src/mast3r/pointmaps';
import { reciprocalNN } from '../src/mast3r/reciprocalNN';
import { packCameras, refineDepthsTSDF } from '../src/mast3r/refineDepthsTSDF';
import { infoNCELoss, similarities } from '../src/mast3r/similarities';
import { randomUnitRows, syntheticDescriptorPair } from '../src/mast3r/synthetic';
import { batchedTriangulate, matchesToDepths } from '../src/mast3r/triangulate';

/** the python3 that runs the peer: SCANSTREAM_PYTHON, else the first of PATH's and Debian's that imports torch */
let PYTHON = process.env.SCANSTREAM_PYTHON ?? 'python3';
/* beside the checkout, not the script: a bundle (bun build bench/run.ts) runs from elsewhere */
const PEER = join(projectRoot, 'bench', 'peers', 'mast3r_torch.py');
/** where the torch peer runs MASt3R's code: the GPU when our kernels run on CUDA */
let peerDevice: 'cpu' | 'cuda' = 'cpu';
const D = 24;

interface Timing {
  median_ms: number;
  min_ms: number;
  cpu_ms: number;
  reps: number;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] as number;

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
  return { result, timing: { median_ms: round(median(wall)), min_ms: round(Math.min(...wall)), cpu_ms: round(median(cpu)), reps } };
}

/**
 * The forms of one step timed round-robin, one rep of each in turn, so load
 * from other processes on this shared machine falls on all of them alike.
 */
function interleaved<K extends string>(reps: number, fns: Record<K, () => unknown>): Record<K, Timing> {
  const names = Object.keys(fns) as K[];
  const wall = new Map<K, number[]>(names.map((k) => [k, []]));
  const cpu = new Map<K, number[]>(names.map((k) => [k, []]));
  for (const k of names) fns[k]();
  for (let r = 0; r < reps; r++) {
    for (const k of names) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      fns[k]();
      (wall.get(k) as number[]).push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      (cpu.get(k) as number[]).push((c.user + c.system) / 1000);
    }
  }
  const out = {} as Record<K, Timing>;
  for (const k of names) {
    const w = wall.get(k) as number[];
    out[k] = { median_ms: round(median(w)), min_ms: round(Math.min(...w)), cpu_ms: round(median(cpu.get(k) as number[])), reps };
  }
  return out;
}

/** A plain copy between two warm native buffers of `bytes` (TypedArray.set: one memmove): the floor of a memory-bound step. */
function copier(ctx: NativeContext, bytes: number, held: NativeBuffer[]): () => void {
  const a = ctx.buffer(bytes), b = ctx.buffer(bytes);
  held.push(a, b);
  a.u8().fill(1);
  return () => b.u8().set(a.u8());
}

function round(v: number): number {
  return Number(v.toFixed(3));
}

function hasTorch(): boolean {
  const probe = peerDevice === 'cuda' ? 'import torch, numpy; assert torch.cuda.is_available()' : 'import torch, numpy';
  const candidates = process.env.SCANSTREAM_PYTHON ? [process.env.SCANSTREAM_PYTHON] : ['python3', '/usr/bin/python3'];
  for (const py of candidates) {
    if (spawnSync(py, ['-c', probe], { stdio: 'ignore' }).status === 0) {
      PYTHON = py;
      return true;
    }
  }
  return false;
}

/** `--backend X` of the command line (bench/run.ts passes it through), else SCANSTREAM_BACKEND */
function backendArg(): string | undefined {
  const argv = process.argv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--backend' && i + 1 < argv.length) return argv[i + 1];
    if (a.startsWith('--backend=')) return a.slice('--backend='.length);
  }
  return process.env.SCANSTREAM_BACKEND || undefined;
}

function commitOf(): string {
  if (process.env.SCANSTREAM_COMMIT) return process.env.SCANSTREAM_COMMIT;
  const r = spawnSync('git', ['-C', projectRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

function gpuName(): string | null {
  const r = spawnSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n')[0] ?? null : null;
}

type PeerResult = Record<string, unknown> & { median_ms?: number };

function peer(task: string, args: string[]): PeerResult | { error: string } {
  process.stderr.write(`bench mast3r: torch peer ${task}…\n`);
  const r = spawnSync(PYTHON, [PEER, task, '--threads', '2', '--device', peerDevice, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
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

function ratio(peerMs: number | undefined, ours: number | undefined): number | null {
  return peerMs === undefined || ours === undefined ? null : Number((peerMs / ours).toFixed(2));
}

/** One MASt3R step's figures: kernel alone, API forms, torch, floors and the ratios between them. */
interface Step {
  size: string;
  kernel?: Timing;
  api_buffers?: Timing;
  api_arrays: Timing;
  torch?: PeerResult | { error: string };
  torch_ms?: number;
  speedup_vs_torch?: Record<string, number | null>;
  memcpy_in_out?: Timing & { bytes: number };
  vs_memcpy?: Record<string, number | null>;
  fresh_output?: Timing & { bytes: number };
  [extra: string]: unknown;
}

function finish(step: Step, torchMs: number | undefined): Step {
  step.torch_ms = torchMs === undefined ? undefined : round(torchMs);
  step.speedup_vs_torch = {
    kernel: ratio(torchMs, step.kernel?.median_ms),
    api_buffers: ratio(torchMs, step.api_buffers?.median_ms),
    api_arrays: ratio(torchMs, step.api_arrays.median_ms),
  };
  if (step.memcpy_in_out) {
    const m = step.memcpy_in_out.median_ms;
    step.vs_memcpy = {
      kernel: step.kernel ? Number((step.kernel.median_ms / m).toFixed(2)) : null,
      api_buffers: step.api_buffers ? Number((step.api_buffers.median_ms / m).toFixed(2)) : null,
    };
  }
  return step;
}

/** A fresh JS array of `bytes` written once: what returning a new array costs at least. */
function freshOutput(bytes: number, reps: number): Timing & { bytes: number } {
  return { ...time(reps, () => new Uint8Array(bytes).fill(1)).timing, bytes };
}

/** Native time spent in ctx.call during fn (the kernels of a call whose loop lives in TypeScript). */
function kernelTimeWithin<T>(ctx: NativeContext, fn: () => T): { result: T; ms: number } {
  const call = ctx.call.bind(ctx);
  let ms = 0;
  ctx.call = ((kernel: KernelSymbol, values, buffers, allow) => {
    const t0 = performance.now();
    try {
      return call(kernel, values, buffers, allow);
    } finally {
      ms += performance.now() - t0;
    }
  }) as NativeContext['call'];
  try {
    return { result: fn(), ms };
  } finally {
    ctx.call = call;
  }
}

function upload(ctx: NativeContext, data: Float32Array): NativeBuffer {
  return ctx.bufferFrom(data);
}

export async function runMast3rBench(): Promise<object> {
  const backend = backendArg();
  if (backend) process.env.SCANSTREAM_BACKEND = backend;
  const ctx = defaultContext();
  const gpu = ctx.backendLabel === 'cuda';
  // CUDA calls return once launched; a call's time is its kernels' only when every call waits
  if (gpu && process.env.SCANSTREAM_CUDA_SYNC !== '1') throw new Error('bench mast3r on CUDA: run with SCANSTREAM_CUDA_SYNC=1 (each call then waits for its kernels)');
  peerDevice = gpu ? 'cuda' : 'cpu';
  const quick = process.env.SCANSTREAM_BENCH_QUICK === '1' && !gpu;
  const torch = hasTorch();
  const dir = mkdtempSync(join(tmpdir(), 'ss-mast3r-bench-'));
  /* GPU timings are short: more repetitions for a steady median */
  const many = gpu ? 25 : 0;
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    commit: commitOf(),
    backend: ctx.backendLabel,
    gpu: gpu ? gpuName() : null,
    threads: ctx.threads,
    peer: torch ? `MASt3R code on torch (${peerDevice === 'cuda' ? 'CUDA' : 'CPU'}), bench/peers/mast3r_torch.py --device ${peerDevice}`
      : `torch${gpu ? ' with CUDA' : ''} not installed for ${PYTHON}: peer skipped`,
    forms: 'kernel: the native call alone on warm buffers; api_buffers: the API call on NativeBuffers, result into a caller\'s buffer; ' +
      'api_arrays: the API call on JS arrays, a fresh result array. speedup_vs_torch = torch median / ours; vs_memcpy = ours / a copy of input + output bytes',
  };
  const held: NativeBuffer[] = [];
  const keep = (b: NativeBuffer): NativeBuffer => {
    held.push(b);
    return b;
  };
  try {
    // ---- roofline: this machine's SGEMM rate ------------------------------------------
    let sgemm: Record<string, { gflops?: number }> = {};
    if (torch) {
      const s = peer('sgemm', []);
      if (!('error' in s)) sgemm = (s.results ?? {}) as Record<string, { gflops?: number }>;
      report.sgemm = 'error' in s ? s : sgemm;
    }
    const torchRate = sgemm[gpu ? 'torch.mm 8192x8192x8192' : 'torch.mm 1024x1024x1024']?.gflops;
    const onednnRate = sgemm['onednn 1024x1024x1024']?.gflops;

    // ---- brute-force reciprocal NN ---------------------------------------------------
    const recip: Record<string, unknown> = {};
    for (const n of [3072, 20000]) {
      const a = randomUnitRows(n, D, 11 + n);
      const b = randomUnitRows(n, D, 13 + n);
      const A: NdArray = { data: a, shape: [n, D] };
      const B: NdArray = { data: b, shape: [n, D] };
      const reps = many || (n > 5000 ? 3 : 9);
      const ba = keep(upload(ctx, a)), bb = keep(upload(ctx, b)), oa = keep(ctx.buffer(4 * n)), ob = keep(ctx.buffer(4 * n));
      const t = interleaved(reps, {
        kernel: () => ctx.call('ss_mast3r_reciprocal_nn', { n, m: n, dim: D, dist: abiConstants.SS_DIST_DOT }, { a: ba, b: bb, nn_a: oa, nn_b: ob }),
        api_arrays: () => reciprocalNN(A, B, { dist: 'dot' }),
      });
      const kernel = t.kernel, timing = t.api_arrays;
      const result = reciprocalNN(A, B, { dist: 'dot' });
      const flops = 2 * n * n * D;
      const entry: Step = { size: `${n}x${n}x${D} dot`, kernel, api_arrays: timing, gflops: Number((flops / kernel.median_ms / 1e6).toFixed(1)) };
      if (torchRate) entry.floor_torch_mm_ms = Number((flops / torchRate / 1e6).toFixed(2));
      if (onednnRate) entry.floor_onednn_ms = Number((flops / onednnRate / 1e6).toFixed(2));
      if (onednnRate) entry.vs_floor_onednn = Number((kernel.median_ms / (flops / onednnRate / 1e6)).toFixed(3));
      let torchMs: number | undefined;
      if (torch && (n <= 5000 || !quick)) {
        const pa = join(dir, `a${n}.npy`), pb = join(dir, `b${n}.npy`), out = join(dir, `nn${n}`);
        writeNpy(pa, A);
        writeNpy(pb, B);
        const p = peer('reciprocal', ['--in', pa, pb, '--dist', 'dot', '--block', String(2 ** 13), '--reps', gpu ? '9' : n > 5000 ? '1' : '5', '--out', out]);
        entry.torch = p;
        if (!('error' in p)) {
          torchMs = p.median_ms;
          entry.same_as_torch = sameInt(result.nnA, readNpy(`${out}.nn_a.npy`).data as BigInt64Array) &&
            sameInt(result.nnB, readNpy(`${out}.nn_b.npy`).data as BigInt64Array);
        }
      }
      recip[String(n)] = finish(entry, torchMs);
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
      const kernelMs: number[] = [];
      const { result, timing } = time(gpu ? 15 : 5, () => {
        const k = kernelTimeWithin(ctx, () => fastReciprocalNN(m1, m2));
        kernelMs.push(k.ms);
        return k.result;
      });
      const entry: Step = {
        size: `${W}x${H}x${D}, subsample 8, dot`,
        kernel: { median_ms: round(median(kernelMs)), min_ms: round(Math.min(...kernelMs)), cpu_ms: NaN, reps: kernelMs.length },
        api_arrays: timing, matches: result.count, queries_per_half_iteration: result.queries,
        kernel_is: 'the native calls (index builds and queries) within each API call',
      };
      // index size of one map: the queries' working set
      entry.index_mb = Number((descIndexFloats(W, H, D) * 4 / 2 ** 20).toFixed(1));
      let torchMs: number | undefined;
      if (torch && (first || gpu) && !quick) {
        const p1 = join(dir, 'map1.npy'), p2 = join(dir, 'map2.npy'), out = join(dir, 'fast');
        writeNpy(p1, m1);
        writeNpy(p2, m2);
        const p = peer('fast', ['--in', p1, p2, '--reps', gpu ? '5' : '1', '--out', out]);
        entry.torch = p;
        if (!('error' in p)) {
          torchMs = p.median_ms;
          entry.same_as_torch = sameInt(result.xy1, readNpy(`${out}.xy1.npy`).data as BigInt64Array) &&
            sameInt(result.xy2, readNpy(`${out}.xy2.npy`).data as BigInt64Array);
        }
      }
      first = false;
      fast[name] = finish(entry, torchMs);
    }
    report.fast_reciprocal_nn = fast;

    // ---- issue 13's targets on the GPU: fast_reciprocal_NNs ≤ 5 ms and ≥ 10× torch CUDA; brute force 20k² ≤ 1 ms
    if (gpu) {
      const f = Object.values(fast)[0] as Step;
      const r = recip['20000'] as Step & { floor_torch_mm_ms?: number };
      const fk = f.kernel?.median_ms, fx = f.speedup_vs_torch?.kernel ?? null, rk = r.kernel?.median_ms;
      report.targets = {
        fast_reciprocal_nn: {
          what: 'smooth 512x384x24 pair, subsample 8, dot: the native calls of one fastReciprocalNN (index builds + queries) vs MASt3R on torch CUDA',
          kernel_ms: fk, target_ms: 5, speedup_vs_torch: fx, target_speedup: 10,
          met: fk !== undefined && fk <= 5 && fx !== null && fx >= 10,
        },
        reciprocal_nn_20000: {
          what: '20000x20000x24 dot, one ss_mast3r_reciprocal_nn call on device-resident buffers',
          kernel_ms: rk, target_ms: 1, fp32_gemm_floor_ms: r.floor_torch_mm_ms ?? null, met: rk !== undefined && rk <= 1,
        },
      };
    }

    // ---- similarities and InfoNCE ------------------------------------------------------
    {
      const n = 4096;
      const a = randomUnitRows(n, D, 31), b = randomUnitRows(n, D, 32);
      const d1: NdArray = { data: a, shape: [1, n, D] };
      const d2: NdArray = { data: b, shape: [1, n, D] };
      const b1 = keep(upload(ctx, a)), b2 = keep(upload(ctx, b));
      const t1 = { buffer: b1, shape: [1, n, D] }, t2 = { buffer: b2, shape: [1, n, D] };
      const simOut = keep(ctx.buffer(4 * n * n)), lossOut = keep(ctx.buffer(4 * n));
      const outBytes = 4 * n * n, inBytes = 2 * 4 * n * D;
      const st = interleaved(7, {
        kernel: () => ctx.call('ss_mast3r_similarity', { batch: 1, n, m: n, dim: D }, { desc1: b1, desc2: b2, out: simOut }),
        api_buffers: () => similarities(t1, t2, { out: simOut }),
        api_arrays: () => similarities(d1, d2),
        memcpy: copier(ctx, inBytes + outBytes, held),
      });
      const sim: Step = {
        size: `1x${n}x${n}x${D}`, kernel: st.kernel, api_buffers: st.api_buffers, api_arrays: st.api_arrays,
        memcpy_in_out: { ...st.memcpy, bytes: inBytes + outBytes },
        fresh_output: freshOutput(outBytes, 5),
      };
      sim.gflops = Number((2 * n * n * D / (sim.kernel as Timing).median_ms / 1e6).toFixed(1));
      const lossArgs = { batch: 1, n, dim: D, temperature: 0.05, eps: 1e-8 };
      const lt = interleaved(5, {
        kernel: () => ctx.call('ss_mast3r_infonce', lossArgs, { desc1: b1, desc2: b2, loss: lossOut }),
        api_buffers: () => infoNCELoss(t1, t2, { temperature: 0.05, out: lossOut }),
        api_arrays: () => infoNCELoss(d1, d2, { temperature: 0.05 }),
      });
      const loss = { result: infoNCELoss(d1, d2, { temperature: 0.05 }) };
      const nce: Step = {
        size: `1x${n}x${D}, temperature 0.05`, kernel: lt.kernel, api_buffers: lt.api_buffers, api_arrays: lt.api_arrays,
        loss: loss.result.loss,
      };
      let simMs: number | undefined, nceMs: number | undefined;
      if (torch) {
        const p1 = join(dir, 'd1.npy'), p2 = join(dir, 'd2.npy');
        writeNpy(p1, d1);
        writeNpy(p2, d2);
        const p = peer('similarity', ['--in', p1, p2, '--reps', '5', '--temperature', '0.05']);
        sim.torch = 'error' in p ? p : (p.similarity as PeerResult);
        nce.torch = 'error' in p ? p : (p.infonce as PeerResult);
        if (!('error' in p)) {
          simMs = (p.similarity as { median_ms: number }).median_ms;
          const pl = p.infonce as { median_ms: number; loss: number };
          nceMs = pl.median_ms;
          nce.rel_diff_vs_torch = Math.abs(pl.loss - loss.result.loss) / Math.abs(pl.loss);
        }
      }
      report.similarities = finish(sim, simMs);
      report.infonce = finish(nce, nceMs);
    }

    // ---- triangulation: 4 view pairs of 512×384 matches ---------------------------------------------
    {
      const B = 4, Np = H * W, Nc = 2;
      const pts = new Float32Array(B * Nc * Np * 2);
      const P = new Float32Array(B * Nc * 12);
      let s = 7;
      const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
      for (let b = 0; b < B; b++) {
        for (let c = 0; c < Nc; c++) P.set([500, 0, 256, 0.2 * c + 0.01 * b, 0, 500, 192, 0.05 * c, 0, 0, 1, 0.01 * c], (b * Nc + c) * 12);
      }
      for (let i = 0; i < pts.length; i++) pts[i] = 512 * rnd();
      const p2: NdArray = { data: pts, shape: [B, Nc, Np, 2] };
      const pm: NdArray = { data: P, shape: [B, Nc, 3, 4] };
      const bp = keep(upload(ctx, pts)), bm = keep(upload(ctx, P)), out = keep(ctx.buffer(B * Np * 12));
      const entry: Step = {
        size: `${B}x${Nc}x${Np} points`,
        ...interleaved(5, {
          kernel: () => ctx.call('ss_mast3r_triangulate', { batch: B, cams: Nc, points: Np }, { pts2d: bp, proj: bm, out }),
          api_buffers: () => batchedTriangulate({ buffer: bp, shape: p2.shape }, { buffer: bm, shape: pm.shape }, { out }),
          api_arrays: () => batchedTriangulate(p2, pm),
        }),
      };
      let torchMs: number | undefined;
      if (torch) {
        const f1 = join(dir, 'p2.npy'), f2 = join(dir, 'P.npy');
        writeNpy(f1, p2);
        writeNpy(f2, pm);
        const p = peer('triangulate', ['--in', f1, f2, '--reps', '3']);
        entry.torch = p;
        if (!('error' in p)) torchMs = p.median_ms;
      }
      report.triangulate = finish(entry, torchMs);
    }

    // ---- matches_to_depths: a 512×384 reference view against 4 views ---------------------------------
    {
      const B = 1, Nv = 4, n = B * H * W;
      const K: number[] = [], E: number[] = [];
      for (let c = 0; c <= Nv; c++) {
        K.push(500, 0, (W - 1) / 2, 0, 500, (H - 1) / 2, 0, 0, 1);
        E.push(1, 0, 0, 0.1 * c, 0, 1, 0, 0.02 * c, 0, 0, 1, 0, 0, 0, 0, 1);
      }
      // each view sees the reference pixel's point at depth 2–3 shifted by its baseline, ± noise
      let s = 11;
      const rnd = (): number => ((s = (s * 1103515245 + 12345) >>> 0) / 4294967296);
      const m = new Float32Array(B * Nv * n * 5);
      for (let v = 0; v < Nv; v++) {
        for (let i = 0; i < n; i++) {
          const x = i % W, y = Math.floor(i / W) % H, z = 2 + rnd();
          const at = (v * n + i) * 5;
          m.set([x, y, x + 500 * 0.1 * (v + 1) / z + 0.3 * (rnd() - 0.5), y + 500 * 0.02 * (v + 1) / z, 0.5 + rnd()], at);
        }
      }
      const Ka: NdArray = { data: Float32Array.from(K), shape: [B, Nv + 1, 3, 3] }, Ea: NdArray = { data: Float32Array.from(E), shape: [B, Nv + 1, 4, 4] };
      const ma: NdArray = { data: m, shape: [B, Nv, H, W, 5] };
      const bm = keep(upload(ctx, m)), pts = keep(ctx.buffer(12 * n)), dep = keep(ctx.buffer(4 * n)), cf = keep(ctx.buffer(4 * n));
      const apiBuffers = (): unknown => matchesToDepths(Ka, Ea, { buffer: bm, shape: ma.shape }, { out: pts, depthsOut: dep, confsOut: cf });
      const kernelMs: number[] = [];
      const mt = interleaved(5, {
        api_buffers: () => kernelMs.push(kernelTimeWithin(ctx, apiBuffers).ms),
        api_arrays: () => matchesToDepths(Ka, Ea, ma),
      });
      const arrays = { result: matchesToDepths(Ka, Ea, ma) };
      kernelMs.shift();
      const entry: Step = {
        size: `${B}x${Nv} views of ${W}x${H}`,
        kernel: { median_ms: round(median(kernelMs)), min_ms: round(Math.min(...kernelMs)), cpu_ms: NaN, reps: kernelMs.length },
        api_buffers: mt.api_buffers,
        api_arrays: mt.api_arrays,
        kernel_is: 'the native call within the api_buffers call (its cameras are packed per call)',
      };
      let torchMs: number | undefined;
      if (torch) {
        const f = ['K', 'E', 'm'].map((x) => join(dir, `m2d_${x}.npy`));
        writeNpy(f[0] as string, Ka);
        writeNpy(f[1] as string, Ea);
        writeNpy(f[2] as string, ma);
        const out = join(dir, 'm2d');
        const p = peer('matches_to_depths', ['--in', ...f, '--reps', '3', '--out', out]);
        entry.torch = p;
        if (!('error' in p)) {
          torchMs = p.median_ms;
          const theirs = readNpy(`${out}.depths.npy`).data as Float32Array;
          const ours = arrays.result.depths.data;
          let worst = 0;
          for (let i = 0; i < ours.length; i++) {
            if (Number.isNaN(ours[i] as number) !== Number.isNaN(theirs[i] as number)) worst = Infinity;
            else if (!Number.isNaN(ours[i] as number)) worst = Math.max(worst, Math.abs((ours[i] as number) - (theirs[i] as number)) / Math.abs(theirs[i] as number));
          }
          entry.depths_max_rel_diff_vs_torch = worst;
        }
      }
      report.matches_to_depths = finish(entry, torchMs);
    }

    // ---- point maps: 8 depth maps of 512×384, then a rigid transform --------------------------------
    {
      const B = 8, n = B * H * W;
      const depth = Float32Array.from({ length: n }, (_, i) => 1 + (i % 977) / 977);
      const dm: NdArray = { data: depth, shape: [B, H, W] };
      const T: NdArray = { data: Float32Array.from([0.8, -0.6, 0, 0.1, 0.6, 0.8, 0, 0.2, 0, 0, 1, 0.3, 0, 0, 0, 1]), shape: [4, 4] };
      const din = keep(upload(ctx, depth)), intr = keep(upload(ctx, Float32Array.from({ length: 4 * B }, (_, i) => [500, 500, (W - 1) / 2, (H - 1) / 2][i % 4] as number)));
      const pts = keep(ctx.buffer(12 * n)), valid = keep(ctx.buffer(n)), moved = keep(ctx.buffer(12 * n));
      const reps = 21;
      const flags = abiConstants.SS_FLAG_POINTS_KEEP_INVALID;
      const dt = interleaved(reps, {
        kernel: () => ctx.call('ss_mast3r_depthmap_to_pts3d', { width: W, height: H, batch: B, flags }, { depth: din, intrinsics: intr, points: pts, valid }),
        api_buffers: () => depthmapToPts3d({ buffer: din, shape: dm.shape }, [500, 500], undefined, { out: pts, validOut: valid }),
        api_arrays: () => depthmapToPts3d(dm, [500, 500]),
        memcpy: copier(ctx, 17 * n, held),
      });
      const d2p: Step = {
        size: `${B}x${H}x${W}`, kernel: dt.kernel, api_buffers: dt.api_buffers, api_arrays: dt.api_arrays,
        memcpy_in_out: { ...dt.memcpy, bytes: 17 * n },
        fresh_output: freshOutput(12 * n + n, 9),
      };
      const ptsArr = depthmapToPts3d(dm, [500, 500]).pts;
      const tt = new Float32Array(16);
      tt.set(T.data as Float32Array);
      const gtt = interleaved(reps, {
        kernel: () => ctx.call('ss_geotrf', { count: n, dim: 3, t: tt }, { in: pts, out: moved }),
        api_buffers: () => geotrf(T, { buffer: pts, shape: ptsArr.shape }, { out: moved }),
        api_arrays: () => geotrf(T, ptsArr),
        memcpy: copier(ctx, 24 * n, held),
      });
      const gt: Step = {
        size: `${B}x${H}x${W}x3, 4x4 rigid`, kernel: gtt.kernel, api_buffers: gtt.api_buffers, api_arrays: gtt.api_arrays,
        memcpy_in_out: { ...gtt.memcpy, bytes: 24 * n },
        fresh_output: freshOutput(12 * n, 9),
      };
      let d2pMs: number | undefined, gtMs: number | undefined;
      if (torch) {
        const f1 = join(dir, 'depth.npy'), f2 = join(dir, 'T.npy');
        writeNpy(f1, dm);
        writeNpy(f2, T);
        const p = peer('pointmaps', ['--in', f1, f2, '--reps', '11']);
        d2p.torch = 'error' in p ? p : (p.depthmap_to_pts3d as PeerResult);
        gt.torch = 'error' in p ? p : (p.geotrf as PeerResult);
        if (!('error' in p)) {
          d2pMs = (p.depthmap_to_pts3d as { median_ms: number }).median_ms;
          gtMs = (p.geotrf as { median_ms: number }).median_ms;
        }
      }
      report.depthmap_to_pts3d = finish(d2p, d2pMs);
      report.geotrf = finish(gt, gtMs);
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
      const bd = keep(upload(ctx, depths)), bc = keep(upload(ctx, confs)), bk = keep(upload(ctx, packCameras(pp, kk, N)));
      const out = keep(ctx.buffer(4 * N * h * w));
      const opts = { tau: 0.05, samples, seed: 1 };
      const entry: Step = {
        size: `${N} images of ${w}x${h}, ${samples} samples`,
        ...interleaved(3, {
          kernel: () => ctx.call('ss_mast3r_refine_depths_tsdf', { images: N, width: w, height: h, samples, seed_lo: 1, tau: 0.05 },
            { depths: bd, confs: bc, cams: bk, out }),
          api_buffers: () => refineDepthsTSDF({ buffer: bd, shape: dd.shape }, { buffer: bc, shape: cc.shape }, pp, kk, { ...opts, out }),
          api_arrays: () => refineDepthsTSDF(dd, cc, pp, kk, opts),
        }),
      };
      entry.view_evaluations_per_s = Number((N * N * h * w * samples / ((entry.kernel as Timing).median_ms / 1000)).toExponential(3));
      let torchMs: number | undefined;
      if (torch) {
        const f = ['dep', 'conf', 'cam', 'K'].map((n) => join(dir, `${n}.npy`));
        writeNpy(f[0] as string, dd);
        writeNpy(f[1] as string, cc);
        writeNpy(f[2] as string, pp);
        writeNpy(f[3] as string, kk);
        const p = peer('tsdf', ['--in', ...f, '--tau', '0.05', '--samples', String(samples), '--reps', '1']);
        entry.torch = p;
        if (!('error' in p)) torchMs = p.median_ms;
      }
      report.refine_depths_tsdf = finish(entry, torchMs);
    }
  } finally {
    for (const b of held) b.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  process.stderr.write(summaryTable(report));
  return report;
}

/** The per-step table a reader wants first: medians in ms, torch ratios, the copy floor. */
function summaryTable(report: Record<string, unknown>): string {
  const rows: [string, Step][] = [];
  for (const [key, value] of Object.entries(report)) {
    const v = value as Record<string, unknown>;
    if (v && typeof v === 'object' && 'api_arrays' in v) rows.push([key, v as Step]);
    else if (v && typeof v === 'object') {
      for (const [sub, s] of Object.entries(v)) {
        if (s && typeof s === 'object' && 'api_arrays' in s) rows.push([`${key} ${sub.split(' ')[0]}`, s as Step]);
      }
    }
  }
  const f = (t?: { median_ms: number }): string => (t ? t.median_ms.toFixed(2) : '—');
  const x = (r?: number | null): string => (r === undefined || r === null ? '—' : `${r}×`);
  const lines = ['', 'step                       kernel   ×torch   api(buf)  ×torch   api(arr)  ×torch    torch   memcpy  kernel/copy api/copy'];
  for (const [name, s] of rows) {
    const sp = s.speedup_vs_torch ?? {};
    lines.push([
      name.padEnd(24), f(s.kernel).padStart(8), x(sp.kernel).padStart(8), f(s.api_buffers).padStart(9), x(sp.api_buffers).padStart(8),
      f(s.api_arrays).padStart(10), x(sp.api_arrays).padStart(8), (s.torch_ms?.toFixed(2) ?? '—').padStart(8),
      f(s.memcpy_in_out).padStart(8), x(s.vs_memcpy?.kernel).padStart(11), x(s.vs_memcpy?.api_buffers).padStart(9),
    ].join(' '));
  }
  return `${lines.join('\n')}\n(medians in ms; ×torch = torch median / ours; kernel/copy = ours / a copy of input + output bytes)\n\n`;
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
