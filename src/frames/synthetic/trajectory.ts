/**
 * Hand-held-like camera motion for synthetic sequences: a slow orbit along the
 * scene's path, looking at its target, with small seeded sinusoidal jitter in
 * position, aim and roll (a few cm and ~2°), smooth at 30 fps.
 */
import type { Pose } from '../../geometry/se3';
import { uniformGenerator } from './random';
import type { CameraPath } from './scene';

interface Wobble {
  amplitude: number;
  /** Hz */
  frequency: number;
  phase: number;
}

/** Jitter terms: per channel two sinusoids, frequencies and phases from the seed. */
export interface CameraJitter {
  speed: Wobble;
  position: [Wobble[], Wobble[], Wobble[]];
  aim: [Wobble[], Wobble[], Wobble[]];
  roll: Wobble[];
}

export function cameraJitter(seed: number): CameraJitter {
  const rnd = uniformGenerator(seed ^ 0x2545f491);
  const wobble = (amplitude: number, fLow: number, fHigh: number): Wobble => ({
    amplitude,
    frequency: fLow + (fHigh - fLow) * rnd(),
    phase: 2 * Math.PI * rnd(),
  });
  const pair = (a: number): Wobble[] => [wobble(a, 0.15, 0.4), wobble(a * 0.4, 0.8, 1.6)];
  return {
    speed: wobble(0.12, 0.1, 0.3),
    position: [pair(0.02), pair(0.02), pair(0.015)],
    aim: [pair(0.04), pair(0.04), pair(0.03)],
    roll: [wobble(0.03, 0.1, 0.3), wobble(0.01, 0.7, 1.3)],
  };
}

function sum(ws: readonly Wobble[], t: number): number {
  let s = 0;
  for (const w of ws) s += w.amplitude * Math.sin(2 * Math.PI * w.frequency * t + w.phase);
  return s;
}

/** Camera-to-world pose (OpenCV axes: x right, y down, z forward) at time t seconds. */
export function cameraPoseAt(path: CameraPath, jitter: CameraJitter, t: number): Pose {
  const s = jitter.speed;
  const angle = path.startAngle + path.angularSpeed * (t + (s.amplitude / (2 * Math.PI * s.frequency)) * Math.sin(2 * Math.PI * s.frequency * t + s.phase));
  const eye = [
    path.centre[0] + path.radii[0] * Math.cos(angle) + sum(jitter.position[0], t),
    path.centre[1] + path.radii[1] * Math.sin(angle) + sum(jitter.position[1], t),
    path.height + sum(jitter.position[2], t),
  ] as const;
  const target = [path.target[0] + sum(jitter.aim[0], t), path.target[1] + sum(jitter.aim[1], t), path.target[2] + sum(jitter.aim[2], t)] as const;
  return lookAtWithRoll(eye, target, sum(jitter.roll, t));
}

/** z toward target, x = z × world-up (right), y = z × x (down), then rolled about z. */
export function lookAtWithRoll(eye: readonly [number, number, number], target: readonly [number, number, number], roll: number): Pose {
  let zx = target[0] - eye[0], zy = target[1] - eye[1], zz = target[2] - eye[2];
  const zn = Math.hypot(zx, zy, zz);
  zx /= zn; zy /= zn; zz /= zn;
  // x = z × (0, 0, 1)
  let xx = zy, xy = -zx;
  const xn = Math.hypot(xx, xy);
  if (xn < 1e-9) throw new RangeError('lookAtWithRoll: the view direction is vertical');
  xx /= xn; xy /= xn;
  const xz = 0;
  // y = z × x
  const yx = zy * xz - zz * xy, yy = zz * xx - zx * xz, yz = zx * xy - zy * xx;
  const c = Math.cos(roll), s = Math.sin(roll);
  const rx = [c * xx + s * yx, c * xy + s * yy, c * xz + s * yz];
  const ry = [-s * xx + c * yx, -s * xy + c * yy, -s * xz + c * yz];
  return new Float64Array([rx[0]!, ry[0]!, zx, eye[0], rx[1]!, ry[1]!, zy, eye[1], rx[2]!, ry[2]!, zz, eye[2], 0, 0, 0, 1]);
}
