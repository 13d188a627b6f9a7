/**
 * A small analytic room for tracking tests: floor, three walls, a sphere and
 * two boxes, textured with a deterministic pattern so features and the
 * photometric term have something to hold on to. Exact depth by ray casting.
 */
import type { Intrinsics } from '../../src/geometry/intrinsics';
import type { Pose } from '../../src/geometry/se3';

interface Hit {
  t: number;
  /** texture coordinates on the surface */
  u: number;
  v: number;
  tint: number;
}

type Prim = (o: number[], d: number[]) => Hit | null;

function plane(axis: 0 | 1 | 2, at: number, tint: number): Prim {
  return (o, d) => {
    const dd = d[axis]!;
    if (Math.abs(dd) < 1e-12) return null;
    const t = (at - o[axis]!) / dd;
    if (!(t > 0)) return null;
    const p = [o[0]! + t * d[0]!, o[1]! + t * d[1]!, o[2]! + t * d[2]!];
    const [a, b] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
    return { t, u: p[a]!, v: p[b]!, tint };
  };
}

function sphere(c: number[], r: number, tint: number): Prim {
  return (o, d) => {
    const oc = [o[0]! - c[0]!, o[1]! - c[1]!, o[2]! - c[2]!];
    const a = d[0]! ** 2 + d[1]! ** 2 + d[2]! ** 2;
    const b = 2 * (oc[0]! * d[0]! + oc[1]! * d[1]! + oc[2]! * d[2]!);
    const cc = oc[0]! ** 2 + oc[1]! ** 2 + oc[2]! ** 2 - r * r;
    const disc = b * b - 4 * a * cc;
    if (disc < 0) return null;
    const t = (-b - Math.sqrt(disc)) / (2 * a);
    if (!(t > 0)) return null;
    const p = [o[0]! + t * d[0]! - c[0]!, o[1]! + t * d[1]! - c[1]!, o[2]! + t * d[2]! - c[2]!];
    return { t, u: Math.atan2(p[0]!, p[2]!) * r, v: p[1]!, tint };
  };
}

function box(lo: number[], hi: number[], tint: number): Prim {
  return (o, d) => {
    let t0 = -Infinity, t1 = Infinity, axis = 0;
    for (let k = 0; k < 3; k++) {
      if (Math.abs(d[k]!) < 1e-12) {
        if (o[k]! < lo[k]! || o[k]! > hi[k]!) return null;
        continue;
      }
      let a = (lo[k]! - o[k]!) / d[k]!, b = (hi[k]! - o[k]!) / d[k]!;
      if (a > b) [a, b] = [b, a];
      if (a > t0) {
        t0 = a;
        axis = k;
      }
      t1 = Math.min(t1, b);
    }
    if (!(t0 <= t1) || !(t0 > 0)) return null;
    const p = [o[0]! + t0 * d[0]!, o[1]! + t0 * d[1]!, o[2]! + t0 * d[2]!];
    const [a, b] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
    return { t: t0, u: p[a]!, v: p[b]!, tint };
  };
}

/** Room: x ∈ [−2, 2], y (down) floor at 1.2, z walls at 3.5 and side walls; camera near the origin looking +z. */
const prims: Prim[] = [
  plane(1, 1.2, 0), plane(1, -1.5, 1), plane(2, 3.5, 2), plane(0, -2, 3), plane(0, 2, 4), plane(2, -2, 5),
  sphere([0.5, 0.5, 2.3], 0.4, 6),
  box([-1.1, 0.3, 1.8], [-0.4, 1.2, 2.6], 7),
  box([0.9, -0.4, 2.7], [1.5, 0.2, 3.2], 8),
];

/** Smooth value-noise-like texture from sums of sines: distinctive at several scales, no repeats nearby. */
function texture(u: number, v: number, tint: number): number {
  const s = Math.sin(u * 13.1 + tint) * Math.cos(v * 11.7 - tint * 0.7) + 0.6 * Math.sin(u * 31.3 - v * 27.1 + tint * 2.1) +
    0.4 * Math.sin(u * 71.9 + v * 63.7) + 0.5 * Math.sign(Math.sin(u * 5.3 + tint) * Math.sin(v * 4.9 - tint));
  return Math.max(0, Math.min(255, 128 + 50 * s));
}

export function renderRoom(K: Intrinsics, pose: Pose): { depth: Float32Array; rgb: Uint8Array } {
  const { width: W, height: H } = K;
  const depth = new Float32Array(W * H);
  const rgb = new Uint8Array(W * H * 3);
  const o = [pose[3]!, pose[7]!, pose[11]!];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const rc = [(x - K.cx) / K.fx, (y - K.cy) / K.fy, 1];
      const d = [0, 1, 2].map((i) => pose[i * 4]! * rc[0]! + pose[i * 4 + 1]! * rc[1]! + pose[i * 4 + 2]! * rc[2]!);
      let best: Hit | null = null;
      for (const p of prims) {
        const h = p(o, d);
        if (h && (!best || h.t < best.t)) best = h;
      }
      if (!best) continue;
      const i = y * W + x;
      depth[i] = best.t;
      const g = texture(best.u, best.v, best.tint);
      rgb[3 * i] = Math.round(g * (0.7 + 0.05 * (best.tint % 3)));
      rgb[3 * i + 1] = Math.round(g * (0.8 - 0.03 * (best.tint % 4)));
      rgb[3 * i + 2] = Math.round(g * 0.9);
    }
  }
  return { depth, rgb };
}
