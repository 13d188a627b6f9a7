/**
 * Parity cases for the tracking kernels (src/tracking): gray conversion, the
 * guided model ray-cast and the ICP reduction on an analytic scene, ORB on a
 * textured image, and reciprocal matching (exact indices on every backend).
 */
import { TsdfVolume } from '../../src/fusion/tsdfVolume';
import { composeRt, multiply, top3x4 } from '../../src/geometry/se3';
import { so3Exp } from '../../src/geometry/so3';
import { depthToPoints, pointsToNormals } from '../../src/native/kernels/pointmaps';
import { icpReduce, raycastGuided, rgbToGray } from '../../src/native/kernels/tracking';
import { volumeBuffers } from '../../src/tracking/denseTracker';
import { OrbExtractor } from '../../src/tracking/features';
import { ReciprocalMatcher } from '../../src/tracking/matching';
import { orbitPoses, renderSphereScene, smallIntrinsics as K, type SphereScene } from '../helpers/analyticScene';
import { seededRandom } from '../helpers/random';
import type { ParityCase } from './kernels';

const sphere: SphereScene = { center: [0, 0, 1.1], radius: 0.3, wallZ: 1.6 };

function gray(rgb: Uint8Array): Uint8Array {
  const g = new Uint8Array(rgb.length / 3);
  for (let i = 0; i < g.length; i++) g[i] = (77 * rgb[3 * i]! + 150 * rgb[3 * i + 1]! + 29 * rgb[3 * i + 2]! + 128) >> 8;
  return g;
}

