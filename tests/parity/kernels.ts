/**
 * Every native kernel, with a random-input case whose canonical outputs can be
 * compared across backends (DESIGN.md §3 rule 7, after ggml's test-backend-ops).
 * A kernel missing here fails tests/parity/parity.test.ts.
 */
import type { KernelSymbol } from '../../src/native/symbols';
import type { NativeContext } from '../../src/native/context';
import { depthPyramidDown, depthToPoints, geotrf, imagePyramidDown, pointsToNormals } from '../../src/native/kernels/pointmaps';
import { TsdfVolume } from '../../src/fusion/tsdfVolume';
import { blockKey } from '../../src/fusion/meshBlock';
import { BlockHash } from '../../src/fusion/blockHash';
import { seededRandom } from '../helpers/random';
import { mast3rParityCases } from './mast3r';
import { trackingParityCases } from './tracking';
import { orbitPoses, renderSphereScene, smallIntrinsics, type SphereScene } from '../helpers/analyticScene';
import { PlaneSweep } from '../../src/native/kernels/planeSweep';
import { planeScene } from '../mono/planeScene';

export type Outputs = Record<string, Float32Array | Uint8Array | Int32Array | Uint32Array>;

export interface ParityCase {
  /** the kernels this case exercises */
  symbols: KernelSymbol[];
  name: string;
  /** max normalised error (max |a−b| / max |ref|) allowed against the CPU */
  tolerance: number;
  run(ctx: NativeContext, seed: number): Outputs;
  /**
   * What another backend is held to, when float rounding may legitimately flip discrete
   * choices (a marching-cubes sign, the nearest pixel at a depth edge — CUDA contracts
   * multiply-adds differently): summaries instead of the raw outputs.
   * The CPU is still compared with itself on the raw outputs, bit for bit.
   */
  crossBackend?: (raw: Outputs) => Outputs;
}

const W = 96, H = 72;
const cam = { width: W, height: H, fx: 80.3, fy: 79.1, cx: 47.2, cy: 35.8 };

function randomDepth(seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: W * H }, () => (r() < 0.05 ? 0 : 0.4 + 4 * r()));
}

function smoothDepth(seed: number): Float32Array {
  const r = seededRandom(seed);
  const a = 0.5 * r(), b = 0.5 * r();
  return Float32Array.from({ length: W * H }, (_, i) => 2 + a * ((i % W) / W) - b * (Math.floor(i / W) / H) + 0.001 * r());
}

function withBuffers<T>(ctx: NativeContext, fn: (alloc: (bytes: number) => ReturnType<NativeContext['buffer']>) => T): T {
  const made: ReturnType<NativeContext['buffer']>[] = [];
  try {
    return fn((bytes) => {
      const b = ctx.buffer(bytes);
      made.push(b);
      return b;
    });
  } finally {
    for (const b of made) b.destroy();
  }
}

const sphere: SphereScene = { center: [0, 0, 1.1], radius: 0.3, wallZ: 1.6 };

