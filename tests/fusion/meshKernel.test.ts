/**
 * The native marching-cubes kernel (ss_tsdf_mesh_blocks, native/kernels/tsdf_mesh.h
 * through the CPU launcher in native/cpu/tsdf.cpp) against a plain TypeScript
 * marching cubes written from the kernel's documented rules, on random voxel
 * blocks: vertex and index counts, positions (bit for bit as float32), colours
 * and indices must all be equal.
 *
 * The reference is deliberately naive — per lattice point, per cube, per edge,
 * no bit rows — and takes its tables from scripts/mcTables.ts, the
 * derivation mc_tables.h is generated from, so a kernel shortcut that drifts from the rules
 * (mesh_used_edges' row masks, the seam reads through the hash, the SIMD row
 * gather and colour twin) shows up as a mismatch.
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { BlockHash } from '../../src/fusion/blockHash';
import { packedMeshBytes } from '../../src/fusion/meshBlock';
import { NativeContext, type NativeBuffer } from '../../src/native';
import { seededRandom } from '../helpers/random';
import { mcTables } from '../../scripts/mcTables';

const ctx = NativeContext.create({ backend: 'cpu' });
afterAll(() => ctx.destroy());

const BLOCK_DIM = 8;
const BLOCK_VOXELS = 512;
const BLOCK_FLOATS = 1536;
const LATTICE = 9;
const LATTICE_POINTS = LATTICE * LATTICE * LATTICE;
const MAX_BLOCK_VERTICES = 3 * LATTICE_POINTS;
const MAX_BLOCK_INDICES = BLOCK_VOXELS * 15;

type V3 = [number, number, number];

const MC = mcTables();

// ---------------------------------------------------------------------------
// float32 arithmetic as the C code does it
// ---------------------------------------------------------------------------

const f64Scratch = new Float64Array(1);
const bitsScratch = new BigUint64Array(f64Scratch.buffer);

/**
 * fmaf(x, y, z) rounded once to float32, for float32 x and small integers y, z
 * (x·y is then exact in float64). The float64 sum is made round-to-odd from
 * its exact error term (TwoSum), so the final float32 rounding is correct even
 * when the exact sum has more than 53 significant bits (tiny s).
 */
function fmaF32(x: number, y: number, z: number): number {
  const p = x * y;
  const hi = p + z;
  const bv = hi - p;
  const lo = (p - (hi - bv)) + (z - bv);
  if (lo === 0 || hi === 0) return Math.fround(hi);
  f64Scratch[0] = hi;
  const bits = bitsScratch[0]!;
  if ((bits & 1n) === 0n) {
    // step one float64 ulp towards the exact value: an odd last bit marks "inexact"
    bitsScratch[0] = (lo > 0) === (hi > 0) ? bits + 1n : bits - 1n;
  }
  return Math.fround(f64Scratch[0]!);
}

