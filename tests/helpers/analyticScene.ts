import type { Intrinsics } from '../../src/geometry/intrinsics';
import type { Pose } from '../../src/geometry/se3';

/** A sphere in front of a wall plane z = wallZ: exact depth by ray casting, for fusion tests. */
export interface SphereScene {
  center: [number, number, number];
  radius: number;
  /** wall plane z = wallZ (facing −z), or null for the sphere alone */
  wallZ: number | null;
}

export const smallIntrinsics: Intrinsics = { fx: 300, fy: 300, cx: 159.5, cy: 119.5, width: 320, height: 240 };

/** camera at `eye` looking at `target`, y roughly down (OpenCV convention) */
export function lookAt(eye: [number, number, number], target: [number, number, number], up: [number, number, number] = [0, -1, 0]): Pose {
  const z = [target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]];
  const zn = Math.hypot(z[0]!, z[1]!, z[2]!);
  const zz = z.map((v) => v / zn) as [number, number, number];
  // x = up × z pointing right in the image when up is −y
  let x = [zz[1] * up[2] - zz[2] * up[1], zz[2] * up[0] - zz[0] * up[2], zz[0] * up[1] - zz[1] * up[0]];
  const xn = Math.hypot(x[0]!, x[1]!, x[2]!);
  x = x.map((v) => -v / xn);
  const y = [zz[1] * x[2]! - zz[2] * x[1]!, zz[2] * x[0]! - zz[0] * x[2]!, zz[0] * x[1]! - zz[1] * x[0]!];
  return new Float64Array([x[0]!, y[0]!, zz[0], eye[0], x[1]!, y[1]!, zz[1], eye[1], x[2]!, y[2]!, zz[2], eye[2], 0, 0, 0, 1]);
}

/** exact depth (camera z) and a shaded colour per pixel */
export function renderSphereScene(scene: SphereScene, K: Intrinsics, pose: Pose): { depth: Float32Array; rgb: Uint8Array } {
  const { width: W, height: H } = K;
  const depth = new Float32Array(W * H);
  const rgb = new Uint8Array(W * H * 3);
  const [cx, cy, cz] = scene.center;
  const o = [pose[3]!, pose[7]!, pose[11]!];
  for (let v = 0; v < H; v++) {
    for (let u = 0; u < W; u++) {
      const rc = [(u - K.cx) / K.fx, (v - K.cy) / K.fy, 1];
      const d = [0, 1, 2].map((i) => pose[i * 4]! * rc[0]! + pose[i * 4 + 1]! * rc[1]! + pose[i * 4 + 2]! * rc[2]!);
      let t = Infinity;
      let hitSphere = false;
      const ox = o[0]! - cx, oy = o[1]! - cy, oz = o[2]! - cz;
      const a = d[0]! * d[0]! + d[1]! * d[1]! + d[2]! * d[2]!;
      const b = 2 * (ox * d[0]! + oy * d[1]! + oz * d[2]!);
      const c = ox * ox + oy * oy + oz * oz - scene.radius * scene.radius;
      const disc = b * b - 4 * a * c;
      if (disc >= 0) {
        const ts = (-b - Math.sqrt(disc)) / (2 * a);
        if (ts > 0) {
          t = ts;
          hitSphere = true;
        }
      }
      if (scene.wallZ !== null && d[2]! > 0) {
        const tw = (scene.wallZ - o[2]!) / d[2]!;
        if (tw > 0 && tw < t) {
          t = tw;
          hitSphere = false;
        }
      }
      if (!Number.isFinite(t)) continue;
      const i = v * W + u;
      depth[i] = t; // rc has z = 1, so t is the camera z
      const px = o[0]! + t * d[0]!, py = o[1]! + t * d[1]!;
      const checker = (Math.floor(px * 20) + Math.floor(py * 20)) & 1;
      rgb[3 * i] = hitSphere ? 200 : 60 + 120 * checker;
      rgb[3 * i + 1] = hitSphere ? 80 : 60 + 120 * checker;
      rgb[3 * i + 2] = hitSphere ? 40 : 90;
    }
  }
  return { depth, rgb };
}

/** poses on a ring around the sphere plus views from above and below */
export function orbitPoses(scene: SphereScene, distance: number, count: number, withPoles = true): Pose[] {
  const [cx, cy, cz] = scene.center;
  const poses: Pose[] = [];
  for (let k = 0; k < count; k++) {
    const a = (2 * Math.PI * k) / count;
    poses.push(lookAt([cx + distance * Math.sin(a), cy + 0.15 * Math.sin(3 * a), cz - distance * Math.cos(a)], scene.center));
  }
  if (withPoles) {
    poses.push(lookAt([cx, cy - distance, cz + 0.01], scene.center, [0, 0, 1]));
    poses.push(lookAt([cx, cy + distance, cz + 0.01], scene.center, [0, 0, 1]));
  }
  return poses;
}