export const trackingParityCases: ParityCase[] = [
  {
    symbols: ['ss_rgb_to_gray'], name: 'RGB → gray (BT.601 fixed point)', tolerance: 0,
    run: (ctx, seed) => {
      const r = seededRandom(seed);
      const n = 320 * 240;
      const rgb = ctx.bufferFrom(Uint8Array.from({ length: 3 * n }, () => Math.floor(256 * r())));
      const g = ctx.buffer(n);
      try {
        rgbToGray(ctx, 320, 240, rgb, g);
        return { gray: g.download().u8().slice() };
      } finally {
        rgb.destroy();
        g.destroy();
      }
    },
  },
  {
    symbols: ['ss_tsdf_raycast_guided', 'ss_icp_reduce'],
    name: 'guided model ray-cast + hybrid ICP reduction (sphere before a wall)', tolerance: 1e-4,
    run: (ctx, seed) => {
      const vol = new TsdfVolume(ctx, { voxelSize: 0.02, maxBlocks: 8192 });
      const n = K.width * K.height;
      const bufs = [n * 4, n * 4, n * 12, n, n * 12, n * 12, n * 12, n, 256].map((b) => ctx.buffer(b));
      const [prior, depth, normals, g, refPts, curPts, curNrm, curGray, out] = bufs as [
        ReturnType<typeof ctx.buffer>, ReturnType<typeof ctx.buffer>, ReturnType<typeof ctx.buffer>, ReturnType<typeof ctx.buffer>,
        ReturnType<typeof ctx.buffer>, ReturnType<typeof ctx.buffer>, ReturnType<typeof ctx.buffer>, ReturnType<typeof ctx.buffer>,
        ReturnType<typeof ctx.buffer>];
      try {
        const poses = orbitPoses(sphere, 0.7 + 0.05 * (seed % 3), 4, false);
        for (const pose of poses) {
          const f = renderSphereScene(sphere, K, pose);
          vol.integrate(f.depth, f.rgb, K, pose);
        }
        const ref = poses[0]!;
        const view = renderSphereScene(sphere, K, ref);
        prior.write(view.depth);
        const vb = volumeBuffers(vol);
        raycastGuided(ctx, K, {
          camToWorld: top3x4(ref), hashMask: vb.hashMask, voxelSize: vol.voxelSize, sdfTrunc: vol.sdfTrunc, minDepth: 0.1, maxDepth: 4,
          band: 0.1, fullFallback: true,
        }, { pool: vb.pool, hash: vb.hash, prior, depth, normals, gray: g });
        depthToPoints(ctx, K, depth, refPts);
        const curPose = multiply(ref, composeRt(so3Exp([0.01, -0.02, 0.005 * seed]), [0.01, 0.005, -0.01]));
        const cur = renderSphereScene(sphere, K, curPose);
        const d = ctx.bufferFrom(cur.depth);
        depthToPoints(ctx, K, d, curPts);
        pointsToNormals(ctx, K.width, K.height, curPts, curNrm, 0.05);
        curGray.write(gray(cur.rgb));
        d.destroy();
        const o = icpReduce(ctx, K, {
          curToRef: top3x4(composeRt(so3Exp([0, 0, 0]), [0, 0, 0])), maxDist: 0.1, minNormalCos: 0.7, huberDelta: 0.01,
          useColor: true, colorWeight: 0.5, colorHuberDelta: 0.1,
        }, { curPoints: curPts, curNormals: curNrm, curGray, refPoints: refPts, refNormals: normals, refGray: g, out });
        return {
          depth: depth.download().f32().slice(), normals: normals.download().f32().slice(), gray: g.download().u8().slice(),
          normalEquations: Float32Array.from(o),
        };
      } finally {
        for (const b of bufs) b.destroy();
        vol.destroy();
      }
    },
  },
  {
    symbols: ['ss_orb_extract'], name: 'ORB 640×480 (pyramid, FAST, Harris, grid, steered BRIEF)', tolerance: 1e-6,
    run: (ctx, seed) => {
      const r = seededRandom(seed);
      const W = 640, H = 480;
      // smooth random blobs plus fine noise: corners at every scale
      const base = new Float32Array(W * H).fill(60);
      for (let k = 0; k < 300; k++) {
        const bx = W * r(), by = H * r(), rad = 4 + 30 * r(), c = 255 * r();
        for (let y = Math.max(0, Math.ceil(by - rad)); y < Math.min(H, by + rad); y++) {
          for (let x = Math.max(0, Math.ceil(bx - rad)); x < Math.min(W, bx + rad); x++) base[y * W + x] = c;
        }
      }
      const img = Uint8Array.from(base, (v) => Math.max(0, Math.min(255, Math.round(v + 6 * (r() - 0.5)))));
      const orb = new OrbExtractor(ctx);
      try {
        const f = orb.extract(img, W, H);
        return { xy: f.xy, angle: f.angle, level: f.level, descriptors: f.descriptors };
      } finally {
        orb.destroy();
      }
    },
  },
  {
    symbols: ['ss_hamming_match', 'ss_float_match'], name: 'reciprocal matching: Hamming 700×900 and float L2/dot 400×500×24 (exact)', tolerance: 0,
    run: (ctx, seed) => {
      const r = seededRandom(seed);
      const m = new ReciprocalMatcher(ctx);
      try {
        const a = Uint8Array.from({ length: 700 * 32 }, () => Math.floor(256 * r()));
        const b = Uint8Array.from({ length: 900 * 32 }, () => Math.floor(256 * r()));
        const h = m.matchBinary(a, b, { maxDistance: 100, ratio: 0.95 });
        const fa = Float32Array.from({ length: 400 * 24 }, () => r() - 0.5);
        const fb = Float32Array.from({ length: 500 * 24 }, () => r() - 0.5);
        const l2 = m.matchFloat(fa, fb, { dim: 24, metric: 'l2' });
        const dot = m.matchFloat(fa, fb, { dim: 24, metric: 'dot' });
        return {
          hamA: h.nnA, hamB: h.nnB, hamMask: h.mask, l2A: l2.nnA, l2B: l2.nnB, dotA: dot.nnA, dotB: dot.nnB,
        };
      } finally {
        m.destroy();
      }
    },
  },
];
