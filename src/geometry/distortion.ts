/**
 * Brown–Conrady lens distortion (OpenCV's k1, k2, p1, p2, k3 on normalised
 * coordinates). Monocular geometry is sensitive to it: TUM fr1's k1 = 0.26
 * moves corner pixels by tens of pixels and fakes ~0.3° of parallax under a
 * pure rotation. Keypoints are undistorted analytically (fixed-point
 * iteration, as OpenCV's undistortPoints), and the small plane-sweep images
 * are resampled onto the undistorted pinhole grid.
 */
import type { Intrinsics } from './intrinsics';

export type Distortion = readonly [number, number, number, number, number];

export function isIdentityDistortion(d: Distortion | undefined): boolean {
  return !d || d.every((c) => c === 0);
}

/** distorted normalised coordinates of an ideal (undistorted) normalised point */
export function distortNormalized(d: Distortion, x: number, y: number): [number, number] {
  const [k1, k2, p1, p2, k3] = d;
  const r2 = x * x + y * y;
  const radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
  return [x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x), y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y];
}

/** ideal normalised coordinates of a distorted normalised point (20 fixed-point iterations, as OpenCV) */
export function undistortNormalized(d: Distortion, xd: number, yd: number): [number, number] {
  const [k1, k2, p1, p2, k3] = d;
  let x = xd, y = yd;
  for (let it = 0; it < 20; it++) {
    const r2 = x * x + y * y;
    const radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3));
    const dx = 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
    const dy = p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
    const nx = (xd - dx) / radial, ny = (yd - dy) / radial;
    if (Math.abs(nx - x) < 1e-12 && Math.abs(ny - y) < 1e-12) {
      x = nx;
      y = ny;
      break;
    }
    x = nx;
    y = ny;
  }
  return [x, y];
}

/**
 * Resamples an image (1 or 3 channels, 8-bit) taken through K with
 * distortion d onto the ideal pinhole camera K (same size): each output
 * pixel reads the distorted input bilinearly; outside → edge pixel.
 */
export function undistortImage(img: Uint8Array, K: Intrinsics, d: Distortion, channels: number): Uint8Array {
  const { width: w, height: h } = K;
  const out = new Uint8Array(img.length);
  for (let v = 0; v < h; v++) {
    for (let u = 0; u < w; u++) {
      const [xd, yd] = distortNormalized(d, (u - K.cx) / K.fx, (v - K.cy) / K.fy);
      const sx = Math.min(w - 1, Math.max(0, K.fx * xd + K.cx)), sy = Math.min(h - 1, Math.max(0, K.fy * yd + K.cy));
      const x0 = Math.min(w - 2, Math.floor(sx)), y0 = Math.min(h - 2, Math.floor(sy));
      const fx = sx - x0, fy = sy - y0;
      for (let c = 0; c < channels; c++) {
        const p = (y0 * w + x0) * channels + c;
        const top = (img[p] as number) + fx * ((img[p + channels] as number) - (img[p] as number));
        const bot = (img[p + w * channels] as number) + fx * ((img[p + w * channels + channels] as number) - (img[p + w * channels] as number));
        out[(v * w + u) * channels + c] = Math.round(top + fy * (bot - top));
      }
    }
  }
  return out;
}
