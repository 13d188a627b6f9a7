/**
 * The exact surface of a synthetic scene as a triangle mesh, and the part of
 * it the cameras saw. Planes are cut into ~2 cm cells so that visibility
 * culling is precise; spheres and cylinders are tessellated until the flat
 * triangles are within `maxChordError` (10 µm) of the true surface, so the
 * mesh is "the truth" at the accuracy fusion is measured at (sub-millimetre).
 */
import type { TriangleMesh } from '../../geometry/mesh';
import type { Intrinsics } from '../../geometry/intrinsics';
import type { Pose } from '../../geometry/se3';
import { MeshBuilder } from './meshBuilder';
import { syntheticScene, type Primitive, type SyntheticScene, type SyntheticSceneName } from './scene';

export interface TruthMeshOptions {
  /** plane cell edge, metres (default 0.02) */
  planeCell?: number;
  /** max distance between a triangle and the curved surface it stands for, metres (default 1e-5) */
  maxChordError?: number;
}

type Axis = 0 | 1 | 2;

/** Axis-aligned rectangle at coordinate `value` on `axis`, facing `sign` along it. */
function axisRect(mb: MeshBuilder, axis: Axis, value: number, lo: readonly number[], hi: readonly number[], sign: 1 | -1, cell: number): void {
  const ua = ((axis + 1) % 3) as Axis;
  const va = ((axis + 2) % 3) as Axis;
  const nu = Math.max(1, Math.ceil((hi[ua]! - lo[ua]!) / cell - 1e-9));
  const nv = Math.max(1, Math.ceil((hi[va]! - lo[va]!) / cell - 1e-9));
  // (ua × va) is +axis for the cyclic order, so flip for faces pointing at −axis
  mb.grid(nu, nv, (s, t, out) => {
    out[axis] = value;
    out[ua] = lo[ua]! + s * (hi[ua]! - lo[ua]!);
    out[va] = lo[va]! + t * (hi[va]! - lo[va]!);
    out[3] = out[4] = out[5] = 0;
    out[3 + axis] = sign;
  }, sign < 0);
}

function boxFaces(mb: MeshBuilder, min: readonly number[], max: readonly number[], inward: boolean, cell: number): void {
  for (const axis of [0, 1, 2] as const) {
    axisRect(mb, axis, min[axis]!, min, max, inward ? 1 : -1, cell);
    axisRect(mb, axis, max[axis]!, min, max, inward ? -1 : 1, cell);
  }
}

/**
 * Equal-angle cube sphere: six faces, N×N cells each; a cell spans at most
 * (π/2)/N of arc, and a triangle's distance to the sphere is about
 * r·(arc·√2/2)²/2, so N follows from maxChordError (checked by the tests).
 */
