/**
 * Pinhole intrinsics: the one camera type of the project (frames, kernels,
 * solvers, the wire protocol), validated by IntrinsicsSchema where it comes
 * from outside. Pixels; (cx, cy) follow OpenCV (pixel centres at integers).
 */
import type { z } from 'zod';
import type { IntrinsicsSchema } from '../config';

/** fx, fy, cx, cy in pixels and the image size they are for */
export type Intrinsics = z.infer<typeof IntrinsicsSchema>;

/** the pinhole part alone: what a solver projects with, or a preset that fits any sensor size */
export type Pinhole = Pick<Intrinsics, 'fx' | 'fy' | 'cx' | 'cy'>;

export function sameIntrinsics(a: Intrinsics, b: Intrinsics): boolean {
  return a.width === b.width && a.height === b.height && a.fx === b.fx && a.fy === b.fy && a.cx === b.cx && a.cy === b.cy;
}

/** Intrinsics of an image box-downsampled by `factor` (pixel centres at integers, OpenCV convention). */
export function scaleIntrinsics(K: Intrinsics, factor: number): Intrinsics {
  return {
    fx: K.fx / factor, fy: K.fy / factor, cx: (K.cx + 0.5) / factor - 0.5, cy: (K.cy + 0.5) / factor - 0.5,
    width: Math.floor(K.width / factor), height: Math.floor(K.height / factor),
  };
}

/** Pinhole intrinsics from a horizontal field of view (square pixels, centred principal point). */
export function intrinsicsFromFov(width: number, height: number, fovDeg: number): Intrinsics {
  const fx = width / 2 / Math.tan((fovDeg * Math.PI) / 360);
  return { fx, fy: fx, cx: (width - 1) / 2, cy: (height - 1) / 2, width, height };
}
