/**
 * A textured slanted plane seen by a few cameras, rendered analytically:
 * plane-sweep inputs with exact depth, small enough for the parity suite.
 */
import type { Intrinsics } from '../../src/geometry/intrinsics';
import type { Pose } from '../../src/geometry/se3';
import { seededRandom } from '../helpers/random';

export interface PlaneSceneView {
  gray: Uint8Array;
  depth: Float32Array;
  pose: Pose;
}

export interface PlaneScene {
  K: Intrinsics;
  ref: PlaneSceneView;
  views: PlaneSceneView[];
}

function translation(x: number, y: number, z: number, yaw = 0): Pose {
  const c = Math.cos(yaw), s = Math.sin(yaw);
  return new Float64Array([c, 0, s, x, 0, 1, 0, y, -s, 0, c, z, 0, 0, 0, 1]);
}

/**
 * Plane n·X = d in the world (the reference camera's frame): z = 2 + 0.3x − 0.2y
 * metres, textured by a sum of random sinusoids of its (x, y); cameras shifted
 * sideways by up to 15 cm and turned slightly.
 */
export function planeScene(seed: number, width = 64, height = 48, viewCount = 3): PlaneScene {
  const r = seededRandom(seed);
  const waves = Array.from({ length: 12 }, () => ({
    fx: (r() - 0.5) * 60, fy: (r() - 0.5) * 60, phase: r() * 6.283, amp: 10 + 20 * r(),
  }));
  const K: Intrinsics = { fx: 0.9 * width, fy: 0.9 * width, cx: (width - 1) / 2 + 0.3, cy: (height - 1) / 2 - 0.2, width, height };
  const slopeX = 0.3, slopeY = -0.2, z0 = 2;
  const render = (pose: Pose): PlaneSceneView => {
    const gray = new Uint8Array(width * height);
    const depth = new Float32Array(width * height);
    const o = [pose[3]!, pose[7]!, pose[11]!];
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++) {
        const rc = [(u - K.cx) / K.fx, (v - K.cy) / K.fy, 1];
        const d = [0, 1, 2].map((i) => pose[i * 4]! * rc[0]! + pose[i * 4 + 1]! * rc[1]! + pose[i * 4 + 2]! * rc[2]!);
        // z = z0 + sx x + sy y  ⇔  o + t d on it
        const t = (z0 + slopeX * o[0]! + slopeY * o[1]! - o[2]!) / (d[2]! - slopeX * d[0]! - slopeY * d[1]!);
        const px = o[0]! + t * d[0]!, py = o[1]! + t * d[1]!;
        let g = 128;
        for (const w of waves) g += w.amp * Math.sin(w.fx * px + w.fy * py + w.phase) / 3;
        gray[v * width + u] = Math.max(0, Math.min(255, Math.round(g)));
        depth[v * width + u] = t;
      }
    }
    return { gray, depth, pose };
  };
  const offsets: [number, number, number, number][] = [[0.12, 0, 0.02, -0.03], [-0.1, 0.04, 0, 0.02], [0.03, -0.12, -0.03, 0], [-0.05, -0.06, 0.05, 0.01]];
  return {
    K,
    ref: render(translation(0, 0, 0)),
    views: offsets.slice(0, viewCount).map(([x, y, z, yaw]) => render(translation(x, y, z, yaw))),
  };
}