/** round to nearest integer, ties to even (cvtps2dq / lrintf in the default rounding mode) */
function roundHalfEven(v: number): number {
  const r = Math.round(v); // ties towards +∞
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** the colour byte a + s·(b − a) would get with the product rounded to float32 first (what the kernel must not do) */
function colourUnfused(s: number, a: number, b: number): number {
  return Math.min(255, Math.max(0, roundHalfEven(Math.fround(a + Math.fround(s * (b - a))))));
}

// ---------------------------------------------------------------------------
// The reference marching cubes
// ---------------------------------------------------------------------------

interface World {
  /** "bx,by,bz" → slot */
  slots: Map<string, number>;
  /** the pool as the kernel sees it: per slot tsdf[512], weight[512], rgba8[512] */
  pool: Float32Array;
  rgba: Uint8Array;
}

interface BlockMesh {
  positions: Float32Array;
  colors: Uint8Array;
  indices: Uint32Array;
  /** cubes of this block with every corner observed in the blocks present but one corner in a missing neighbour */
  seamCutCubes: number;
  /** colour channels whose byte differs when a + s·(b − a) is rounded twice (unfused) instead of once */
  fmaSensitive: number;
  /** colour channels that land exactly on n + ½ (ties to even and ties away differ) */
  tieSensitive: number;
}

const key = (x: number, y: number, z: number): string => `${x},${y},${z}`;
const latticeIndex = (x: number, y: number, z: number): number => (z * LATTICE + y) * LATTICE + x;

function referenceMeshBlock(world: World, bx: number, by: number, bz: number, voxelSize: number, minWeight: number): BlockMesh {
  const vs = Math.fround(voxelSize), minW = Math.fround(minWeight);
  // lattice point → voxel reference (slot·512 + voxel) or -1, validity, value
  const ref = new Int32Array(LATTICE_POINTS).fill(-1);
  const inBlockPresent = new Uint8Array(LATTICE_POINTS);
  const valid = new Uint8Array(LATTICE_POINTS);
  const neg = new Uint8Array(LATTICE_POINTS);
  const value = new Float32Array(LATTICE_POINTS).fill(NaN);
  for (let lz = 0; lz < LATTICE; lz++) {
    for (let ly = 0; ly < LATTICE; ly++) {
      for (let lx = 0; lx < LATTICE; lx++) {
        const l = latticeIndex(lx, ly, lz);
        const slot = world.slots.get(key(bx + (lx >> 3), by + (ly >> 3), bz + (lz >> 3)));
        if (slot === undefined) continue;
        inBlockPresent[l] = 1;
        const v = (lx & 7) + 8 * (ly & 7) + 64 * (lz & 7);
        ref[l] = slot * BLOCK_VOXELS + v;
        const t = world.pool[slot * BLOCK_FLOATS + v]!;
        const w = world.pool[slot * BLOCK_FLOATS + BLOCK_VOXELS + v]!;
        if (w >= minW && w > 0) {
          valid[l] = 1;
          value[l] = t;
          neg[l] = t < 0 ? 1 : 0;
        }
      }
    }
  }

  const cornerLattice = (x: number, y: number, z: number, c: number): number => latticeIndex(x + (c & 1), y + ((c >> 1) & 1), z + (c >> 2));
  // cubes (z, y, x ascending): config of each crossing meshable cube, and the edges they use
  const crossing: { x: number; y: number; z: number; config: number }[] = [];
  const used = new Uint8Array(3 * LATTICE_POINTS); // [axis·729 + lattice point of the edge's lower end]
  let seamCutCubes = 0;
  for (let z = 0; z < BLOCK_DIM; z++) {
    for (let y = 0; y < BLOCK_DIM; y++) {
      for (let x = 0; x < BLOCK_DIM; x++) {
        let config = 0, meshable = true, cut = false, presentCornersValid = true;
        for (let c = 0; c < 8; c++) {
          const l = cornerLattice(x, y, z, c);
          if (!inBlockPresent[l]) cut = true;
          else if (!valid[l]) presentCornersValid = false;
          if (!valid[l]) meshable = false;
          else if (neg[l]) config |= 1 << c;
        }
        if (cut && presentCornersValid) seamCutCubes++;
        if (!meshable || config === 0 || config === 255) continue;
        crossing.push({ x, y, z, config });
        const mask = MC.edgeMask[config]!;
        for (let e = 0; e < 12; e++) {
          if (!((mask >> e) & 1)) continue;
          used[MC.edgeAxis[e]! * LATTICE_POINTS + cornerLattice(x, y, z, MC.edgeCorner[e]![0])] = 1;
        }
      }
    }
  }

  // vertices in lattice order: axis, then row r = lz·9 + ly, then x
  const positions: number[] = [];
  const colors: number[] = [];
  let fmaSensitive = 0, tieSensitive = 0;
  const vertexOf = new Map<number, number>(); // axis·729 + l → vertex number
  const origin = [Math.fround(bx * BLOCK_DIM), Math.fround(by * BLOCK_DIM), Math.fround(bz * BLOCK_DIM)];
  const step = [1, LATTICE, LATTICE * LATTICE];
  for (let axis = 0; axis < 3; axis++) {
    for (let lz = 0; lz < LATTICE; lz++) {
      for (let ly = 0; ly < LATTICE; ly++) {
        for (let px = 0; px < LATTICE; px++) {
          const l0 = latticeIndex(px, ly, lz);
          if (!used[axis * LATTICE_POINTS + l0]) continue;
          const l1 = l0 + step[axis]!;
          const f0 = value[l0]!, f1 = value[l1]!;
          const s = Math.fround(f0 / Math.fround(f0 - f1));
          const coord = [px, ly, lz];
          coord[axis] = Math.fround(coord[axis]! + s);
          vertexOf.set(axis * LATTICE_POINTS + l0, positions.length / 3);
          for (let i = 0; i < 3; i++) positions.push(Math.fround(Math.fround(origin[i]! + coord[i]!) * vs));
          const r0 = ref[l0]!, r1 = ref[l1]!;
          for (let k = 0; k < 3; k++) {
            const a = rgbOf(world, r0, k), b = rgbOf(world, r1, k);
            const v = fmaF32(s, b - a, a);
            const byte = Math.min(255, Math.max(0, roundHalfEven(v)));
            colors.push(byte);
            if (byte !== colourUnfused(s, a, b)) fmaSensitive++;
            if (roundHalfEven(v) !== Math.round(v)) tieSensitive++;
          }
        }
      }
    }
  }

  const indices: number[] = [];
  for (const { x, y, z, config } of crossing) {
    for (const e of MC.tris[config]!) {
      const id = MC.edgeAxis[e]! * LATTICE_POINTS + cornerLattice(x, y, z, MC.edgeCorner[e]![0]);
      const v = vertexOf.get(id);
      if (v === undefined) throw new Error(`reference: cube (${x},${y},${z}) config ${config} edge ${e} has no vertex`);
      indices.push(v);
    }
  }
  return { positions: new Float32Array(positions), colors: new Uint8Array(colors), indices: new Uint32Array(indices), seamCutCubes,
    fmaSensitive, tieSensitive };
}

function rgbOf(world: World, ref: number, k: number): number {
  const slot = ref >> 9, v = ref & 511;
  return world.rgba[(slot * BLOCK_FLOATS + 2 * BLOCK_VOXELS) * 4 + 4 * v + k]!;
}

// ---------------------------------------------------------------------------
// Random worlds
// ---------------------------------------------------------------------------

/**
 * ties: every row alternates a positive and a tiny negative value along x, so
 * every x edge crosses, with s chosen so that the colour a + s·(0 − a) lands
 * next to n + ½, where rounding the product first would give another byte
 * (the random worlds almost never hit such values)
 */
type Surface = 'plane' | 'sphere' | 'noise' | 'mixed' | 'ties';

interface Case {
  seed: number;
  surface: Surface;
  minWeight: number;
  voxelSize: number;
  /** fraction of voxels with weight 0 and with weight 0.5 (below min_weight 1) */
  holes: [number, number];
}

const CASES: Case[] = [
  // few holes: surfaces as fusion leaves them
  { seed: 11, surface: 'plane', minWeight: 1, voxelSize: 0.01, holes: [0.02, 0.01] },
  { seed: 23, surface: 'sphere', minWeight: 1, voxelSize: 0.01, holes: [0.02, 0.01] },
  // ~10% unobserved, ~8% under-weighted
  { seed: 37, surface: 'noise', minWeight: 1, voxelSize: 0.01, holes: [0.1, 0.08] },
  { seed: 41, surface: 'mixed', minWeight: 1, voxelSize: 0.01, holes: [0.1, 0.08] },
  { seed: 59, surface: 'sphere', minWeight: 0, voxelSize: 0.05, holes: [0.1, 0.08] },
  { seed: 73, surface: 'noise', minWeight: 2.5, voxelSize: 0.004, holes: [0.1, 0.08] },
  { seed: 89, surface: 'ties', minWeight: 1, voxelSize: 0.01, holes: [0.01, 0.01] },
];

interface Built {
  world: World;
  /** the present blocks in the order listed to the kernel */
  list: V3[];
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function buildWorld(c: Case, hash: BlockHash): Built {
  const rand = seededRandom(c.seed);
  const ri = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  // a 3×3×3 grid of candidate blocks around a random (possibly negative) corner; ~80% present
  const g0: V3 = [ri(-3, 1), ri(-3, 1), ri(-3, 1)];
  const candidates: V3[] = [];
  for (let z = 0; z < 3; z++) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) candidates.push([g0[0] + x, g0[1] + y, g0[2] + z]);
  let present = candidates.filter(() => rand() < 0.8);
  if (present.length < 4) present = candidates.slice(0, 4);
  shuffle(present, rand); // slots are handed out in insertion order: not the grid's

  const world: World = { slots: new Map(), pool: new Float32Array(present.length * BLOCK_FLOATS), rgba: new Uint8Array(0) };
  world.rgba = new Uint8Array(world.pool.buffer);
  const out = { isNew: false };
  for (const [x, y, z] of present) {
    const slot = hash.findOrInsert(x, y, z, out);
    if (slot < 0 || !out.isNew) throw new Error('block hash refused a block');
    world.slots.set(key(x, y, z), slot);
  }
  hash.sync();

  // surfaces in voxel units around the grid's middle
  const mid: V3 = [g0[0] * 8 + 12, g0[1] * 8 + 12, g0[2] * 8 + 12];
  const trunc = 3;
  const nrm: V3 = [rand() - 0.5, rand() - 0.5, rand() - 0.5];
  const nl = Math.hypot(...nrm);
  const planeD = (rand() - 0.5) * 8;
  const center: V3 = [mid[0] + (rand() - 0.5) * 6, mid[1] + (rand() - 0.5) * 6, mid[2] + (rand() - 0.5) * 6];
  const radius = 5 + rand() * 6;
  const sdf = (X: number, Y: number, Z: number): number => {
    if (c.surface === 'plane' || (c.surface === 'mixed' && X + Y + Z < mid[0] + mid[1] + mid[2])) {
      return ((X - mid[0]) * nrm[0] + (Y - mid[1]) * nrm[1] + (Z - mid[2]) * nrm[2]) / nl - planeD;
    }
    return Math.hypot(X - center[0], Y - center[1], Z - center[2]) - radius;
  };
  const noiseAmp = c.surface === 'mixed' ? 0.4 : 0.08;

  for (const [bx, by, bz] of present) {
    const slot = world.slots.get(key(bx, by, bz))!;
    const base = slot * BLOCK_FLOATS;
    // some blocks have no surface at all: never observed, or all outside
    const kind = rand();
    if (c.surface === 'ties') {
      fillTiesBlock(world, base, kind >= 0.05 && kind < 0.1, c.holes, rand);
      continue;
    }
    for (let v = 0; v < BLOCK_VOXELS; v++) {
      const X = bx * 8 + (v & 7), Y = by * 8 + ((v >> 3) & 7), Z = bz * 8 + (v >> 6);
      let t: number;
      if (kind < 0.05) t = 0.01 + 0.99 * rand();
      else if (c.surface === 'noise') t = 2 * rand() - 1;
      else t = Math.max(-1, Math.min(1, sdf(X, Y, Z) / trunc + noiseAmp * (2 * rand() - 1)));
      const z0 = rand();
      if (z0 < 0.015) t = 0;
      else if (z0 < 0.03) t = -0; // −0 is not negative
      const wr = rand();
      const [zeroW, halfW] = c.holes;
      const w = kind >= 0.05 && kind < 0.1 ? 0 : wr < zeroW ? 0 : wr < zeroW + halfW ? 0.5 : 1 + Math.floor(rand() * 50);
      world.pool[base + v] = t;
      world.pool[base + BLOCK_VOXELS + v] = w;
      const at = (base + 2 * BLOCK_VOXELS) * 4 + 4 * v;
      for (let k = 0; k < 4; k++) world.rgba[at + k] = Math.floor(rand() * 256);
    }
  }
  const list = shuffle([...present], rand);
  return { world, list };
}

/** the 'ties' surface: voxel pairs (2i, 2i+1) along x with f0 > 0 > f1 and red a → 0 */
function fillTiesBlock(world: World, base: number, unobserved: boolean, holes: [number, number], rand: () => number): void {
  for (let v = 0; v < BLOCK_VOXELS; v += 2) {
    let a = 0, f0 = 0, f1 = 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      a = 1 + Math.floor(rand() * 255);
      f0 = Math.fround(0.3 + 0.7 * rand());
      const target = 1 - (Math.floor(rand() * Math.min(a, 3)) + 0.5) / a; // a·(1 − s) ≈ n + ½
      f1 = Math.fround(f0 - f0 / target);
      const s = Math.fround(f0 / Math.fround(f0 - f1));
      if (roundHalfEven(fmaF32(s, -a, a)) !== colourUnfused(s, a, 0)) break;
    }
    for (const [u, t, red] of [[v, f0, a], [v + 1, f1, 0]] as const) {
      world.pool[base + u] = t;
      const wr = rand();
      world.pool[base + BLOCK_VOXELS + u] = unobserved || wr < holes[0] ? 0 : wr < holes[0] + holes[1] ? 0.5 : 1 + Math.floor(rand() * 50);
      const at = (base + 2 * BLOCK_VOXELS) * 4 + 4 * u;
      world.rgba[at] = red;
      for (let k = 1; k < 4; k++) world.rgba[at + k] = Math.floor(rand() * 256);
    }
  }
}

