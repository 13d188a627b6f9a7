/**
 * Rotations: the SO(3) exponential and logarithm (Rodrigues) and unit
 * quaternions (x, y, z, w; Hamilton, w last as in TUM files). 3×3 matrices
 * are row-major.
 */

/** 3×3 rotation from an axis-angle vector (Rodrigues). */
export function so3Exp(w: ArrayLike<number>): Float64Array {
  const wx = w[0] as number, wy = w[1] as number, wz = w[2] as number;
  const th2 = wx * wx + wy * wy + wz * wz;
  const th = Math.sqrt(th2);
  // Taylor terms below 1e-4 rad keep sin θ/θ and (1−cos θ)/θ² exact in float64
  const A = th < 1e-4 ? 1 - th2 / 6 : Math.sin(th) / th;
  const B = th < 1e-4 ? 0.5 - th2 / 24 : (1 - Math.cos(th)) / th2;
  return new Float64Array([
    1 - B * (wy * wy + wz * wz), -A * wz + B * wx * wy, A * wy + B * wx * wz,
    A * wz + B * wx * wy, 1 - B * (wx * wx + wz * wz), -A * wx + B * wy * wz,
    -A * wy + B * wx * wz, A * wx + B * wy * wz, 1 - B * (wx * wx + wy * wy),
  ]);
}

/** Axis-angle vector of a 3×3 rotation (angle in [0, π]). */
export function so3Log(R: ArrayLike<number>): Float64Array {
  const r = (i: number): number => R[i] as number;
  const c = Math.min(1, Math.max(-1, (r(0) + r(4) + r(8) - 1) / 2));
  const th = Math.acos(c);
  const v = [r(7) - r(5), r(2) - r(6), r(3) - r(1)] as const;
  if (th < 1e-6) return new Float64Array([v[0] / 2, v[1] / 2, v[2] / 2]);
  if (Math.PI - th < 1e-4) {
    // near π the antisymmetric part vanishes: read the axis off R + I
    const d = [r(0), r(4), r(8)];
    const k = d[0]! >= d[1]! && d[0]! >= d[2]! ? 0 : d[1]! >= d[2]! ? 1 : 2;
    const axis = [0, 0, 0];
    axis[k] = Math.sqrt(Math.max(0, ((R[k * 3 + k] as number) + 1) / 2));
    for (let j = 0; j < 3; j++) if (j !== k) axis[j] = ((R[j * 3 + k] as number) + (R[k * 3 + j] as number)) / (4 * axis[k]!);
    const n = Math.hypot(axis[0]!, axis[1]!, axis[2]!);
    return new Float64Array([(axis[0]! / n) * th, (axis[1]! / n) * th, (axis[2]! / n) * th]);
  }
  const s = th / (2 * Math.sin(th));
  return new Float64Array([v[0] * s, v[1] * s, v[2] * s]);
}

/** Unit quaternion (x, y, z, w) of a 3×3 rotation (Shepperd's method), w ≥ 0. */
export function quaternionFromRotation(R: ArrayLike<number>): [number, number, number, number] {
  const r = (i: number): number => R[i] as number;
  const tr = r(0) + r(4) + r(8);
  let x: number, y: number, z: number, w: number;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    w = s / 4;
    x = (r(7) - r(5)) / s;
    y = (r(2) - r(6)) / s;
    z = (r(3) - r(1)) / s;
  } else if (r(0) > r(4) && r(0) > r(8)) {
    const s = Math.sqrt(1 + r(0) - r(4) - r(8)) * 2;
    w = (r(7) - r(5)) / s;
    x = s / 4;
    y = (r(1) + r(3)) / s;
    z = (r(2) + r(6)) / s;
  } else if (r(4) > r(8)) {
    const s = Math.sqrt(1 + r(4) - r(0) - r(8)) * 2;
    w = (r(2) - r(6)) / s;
    x = (r(1) + r(3)) / s;
    y = s / 4;
    z = (r(5) + r(7)) / s;
  } else {
    const s = Math.sqrt(1 + r(8) - r(0) - r(4)) * 2;
    w = (r(3) - r(1)) / s;
    x = (r(2) + r(6)) / s;
    y = (r(5) + r(7)) / s;
    z = s / 4;
  }
  const n = Math.hypot(x, y, z, w);
  const sg = w < 0 ? -1 : 1;
  return [(sg * x) / n, (sg * y) / n, (sg * z) / n, (sg * w) / n];
}

/** 3×3 rotation of a quaternion (x, y, z, w); normalised first. */
export function rotationFromQuaternion(qx: number, qy: number, qz: number, qw: number): Float64Array {
  const n = Math.hypot(qx, qy, qz, qw);
  const x = qx / n, y = qy / n, z = qz / n, w = qw / n;
  return new Float64Array([
    1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
    2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
    2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
  ]);
}
