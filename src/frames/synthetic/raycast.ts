/**
 * The analytic ray-caster: one ray per pixel centre through the pinhole,
 * closest hit over the scene's primitives, exact depth (camera z) and a shaded,
 * textured colour. Per frame, each object's screen rectangle (its box's corners
 * projected) limits which pixels test it. No allocation per pixel: all state is
 * in typed arrays made once per renderer.
 */
import type { Intrinsics } from '../../geometry/intrinsics';
import type { Pose } from '../../geometry/se3';
import type { Primitive, SyntheticScene } from './scene';
import { createAlbedoSampler } from './texture';

export interface SyntheticView {
  rgb: Uint8Array;
  /** camera z, metres (float32 of the exact double) */
  depth: Float32Array;
}

export interface Renderer {
  readonly intrinsics: Intrinsics;
  /** Render at a camera-to-world pose into `out` (allocated when absent). */
  render(pose: Pose, out?: SyntheticView): SyntheticView;
}

const ROOM = 0, BOX = 1, SPHERE = 2, CYLINDER = 3;
const STRIDE = 8;
const AMBIENT = 0.4;

/** kind, parameters (STRIDE each), material, world AABB per primitive. */
interface PackedScene {
  count: number;
  kind: Int32Array;
  param: Float64Array;
  material: Int32Array;
  aabb: Float64Array;
}

function pack(primitives: readonly Primitive[]): PackedScene {
  const n = primitives.length;
  const s: PackedScene = { count: n, kind: new Int32Array(n), param: new Float64Array(n * STRIDE), material: new Int32Array(n), aabb: new Float64Array(n * 6) };
  primitives.forEach((p, i) => {
    const o = i * STRIDE;
    const b = i * 6;
    s.material[i] = p.material;
    switch (p.kind) {
      case 'room':
      case 'box':
        s.kind[i] = p.kind === 'room' ? ROOM : BOX;
        s.param.set([...p.min, ...p.max], o);
        if (p.kind === 'room') {
          s.param[o + 6] = p.floorMaterial;
          s.param[o + 7] = p.ceilingMaterial;
        }
        s.aabb.set([...p.min, ...p.max], b);
        break;
      case 'sphere':
        s.kind[i] = SPHERE;
        s.param.set([...p.centre, p.radius], o);
        s.aabb.set([p.centre[0] - p.radius, p.centre[1] - p.radius, p.centre[2] - p.radius, p.centre[0] + p.radius, p.centre[1] + p.radius, p.centre[2] + p.radius], b);
        break;
      case 'cylinder':
        s.kind[i] = CYLINDER;
        s.param.set([p.centre[0], p.centre[1], p.radius, p.zMin, p.zMax], o);
        s.aabb.set([p.centre[0] - p.radius, p.centre[1] - p.radius, p.zMin, p.centre[0] + p.radius, p.centre[1] + p.radius, p.zMax], b);
        break;
    }
  });
  if (n === 0 || s.kind[0] !== ROOM || s.kind.subarray(1).includes(ROOM)) throw new RangeError('a synthetic scene needs exactly one room, as its first primitive');
  return s;
}

const LUT_SIZE = 16384;

/** linear [0, 1] → 8-bit sRGB, tabulated (three pow() per pixel cost more than the ray casting) */
const SRGB_LUT: Uint8Array = (() => {
  const lut = new Uint8Array(LUT_SIZE + 1);
  for (let i = 0; i <= LUT_SIZE; i++) {
    const v = i / LUT_SIZE;
    const c = v <= 0.0031308 ? 12.92 * v : 1.055 * Math.pow(v, 1 / 2.4) - 0.055;
    lut[i] = Math.round(Math.min(1, Math.max(0, c)) * 255);
  }
  return lut;
})();

function sRgbByte(v: number): number {
  return v >= 1 ? 255 : v <= 0 ? 0 : SRGB_LUT[(v * LUT_SIZE + 0.5) | 0]!;
}

