/**
 * `scanstream mast3r <kernel> …`: MASt3R post-processing on `.npy` files, so a
 * Python pipeline can hand its tensors over (float32/float64/int32/int64,
 * C order, little-endian).
 */
import { parseArgs } from 'node:util';
import { Mast3rInputError } from '../mast3r/errors';
import { fastReciprocalNN } from '../mast3r/fastReciprocalNN';
import { dtypeOf, shapeString, type NdArray } from '../mast3r/ndarray';
import { NpyError, readNpy, writeNpy } from '../mast3r/npy';
import { depthmapToPts3d } from '../mast3r/pointmaps';
import { reciprocalNN } from '../mast3r/reciprocalNN';
import { refineDepthsTSDF } from '../mast3r/refineDepthsTSDF';
import { batchedTriangulate } from '../mast3r/triangulate';
import { NativeContext } from '../native/context';
import { backendFlagUsage, parseBackendFlag } from './backendFlag';

interface Subcommand {
  usage: string;
  summary: string;
  /** ctx: the context of --backend (the kernels' only one: its CPU fallback runs what it lacks) */
  run(argv: string[], ctx: () => NativeContext): number;
}

/** A usage error: printed with the subcommand's help, exit code 2. */
class UsageError extends Error {}

function toInt64(data: Int32Array, shape: number[]): NdArray<BigInt64Array> {
  const out = new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = BigInt(data[i] as number);
  return { data: out, shape };
}

