/**
 * Analytic scenes for tests and the demo: an axis-aligned room seen from the
 * inside, with boxes, spheres and vertical cylinders. World frame: metres,
 * z up, floor at z = 0. Everything here is exact, so depth, surface and
 * signed distance are known to the last bit.
 */
import type { SyntheticOptions } from '../../config';

export type Vec3 = readonly [number, number, number];
export type SyntheticSceneName = SyntheticOptions['scene'];

/** Procedural albedo: base colour × value noise × checker, all by world position (view-independent). */
export interface Material {
  /** linear albedo 0..1 */
  colour: Vec3;
  /** value-noise cell, metres */
  noiseCell: number;
  /** 0 = flat colour, 1 = noise spans black..colour */
  noiseAmount: number;
  /** checker cell, metres (0 = none) */
  checker: number;
  /** darkening of the odd checker cells, 0..1 */
  checkerContrast: number;
}

export type Primitive =
  | { kind: 'room'; min: Vec3; max: Vec3; material: number; floorMaterial: number; ceilingMaterial: number }
  | { kind: 'box'; min: Vec3; max: Vec3; material: number }
  | { kind: 'sphere'; centre: Vec3; radius: number; material: number }
  | { kind: 'cylinder'; centre: readonly [number, number]; radius: number; zMin: number; zMax: number; material: number };

/** A slow hand-held orbit (ellipse in the xy plane) looking at `target`. */
export interface CameraPath {
  centre: readonly [number, number];
  radii: readonly [number, number];
  height: number;
  target: Vec3;
  /** rad/s */
  angularSpeed: number;
  startAngle: number;
}

export interface SyntheticScene {
  name: string;
  /** primitives[0] is the room (the background every ray ends on) */
  primitives: Primitive[];
  materials: Material[];
  /** point light, world */
  light: Vec3;
  path: CameraPath;
}

const materials: Material[] = [
  { colour: [0.82, 0.78, 0.7], noiseCell: 0.06, noiseAmount: 0.45, checker: 0.5, checkerContrast: 0.25 }, // 0 walls
  { colour: [0.6, 0.44, 0.3], noiseCell: 0.03, noiseAmount: 0.5, checker: 0.25, checkerContrast: 0.35 }, // 1 floor
  { colour: [0.9, 0.9, 0.88], noiseCell: 0.1, noiseAmount: 0.3, checker: 0.6, checkerContrast: 0.15 }, // 2 ceiling
  { colour: [0.5, 0.32, 0.2], noiseCell: 0.02, noiseAmount: 0.55, checker: 0, checkerContrast: 0 }, // 3 table wood
  { colour: [0.85, 0.2, 0.15], noiseCell: 0.025, noiseAmount: 0.5, checker: 0.08, checkerContrast: 0.4 }, // 4 red
  { colour: [0.2, 0.45, 0.85], noiseCell: 0.03, noiseAmount: 0.5, checker: 0.1, checkerContrast: 0.4 }, // 5 blue
  { colour: [0.25, 0.7, 0.3], noiseCell: 0.02, noiseAmount: 0.5, checker: 0.05, checkerContrast: 0.35 }, // 6 green
  { colour: [0.9, 0.75, 0.2], noiseCell: 0.03, noiseAmount: 0.5, checker: 0.12, checkerContrast: 0.45 }, // 7 yellow
  { colour: [0.55, 0.55, 0.6], noiseCell: 0.04, noiseAmount: 0.6, checker: 0.15, checkerContrast: 0.3 }, // 8 grey
];

function table(x0: number, x1: number, y0: number, y1: number, top: number, thickness: number, leg: number): Primitive[] {
  const legs: Primitive[] = [];
  for (const [lx, ly] of [[x0 + 0.04, y0 + 0.04], [x1 - 0.04 - leg, y0 + 0.04], [x0 + 0.04, y1 - 0.04 - leg], [x1 - 0.04 - leg, y1 - 0.04 - leg]] as const) {
    legs.push({ kind: 'box', min: [lx, ly, 0], max: [lx + leg, ly + leg, top - thickness], material: 3 });
  }
  return [{ kind: 'box', min: [x0, y0, top - thickness], max: [x1, y1, top], material: 3 }, ...legs];
}

function roomScene(): SyntheticScene {
  return {
    name: 'room',
    primitives: [
      { kind: 'room', min: [-2, -1.5, 0], max: [2, 1.5, 2.5], material: 0, floorMaterial: 1, ceilingMaterial: 2 },
      ...table(-0.5, 0.5, -0.35, 0.35, 0.74, 0.04, 0.05),
      { kind: 'sphere', centre: [0.22, 0.05, 0.86], radius: 0.12, material: 4 },
      { kind: 'box', min: [-0.36, -0.22, 0.74], max: [-0.1, 0.04, 0.94], material: 5 },
      { kind: 'cylinder', centre: [0.0, 0.2], radius: 0.06, zMin: 0.74, zMax: 0.96, material: 7 },
      { kind: 'box', min: [1.45, -1.4, 0], max: [1.9, -0.85, 0.9], material: 8 },
      { kind: 'sphere', centre: [-1.55, 1.1, 0.25], radius: 0.25, material: 6 },
      { kind: 'box', min: [-1.9, -1.4, 0], max: [-1.4, -1.0, 0.5], material: 4 },
      { kind: 'cylinder', centre: [1.55, 1.05], radius: 0.15, zMin: 0, zMax: 0.6, material: 5 },
      { kind: 'box', min: [-0.6, 1.28, 1.1], max: [0.6, 1.45, 1.4], material: 7 },
    ],
    materials,
    light: [0.3, -0.2, 2.3],
    path: { centre: [0, 0], radii: [1.35, 0.95], height: 1.45, target: [0, 0, 0.7], angularSpeed: 0.35, startAngle: -Math.PI / 2 },
  };
}

function tabletopScene(): SyntheticScene {
  return {
    name: 'tabletop',
    primitives: [
      { kind: 'room', min: [-2, -2, 0], max: [2, 2, 2.6], material: 0, floorMaterial: 1, ceilingMaterial: 2 },
      ...table(-0.6, 0.6, -0.4, 0.4, 0.76, 0.04, 0.05),
      { kind: 'sphere', centre: [0.25, 0.12, 0.84], radius: 0.08, material: 4 },
      { kind: 'sphere', centre: [-0.3, -0.2, 0.82], radius: 0.06, material: 6 },
      { kind: 'box', min: [-0.15, -0.05, 0.76], max: [0.05, 0.1, 0.88], material: 5 },
      { kind: 'box', min: [-0.12, -0.02, 0.88], max: [0.02, 0.08, 0.95], material: 7 },
      { kind: 'box', min: [0.3, -0.3, 0.76], max: [0.45, -0.15, 0.82], material: 8 },
      { kind: 'cylinder', centre: [-0.35, 0.2], radius: 0.04, zMin: 0.76, zMax: 0.88, material: 7 },
      { kind: 'cylinder', centre: [0.1, -0.25], radius: 0.05, zMin: 0.76, zMax: 0.84, material: 4 },
    ],
    materials,
    light: [0.5, 0.4, 2.4],
    path: { centre: [0, 0], radii: [0.9, 0.9], height: 1.25, target: [0, 0, 0.8], angularSpeed: 0.45, startAngle: -Math.PI / 2 },
  };
}

/** A fresh copy of a named scene. */
export function syntheticScene(name: SyntheticSceneName): SyntheticScene {
  switch (name) {
    case 'room':
      return roomScene();
    case 'tabletop':
      return tabletopScene();
  }
}
