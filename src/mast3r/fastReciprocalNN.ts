import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { Mast3rInputError } from './errors';
import { mergeCorrespondences, type Correspondences } from './mergeCorrespondences';
import { contextOf, descIndexFloats, DIST, FLAG_HINTS, FLAG_PORTABLE, type Distance, type KernelOptions } from './native';
import { shapeString, type NdArray } from './ndarray';
import { floatData, requireFinite, requireNonEmpty, requirePositiveInt, requireRank } from './validate';

export interface FastReciprocalNNOptions extends KernelOptions {
  /** seed grid step S: seeds at y = S/2, S/2 + S, … and x likewise (default 8) */
  subsample?: number;
  /** at most this many iterations (default 10) */
  maxIter?: number;
  /** > 0: a seed counts as converged when its final xy1 lies within (strictly less than) this many pixels of the seed, and reports the seed */
  pixelTol?: number;
  /** default 'dot' */
  dist?: Distance;
  /** explicit seeds (pixel coordinates in map 1) instead of the grid */
  seeds?: { x: ArrayLike<number>; y: ArrayLike<number> };
}

export interface FastReciprocalNNResult extends Correspondences {
  /** iterations run */
  iterations: number;
  /** distinct, not previously answered pixels sent to the native kernel per half-iteration */
  queries: number[];
}

/** An H×W×D descriptor map checked and narrowed to float32. */
export interface DescriptorMap {
  data: Float32Array;
  height: number;
  width: number;
  dim: number;
}

export function descriptorMap(name: string, arr: NdArray): DescriptorMap {
  requireRank(name, arr, [3], 'an [H, W, D] descriptor map');
  requireNonEmpty(name, arr);
  const data = floatData(name, arr);
  requireFinite(name, data, arr.shape);
  const [height, width, dim] = arr.shape as [number, number, number];
  if (height * width > 0x7fffffff) throw new Mast3rInputError(`${name}: ${height}x${width} pixels is too many`);
  return { data, height, width, dim };
}

/** The grid seeds of fast_reciprocal_NNs: flat indices, sorted and unique (np.unique). */
export function gridSeeds(height: number, width: number, subsample: number): Int32Array {
  const h0 = Math.floor(subsample / 2);
  const out: number[] = [];
  for (let y = h0; y < height; y += subsample) for (let x = h0; x < width; x += subsample) out.push(y * width + x);
  return Int32Array.from(out);
}

function explicitSeeds(seeds: { x: ArrayLike<number>; y: ArrayLike<number> }, height: number, width: number): Int32Array {
  if (seeds.x.length !== seeds.y.length) throw new Mast3rInputError(`seeds: ${seeds.x.length} x values but ${seeds.y.length} y values`);
  const set = new Set<number>();
  for (let i = 0; i < seeds.x.length; i++) {
    const x = seeds.x[i] as number;
    const y = seeds.y[i] as number;
    if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= width || y >= height) {
      throw new Mast3rInputError(`seeds: (${x}, ${y}) at ${i} is not a pixel of the ${width}x${height} map 1`);
    }
    set.add(y * width + x);
  }
  return Int32Array.from([...set].sort((a, b) => a - b));
}

/** One map uploaded with its tile index: what a half-iteration queries. */
class IndexedMap {
  readonly map: NativeBuffer;
  readonly index: NativeBuffer;
  constructor(ctx: NativeContext, readonly m: DescriptorMap, dist: number) {
    this.map = ctx.bufferFrom(m.data);
    this.index = ctx.buffer(descIndexFloats(m.width, m.height, m.dim) * 4);
    try {
      ctx.call('ss_mast3r_desc_index', { width: m.width, height: m.height, dim: m.dim, dist }, { map: this.map, index: this.index });
    } catch (err) {
      this.destroy();
      throw err;
    }
  }
  destroy(): void {
    this.map.destroy();
    this.index.destroy();
  }
}

/**
 * MASt3R's fast_reciprocal_NNs on two descriptor maps: seeds in map 1 walk
 * NN(map1 → map2) then NN(map2 → map1) until they return to themselves
 * (mutual nearest neighbours); each half-iteration is one native call over
 * the seeds not yet converged, every query exact over the whole other map.
 * Returns the converged pairs merged as merge_corres does.
 */