export function createRenderer(scene: SyntheticScene, intrinsics: Intrinsics): Renderer {
  const S = pack(scene.primitives);
  const { width: W, height: H, fx, fy, cx, cy } = intrinsics;
  const mats = scene.materials;
  const albedo = createAlbedoSampler();
  const [lx, ly, lz] = scene.light;
  const xn = new Float64Array(W);
  for (let u = 0; u < W; u++) xn[u] = (u - cx) / fx;
  /** per-frame constants per primitive (origin-relative parameters) */
  const fc = new Float64Array(S.count * STRIDE);
  /** per-frame screen rectangle per primitive: u0, u1, v0, v1 */
  const rect = new Int32Array(S.count * 4);
  const active = new Int32Array(S.count);

  function screenRects(R: Float64Array, ox: number, oy: number, oz: number): void {
    for (let i = 1; i < S.count; i++) {
      let u0 = Infinity, u1 = -Infinity, v0 = Infinity, v1 = -Infinity;
      let behind = false;
      for (let c = 0; c < 8 && !behind; c++) {
        const px = S.aabb[i * 6 + (c & 1 ? 3 : 0)]! - ox, py = S.aabb[i * 6 + (c & 2 ? 4 : 1)]! - oy, pz = S.aabb[i * 6 + (c & 4 ? 5 : 2)]! - oz;
        const zc = R[2]! * px + R[5]! * py + R[8]! * pz;
        if (zc <= 1e-6) behind = true;
        const uc = (fx * (R[0]! * px + R[3]! * py + R[6]! * pz)) / zc + cx;
        const vc = (fy * (R[1]! * px + R[4]! * py + R[7]! * pz)) / zc + cy;
        u0 = Math.min(u0, uc); u1 = Math.max(u1, uc); v0 = Math.min(v0, vc); v1 = Math.max(v1, vc);
      }
      const r = i * 4;
      if (behind) {
        rect[r] = 0; rect[r + 1] = W - 1; rect[r + 2] = 0; rect[r + 3] = H - 1;
      } else {
        rect[r] = Math.max(0, Math.floor(u0) - 1); rect[r + 1] = Math.min(W - 1, Math.ceil(u1) + 1);
        rect[r + 2] = Math.max(0, Math.floor(v0) - 1); rect[r + 3] = Math.min(H - 1, Math.ceil(v1) + 1);
      }
    }
  }

  function frameConstants(ox: number, oy: number, oz: number): void {
    for (let i = 0; i < S.count; i++) {
      const o = i * STRIDE;
      const p = S.param;
      switch (S.kind[i]) {
        case ROOM:
        case BOX:
          fc[o] = p[o]! - ox; fc[o + 1] = p[o + 1]! - oy; fc[o + 2] = p[o + 2]! - oz;
          fc[o + 3] = p[o + 3]! - ox; fc[o + 4] = p[o + 4]! - oy; fc[o + 5] = p[o + 5]! - oz;
          break;
        case SPHERE: {
          const qx = ox - p[o]!, qy = oy - p[o + 1]!, qz = oz - p[o + 2]!, r = p[o + 3]!;
          fc[o] = qx; fc[o + 1] = qy; fc[o + 2] = qz; fc[o + 3] = qx * qx + qy * qy + qz * qz - r * r;
          break;
        }
        case CYLINDER: {
          const qx = ox - p[o]!, qy = oy - p[o + 1]!, r = p[o + 2]!;
          fc[o] = qx; fc[o + 1] = qy; fc[o + 2] = qx * qx + qy * qy - r * r;
          fc[o + 3] = r * r; fc[o + 4] = oz; fc[o + 5] = p[o + 3]!; fc[o + 6] = p[o + 4]!;
          break;
        }
      }
    }
  }

  function render(pose: Pose, out?: SyntheticView): SyntheticView {
    const view = out ?? { rgb: new Uint8Array(W * H * 3), depth: new Float32Array(W * H) };
    const rgb = view.rgb, depth = view.depth;
    // R column-major copy of the rotation: R[3c + r] = pose[4r + c]
    const R = new Float64Array(9);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) R[3 * c + r] = pose[4 * r + c]!;
    const ox = pose[3]!, oy = pose[7]!, oz = pose[11]!;
    frameConstants(ox, oy, oz);
    screenRects(R, ox, oy, oz);
    const r0x = R[0]!, r0y = R[1]!, r0z = R[2]!;
    for (let v = 0; v < H; v++) {
      const yn = (v - cy) / fy;
      const bx = R[3]! * yn + R[6]!, by = R[4]! * yn + R[7]!, bz = R[5]! * yn + R[8]!;
      let nActive = 0;
      for (let i = 1; i < S.count; i++) if (v >= rect[i * 4 + 2]! && v <= rect[i * 4 + 3]!) active[nActive++] = i;
      for (let u = 0; u < W; u++) {
        const x = xn[u]!;
        const dx = bx + r0x * x, dy = by + r0y * x, dz = bz + r0z * x;
        const ix = 1 / dx, iy = 1 / dy, iz = 1 / dz;
        // room, from inside: the nearest exit plane
        const tx = dx > 0 ? fc[3]! * ix : dx < 0 ? fc[0]! * ix : Infinity;
        const ty = dy > 0 ? fc[4]! * iy : dy < 0 ? fc[1]! * iy : Infinity;
        const tz = dz > 0 ? fc[5]! * iz : dz < 0 ? fc[2]! * iz : Infinity;
        let best = tx, face = 0;
        if (ty < best) { best = ty; face = 1; }
        if (tz < best) { best = tz; face = 2; }
        let hit = 0;
        for (let a = 0; a < nActive; a++) {
          const i = active[a]!;
          const r = i * 4;
          if (u < rect[r]! || u > rect[r + 1]!) continue;
          const o = i * STRIDE;
          const kind = S.kind[i]!;
          if (kind === BOX) {
            const ax = fc[o]! * ix, bxx = fc[o + 3]! * ix;
            const ay = fc[o + 1]! * iy, byy = fc[o + 4]! * iy;
            const az = fc[o + 2]! * iz, bzz = fc[o + 5]! * iz;
            const nx = ax < bxx ? ax : bxx, fx_ = ax < bxx ? bxx : ax;
            const ny = ay < byy ? ay : byy, fy_ = ay < byy ? byy : ay;
            const nz = az < bzz ? az : bzz, fz_ = az < bzz ? bzz : az;
            let tn = nx, f = 0;
            if (ny > tn) { tn = ny; f = 1; }
            if (nz > tn) { tn = nz; f = 2; }
            const tf = fx_ < fy_ ? (fx_ < fz_ ? fx_ : fz_) : fy_ < fz_ ? fy_ : fz_;
            if (tn <= tf && tn > 0 && tn < best) { best = tn; face = f; hit = i; }
          } else if (kind === SPHERE) {
            const b = fc[o]! * dx + fc[o + 1]! * dy + fc[o + 2]! * dz;
            const aa = dx * dx + dy * dy + dz * dz;
            const disc = b * b - aa * fc[o + 3]!;
            if (disc >= 0) {
              const t = (-b - Math.sqrt(disc)) / aa;
              if (t > 0 && t < best) { best = t; face = 0; hit = i; }
            }
          } else {
            const a2 = dx * dx + dy * dy;
            const b2 = fc[o]! * dx + fc[o + 1]! * dy;
            const disc = b2 * b2 - a2 * fc[o + 2]!;
            const oz_ = fc[o + 4]!, z0 = fc[o + 5]!, z1 = fc[o + 6]!;
            if (a2 > 0 && disc >= 0) {
              const t = (-b2 - Math.sqrt(disc)) / a2;
              const z = oz_ + t * dz;
              if (t > 0 && t < best && z >= z0 && z <= z1) { best = t; face = 0; hit = i; }
            }
            const capZ = oz_ > z1 ? z1 : oz_ < z0 ? z0 : NaN;
            if (dz !== 0 && capZ === capZ) {
              const t = (capZ - oz_) * iz;
              const qx = fc[o]! + t * dx, qy = fc[o + 1]! + t * dy;
              if (t > 0 && t < best && qx * qx + qy * qy <= fc[o + 3]!) { best = t; face = capZ === z1 ? 1 : 2; hit = i; }
            }
          }
        }
        const pix = v * W + u;
        depth[pix] = best;
        shade(hit, face, ox + best * dx, oy + best * dy, oz + best * dz, dx, dy, dz, rgb, pix * 3);
      }
    }
    return view;
  }

  function shade(i: number, face: number, px: number, py: number, pz: number, dx: number, dy: number, dz: number, rgb: Uint8Array, at: number): void {
    const o = i * STRIDE;
    const kind = S.kind[i]!;
    let nx = 0, ny = 0, nz = 0;
    let material = S.material[i]!;
    if (kind === ROOM || kind === BOX) {
      // axis face, facing the camera
      if (face === 0) nx = dx > 0 ? -1 : 1;
      else if (face === 1) ny = dy > 0 ? -1 : 1;
      else nz = dz > 0 ? -1 : 1;
      if (kind === ROOM && face === 2) material = S.param[o + (dz < 0 ? 6 : 7)]!;
    } else if (kind === SPHERE) {
      const r = S.param[o + 3]!;
      nx = (px - S.param[o]!) / r; ny = (py - S.param[o + 1]!) / r; nz = (pz - S.param[o + 2]!) / r;
    } else if (face === 0) {
      const r = S.param[o + 2]!;
      nx = (px - S.param[o]!) / r; ny = (py - S.param[o + 1]!) / r;
    } else {
      nz = face === 1 ? 1 : -1;
    }
    const m = mats[material]!;
    // sample just inside the surface so checker/noise cells do not flicker on cell boundaries
    const a = albedo.factor(m, Math.imul(material + 1, 0x9e3779b1), px - nx * 1e-6, py - ny * 1e-6, pz - nz * 1e-6);
    const Lx = lx - px, Ly = ly - py, Lz = lz - pz;
    const cosL = (nx * Lx + ny * Ly + nz * Lz) / Math.sqrt(Lx * Lx + Ly * Ly + Lz * Lz);
    const s = a * (AMBIENT + (1 - AMBIENT) * (cosL > 0 ? cosL : 0));
    rgb[at] = sRgbByte(m.colour[0] * s);
    rgb[at + 1] = sRgbByte(m.colour[1] * s);
    rgb[at + 2] = sRgbByte(m.colour[2] * s);
  }

  return { intrinsics: { ...intrinsics }, render };
}

/** One-off render (tests, culling views). */
export function renderView(scene: SyntheticScene, intrinsics: Intrinsics, pose: Pose): SyntheticView {
  return createRenderer(scene, intrinsics).render(pose);
}
