import { Mast3rInputError } from './errors';

export interface Correspondences {
  /** N×2 (x, y) in image 1, row-major */
  xy1: Int32Array;
  /** N×2 (x, y) in image 2 */
  xy2: Int32Array;
  /** flat pixel indices y·W + x of each pair */
  idx1: Int32Array;
  idx2: Int32Array;
  /** per pair, the position of its first occurrence in the input (np.unique's return_index) */
  index: Int32Array;
  count: number;
}

/**
 * MASt3R's merge_corres: drops duplicate (idx1, idx2) pairs and sorts by idx1,
 * then idx2; (x, y) = (idx % W, idx // W) per side.
 */
export function mergeCorrespondences(idx1: Int32Array, idx2: Int32Array, width1: number, width2: number): Correspondences {
  if (idx1.length !== idx2.length) {
    throw new Mast3rInputError(`mergeCorrespondences: idx1 has ${idx1.length} entries but idx2 has ${idx2.length}`);
  }
  if (!(width1 >= 1) || !(width2 >= 1)) throw new Mast3rInputError('mergeCorrespondences: widths must be >= 1');
  const n = idx1.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if ((idx1[i] as number) < 0 || (idx2[i] as number) < 0) {
      throw new Mast3rInputError(`mergeCorrespondences: negative index at ${i}`);
    }
    order[i] = i;
  }
  // stable on ties (equal pairs keep input order), so the first occurrence leads
  order.sort((a, b) => (idx1[a] as number) - (idx1[b] as number) || (idx2[a] as number) - (idx2[b] as number) || a - b);
  const keep: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    const prev = k > 0 ? (order[k - 1] as number) : -1;
    if (prev >= 0 && idx1[prev] === idx1[i] && idx2[prev] === idx2[i]) continue;
    keep.push(i);
  }
  const count = keep.length;
  const out: Correspondences = {
    xy1: new Int32Array(2 * count), xy2: new Int32Array(2 * count),
    idx1: new Int32Array(count), idx2: new Int32Array(count), index: new Int32Array(count), count,
  };
  for (let k = 0; k < count; k++) {
    const i = keep[k] as number;
    const a = idx1[i] as number;
    const b = idx2[i] as number;
    out.idx1[k] = a;
    out.idx2[k] = b;
    out.index[k] = i;
    out.xy1[2 * k] = a % width1;
    out.xy1[2 * k + 1] = Math.floor(a / width1);
    out.xy2[2 * k] = b % width2;
    out.xy2[2 * k + 1] = Math.floor(b / width2);
  }
  return out;
}

/**
 * MASt3R's demo filter: keeps matches at least `border` pixels inside both
 * images (x >= border and x < W − border, same for y).
 */
export function dropBorderMatches(c: Correspondences, size1: { width: number; height: number },
  size2: { width: number; height: number }, border = 3): Correspondences {
  const keep: number[] = [];
  const inside = (xy: Int32Array, k: number, s: { width: number; height: number }): boolean => {
    const x = xy[2 * k] as number;
    const y = xy[2 * k + 1] as number;
    return x >= border && x < s.width - border && y >= border && y < s.height - border;
  };
  for (let k = 0; k < c.count; k++) if (inside(c.xy1, k, size1) && inside(c.xy2, k, size2)) keep.push(k);
  const pick = (src: Int32Array, per: number): Int32Array => {
    const out = new Int32Array(keep.length * per);
    keep.forEach((k, i) => { for (let d = 0; d < per; d++) out[i * per + d] = src[k * per + d] as number; });
    return out;
  };
  return {
    xy1: pick(c.xy1, 2), xy2: pick(c.xy2, 2), idx1: pick(c.idx1, 1), idx2: pick(c.idx2, 1),
    index: pick(c.index, 1), count: keep.length,
  };
}
