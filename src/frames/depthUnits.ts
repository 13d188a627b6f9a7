/**
 * Sensor units ↔ metres. TUM stores depth as uint16 with 5000 units per metre
 * (0.2 mm steps, 13.1 m range); 0 means no measurement and stays 0.
 */
export const TUM_DEPTH_SCALE = 5000;

/** raw / scale, rounded to float32; 0 stays 0. */
export function depthToMetres(raw: Uint16Array, scale: number): Float32Array {
  const out = new Float32Array(raw.length);
  // raw / scale rather than raw · (1/scale): the correctly rounded quotient, so
  // a recorder that writes round(depth · scale) gets raw back exactly
  for (let i = 0; i < raw.length; i++) out[i] = raw[i]! / scale;
  return out;
}

/**
 * round(depth · scale) clamped to 65535; 0, NaN and negative values are refused
 * by the caller (see findInvalidDepth) rather than silently mapped.
 */
export function metresToDepth16(depth: Float32Array, scale: number): Uint16Array {
  const out = new Uint16Array(depth.length);
  for (let i = 0; i < depth.length; i++) {
    const v = Math.round(depth[i]! * scale);
    out[i] = v > 65535 ? 65535 : v < 0 ? 0 : v;
  }
  return out;
}

/** Index of the first NaN, infinite or negative depth, or -1 when all are valid. */
export function findInvalidDepth(depth: Float32Array): number {
  for (let i = 0; i < depth.length; i++) {
    const v = depth[i]!;
    if (!(v >= 0) || v === Infinity) return i;
  }
  return -1;
}
