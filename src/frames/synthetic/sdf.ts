/**
 * Signed distance to a synthetic scene's surface: positive in free space (the
 * air inside the room, outside every object), negative inside solids. Exact in
 * free space (the minimum of exact primitive distances is exact for a union);
 * inside solids it is a bound. |sdf| is the accuracy metric's ground truth.
 */
import { syntheticScene, type Primitive, type SyntheticScene, type SyntheticSceneName } from './scene';

/** Exact signed distance to an axis-aligned box (negative inside). */
function boxDistance(px: number, py: number, pz: number, min: readonly number[], max: readonly number[]): number {
  const qx = Math.abs(px - (min[0]! + max[0]!) / 2) - (max[0]! - min[0]!) / 2;
  const qy = Math.abs(py - (min[1]! + max[1]!) / 2) - (max[1]! - min[1]!) / 2;
  const qz = Math.abs(pz - (min[2]! + max[2]!) / 2) - (max[2]! - min[2]!) / 2;
  const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0), Math.max(qz, 0));
  return outside + Math.min(Math.max(qx, qy, qz), 0);
}

function primitiveDistance(p: Primitive, x: number, y: number, z: number): number {
  switch (p.kind) {
    case 'room':
      return -boxDistance(x, y, z, p.min, p.max);
    case 'box':
      return boxDistance(x, y, z, p.min, p.max);
    case 'sphere':
      return Math.hypot(x - p.centre[0], y - p.centre[1], z - p.centre[2]) - p.radius;
    case 'cylinder': {
      const dr = Math.hypot(x - p.centre[0], y - p.centre[1]) - p.radius;
      const dz = Math.abs(z - (p.zMin + p.zMax) / 2) - (p.zMax - p.zMin) / 2;
      return Math.min(Math.max(dr, dz), 0) + Math.hypot(Math.max(dr, 0), Math.max(dz, 0));
    }
  }
}

export function syntheticSdf(scene: SyntheticSceneName | SyntheticScene, point: ArrayLike<number>): number {
  const s = typeof scene === 'string' ? syntheticScene(scene) : scene;
  const x = point[0]!, y = point[1]!, z = point[2]!;
  let d = Infinity;
  for (const p of s.primitives) d = Math.min(d, primitiveDistance(p, x, y, z));
  return d;
}

/** Distance function bound to one scene (avoids rebuilding it per point). */
export function sceneSdf(scene: SyntheticSceneName | SyntheticScene): (point: ArrayLike<number>) => number {
  const s = typeof scene === 'string' ? syntheticScene(scene) : scene;
  return (point) => syntheticSdf(s, point);
}