function sphere(mb: MeshBuilder, c: readonly number[], r: number, maxErr: number): void {
  const arc = Math.sqrt((4 * maxErr) / r);
  const n = Math.max(4, Math.ceil(((Math.PI / 2) / arc) * 1.15));
  const faces: Array<[number[], number[], number[]]> = [
    [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[-1, 0, 0], [0, 0, 1], [0, 1, 0]],
    [[0, 1, 0], [0, 0, 1], [1, 0, 0]], [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
    [[0, 0, 1], [1, 0, 0], [0, 1, 0]], [[0, 0, -1], [0, 1, 0], [1, 0, 0]],
  ];
  for (const [f, u, v] of faces) {
    mb.grid(n, n, (s, t, out) => {
      const a = Math.tan((s - 0.5) * (Math.PI / 2));
      const b = Math.tan((t - 0.5) * (Math.PI / 2));
      const dx = f[0]! + a * u[0]! + b * v[0]!, dy = f[1]! + a * u[1]! + b * v[1]!, dz = f[2]! + a * u[2]! + b * v[2]!;
      const len = Math.hypot(dx, dy, dz);
      out[3] = dx / len; out[4] = dy / len; out[5] = dz / len;
      out[0] = c[0]! + r * out[3]; out[1] = c[1]! + r * out[4]; out[2] = c[2]! + r * out[5];
    }, false);
  }
}

/** Vertical capped cylinder: side segments from the chord error, caps as rings of ~cell width. */
function cylinder(mb: MeshBuilder, cx: number, cy: number, r: number, z0: number, z1: number, cell: number, maxErr: number): void {
  const seg = Math.max(8, Math.ceil(Math.PI / Math.acos(1 - maxErr / r)));
  const rows = Math.max(1, Math.ceil((z1 - z0) / cell));
  // u = angle (counter-clockwise seen from +z), v = height: u × v points outward
  mb.grid(seg, rows, (s, t, out) => {
    const a = 2 * Math.PI * s;
    out[3] = Math.cos(a); out[4] = Math.sin(a); out[5] = 0;
    out[0] = cx + r * out[3]; out[1] = cy + r * out[4]; out[2] = z0 + t * (z1 - z0);
  }, false);
  const rings = Math.max(1, Math.ceil(r / cell));
  for (const [z, up] of [[z1, true], [z0, false]] as const) {
    // u = angle, v = radius: u × v points down, so flip for the top cap
    mb.grid(seg, rings, (s, t, out) => {
      const a = 2 * Math.PI * s;
      out[0] = cx + r * t * Math.cos(a); out[1] = cy + r * t * Math.sin(a); out[2] = z;
      out[3] = 0; out[4] = 0; out[5] = up ? 1 : -1;
    }, up);
  }
}

function addPrimitive(mb: MeshBuilder, p: Primitive, cell: number, maxErr: number): void {
  switch (p.kind) {
    case 'room':
      return boxFaces(mb, p.min, p.max, true, cell);
    case 'box':
      return boxFaces(mb, p.min, p.max, false, cell);
    case 'sphere':
      return sphere(mb, p.centre, p.radius, maxErr);
    case 'cylinder':
      return cylinder(mb, p.centre[0], p.centre[1], p.radius, p.zMin, p.zMax, cell, maxErr);
  }
}

/**
 * Every surface of the scene, triangles facing free space (outward for
 * objects, inward for the room). Hidden parts (a box's bottom on the floor)
 * are included; cullToSeen removes what no camera saw.
 */
export function syntheticTruthMesh(scene: SyntheticSceneName | SyntheticScene, options: TruthMeshOptions = {}): TriangleMesh {
  const s = typeof scene === 'string' ? syntheticScene(scene) : scene;
  const cell = options.planeCell ?? 0.02;
  const maxErr = options.maxChordError ?? 1e-5;
  const mb = new MeshBuilder();
  for (const p of s.primitives) addPrimitive(mb, p, cell, maxErr);
  return mb.build();
}

/** A view for culling: intrinsics, noise-free depth and the camera-to-world pose (pose, else groundTruthPose). */
export interface CullView {
  intrinsics: Intrinsics;
  depth?: Float32Array;
  pose?: Pose;
  groundTruthPose?: Pose;
}

export interface CullOptions {
  /** |rendered depth − triangle plane depth| that still counts as the same surface, metres (default 0.005) */
  tolerance?: number;
}

/** Does one view see the triangle with centroid c and (unnormalised) normal n? */
function seenBy(view: CullView, pose: Pose, depth: Float32Array, c: Float64Array, n: Float64Array, tol: number): boolean {
  const ox = pose[3]!, oy = pose[7]!, oz = pose[11]!;
  const wx = c[0]! - ox, wy = c[1]! - oy, wz = c[2]! - oz;
  if (n[0]! * wx + n[1]! * wy + n[2]! * wz >= 0) return false; // back-facing
  // camera coordinates: Rᵀ (c − o)
  const x = pose[0]! * wx + pose[4]! * wy + pose[8]! * wz;
  const y = pose[1]! * wx + pose[5]! * wy + pose[9]! * wz;
  const z = pose[2]! * wx + pose[6]! * wy + pose[10]! * wz;
  if (z <= 1e-6) return false;
  const K = view.intrinsics;
  const u = (K.fx * x) / z + K.cx, v = (K.fy * y) / z + K.cy;
  const u0 = Math.floor(u), v0 = Math.floor(v);
  if (u0 < -1 || v0 < -1 || u0 >= K.width || v0 >= K.height) return false;
  // triangle plane in camera coordinates: nc·X = nc·(x, y, z)
  const ncx = pose[0]! * n[0]! + pose[4]! * n[1]! + pose[8]! * n[2]!;
  const ncy = pose[1]! * n[0]! + pose[5]! * n[1]! + pose[9]! * n[2]!;
  const ncz = pose[2]! * n[0]! + pose[6]! * n[1]! + pose[10]! * n[2]!;
  const d = ncx * x + ncy * y + ncz * z;
  for (let dv = 0; dv <= 1; dv++) {
    const pv = v0 + dv;
    if (pv < 0 || pv >= K.height) continue;
    for (let du = 0; du <= 1; du++) {
      const pu = u0 + du;
      if (pu < 0 || pu >= K.width) continue;
      const measured = depth[pv * K.width + pu]!;
      if (!(measured > 0)) continue;
      const denom = (ncx * (pu - K.cx)) / K.fx + (ncy * (pv - K.cy)) / K.fy + ncz;
      if (Math.abs(denom) < 1e-12) continue;
      if (Math.abs(measured - d / denom) < tol) return true;
    }
  }
  return false;
}

/**
 * Keep the triangles that at least one view saw: front-facing, centroid inside
 * the image, and the depth at a pixel next to the centroid's projection equal
 * (within tolerance) to the depth of the triangle's plane along that pixel's
 * ray — exact even at grazing angles. Unused vertices are dropped.
 */
export function cullToSeen(mesh: TriangleMesh, views: readonly CullView[], options: CullOptions = {}): TriangleMesh {
  const tol = options.tolerance ?? 0.005;
  const usable = views.flatMap((v) => {
    const pose = v.pose ?? v.groundTruthPose;
    return pose && v.depth ? [{ view: v, pose, depth: v.depth }] : [];
  });
  const idx = mesh.indices ?? new Uint32Array(0);
  const P = mesh.positions;
  const keep: number[] = [];
  const c = new Float64Array(3), n = new Float64Array(3);
  for (let t = 0; t < idx.length; t += 3) {
    const a = idx[t]! * 3, b = idx[t + 1]! * 3, d = idx[t + 2]! * 3;
    const e1x = P[b]! - P[a]!, e1y = P[b + 1]! - P[a + 1]!, e1z = P[b + 2]! - P[a + 2]!;
    const e2x = P[d]! - P[a]!, e2y = P[d + 1]! - P[a + 1]!, e2z = P[d + 2]! - P[a + 2]!;
    n[0] = e1y * e2z - e1z * e2y; n[1] = e1z * e2x - e1x * e2z; n[2] = e1x * e2y - e1y * e2x;
    c[0] = (P[a]! + P[b]! + P[d]!) / 3; c[1] = (P[a + 1]! + P[b + 1]! + P[d + 1]!) / 3; c[2] = (P[a + 2]! + P[b + 2]! + P[d + 2]!) / 3;
    for (const u of usable) {
      if (seenBy(u.view, u.pose, u.depth, c, n, tol)) {
        keep.push(t / 3);
        break;
      }
    }
  }
  return compact(mesh, keep);
}

/** The sub-mesh of the listed triangles, with only the vertices they use. */
function compact(mesh: TriangleMesh, triangles: readonly number[]): TriangleMesh {
  const idx = mesh.indices ?? new Uint32Array(0);
  const remap = new Int32Array(mesh.positions.length / 3).fill(-1);
  const indices = new Uint32Array(triangles.length * 3);
  let nv = 0;
  triangles.forEach((t, k) => {
    for (let j = 0; j < 3; j++) {
      const old = idx[t * 3 + j]!;
      if (remap[old]! < 0) remap[old] = nv++;
      indices[k * 3 + j] = remap[old]!;
    }
  });
  const positions = new Float32Array(nv * 3);
  const normals = mesh.normals ? new Float32Array(nv * 3) : undefined;
  const colors = mesh.colors ? new Uint8Array(nv * 3) : undefined;
  for (let old = 0; old < remap.length; old++) {
    const nw = remap[old]!;
    if (nw < 0) continue;
    for (let j = 0; j < 3; j++) {
      positions[nw * 3 + j] = mesh.positions[old * 3 + j]!;
      if (normals) normals[nw * 3 + j] = mesh.normals![old * 3 + j]!;
      if (colors) colors[nw * 3 + j] = mesh.colors![old * 3 + j]!;
    }
  }
  return { positions, indices, ...(normals ? { normals } : {}), ...(colors ? { colors } : {}) };
}