export const parityCases: ParityCase[] = [
  {
    symbols: ['ss_depth_to_points'], name: 'depth→points (float32 metres)', tolerance: 1e-6,
    run: (ctx, seed) => withBuffers(ctx, (alloc) => {
      const d = alloc(W * H * 4).write(randomDepth(seed)), p = alloc(W * H * 12);
      depthToPoints(ctx, cam, d, p);
      return { points: p.download().f32().slice() };
    }),
  },
  {
    symbols: ['ss_points_to_normals'], name: 'points→normals', tolerance: 1e-5,
    run: (ctx, seed) => withBuffers(ctx, (alloc) => {
      const d = alloc(W * H * 4).write(smoothDepth(seed)), p = alloc(W * H * 12), n = alloc(W * H * 12);
      depthToPoints(ctx, cam, d, p);
      pointsToNormals(ctx, W, H, p, n, 0.1);
      return { normals: n.download().f32().slice() };
    }),
  },
  {
    symbols: ['ss_depth_pyramid_down', 'ss_image_pyramid_down'], name: 'pyramids', tolerance: 1e-6,
    run: (ctx, seed) => withBuffers(ctx, (alloc) => {
      const r = seededRandom(seed + 1);
      const d = alloc(W * H * 4).write(randomDepth(seed)), dd = alloc((W / 2) * (H / 2) * 4);
      const img = alloc(W * H * 3).write(Uint8Array.from({ length: W * H * 3 }, () => Math.floor(r() * 256)));
      const small = alloc((W / 2) * (H / 2) * 3);
      depthPyramidDown(ctx, W, H, d, dd, 0.05);
      imagePyramidDown(ctx, W, H, 3, img, small);
      return { depth: dd.download().f32().slice(), image: small.download().u8().slice() };
    }),
  },
  {
    symbols: ['ss_geotrf'], name: 'geotrf 3D rigid', tolerance: 1e-6,
    run: (ctx, seed) => withBuffers(ctx, (alloc) => {
      const r = seededRandom(seed);
      const n = 5000;
      const pts = alloc(n * 12).write(Float32Array.from({ length: n * 3 }, () => 4 * r() - 2));
      const out = alloc(n * 12);
      const c = Math.cos(r() * 6), s = Math.sin(r() * 6);
      geotrf(ctx, [c, -s, 0, r(), s, c, 0, r(), 0, 0, 1, r(), 0, 0, 0, 1], 3, n, pts, out);
      return { points: out.download().f32().slice() };
    }),
  },
  {
    symbols: ['ss_tsdf_touched_blocks', 'ss_tsdf_integrate', 'ss_tsdf_mesh_blocks', 'ss_tsdf_raycast', 'ss_tsdf_clear_blocks'],
    name: 'TSDF integrate → mesh → raycast on a sphere in front of a wall', tolerance: 1e-2,
    run: (ctx, seed) => {
      const vol = new TsdfVolume(ctx, { voxelSize: 0.02, maxBlocks: 8192 });
      try {
        const poses = orbitPoses(sphere, 0.7 + 0.05 * (seed % 3), 5, false);
        for (const pose of poses) {
          const f = renderSphereScene(sphere, smallIntrinsics, pose);
          vol.integrate(f.depth, f.rgb, smallIntrinsics, pose);
        }
        const blocks = vol.meshDirty().sort((a, b) => (blockKey(a) < blockKey(b) ? -1 : 1));
        const positions = new Float32Array(blocks.reduce((s, b) => s + b.positions.length, 0));
        const indices = new Uint32Array(blocks.reduce((s, b) => s + b.indices.length, 0));
        let pv = 0, pi = 0;
        for (const b of blocks) {
          positions.set(b.positions, pv);
          indices.set(b.indices, pi);
          pv += b.positions.length;
          pi += b.indices.length;
        }
        const rc = vol.raycast(smallIntrinsics, poses[0]!);
        const cleared = vol.blockCount;
        vol.reset();
        return { positions, indices, raycastDepth: rc.depth, raycastColor: rc.color, blocksBeforeReset: Uint32Array.of(cleared) };
      } finally {
        vol.destroy();
      }
    },
    crossBackend: (raw) => {
      const p = raw.positions as Float32Array, d = raw.raycastDepth as Float32Array;
      const centroid = new Float32Array(3);
      for (let i = 0; i < p.length; i += 3) for (let k = 0; k < 3; k++) centroid[k]! += p[i + k]! / (p.length / 3);
      let hits = 0, depthSum = 0;
      for (const z of d) if (z > 0) { hits++; depthSum += z; }
      return {
        triangles: Float32Array.of(raw.indices!.length / 3), vertices: Float32Array.of(p.length / 3), centroid,
        rayHits: Float32Array.of(hits), rayMeanDepth: Float32Array.of(depthSum / Math.max(1, hits)),
        blocks: Float32Array.of(raw.blocksBeforeReset![0]!),
      };
    },
  },
  {
    symbols: ['ss_tsdf_hash_scatter'], name: 'block hash scatter: 3000 entries into a 2^13-entry table of poison', tolerance: 0,
    run: (ctx, seed) => withBuffers(ctx, (alloc) => {
      const r = seededRandom(seed);
      const capacity = 1 << 13, n = 3000;
      const word = (): number => (r() * 2 ** 32) | 0;
      // every entry the call does not name must come back as it was
      const table = alloc(capacity * 16).write(Int32Array.from({ length: capacity * 4 }, word));
      const order = Int32Array.from({ length: capacity }, (_, i) => i);
      for (let i = capacity - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const rows = new Int32Array(n * 5);
      for (let k = 0; k < n; k++) {
        rows[5 * k] = order[k]!;
        for (let c = 1; c < 5; c++) rows[5 * k + c] = word();
      }
      const entries = alloc(n * 20).write(rows);
      ctx.call('ss_tsdf_hash_scatter', { count: n, hash_mask: capacity - 1 }, { entries, hash: table });
      return { table: table.download().i32().slice() };
    }),
  },
  {
    symbols: ['ss_tsdf_hash_lookup'], name: 'block hash lookup: 4000 blocks, about a quarter present, in a table with long probe chains', tolerance: 0,
    run: (ctx, seed) => withBuffers(ctx, (alloc) => {
      const r = seededRandom(seed);
      const hash = new BlockHash(ctx, 3000);
      try {
        // blocks from a small box, so their hashes collide and probe; 2500 inserted, 4000 asked (some twice)
        const block = (): number[] => [Math.floor(r() * 60) - 30, Math.floor(r() * 20) - 10, Math.floor(r() * 9) - 4];
        for (let k = 0; k < 2500; k++) {
          const [x, y, z] = block() as [number, number, number];
          hash.findOrInsertSlot(x, y, z);
        }
        hash.sync();
        const n = 4000;
        const coords = alloc(n * 12).write(Int32Array.from(Array.from({ length: n }, block).flat()));
        const slots = alloc(n * 4).write(Int32Array.from({ length: n }, () => 0x5a5a5a5a));
        ctx.call('ss_tsdf_hash_lookup', { count: n, hash_mask: hash.mask }, { hash: hash.table, coords, slots });
        return { slots: slots.download().i32().slice() };
      } finally {
        hash.destroy();
      }
    }),
  },
  {
    symbols: ['ss_plane_sweep'], name: 'plane sweep: 3 views of a textured slanted plane, 32 planes', tolerance: 1e-4,
    run: (ctx, seed) => {
      const scene = planeScene(seed, 64, 48, 3);
      const sweep = new PlaneSweep(ctx);
      try {
        const r = sweep.run(scene.ref.gray, scene.ref.pose, scene.views, scene.K, {
          minDepth: 1.2, maxDepth: 4, planes: 32, radius: 2, bestViews: 2, minVariance: 4,
        });
        return { depth: r.depth, zncc: r.zncc, confidence: r.confidence, cost: sweep.costVolume(64 * 48, 32) };
      } finally {
        sweep.destroy();
      }
    },
  },
  ...mast3rParityCases,
  ...trackingParityCases,
];

/** max |a−b| / max |ref| over finite entries; NaN must match NaN; integer arrays compare exactly */
export function normalisedError(a: Outputs[string], ref: Outputs[string]): number {
  if (a.length !== ref.length) return Infinity;
  let scale = 0, worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const x = a[i] as number, y = ref[i] as number;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
      continue;
    }
    scale = Math.max(scale, Math.abs(y));
    worst = Math.max(worst, Math.abs(x - y));
  }
  if (!(ref instanceof Float32Array)) return worst === 0 ? 0 : Infinity;
  return worst / Math.max(scale, 1e-30);
}