// ---------------------------------------------------------------------------
// Running the kernel and comparing
// ---------------------------------------------------------------------------

interface SeedResult {
  blocks: number;
  vertices: number;
  triangles: number;
  zeroVertexBlocks: number;
  seamCutCubes: number;
  fmaSensitive: number;
  tieSensitive: number;
  /** first disagreement, '' when none */
  mismatch: string;
}

function firstDiff(what: string, a: ArrayLike<number>, b: ArrayLike<number>, show: (i: number) => string): string {
  if (a.length !== b.length) return `${what}: length ${a.length} (native) vs ${b.length} (reference)`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `${what}[${i}]: ${show(i)}`;
  return '';
}

const results = new Map<number, SeedResult>();

function runCase(c: Case): SeedResult {
  const cached = results.get(c.seed);
  if (cached) return cached;
  const hash = new BlockHash(ctx, 27);
  const { world, list } = buildWorld(c, hash);
  const n = list.length;
  const buffers: NativeBuffer[] = [];
  const buf = (bytes: number): NativeBuffer => {
    const b = ctx.buffer(bytes);
    buffers.push(b);
    return b;
  };
  try {
    const pool = buf(world.pool.byteLength).write(world.pool);
    const blocks = buf(n * 16);
    const bl = blocks.i32();
    list.forEach(([x, y, z], k) => bl.set([x, y, z, world.slots.get(key(x, y, z))!], 4 * k));
    blocks.upload();
    const capacity = n * packedMeshBytes(MAX_BLOCK_VERTICES, MAX_BLOCK_INDICES);
    const mesh = buf(capacity);
    mesh.fill(0xcd); // padding the kernel must zero
    const ranges = buf(n * 16);
    const totals = buf(12);
    ctx.call('ss_tsdf_mesh_blocks', {
      block_count: n, hash_mask: hash.mask, capacity, voxel_size: c.voxelSize, min_weight: c.minWeight,
    }, { pool, hash: hash.table, blocks, mesh, ranges, totals });
    ranges.download();
    totals.download();
    mesh.download();
    const r = ranges.u32();
    const tot = totals.u32();
    const bytes = mesh.u8();

    const res: SeedResult = { blocks: n, vertices: 0, triangles: 0, zeroVertexBlocks: 0, seamCutCubes: 0,
      fmaSensitive: 0, tieSensitive: 0, mismatch: '' };
    let recordBytes = 0, indexTotal = 0;
    const spans: [number, number][] = [];
    for (let k = 0; k < n && !res.mismatch; k++) {
      const [bx, by, bz] = list[k]!;
      const at = `seed ${c.seed}, block (${bx},${by},${bz}) listed ${k}`;
      const ref = referenceMeshBlock(world, bx, by, bz, c.voxelSize, c.minWeight);
      const nvRef = ref.positions.length / 3, niRef = ref.indices.length;
      res.vertices += nvRef;
      res.triangles += niRef / 3;
      res.seamCutCubes += ref.seamCutCubes;
      res.fmaSensitive += ref.fmaSensitive;
      res.tieSensitive += ref.tieSensitive;
      if (nvRef === 0) res.zeroVertexBlocks++;
      const off = r[4 * k]!, nv = r[4 * k + 1]!, ni = r[4 * k + 2]!, len = r[4 * k + 3]!;
      const lenRef = nvRef ? packedMeshBytes(nvRef, niRef) : 0;
      if (nv !== nvRef || ni !== niRef || len !== lenRef) {
        res.mismatch = `${at}: native nv ${nv} ni ${ni} bytes ${len}, reference nv ${nvRef} ni ${niRef} bytes ${lenRef}`;
        break;
      }
      recordBytes += len;
      indexTotal += ni;
      if (len === 0) continue;
      if (off % 4 !== 0 || off + len > capacity) {
        res.mismatch = `${at}: record at byte ${off} (${len} bytes) is misaligned or past the capacity ${capacity}`;
        break;
      }
      spans.push([off, len]);
      const pos = new Float32Array(bytes.buffer, bytes.byteOffset + off, 3 * nv);
      const posBits = new Uint32Array(bytes.buffer, bytes.byteOffset + off, 3 * nv);
      const refBits = new Uint32Array(ref.positions.buffer);
      const colBytes = (3 * nv + 3) & ~3;
      const col = bytes.subarray(off + 12 * nv, off + 12 * nv + colBytes);
      const refCol = new Uint8Array(colBytes);
      refCol.set(ref.colors);
      const idx = new Uint32Array(bytes.buffer, bytes.byteOffset + off + 12 * nv + colBytes, ni);
      res.mismatch =
        firstDiff(`${at}: position float`, posBits, refBits, (i) =>
          `vertex ${Math.floor(i / 3)} axis ${i % 3}: native ${pos[i]} (0x${posBits[i]!.toString(16)}), reference ${ref.positions[i]} (0x${refBits[i]!.toString(16)})`) ||
        firstDiff(`${at}: colour byte`, col, refCol, (i) =>
          `vertex ${Math.floor(i / 3)} channel ${i % 3}: native ${col[i]}, reference ${refCol[i]}`) ||
        firstDiff(`${at}: index`, idx, ref.indices, (i) => `triangle ${Math.floor(i / 3)}: native ${idx[i]}, reference ${ref.indices[i]}`);
    }
    if (!res.mismatch && (tot[0] !== recordBytes || tot[1] !== res.vertices || tot[2] !== indexTotal)) {
      res.mismatch = `seed ${c.seed}: totals ${[...tot].join('/')} vs reference ${recordBytes}/${res.vertices}/${indexTotal}`;
    }
    // records tile [0, total bytes) without overlapping, whatever order the threads wrote them in
    spans.sort((p, q) => p[0] - q[0]);
    let end = 0;
    for (const [off, len] of spans) {
      if (!res.mismatch && off !== end) res.mismatch = `seed ${c.seed}: records leave a gap or overlap at byte ${end} (next at ${off})`;
      end = off + len;
    }
    results.set(c.seed, res);
    return res;
  } finally {
    for (const b of buffers) b.destroy();
    hash.destroy();
  }
}