function number(name: string, v: string | undefined, fallback?: number): number {
  if (v === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new UsageError(`--${name} must be a number, got '${v}'`);
  return x;
}

function integer(name: string, v: string | undefined, fallback: number, min: number): number {
  const x = number(name, v, fallback);
  if (!Number.isSafeInteger(x) || x < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return x;
}

function positional(values: string[], names: string[]): string[] {
  if (values.length !== names.length) {
    throw new UsageError(`expected ${names.length} input file(s) (${names.join(' ')}), got ${values.length}`);
  }
  return values;
}

function requireOut(out: string | undefined): string {
  if (!out) throw new UsageError('--out is required');
  return out;
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

function distance(v: string | undefined, fallback: 'dot' | 'l2' | undefined): 'dot' | 'l2' {
  const d = v ?? fallback;
  if (d !== 'dot' && d !== 'l2') throw new UsageError(`--dist must be dot or l2${v === undefined ? ' (required)' : `, got '${v}'`}`);
  return d;
}

const subcommands: Record<string, Subcommand> = {
  'reciprocal-nn': {
    summary: 'brute-force reciprocal nearest neighbours of two descriptor sets',
    usage: `scanstream mast3r reciprocal-nn A.npy B.npy --dist dot|l2 [--block N] --out PREFIX

  A.npy [N, D], B.npy [M, D] float descriptors (MASt3R's bruteforce_reciprocal_nns).
  Writes PREFIX.nn_a.npy [N] and PREFIX.nn_b.npy [M] (int64): each row's nearest
  neighbour in the other set; exact, ties to the lowest index.
  --block N   column tile of the scan (the result does not depend on it)`,
    run(argv, ctx) {
      const { values, positionals } = parseArgs({
        args: argv, allowPositionals: true, strict: true,
        options: { dist: { type: 'string' }, block: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' } },
      });
      const [a, b] = positional(positionals, ['A.npy', 'B.npy']) as [string, string];
      const dist = distance(values.dist, undefined);
      const block = integer('block', values.block, 0, 0);
      const out = requireOut(values.out);
      const A = load(a);
      const B = load(b);
      const r = reciprocalNN(A, B, { dist, blockSize: block, ctx: ctx() });
      save(`${out}.nn_a.npy`, toInt64(r.nnA, [r.nnA.length]));
      save(`${out}.nn_b.npy`, toInt64(r.nnB, [r.nnB.length]));
      return 0;
    },
  },
  'fast-reciprocal-nn': {
    summary: 'MASt3R fast_reciprocal_NNs on two H×W×D descriptor maps',
    usage: `scanstream mast3r fast-reciprocal-nn MAP1.npy MAP2.npy [--subsample 8] [--max-iter 10] [--pixel-tol 0] [--dist dot] --out PREFIX

  MAP1.npy [H1, W1, D], MAP2.npy [H2, W2, D] float descriptor maps. Seeds every
  --subsample pixels of map 1 walk to mutual nearest neighbours (exact, over the
  whole other map). Writes PREFIX.xy1.npy and PREFIX.xy2.npy [N, 2] (int64, x y),
  deduplicated and sorted by map-1 pixel then map-2 pixel as merge_corres does.
  --pixel-tol T > 0   keep a seed whose final pixel lies within T px of it, reporting the seed`,
    run(argv, ctx) {
      const { values, positionals } = parseArgs({
        args: argv, allowPositionals: true, strict: true,
        options: {
          subsample: { type: 'string' }, 'max-iter': { type: 'string' }, 'pixel-tol': { type: 'string' },
          dist: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' },
        },
      });
      const [p1, p2] = positional(positionals, ['MAP1.npy', 'MAP2.npy']) as [string, string];
      const subsample = integer('subsample', values.subsample, 8, 1);
      const maxIter = integer('max-iter', values['max-iter'], 10, 1);
      const pixelTol = number('pixel-tol', values['pixel-tol'], 0);
      if (pixelTol < 0) throw new UsageError(`--pixel-tol must be >= 0, got ${pixelTol}`);
      const dist = distance(values.dist, 'dot');
      const out = requireOut(values.out);
      const m1 = load(p1);
      const m2 = load(p2);
      const r = fastReciprocalNN(m1, m2, { subsample, maxIter, pixelTol, dist, ctx: ctx() });
      process.stderr.write(`mast3r: ${r.count} matches after ${r.iterations} iteration(s)\n`);
      save(`${out}.xy1.npy`, toInt64(r.xy1, [r.count, 2]));
      save(`${out}.xy2.npy`, toInt64(r.xy2, [r.count, 2]));
      return 0;
    },
  },
  'depthmap-to-pts3d': {
    summary: 'depth map(s) → camera-frame point map(s)',
    usage: `scanstream mast3r depthmap-to-pts3d DEPTH.npy --fx F --fy F [--cx C --cy C] --out PTS.npy

  DEPTH.npy [H, W] or [B, H, W]. X = d·(u − cx)/fx, Y = d·(v − cy)/fy, Z = d
  (MASt3R's depthmap_to_pts3d); default principal point ((W−1)/2, (H−1)/2).
  Writes PTS.npy [..., 3] float32.`,
    run(argv, ctx) {
      const { values, positionals } = parseArgs({
        args: argv, allowPositionals: true, strict: true,
        options: { fx: { type: 'string' }, fy: { type: 'string' }, cx: { type: 'string' }, cy: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' } },
      });
      const [d] = positional(positionals, ['DEPTH.npy']) as [string];
      const fx = number('fx', values.fx);
      const fy = number('fy', values.fy);
      if ((values.cx === undefined) !== (values.cy === undefined)) throw new UsageError('give both --cx and --cy, or neither');
      const pp = values.cx === undefined ? undefined : ([number('cx', values.cx), number('cy', values.cy)] as const);
      const out = requireOut(values.out);
      const r = depthmapToPts3d(load(d), [fx, fy], pp, { ctx: ctx() });
      save(out, r.pts);
      return 0;
    },
  },
  triangulate: {
    summary: 'batched DLT triangulation of 2D matches',
    usage: `scanstream mast3r triangulate PTS2D.npy P.npy --out X.npy

  PTS2D.npy [B, Ncams, Npts, 2], P.npy [B, Ncams, 3, 4] projection matrices
  (MASt3R's batched_triangulate). Writes X.npy [B, Npts, 3] float32 (NaN where
  a point's system is rank-deficient or not finite).`,
    run(argv, ctx) {
      const { values, positionals } = parseArgs({
        args: argv, allowPositionals: true, strict: true, options: { out: { type: 'string' }, backend: { type: 'string' } },
      });
      const [p2, p] = positional(positionals, ['PTS2D.npy', 'P.npy']) as [string, string];
      const out = requireOut(values.out);
      save(out, batchedTriangulate(load(p2), load(p), { ctx: ctx() }));
      return 0;
    },
  },
  'refine-depths-tsdf': {
    summary: 'TSDF depth refinement of MASt3R\'s tsdf_optimizer',
    usage: `scanstream mast3r refine-depths-tsdf DEPTHS.npy CONFS.npy CAM2W.npy K.npy --tau T [--samples 1000] [--seed S] --out DEPTHS_OUT.npy

  DEPTHS.npy, CONFS.npy [N, H, W]; CAM2W.npy [N, 4, 4] (or [N, 3, 4]) camera-to-world;
  K.npy [N, 3, 3] pinhole. For every pixel, --samples candidate depths
  d + (n − 1)·T (n ~ N(0,1), Philox4x32-10 keyed by --seed) are scored by the
  confidence-weighted TSDF over all images; the one nearest the zero level wins.
  Writes DEPTHS_OUT.npy [N, H, W] float32. Work: N²·H·W·samples.`,
    run(argv, ctx) {
      const { values, positionals } = parseArgs({
        args: argv, allowPositionals: true, strict: true,
        options: { tau: { type: 'string' }, samples: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' } },
      });
      const [d, c, p, k] = positional(positionals, ['DEPTHS.npy', 'CONFS.npy', 'CAM2W.npy', 'K.npy']) as [string, string, string, string];
      const tau = number('tau', values.tau);
      if (!(tau > 0)) throw new UsageError(`--tau must be > 0, got ${tau}`);
      const samples = integer('samples', values.samples, 1000, 1);
      let seed = 0n;
      if (values.seed !== undefined) {
        if (!/^\d+$/.test(values.seed)) throw new UsageError(`--seed must be a non-negative integer, got '${values.seed}'`);
        seed = BigInt(values.seed);
        if (seed >= 1n << 64n) throw new UsageError('--seed must be below 2^64');
      }
      const out = requireOut(values.out);
      save(out, refineDepthsTSDF(load(d), load(c), load(p), load(k), { tau, samples, seed, ctx: ctx() }));
      return 0;
    },
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(subcommands).map((s) => s.length));
  const lines = Object.entries(subcommands).map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}`);
  return `usage: scanstream mast3r <kernel> [options] [--backend B]\n\nkernels:\n${lines.join('\n')}\n\n` +
    `every kernel takes\n  ${backendFlagUsage}\n\nscanstream mast3r <kernel> --help for its options`;
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const sub = subcommands[name];
  if (!sub) {
    console.error(`scanstream mast3r: unknown kernel '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`${sub.usage}\n  ${backendFlagUsage}`);
    return 0;
  }
  const opened: NativeContext[] = [];
  try {
    const at = rest.findIndex((a) => a === '--backend' || a.startsWith('--backend='));
    const given = at < 0 ? undefined : rest[at]!.includes('=') ? rest[at]!.slice('--backend='.length) : rest[at + 1];
    const backendFlag = parseBackendFlag(given);
    if ('error' in backendFlag) throw new UsageError(backendFlag.error);
    return sub.run(rest, () => opened[0] ?? (opened[0] = NativeContext.create(backendFlag)));
  } catch (err) {
    const e = err as Error;
    if (err instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`scanstream mast3r ${name}: ${e.message}\n\n${sub.usage}`);
      return 2;
    }
    if (err instanceof NpyError || err instanceof Mast3rInputError) {
      console.error(`scanstream mast3r ${name}: ${e.message}`);
      return 1;
    }
    throw err;
  } finally {
    for (const c of opened) c.destroy();
  }
}
