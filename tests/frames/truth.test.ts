import { describe, expect, test } from 'bun:test';
import { renderView } from '../../src/frames/synthetic/raycast';
import { syntheticScene, type SyntheticScene } from '../../src/frames/synthetic/scene';
import { syntheticSdf } from '../../src/frames/synthetic/sdf';
import { SyntheticSequence } from '../../src/frames/synthetic/source';
import { lookAtWithRoll } from '../../src/frames/synthetic/trajectory';
import { cullToSeen, syntheticTruthMesh } from '../../src/frames/synthetic/truth';
import type { TriangleMesh } from '../../src/geometry/mesh';
import type { Intrinsics } from '../../src/geometry/intrinsics';

function only(primitive: SyntheticScene['primitives'][number]): SyntheticScene {
  const base = syntheticScene('room');
  return { ...base, primitives: [primitive] };
}

/** per triangle: distance from `centre` to the triangle's plane, and whether its winding faces away from `centre` */
function triangleStats(mesh: TriangleMesh, centre: readonly number[]): { planeDistance: number[]; outward: boolean[] } {
  const P = mesh.positions, I = mesh.indices!;
  const planeDistance: number[] = [], outward: boolean[] = [];
  for (let t = 0; t < I.length; t += 3) {
    const [a, b, c] = [I[t]! * 3, I[t + 1]! * 3, I[t + 2]! * 3];
    const e1 = [0, 1, 2].map((k) => P[b + k]! - P[a + k]!), e2 = [0, 1, 2].map((k) => P[c + k]! - P[a + k]!);
    const n = [e1[1]! * e2[2]! - e1[2]! * e2[1]!, e1[2]! * e2[0]! - e1[0]! * e2[2]!, e1[0]! * e2[1]! - e1[1]! * e2[0]!];
    const len = Math.hypot(n[0]!, n[1]!, n[2]!);
    if (len === 0) continue; // cap centre fans have a zero-area triangle per cell
    const w = [0, 1, 2].map((k) => P[a + k]! - centre[k]!);
    const dot = (n[0]! * w[0]! + n[1]! * w[1]! + n[2]! * w[2]!) / len;
    planeDistance.push(Math.abs(dot));
    outward.push(dot > 0);
  }
  return { planeDistance, outward };
}