describe('ss_tsdf_mesh_blocks (CPU) against a TypeScript marching cubes', () => {
  for (const c of CASES) {
    test(`ss_tsdf_mesh_blocks equals the TypeScript marching cubes bit for bit on random TSDF blocks (seed ${c.seed}, ${c.surface}, min_weight ${c.minWeight})`, () => {
      const res = runCase(c);
      console.log(`seed ${c.seed} (${c.surface}): ${res.blocks} blocks, ${res.vertices} vertices, ${res.triangles} triangles, ` +
        `${res.zeroVertexBlocks} blocks without a surface, ${res.seamCutCubes} seam cubes cut off by a missing neighbour, ` +
        `${res.fmaSensitive} colour bytes that need the fused a + s·(b − a), ${res.tieSensitive} on a tie`);
      expect(res.mismatch).toBe('');
      // not vacuous: every world has a real surface
      expect(res.vertices).toBeGreaterThan(200);
      expect(res.triangles).toBeGreaterThan(200);
    });
  }

  test('the random worlds include missing neighbours: seam cubes cut off, and present blocks with no surface', () => {
    const all = CASES.map(runCase);
    expect(all.some((r) => r.seamCutCubes > 0)).toBe(true);
    expect(all.some((r) => r.zeroVertexBlocks > 0)).toBe(true);
  });

  test('the worlds hold colours that only the exact rounding gets right: single (fused) rounding, ties to even', () => {
    const all = CASES.map(runCase);
    expect(all.reduce((n, r) => n + r.fmaSensitive, 0)).toBeGreaterThan(100);
    expect(all.reduce((n, r) => n + r.tieSensitive, 0)).toBeGreaterThan(0);
  });

  test('float32 helpers: fused multiply-add rounds once, ties go to even', () => {
    // 1 + 2⁻²⁴ + 2⁻⁶⁰: a float64 sum rounds to the float32 midpoint 1 + 2⁻²⁴ (then, ties to even, to 1); the exact value is above it
    expect(Math.fround(2 ** -60 + (1 + 2 ** -24))).toBe(1);
    expect(fmaF32(2 ** -60, 1, 1 + 2 ** -24)).toBe(1 + 2 ** -23);
    expect(fmaF32(-(2 ** -60), 1, 1 + 2 ** -24)).toBe(1);
    expect(fmaF32(0.5, 3, 1)).toBe(2.5);
    expect([0.5, 1.5, 2.5, 3.49, 254.5, 255].map(roundHalfEven)).toEqual([0, 2, 2, 3, 254, 255]);
  });
});
