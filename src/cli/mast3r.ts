/**
 * `scanstream mast3r <kernel> …`: MASt3R post-processing on `.npy` files, so a
 * Python pipeline can hand its tensors over (float32/float64/int32/int64,
 * C order, little-endian).
 */
import { z } from 'zod';
import { Mast3rInputError } from '../mast3r/errors';
import { fastReciprocalNN } from '../mast3r/fastReciprocalNN';
import { dtypeOf, shapeString, type NdArray } from '../mast3r/ndarray';
import { NpyError, readNpy, writeNpy } from '../mast3r/npy';
import { depthmapToPts3d } from '../mast3r/pointmaps';
import { reciprocalNN } from '../mast3r/reciprocalNN';
import { refineDepthsTSDF } from '../mast3r/refineDepthsTSDF';
import { batchedTriangulate } from '../mast3r/triangulate';
import { NativeContext } from '../native/context';
import type { BackendChoice } from '../native/library';
import { backendFlag, backendHelp, runCommand, UsageError, type Command } from './args';

interface Kernel {
  summary: string;
  command: Command;
  /** ctx: the context of --backend, made on first use (its CPU fallback runs what the backend lacks) */
  run(values: Record<string, unknown>, inputs: string[], ctx: () => NativeContext): number;
}

function toInt64(data: Int32Array, shape: number[]): NdArray<BigInt64Array> {
  const out = new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = BigInt(data[i] as number);
  return { data: out, shape };
}

function load(path: string): NdArray {
  const arr = readNpy(path);
  process.stderr.write(`mast3r: ${path}: ${dtypeOf(arr.data)} ${shapeString(arr.shape)}\n`);
  return arr;
}

function save(path: string, arr: NdArray): void {
  writeNpy(path, arr);
  process.stderr.write(`mast3r: wrote ${path}: ${dtypeOf(arr.data)} ${shapeString(arr.shape)}\n`);
}

const dist = z.enum(['dot', 'l2']);
const out = z.string();
const help = {
  out: { arg: 'PREFIX', help: 'where the outputs go' },
  backend: backendHelp,
};

/** A kernel's command: `scanstream mast3r NAME INPUTS… [options]`, --out and --backend on every one. */
function kernel<S extends z.ZodRawShape>(name: string, inputs: string[], about: string, flags: S,
  flagHelp: Command['help'], run: (f: z.output<z.ZodObject<S & { out: typeof out; backend: typeof backendFlag }>>, inputs: string[], ctx: () => NativeContext) => number,
  summary: string): Kernel {
  const command = {
    name: `scanstream mast3r ${name}`, about, positionals: { names: inputs, noun: 'input file' },
    flags: z.object({ ...flags, out, backend: backendFlag }), help: { ...help, ...flagHelp },
  } as Command;
  return { summary, command, run: run as Kernel['run'] };
}

