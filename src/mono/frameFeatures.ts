/**
 * ORB features of one frame as the monocular tracker uses them: pixels,
 * normalised coordinates, pyramid level (its σ), 256-bit descriptors, and a
 * coarse grid so a projection search looks at a few features, not all.
 */
import { isIdentityDistortion, undistortNormalized, type Distortion } from '../geometry/distortion';
import type { Intrinsics } from '../geometry/intrinsics';
import type { Features } from '../tracking/features';

const CELL = 16;

export class FrameFeatures {
  readonly count: number;
  /** pixels of the ideal (undistorted) pinhole camera K, x y per feature */
  readonly xy: Float64Array;
  /** normalised coordinates K⁻¹ [u v 1], x y per feature */
  readonly un: Float64Array;
  readonly level: Uint8Array;
  /** 8 words per feature */
  readonly desc: Uint32Array;
  /** 32 bytes per feature (for the native matcher) */
  readonly descBytes: Uint8Array;
  private readonly gridW: number;
  private readonly gridH: number;
  private readonly cellStart: Int32Array;
  private readonly cellItems: Int32Array;

  constructor(f: Features, K: Intrinsics, distortion?: Distortion) {
    this.count = f.count;
    this.xy = Float64Array.from(f.xy);
    this.un = new Float64Array(2 * f.count);
    const undistort = !isIdentityDistortion(distortion);
    for (let i = 0; i < f.count; i++) {
      let x = ((f.xy[2 * i] as number) - K.cx) / K.fx, y = ((f.xy[2 * i + 1] as number) - K.cy) / K.fy;
      if (undistort) {
        [x, y] = undistortNormalized(distortion as Distortion, x, y);
        this.xy[2 * i] = K.fx * x + K.cx;
        this.xy[2 * i + 1] = K.fy * y + K.cy;
      }
      this.un[2 * i] = x;
      this.un[2 * i + 1] = y;
    }
    this.level = f.level;
    this.descBytes = f.descriptors;
    this.desc = new Uint32Array(f.descriptors.buffer.slice(f.descriptors.byteOffset, f.descriptors.byteOffset + 32 * f.count));
    this.gridW = Math.ceil(K.width / CELL);
    this.gridH = Math.ceil(K.height / CELL);
    const cells = this.gridW * this.gridH;
    const counts = new Int32Array(cells + 1);
    const cellOf = new Int32Array(f.count);
    for (let i = 0; i < f.count; i++) {
      const cx = Math.min(this.gridW - 1, Math.max(0, Math.floor((this.xy[2 * i] as number) / CELL)));
      const cy = Math.min(this.gridH - 1, Math.max(0, Math.floor((this.xy[2 * i + 1] as number) / CELL)));
      cellOf[i] = cy * this.gridW + cx;
      counts[(cellOf[i] as number) + 1]!++;
    }
    for (let c = 0; c < cells; c++) counts[c + 1]! += counts[c] as number;
    this.cellStart = counts;
    this.cellItems = new Int32Array(f.count);
    const fill = counts.slice(0, cells);
    for (let i = 0; i < f.count; i++) this.cellItems[fill[cellOf[i] as number]!++] = i;
  }

  /** features within `radius` pixels of (x, y), into out; returns how many */
  near(x: number, y: number, radius: number, out: Int32Array): number {
    let k = 0;
    const x0 = Math.max(0, Math.floor((x - radius) / CELL)), x1 = Math.min(this.gridW - 1, Math.floor((x + radius) / CELL));
    const y0 = Math.max(0, Math.floor((y - radius) / CELL)), y1 = Math.min(this.gridH - 1, Math.floor((y + radius) / CELL));
    const r2 = radius * radius;
    for (let cy = y0; cy <= y1; cy++) {
      for (let cx = x0; cx <= x1; cx++) {
        const c = cy * this.gridW + cx;
        for (let p = this.cellStart[c] as number; p < (this.cellStart[c + 1] as number); p++) {
          const i = this.cellItems[p] as number;
          const dx = (this.xy[2 * i] as number) - x, dy = (this.xy[2 * i + 1] as number) - y;
          if (dx * dx + dy * dy <= r2 && k < out.length) out[k++] = i;
        }
      }
    }
    return k;
  }
}

function popcount(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

/** Hamming distance between descriptor i of a and descriptor j of b (8 words each). */
export function hamming(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  let d = 0;
  const oi = 8 * i, oj = 8 * j;
  for (let w = 0; w < 8; w++) d += popcount(((a[oi + w] as number) ^ (b[oj + w] as number)) >>> 0);
  return d;
}
