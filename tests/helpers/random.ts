import { mulberry32 } from '../../src/geometry/random';

/** deterministic uniform [0, 1) */
export const seededRandom = mulberry32;

/** max |a−b| / max(|b|, floor) over finite entries; NaN positions must match */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number, y = b[i] as number;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(x - y) / Math.max(Math.abs(y), floor));
  }
  return worst;
}