const kernels: Record<string, Kernel> = {
  'reciprocal-nn': kernel('reciprocal-nn', ['A.npy', 'B.npy'], `A.npy [N, D], B.npy [M, D] float descriptors (MASt3R's bruteforce_reciprocal_nns).
Writes PREFIX.nn_a.npy [N] and PREFIX.nn_b.npy [M] (int64): each row's nearest
neighbour in the other set; exact, ties to the lowest index.`,
  { dist, block: z.number().int().nonnegative().default(0) },
  { dist: { help: 'distance' }, block: { help: 'column tile of the scan (the result does not depend on it; 0: whole rows)' } },
  (f, [a, b], ctx) => {
    const r = reciprocalNN(load(a as string), load(b as string), { dist: f.dist, blockSize: f.block, ctx: ctx() });
    save(`${f.out}.nn_a.npy`, toInt64(r.nnA, [r.nnA.length]));
    save(`${f.out}.nn_b.npy`, toInt64(r.nnB, [r.nnB.length]));
    return 0;
  }, 'brute-force reciprocal nearest neighbours of two descriptor sets'),

  'fast-reciprocal-nn': kernel('fast-reciprocal-nn', ['MAP1.npy', 'MAP2.npy'], `MAP1.npy [H1, W1, D], MAP2.npy [H2, W2, D] float descriptor maps. Seeds every
--subsample pixels of map 1 walk to mutual nearest neighbours (exact, over the
whole other map). Writes PREFIX.xy1.npy and PREFIX.xy2.npy [N, 2] (int64, x y),
deduplicated and sorted by map-1 pixel then map-2 pixel as merge_corres does.`,
  { subsample: z.number().int().min(1).default(8), maxIter: z.number().int().min(1).default(10), pixelTol: z.number().nonnegative().default(0), dist: dist.default('dot') },
  {
    subsample: { help: 'seed spacing, pixels' }, maxIter: { help: 'walk iterations' },
    pixelTol: { arg: 'T', help: '> 0: keep a seed whose final pixel lies within T px of it, reporting the seed' }, dist: { help: 'distance' },
  },
  (f, [p1, p2], ctx) => {
    const r = fastReciprocalNN(load(p1 as string), load(p2 as string), { subsample: f.subsample, maxIter: f.maxIter, pixelTol: f.pixelTol, dist: f.dist, ctx: ctx() });
    process.stderr.write(`mast3r: ${r.count} matches after ${r.iterations} iteration(s)\n`);
    save(`${f.out}.xy1.npy`, toInt64(r.xy1, [r.count, 2]));
    save(`${f.out}.xy2.npy`, toInt64(r.xy2, [r.count, 2]));
    return 0;
  }, 'MASt3R fast_reciprocal_NNs on two H×W×D descriptor maps'),

  'depthmap-to-pts3d': kernel('depthmap-to-pts3d', ['DEPTH.npy'], `DEPTH.npy [H, W] or [B, H, W]. X = d·(u − cx)/fx, Y = d·(v − cy)/fy, Z = d
(MASt3R's depthmap_to_pts3d). Writes PTS.npy [..., 3] float32.`,
  { fx: z.number(), fy: z.number(), cx: z.number().optional(), cy: z.number().optional() },
  { fx: { arg: 'F', help: 'focal length, pixels' }, fy: { arg: 'F', help: 'focal length, pixels' },
    cx: { arg: 'C', help: 'principal point (with --cy; default ((W−1)/2, (H−1)/2))' }, cy: { arg: 'C', help: 'principal point (with --cx)' } },
  (f, [d], ctx) => {
    if ((f.cx === undefined) !== (f.cy === undefined)) throw new UsageError('give both --cx and --cy, or neither');
    const pp = f.cx === undefined ? undefined : ([f.cx, f.cy as number] as const);
    save(f.out, depthmapToPts3d(load(d as string), [f.fx, f.fy], pp, { ctx: ctx() }).pts);
    return 0;
  }, 'depth map(s) → camera-frame point map(s)'),

  triangulate: kernel('triangulate', ['PTS2D.npy', 'P.npy'], `PTS2D.npy [B, Ncams, Npts, 2], P.npy [B, Ncams, 3, 4] projection matrices
(MASt3R's batched_triangulate). Writes X.npy [B, Npts, 3] float32 (NaN where
a point's system is rank-deficient or not finite).`,
  {}, {},
  (f, [p2, p], ctx) => {
    save(f.out, batchedTriangulate(load(p2 as string), load(p as string), { ctx: ctx() }));
    return 0;
  }, 'batched DLT triangulation of 2D matches'),

  'refine-depths-tsdf': kernel('refine-depths-tsdf', ['DEPTHS.npy', 'CONFS.npy', 'CAM2W.npy', 'K.npy'], `DEPTHS.npy, CONFS.npy [N, H, W]; CAM2W.npy [N, 4, 4] (or [N, 3, 4]) camera-to-world;
K.npy [N, 3, 3] pinhole. For every pixel, --samples candidate depths
d + (n − 1)·T (n ~ N(0,1), Philox4x32-10 keyed by --seed) are scored by the
confidence-weighted TSDF over all images; the one nearest the zero level wins.
Writes DEPTHS_OUT.npy [N, H, W] float32. Work: N²·H·W·samples.`,
  {
    tau: z.number().positive(), samples: z.number().int().min(1).default(1000),
    seed: z.string().regex(/^\d+$/, { error: 'must be a non-negative integer' }).refine((v) => BigInt(v) < 1n << 64n, { error: 'must be below 2^64' }).optional(),
  },
  { tau: { arg: 'T', help: 'TSDF truncation' }, samples: { help: 'candidate depths per pixel' }, seed: { arg: 'S', help: 'Philox key (default 0)' } },
  (f, [d, c, p, k], ctx) => {
    const seed = f.seed === undefined ? 0n : BigInt(f.seed);
    save(f.out, refineDepthsTSDF(load(d as string), load(c as string), load(p as string), load(k as string), { tau: f.tau, samples: f.samples, seed, ctx: ctx() }));
    return 0;
  }, 'TSDF depth refinement of MASt3R\'s tsdf_optimizer'),
};

export function usage(): string {
  const width = Math.max(...Object.keys(kernels).map((s) => s.length));
  const lines = Object.entries(kernels).map(([name, k]) => `  ${name.padEnd(width)}  ${k.summary}`);
  return `usage: scanstream mast3r <kernel> INPUTS… --out OUT [options]\n\nkernels:\n${lines.join('\n')}\n\n` +
    'every kernel takes --backend; scanstream mast3r <kernel> --help for its options';
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const k = kernels[name];
  if (!k) {
    console.error(`scanstream mast3r: unknown kernel '${name}'\n\n${usage()}`);
    return 2;
  }
  return runCommand(k.command, rest, (values, inputs) => {
    let ctx: NativeContext | null = null;
    try {
      return k.run(values, inputs, () => (ctx ??= NativeContext.create(values.backend ? { backend: values.backend as BackendChoice } : {})));
    } catch (err) {
      if (err instanceof NpyError || err instanceof Mast3rInputError) {
        console.error(`scanstream mast3r ${name}: ${err.message}`);
        return 1;
      }
      throw err;
    } finally {
      (ctx as NativeContext | null)?.destroy();
    }
  });
}