export function fastReciprocalNN(map1: NdArray, map2: NdArray, opts: FastReciprocalNNOptions = {}): FastReciprocalNNResult {
  const m1 = descriptorMap('map1', map1);
  const m2 = descriptorMap('map2', map2);
  if (m1.dim !== m2.dim) {
    throw new Mast3rInputError(`map1 and map2 must have the same descriptor size D: map1 is ${shapeString(map1.shape)}, map2 is ${shapeString(map2.shape)}`);
  }
  const subsample = opts.subsample ?? 8;
  const maxIter = opts.maxIter ?? 10;
  const pixelTol = opts.pixelTol ?? 0;
  const dist = opts.dist ?? 'dot';
  requirePositiveInt('subsample', subsample);
  requirePositiveInt('maxIter', maxIter);
  if (!(pixelTol >= 0) || !Number.isFinite(pixelTol)) throw new Mast3rInputError(`pixelTol must be >= 0, got ${pixelTol}`);
  if (!(dist in DIST)) throw new Mast3rInputError(`dist must be 'dot' or 'l2', got '${String(dist)}'`);

  const seeds = opts.seeds ? explicitSeeds(opts.seeds, m1.height, m1.width) : gridSeeds(m1.height, m1.width, subsample);
  const n = seeds.length;
  const xy1 = Int32Array.from(seeds);
  const xy2 = new Int32Array(n).fill(-1);
  const old1 = Int32Array.from(xy1);
  const old2 = Int32Array.from(xy2);
  const notyet = new Uint8Array(n).fill(1);
  const queries: number[] = [];
  let iterations = 0;

  const ctx = contextOf(opts);
  const flags = opts.portable ? FLAG_PORTABLE : 0;
  const d = DIST[dist];
  const bufs: { destroy(): void }[] = [];
  try {
    const i1 = new IndexedMap(ctx, m1, d);
    bufs.push(i1);
    const i2 = new IndexedMap(ctx, m2, d);
    bufs.push(i2);
    const qbuf = ctx.buffer(Math.max(1, n) * 4);
    bufs.push(qbuf);
    const obuf = ctx.buffer(Math.max(1, n) * 4);
    bufs.push(obuf);

    // A pixel's nearest neighbour in the other map never changes, so each
    // direction remembers its answers: seeds that walk onto the same pixel
    // (hubs, shared basins) or back onto a known one cost no second scan.
    const known12 = new Map<number, number>();
    const known21 = new Map<number, number>();

    // out[i] = NN over `db` of src-map pixel cur[i] for the seeds still moving:
    // one native call over the distinct pixels not answered before; out's
    // current values go along as hints (they only speed the search up)
    const half = (src: IndexedMap, db: IndexedMap, cur: Int32Array, out: Int32Array, known: Map<number, number>): void => {
      let count = 0;
      const q = qbuf.i32(0, n);
      const h = obuf.i32(0, n);
      const asked = new Set<number>();
      for (let i = 0; i < n; i++) {
        if (!notyet[i]) continue;
        const p = cur[i] as number;
        if (known.has(p) || asked.has(p)) continue;
        asked.add(p);
        q[count] = p;
        h[count] = out[i] as number;
        count++;
      }
      queries.push(count);
      if (count > 0) {
        qbuf.upload(0, count * 4);
        obuf.upload(0, count * 4);
        ctx.call('ss_mast3r_nn_query', {
          count, width: src.m.width, height: src.m.height, dim: src.m.dim,
          db_width: db.m.width, db_height: db.m.height, dist: d, flags: flags | FLAG_HINTS,
        }, { query_map: src.map, query_idx: qbuf, db_map: db.map, db_index: db.index, out_idx: obuf });
        const r = obuf.download(0, count * 4).i32(0, count);
        for (let k = 0; k < count; k++) known.set(q[k] as number, r[k] as number);
      }
      for (let i = 0; i < n; i++) if (notyet[i]) out[i] = known.get(cur[i] as number) as number;
    };

    while (notyet.some((v) => v === 1)) {
      half(i1, i2, xy1, xy2, known12);
      for (let i = 0; i < n; i++) if (notyet[i] && old2[i] === xy2[i]) notyet[i] = 0;
      half(i2, i1, xy2, xy1, known21);
      for (let i = 0; i < n; i++) if (notyet[i] && old1[i] === xy1[i]) notyet[i] = 0;
      iterations++;
      if (iterations >= maxIter) break;
      old2.set(xy2);
      old1.set(xy1);
    }
  } finally {
    for (const b of bufs) b.destroy();
  }

  const keep1: number[] = [];
  const keep2: number[] = [];
  for (let i = 0; i < n; i++) {
    let converged: boolean;
    let report = xy1[i] as number;
    if (pixelTol > 0) {
      const s = seeds[i] as number;
      const dy = Math.floor(s / m1.width) - Math.floor(report / m1.width);
      const dx = (s % m1.width) - (report % m1.width);
      converged = Math.sqrt(dx * dx + dy * dy) < pixelTol;
      report = s;
    } else {
      converged = notyet[i] === 0;
    }
    if (!converged) continue;
    keep1.push(report);
    keep2.push(xy2[i] as number);
  }
  const merged = mergeCorrespondences(Int32Array.from(keep1), Int32Array.from(keep2), m1.width, m2.width);
  return { ...merged, iterations, queries };
}