describe('truth mesh', () => {
  test('sphere: vertices at the radius within 1e-6, triangles within 10 µm of the sphere, all facing outward', () => {
    const c = [0.3, -0.2, 0.9] as const, r = 0.25;
    const mesh = syntheticTruthMesh(only({ kind: 'sphere', centre: c, radius: r, material: 0 }));
    let worstVertex = 0;
    for (let i = 0; i < mesh.positions.length; i += 3) {
      const d = Math.hypot(mesh.positions[i]! - c[0], mesh.positions[i + 1]! - c[1], mesh.positions[i + 2]! - c[2]);
      worstVertex = Math.max(worstVertex, Math.abs(d - r));
    }
    expect(worstVertex).toBeLessThan(1e-6);
    const { planeDistance, outward } = triangleStats(mesh, c);
    // a flat triangle with vertices on the sphere is farthest from it where its plane is closest to the centre
    expect(r - Math.min(...planeDistance)).toBeLessThan(1e-5);
    expect(outward.every(Boolean)).toBe(true);
    console.log(`truth sphere r=${r}: ${mesh.indices!.length / 3} triangles, max chord error ${((r - Math.min(...planeDistance)) * 1e6).toFixed(2)} µm`);
  });

  test('cylinder: side within 10 µm of the surface, facing outward, caps flat at the ends', () => {
    const mesh = syntheticTruthMesh(only({ kind: 'cylinder', centre: [0.1, 0.2], radius: 0.15, zMin: 0, zMax: 0.6, material: 0 }));
    const P = mesh.positions, I = mesh.indices!;
    let worst = 0;
    let allOutward = true;
    for (let t = 0; t < I.length; t += 3) {
      const v = [I[t]!, I[t + 1]!, I[t + 2]!].map((i) => [P[3 * i]!, P[3 * i + 1]!, P[3 * i + 2]!]);
      const cz = (v[0]![2]! + v[1]![2]! + v[2]![2]!) / 3;
      const e1 = [0, 1, 2].map((k) => v[1]![k]! - v[0]![k]!), e2 = [0, 1, 2].map((k) => v[2]![k]! - v[0]![k]!);
      const n = [e1[1]! * e2[2]! - e1[2]! * e2[1]!, e1[2]! * e2[0]! - e1[0]! * e2[2]!, e1[0]! * e2[1]! - e1[1]! * e2[0]!];
      if (Math.hypot(n[0]!, n[1]!, n[2]!) === 0) continue;
      const onSide = v.every((p) => Math.abs(Math.hypot(p[0]! - 0.1, p[1]! - 0.2) - 0.15) < 1e-6);
      if (onSide && Math.abs(n[2]!) < 1e-12) {
        // distance from the axis to the triangle's plane (horizontal normal)
        const nl = Math.hypot(n[0]!, n[1]!);
        const d = (n[0]! * (v[0]![0]! - 0.1) + n[1]! * (v[0]![1]! - 0.2)) / nl;
        worst = Math.max(worst, 0.15 - d);
        allOutward &&= d > 0;
      } else {
        allOutward &&= (cz > 0.3) === (n[2]! > 0);
      }
    }
    expect(worst).toBeLessThan(1e-5);
    expect(allOutward).toBe(true);
  });

  test('room and boxes: plane cells ≤ 2 cm, room faces inward, box faces outward', () => {
    const mesh = syntheticTruthMesh('room');
    const P = mesh.positions, I = mesh.indices!;
    let longest = 0;
    for (let t = 0; t < I.length; t += 3) {
      for (let k = 0; k < 3; k++) {
        const a = I[t + k]! * 3, b = I[t + ((k + 1) % 3)]! * 3;
        longest = Math.max(longest, Math.hypot(P[a]! - P[b]!, P[a + 1]! - P[b + 1]!, P[a + 2]! - P[b + 2]!));
      }
    }
    // cells are at most 2 cm square, so edges at most the diagonal
    expect(longest).toBeLessThan(0.02 * Math.SQRT2 + 1e-6);
    const room = triangleStats(syntheticTruthMesh(only(syntheticScene('room').primitives[0]!)), [0, 0, 1.25]);
    expect(room.outward.every((o) => !o)).toBe(true);
    const box = triangleStats(syntheticTruthMesh(only({ kind: 'box', min: [0, 0, 0], max: [0.3, 0.2, 0.1], material: 0 })), [0.15, 0.1, 0.05]);
    expect(box.outward.every(Boolean)).toBe(true);
  });
});

