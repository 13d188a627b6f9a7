/**
 * Coarse-to-fine point-to-plane ICP (optionally hybrid with a photometric
 * term) between two RGB-D pyramids: one native reduction per level-iteration,
 * the 6×6 solve and the pose update here in float64.
 */
import { solveSpd, symmetricEigen } from '../geometry/linalg';
import { multiply, orthonormalize, type Pose, se3FromTwist } from '../geometry/se3';
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { ICP_OUT, icpReduce } from '../native/kernels/tracking';
import type { PyramidLevel, RgbdPyramid } from './pyramid';

export interface IcpParams {
  /** Gauss-Newton iterations per level, index 0 = finest */
  iterations: readonly number[];
  /** association distance gate per level, metres */
  maxDist: readonly number[];
  /** cosine of the largest angle between associated normals */
  minNormalCos: number;
  /** Huber threshold on the point-to-plane residual, metres (0 = least squares) */
  huberDelta: number;
  useColor: boolean;
  /** photometric residuals (intensity in [0, 1]) are multiplied by this before squaring */
  colorWeight: number;
  colorHuberDelta: number;
  /** stop a level when the update is below this (radians / metres) */
  epsilon: number;
}

export interface IcpResult {
  /** current camera → reference camera */
  curToRef: Pose;
  iterations: number;
  /** geometric pairs at the finest level's last iteration */
  pairs: number;
  /** valid current points at that level */
  valid: number;
  /** pairs / valid */
  inlierFraction: number;
  /** RMS point-to-plane residual of the pairs (metres, weighted by Huber and the gates' taper, icp_reduce.h) */
  rmse: number;
  /** photometric pairs / valid current points (the normal-angle gate is geometric only: a photometric pair may lack a geometric one),
   * and their RMS intensity residual (÷ colorWeight, in [0, 1] units) */
  photoFraction: number;
  photoRmse: number;
  /** smallest eigenvalue of JᵀJ / pairs at the finest level: near 0 = a direction the geometry does not constrain */
  minEigen: number;
  /** the solve failed (singular system) at some level */
  singular: boolean;
}

export class IcpSolver {
  private readonly ctx: NativeContext;
  private readonly out: NativeBuffer;
  private readonly H = new Float64Array(36);
  private readonly g = new Float64Array(6);
  /** the reduction's pose argument (float32), and copies of the finest level's last reduction and system: reused every iteration */
  private readonly curToRef = new Float32Array(12);
  private readonly lastOut = new Float64Array(32);
  private readonly lastH = new Float64Array(36);

  constructor(ctx: NativeContext) {
    this.ctx = ctx;
    this.out = ctx.buffer(256);
  }

  private reduce(cur: PyramidLevel, ref: PyramidLevel, refGray: NativeBuffer, T: Pose, maxDist: number, p: IcpParams): Float64Array {
    const f = this.curToRef;
    for (let i = 0; i < 12; i++) f[i] = T[i] as number;
    return icpReduce(this.ctx, ref.K, {
      curToRef: f, maxDist, minNormalCos: p.minNormalCos, huberDelta: p.huberDelta, useColor: p.useColor,
      colorWeight: p.colorWeight, colorHuberDelta: p.colorHuberDelta,
    }, {
      curPoints: cur.points, curNormals: cur.normals, curGray: cur.gray, refPoints: ref.points, refNormals: ref.normals,
      refGray, out: this.out,
    });
  }

  private unpack(o: Float64Array): void {
    let k = 0;
    for (let r = 0; r < 6; r++) {
      for (let s = r; s < 6; s++) {
        const v = o[ICP_OUT.JTJ + k++] as number;
        this.H[r * 6 + s] = v;
        this.H[s * 6 + r] = v;
      }
      this.g[r] = -(o[ICP_OUT.JTR + r] as number);
    }
  }

  /**
   * Aligns cur to ref starting from `initial` (cur → ref). The photometric
   * term reads `grayFrom`'s gray levels (default: ref's own), which must be
   * seen from the reference pose.
   */
  align(cur: RgbdPyramid, ref: RgbdPyramid, initial: Pose, p: IcpParams, grayFrom: RgbdPyramid = ref): IcpResult {
    let T = initial;
    let total = 0;
    let singular = false;
    let last: Float64Array | null = null;
    let lastH: Float64Array | null = null;
    for (let l = Math.min(cur.levels.length, p.iterations.length) - 1; l >= 0; l--) {
      const cl = cur.levels[l] as PyramidLevel;
      const rl = ref.levels[l] as PyramidLevel;
      const maxDist = p.maxDist[Math.min(l, p.maxDist.length - 1)] as number;
      const iters = p.iterations[l] as number;
      for (let it = 0; it < iters; it++) {
        const o = this.reduce(cl, rl, (grayFrom.levels[l] as PyramidLevel).gray, T, maxDist, p);
        total++;
        if (l === 0) {
          // o is a view of the native output, which the next reduction overwrites
          last = this.lastOut;
          last.set(o);
        }
        if ((o[ICP_OUT.GEO_COUNT] as number) < 12) {
          singular = true;
          break;
        }
        this.unpack(o);
        if (l === 0) {
          lastH = this.lastH;
          lastH.set(this.H);
        }
        const xi = solveSpd(this.H, this.g, 6);
        if (!xi) {
          singular = true;
          break;
        }
        T = orthonormalize(multiply(se3FromTwist(xi), T));
        if (process.env.SS_ICP_DEBUG) console.log(`L${l} it${it} pairs ${o[ICP_OUT.GEO_COUNT]} photo ${o[ICP_OUT.PHOTO_COUNT]} rms ${Math.sqrt((o[ICP_OUT.GEO_SQ] as number) / (o[ICP_OUT.GEO_COUNT] as number)).toFixed(5)} t ${[T[3], T[7], T[11]].map((v) => (v as number).toFixed(4))}`);
        const step = Math.hypot(xi[0] as number, xi[1] as number, xi[2] as number) + Math.hypot(xi[3] as number, xi[4] as number, xi[5] as number);
        if (step < p.epsilon) break;
      }
    }
    const pairs = last ? (last[ICP_OUT.GEO_COUNT] as number) : 0;
    const valid = last ? (last[ICP_OUT.VALID] as number) : 0;
    let minEigen = 0;
    if (lastH && pairs > 0) {
      const e = symmetricEigen(lastH, 6);
      minEigen = (e.values[0] as number) / pairs;
    }
    return {
      curToRef: T, iterations: total, pairs, valid,
      inlierFraction: valid > 0 ? pairs / valid : 0,
      rmse: pairs > 0 ? Math.sqrt((last![ICP_OUT.GEO_SQ] as number) / pairs) : Infinity,
      minEigen, singular,
      photoFraction: valid > 0 && last ? (last[ICP_OUT.PHOTO_COUNT] as number) / valid : 0,
      photoRmse: last && (last[ICP_OUT.PHOTO_COUNT] as number) > 0 && p.colorWeight > 0
        ? Math.sqrt((last[ICP_OUT.PHOTO_SQ] as number) / (last[ICP_OUT.PHOTO_COUNT] as number)) / p.colorWeight : NaN,
    };
  }

  destroy(): void {
    this.out.destroy();
  }
}
