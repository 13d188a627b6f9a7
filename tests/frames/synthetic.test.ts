import { describe, expect, test } from 'bun:test';
import { renderView } from '../../src/frames/synthetic/raycast';
import { syntheticScene, type SyntheticScene } from '../../src/frames/synthetic/scene';
import { sceneSdf } from '../../src/frames/synthetic/sdf';
import { SyntheticSequence, syntheticIntrinsics, syntheticPoses, syntheticSource } from '../../src/frames/synthetic/source';
import { lookAtWithRoll } from '../../src/frames/synthetic/trajectory';
import type { Intrinsics } from '../../src/geometry/intrinsics';
import { rigidPoseProblem } from '../../src/geometry/se3';
import { collect, expectSameBytes } from './helpers';

const small = { width: 160, height: 120, fx: 131.25, fy: 131.25 };

/** an empty room with one sphere, for analytic checks */
function sphereRoom(): SyntheticScene {
  const base = syntheticScene('room');
  return { ...base, primitives: [base.primitives[0]!, { kind: 'sphere', centre: [1, 0.2, 1.1], radius: 0.3, material: 4 }] };
}

describe('synthetic frames', () => {
  test('same seed → bit-identical frames (with depth and colour noise); another seed → different noise, same poses', async () => {
    const opts = { scene: 'room' as const, frames: 3, ...small, depthNoise: 0.002, colourNoise: 3, seed: 42 };
    const a = await collect(syntheticSource(opts));
    const b = await collect(syntheticSource(opts));
    const c = await collect(syntheticSource({ ...opts, seed: 43 }));
    expect(a.length).toBe(3);
    a.forEach((f, i) => {
      expect(expectSameBytes(f.rgb, b[i]!.rgb)).toBe(true);
      expect(expectSameBytes(f.depth!, b[i]!.depth!)).toBe(true);
      expect(Array.from(f.groundTruthPose!)).toEqual(Array.from(b[i]!.groundTruthPose!));
      expect(expectSameBytes(f.depth!, c[i]!.depth!)).toBe(false);
      expect(expectSameBytes(f.rgb, c[i]!.rgb)).toBe(false);
    });
    // noise-free renders with different seeds differ only by the camera jitter, not by the scene
    const clean1 = new SyntheticSequence({ ...opts, depthNoise: 0, colourNoise: 0 });
    expect(clean1.frame(2).depth).toEqual(new SyntheticSequence({ ...opts, depthNoise: 0, colourNoise: 0 }).frame(2).depth!);
  });

  test('frames carry timestamps i/fps, groundTruthPose, no pose, centred intrinsics', async () => {
    const frames = await collect(syntheticSource({ scene: 'tabletop', frames: 4, ...small, fps: 20 }));
    expect(frames.map((f) => f.timestamp)).toEqual([0, 1 / 20, 2 / 20, 3 / 20]);
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3]);
    for (const f of frames) {
      expect(f.pose).toBeUndefined();
      expect(f.groundTruthPose).toBeInstanceOf(Float64Array);
      expect(f.intrinsics).toEqual({ fx: 131.25, fy: 131.25, cx: 79.5, cy: 59.5, width: 160, height: 120 });
      expect(f.rgb.length).toBe(160 * 120 * 3);
    }
    expect(syntheticIntrinsics()).toEqual({ fx: 525, fy: 525, cx: 319.5, cy: 239.5, width: 640, height: 480 });
  });

  test('a ray hitting the wall x = 2 from (0, 0, 1.25), looking along +x, has depth exactly 2', () => {
    const scene = syntheticScene('room');
    const K: Intrinsics = { fx: 100, fy: 100, cx: 49.5, cy: 39.5, width: 100, height: 80 };
    const { depth } = renderView(scene, K, lookAtWithRoll([0, 0, 1.25], [1, 0, 1.25], 0));
    for (const [u, v] of [[0, 0], [49, 39], [99, 20]] as const) expect(depth[v * 100 + u]).toBe(2);
  });

  test('sphere depth equals the closed form: through the centre r short of the distance, off-centre by the quadratic', () => {
    const scene = sphereRoom();
    const K: Intrinsics = { fx: 200, fy: 200, cx: 32, cy: 32, width: 65, height: 65 };
    const eye = [-0.5, -0.3, 1.2] as const;
    const c = [1, 0.2, 1.1] as const;
    const pose = lookAtWithRoll(eye, c, 0.1);
    const { depth } = renderView(scene, K, pose);
    const dist = Math.hypot(c[0] - eye[0], c[1] - eye[1], c[2] - eye[2]);
    expect(depth[32 * 65 + 32]).toBe(Math.fround(dist - 0.3));
    // pixel (40, 27): ray d = R (x, y, 1); solve |e + t d − c| = r for the nearer t (t is camera z)
    const x = (40 - 32) / 200, y = (27 - 32) / 200;
    const d = [0, 1, 2].map((r) => pose[4 * r]! * x + pose[4 * r + 1]! * y + pose[4 * r + 2]!);
    const oc = [eye[0] - c[0], eye[1] - c[1], eye[2] - c[2]];
    const A = d[0]! ** 2 + d[1]! ** 2 + d[2]! ** 2;
    const B = oc[0]! * d[0]! + oc[1]! * d[1]! + oc[2]! * d[2]!;
    const C = oc[0]! ** 2 + oc[1]! ** 2 + oc[2]! ** 2 - 0.09;
    const t = (-B - Math.sqrt(B * B - A * C)) / A;
    expect(Math.abs(depth[27 * 65 + 40]! - t)).toBeLessThan(1e-6);
  });

  test('every depth is a point on the surface: |sdf(back-projected pixel)| < 1e-6 on both scenes', () => {
    for (const name of ['room', 'tabletop'] as const) {
      const seq = new SyntheticSequence({ scene: name, ...small });
      const sdf = sceneSdf(name);
      const f = seq.frame(17);
      const P = f.groundTruthPose!;
      const K = f.intrinsics;
      let worst = 0;
      for (let v = 0; v < K.height; v += 3) for (let u = 0; u < K.width; u += 3) {
        const z = f.depth![v * K.width + u]!;
        const xc = ((u - K.cx) / K.fx) * z, yc = ((v - K.cy) / K.fy) * z;
        const p = [0, 1, 2].map((r) => P[4 * r]! * xc + P[4 * r + 1]! * yc + P[4 * r + 2]! * z + P[4 * r + 3]!);
        worst = Math.max(worst, Math.abs(sdf(p)));
      }
      // float32 depth at ≤ 4 m: ≤ 2.4e-7 m rounding
      expect(worst).toBeLessThan(1e-6);
    }
  });

  test('poses are rigid (orthonormal, det +1), inside the room, smooth at 30 fps, looking at the scene', () => {
    for (const name of ['room', 'tabletop'] as const) {
      const poses = syntheticPoses({ scene: name, frames: 300 });
      const sdf = sceneSdf(name);
      poses.forEach((p, i) => {
        expect(rigidPoseProblem(p, 1e-12)).toBeNull();
        const det = p[0]! * (p[5]! * p[10]! - p[6]! * p[9]!) - p[1]! * (p[4]! * p[10]! - p[6]! * p[8]!) + p[2]! * (p[4]! * p[9]! - p[5]! * p[8]!);
        expect(Math.abs(det - 1)).toBeLessThan(1e-12);
        expect(sdf([p[3]!, p[7]!, p[11]!])).toBeGreaterThan(0.3); // in free space, clear of every surface
        if (i > 0) {
          const q = poses[i - 1]!;
          expect(Math.hypot(p[3]! - q[3]!, p[7]! - q[7]!, p[11]! - q[11]!)).toBeLessThan(0.03);
          const cos = (p[2]! * q[2]! + p[6]! * q[6]! + p[10]! * q[10]!);
          expect(Math.acos(Math.min(1, cos)) * (180 / Math.PI)).toBeLessThan(2);
        }
      });
    }
  });

  test('depth noise has σ·z² spread (σ = 0.01: measured within 5%)', () => {
    const clean = new SyntheticSequence({ scene: 'room', ...small });
    const noisy = new SyntheticSequence({ scene: 'room', ...small, depthNoise: 0.01, seed: 1 });
    const a = clean.frame(5).depth!;
    const b = noisy.frame(5).depth!;
    let s2 = 0;
    for (let i = 0; i < a.length; i++) s2 += ((b[i]! - a[i]!) / (a[i]! * a[i]!)) ** 2;
    expect(Math.abs(Math.sqrt(s2 / a.length) - 0.01)).toBeLessThan(0.0005);
  });

  test('textured everywhere: > 90% of 8×8 blocks have grey-level spread > 2 (features can be found)', () => {
    for (const name of ['room', 'tabletop'] as const) {
      const f = new SyntheticSequence({ scene: name, ...small }).frame(30);
      let textured = 0, blocks = 0;
      for (let by = 0; by + 8 <= f.height; by += 8) for (let bx = 0; bx + 8 <= f.width; bx += 8) {
        let s1 = 0, s2 = 0;
        for (let y = by; y < by + 8; y++) for (let x = bx; x < bx + 8; x++) {
          const i = (y * f.width + x) * 3;
          const g = 0.299 * f.rgb[i]! + 0.587 * f.rgb[i + 1]! + 0.114 * f.rgb[i + 2]!;
          s1 += g; s2 += g * g;
        }
        blocks++;
        if (Math.sqrt(s2 / 64 - (s1 / 64) ** 2) > 2) textured++;
      }
      expect(textured / blocks).toBeGreaterThan(0.9);
    }
  });
});