describe('cullToSeen', () => {
  const K: Intrinsics = { fx: 100, fy: 100, cx: 49.5, cy: 39.5, width: 100, height: 80 };
  const scene = syntheticScene('room');
  // camera at the room centre looking along +x at the wall x = 2
  const pose = lookAtWithRoll([0, 0, 1.25], [1, 0, 1.25], 0);
  const view = { intrinsics: K, pose, depth: renderView(scene, K, pose).depth };

  function triangleMesh(tris: number[][][]): TriangleMesh {
    return { positions: Float32Array.from(tris.flat(2)), indices: Uint32Array.from(tris.flatMap((_, t) => [3 * t, 3 * t + 1, 3 * t + 2])) };
  }
  // on the wall x = 2, facing −x (into the room): winding (0,−y… ) chosen so the normal is −x
  const inView = [[2, 0.05, 1.2], [2, -0.05, 1.2], [2, 0, 1.3]];
  const behind = [[-2, -0.05, 1.2], [-2, 0.05, 1.2], [-2, 0, 1.3]];
  const backFacing = [[2, -0.05, 1.2], [2, 0.05, 1.2], [2, 0, 1.3]];
  const floating = [[1, 0.05, 1.2], [1, -0.05, 1.2], [1, 0, 1.3]]; // in front of the wall: not what the depth shows

  test('keeps a triangle in view, drops one behind the camera, a back-facing one and one off the seen surface', () => {
    const mesh = triangleMesh([inView, behind, backFacing, floating]);
    const kept = cullToSeen(mesh, [view]);
    expect(kept.indices!.length).toBe(3);
    expect(Array.from(kept.positions)).toEqual(Array.from(Float32Array.from(inView.flat())));
    // the opposite view keeps exactly the triangle that was behind the first camera (on the wall x = −2, facing +x)
    const away = lookAtWithRoll([0, 0, 1.25], [-1, 0, 1.25], 0);
    const keptAway = cullToSeen(mesh, [{ intrinsics: K, pose: away, depth: renderView(scene, K, away).depth }]);
    expect(Array.from(keptAway.positions)).toEqual(Array.from(Float32Array.from(behind.flat())));
    // both views together keep both
    expect(cullToSeen(mesh, [view, { intrinsics: K, pose: away, depth: renderView(scene, K, away).depth }]).indices!.length).toBe(6);
    // views without depth or pose are ignored
    expect(cullToSeen(mesh, [{ intrinsics: K, pose }]).indices!.length).toBe(0);
  });

  test('frames work as views (groundTruthPose); a box bottom on the floor and the floor under it are never seen', () => {
    const seq = new SyntheticSequence({ scene: 'room', width: 160, height: 120, fx: 131.25, fy: 131.25 });
    const frames = [0, 40, 80].map((i) => seq.frame(i));
    const truth = syntheticTruthMesh('room');
    const seen = cullToSeen(truth, frames);
    const n = seen.indices!.length / 3;
    expect(n).toBeGreaterThan(1000);
    expect(n).toBeLessThan(truth.indices!.length / 3);
    // every kept vertex lies on the scene surface
    let worst = 0;
    for (let i = 0; i < seen.positions.length; i += 3) worst = Math.max(worst, Math.abs(syntheticSdf(scene, seen.positions.subarray(i, i + 3))));
    expect(worst).toBeLessThan(1e-6);
    // nothing at the floor under the cabinet box [1.45,1.9]×[−1.4,−0.85] (covered) and no downward-facing triangle at z = 0
    const P = seen.positions, I = seen.indices!;
    let hidden = 0;
    for (let t = 0; t < I.length; t += 3) {
      const cx = (P[I[t]! * 3]! + P[I[t + 1]! * 3]! + P[I[t + 2]! * 3]!) / 3;
      const cy = (P[I[t]! * 3 + 1]! + P[I[t + 1]! * 3 + 1]! + P[I[t + 2]! * 3 + 1]!) / 3;
      const cz = (P[I[t]! * 3 + 2]! + P[I[t + 1]! * 3 + 2]! + P[I[t + 2]! * 3 + 2]!) / 3;
      if (cx > 1.46 && cx < 1.89 && cy > -1.39 && cy < -0.86 && cz < 1e-6) hidden++;
    }
    expect(hidden).toBe(0);
  });
});

describe('syntheticSdf', () => {
  test('exact distances in free space, zero on surfaces, negative inside solids', () => {
    const s = syntheticScene('room');
    expect(Math.abs(syntheticSdf(s, [2, 0, 1.8]))).toBe(0); // wall
    expect(syntheticSdf(s, [1.7, 0, 1.8])).toBeCloseTo(0.3, 12);
    expect(syntheticSdf(s, [0.22, 0.05, 0.86])).toBeCloseTo(-0.12, 12); // sphere centre
    expect(syntheticSdf(s, [0.22, 0.05, 1.06])).toBeCloseTo(0.08, 12); // 8 cm above the sphere, nothing nearer
    expect(syntheticSdf(s, [1.55, 1.05, 0.7])).toBeCloseTo(0.1, 12); // 10 cm above the cylinder's top cap
    expect(syntheticSdf(s, [3, 0, 1])).toBeLessThan(0); // outside the room: solid
  });
});
