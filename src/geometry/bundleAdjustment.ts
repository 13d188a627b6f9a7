/**
 * Local RGB-D bundle adjustment: Levenberg-Marquardt over a few keyframe
 * poses and the landmarks they observe, with Huber-robust reprojection
 * residuals (pixels) and depth residuals (in units of the Kinect depth noise
 * σ_z = 1.5 mm·z², so one σ of depth weighs like one pixel). The landmarks
 * are eliminated by the Schur complement (each is a 3×3 block), leaving a
 * 6k × 6k camera system. The first keyframe is held fixed (gauge); depth
 * fixes the scale.
 */
import type { Pinhole } from './intrinsics';
import { invert3, solveSpd } from './linalg';
import { multiply, orthonormalize, type Pose, se3FromTwist } from './se3';

export interface BaObservation {
  /** index into cameras */
  camera: number;
  /** index into points */
  point: number;
  u: number;
  v: number;
  /** measured depth (metres) or NaN */
  depth: number;
}

export interface BaProblem {
  K: Pinhole;
  /** world-to-camera poses; refined in place (as new arrays) */
  cameras: Pose[];
  /** cameras[i] is held fixed when fixed[i] */
  fixed: boolean[];
  /** world points n × 3; refined */
  points: Float64Array;
  observations: BaObservation[];
}

export interface BaOptions {
  iterations?: number;
  /** Huber threshold on a residual in its own units (pixels / σ of depth) */
  huber?: number;
  /** depth noise σ_z = depthSigma · z² (metres) */
  depthSigma?: number;
}

export interface BaResult {
  iterations: number;
  /** robust cost before and after */
  initialCost: number;
  finalCost: number;
  /** RMS reprojection error (pixels) before and after, over all observations */
  initialRms: number;
  finalRms: number;
}

function huberWeight(r: number, delta: number): number {
  const a = Math.abs(r);
  return a <= delta ? 1 : delta / a;
}

function huberCost(r: number, delta: number): number {
  const a = Math.abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

interface Eval {
  cost: number;
  sq: number;
  count: number;
}

function evaluate(p: BaProblem, cams: Pose[], pts: Float64Array, huber: number, depthSigma: number): Eval {
  let cost = 0, sq = 0, count = 0;
  for (const o of p.observations) {
    const T = cams[o.camera] as Pose;
    const x = pts[3 * o.point] as number, y = pts[3 * o.point + 1] as number, z = pts[3 * o.point + 2] as number;
    const X = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number);
    const Y = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number);
    const Z = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number);
    if (!(Z > 1e-6)) {
      cost += huber * 1e3;
      continue;
    }
    const ru = p.K.fx * (X / Z) + p.K.cx - o.u, rv = p.K.fy * (Y / Z) + p.K.cy - o.v;
    cost += huberCost(ru, huber) + huberCost(rv, huber);
    sq += ru * ru + rv * rv;
    count++;
    if (Number.isFinite(o.depth)) cost += huberCost((Z - o.depth) / (depthSigma * o.depth * o.depth), huber);
  }
  return { cost, sq, count };
}

export function bundleAdjust(p: BaProblem, options: BaOptions = {}): BaResult {
  const iterations = options.iterations ?? 10;
  const huber = options.huber ?? 2;
  const depthSigma = options.depthSigma ?? 0.0015;
  const nc = p.cameras.length;
  const np = p.points.length / 3;
  const free: number[] = [];
  const col = new Int32Array(nc).fill(-1);
  for (let i = 0; i < nc; i++) if (!p.fixed[i]) col[i] = free.push(i) - 1;
  const nf = free.length;
  let cams: Pose[] = p.cameras.map((c) => Float64Array.from(c));
  let pts = Float64Array.from(p.points);
  const start = evaluate(p, cams, pts, huber, depthSigma);
  let cur = start;
  let lambda = 1e-4;
  let it = 0;
  const byPoint: BaObservation[][] = Array.from({ length: np }, () => []);
  for (const o of p.observations) byPoint[o.point]!.push(o);
  const Jc = new Float64Array(6), Jp = new Float64Array(3);
  for (; it < iterations; it++) {
    // normal equations: cameras (6 nf), points (3 each, block diagonal), cross terms per point
    const Hcc = new Float64Array(36 * nf * nf);
    const gc = new Float64Array(6 * nf);
    const Hpp = new Float64Array(9 * np);
    const gp = new Float64Array(3 * np);
    const Hcp = new Map<number, Float64Array>(); // key point * nc + camera → 6×3
    const addRow = (o: BaObservation, r: number, w: number): void => {
      const ci = col[o.camera] as number;
      const j = o.point;
      if (ci >= 0) {
        for (let a = 0; a < 6; a++) {
          gc[6 * ci + a]! += w * (Jc[a] as number) * r;
          for (let b = 0; b < 6; b++) Hcc[(6 * ci + a) * 6 * nf + 6 * ci + b]! += w * (Jc[a] as number) * (Jc[b] as number);
        }
        const key = j * nc + o.camera;
        let blk = Hcp.get(key);
        if (!blk) Hcp.set(key, (blk = new Float64Array(18)));
        for (let a = 0; a < 6; a++) for (let b = 0; b < 3; b++) blk[a * 3 + b]! += w * (Jc[a] as number) * (Jp[b] as number);
      }
      for (let a = 0; a < 3; a++) {
        gp[3 * j + a]! += w * (Jp[a] as number) * r;
        for (let b = 0; b < 3; b++) Hpp[9 * j + a * 3 + b]! += w * (Jp[a] as number) * (Jp[b] as number);
      }
    };
    for (const o of p.observations) {
      const T = cams[o.camera] as Pose;
      const j = o.point;
      const x = pts[3 * j] as number, y = pts[3 * j + 1] as number, z = pts[3 * j + 2] as number;
      const X = (T[0] as number) * x + (T[1] as number) * y + (T[2] as number) * z + (T[3] as number);
      const Y = (T[4] as number) * x + (T[5] as number) * y + (T[6] as number) * z + (T[7] as number);
      const Z = (T[8] as number) * x + (T[9] as number) * y + (T[10] as number) * z + (T[11] as number);
      if (!(Z > 1e-6)) continue;
      const iz = 1 / Z;
      const ru = p.K.fx * X * iz + p.K.cx - o.u, rv = p.K.fy * Y * iz + p.K.cy - o.v;
      // u row: d/dP = (fx/Z, 0, −fx X/Z²); camera twist (ω, v): dP/dω = −[P]×, dP/dv = I
      const a = p.K.fx * iz, b = -p.K.fx * X * iz * iz;
      Jc.set([b * Y, a * Z - b * X, -a * Y, a, 0, b]);
      Jp.set([a * (T[0] as number) + b * (T[8] as number), a * (T[1] as number) + b * (T[9] as number), a * (T[2] as number) + b * (T[10] as number)]);
      addRow(o, ru, huberWeight(ru, huber));
      const c = p.K.fy * iz, d = -p.K.fy * Y * iz * iz;
      Jc.set([-c * Z + d * Y, -d * X, c * X, 0, c, d]);
      Jp.set([c * (T[4] as number) + d * (T[8] as number), c * (T[5] as number) + d * (T[9] as number), c * (T[6] as number) + d * (T[10] as number)]);
      addRow(o, rv, huberWeight(rv, huber));
      if (Number.isFinite(o.depth)) {
        const s = 1 / (depthSigma * o.depth * o.depth);
        const rz = (Z - o.depth) * s;
        Jc.set([s * Y, -s * X, 0, 0, 0, s]);
        Jp.set([s * (T[8] as number), s * (T[9] as number), s * (T[10] as number)]);
        addRow(o, rz, huberWeight(rz, huber));
      }
    }
    // Schur complement: S = Hcc − Σ_j Hcp_j Hpp_j⁻¹ Hpcᵀ, b = −gc + Σ_j Hcp_j Hpp_j⁻¹ gp_j
    let accepted = false;
    for (let attempt = 0; attempt < 6 && !accepted; attempt++) {
      const S = Float64Array.from(Hcc);
      const bc = gc.map((v) => -v);
      for (let k = 0; k < 6 * nf; k++) S[k * 6 * nf + k]! *= 1 + lambda;
      const HppInv: (Float64Array | null)[] = new Array(np).fill(null);
      for (let j = 0; j < np; j++) {
        const H = Hpp.slice(9 * j, 9 * j + 9);
        for (let k = 0; k < 3; k++) H[4 * k]! *= 1 + lambda;
        for (let k = 0; k < 3; k++) H[4 * k]! += 1e-12;
        const inv = invert3(H, 1e-18);
        HppInv[j] = inv;
        if (!inv) continue;
        const obs = byPoint[j]!.filter((o) => (col[o.camera] as number) >= 0);
        const blocks = obs.map((o) => ({ ci: col[o.camera] as number, B: Hcp.get(j * nc + o.camera) }));
        const uniq = new Map<number, Float64Array>();
        for (const { ci, B } of blocks) if (B && !uniq.has(ci)) uniq.set(ci, B);
        const gj = [gp[3 * j] as number, gp[3 * j + 1] as number, gp[3 * j + 2] as number];
        for (const [ci, B] of uniq) {
          // BW = B · Hpp⁻¹ (6×3)
          const BW = new Float64Array(18);
          for (let r = 0; r < 6; r++) for (let c2 = 0; c2 < 3; c2++) {
            let sum = 0;
            for (let k = 0; k < 3; k++) sum += (B[r * 3 + k] as number) * (inv[k * 3 + c2] as number);
            BW[r * 3 + c2] = sum;
          }
          for (let r = 0; r < 6; r++) {
            let t = 0;
            for (let k = 0; k < 3; k++) t += (BW[r * 3 + k] as number) * gj[k]!;
            bc[6 * ci + r]! += t;
          }
          for (const [cj, C] of uniq) {
            for (let r = 0; r < 6; r++) for (let c2 = 0; c2 < 6; c2++) {
              let sum = 0;
              for (let k = 0; k < 3; k++) sum += (BW[r * 3 + k] as number) * (C[c2 * 3 + k] as number);
              S[(6 * ci + r) * 6 * nf + 6 * cj + c2]! -= sum;
            }
          }
        }
      }
      const dc = nf > 0 ? solveSpd(S, bc, 6 * nf) : new Float64Array(0);
      if (!dc) {
        lambda *= 10;
        continue;
      }
      const nextCams: Pose[] = cams.slice();
      for (let f = 0; f < nf; f++) nextCams[free[f]!] = orthonormalize(multiply(se3FromTwist(dc.subarray(6 * f, 6 * f + 6)), cams[free[f]!] as Pose));
      const nextPts = Float64Array.from(pts);
      for (let j = 0; j < np; j++) {
        const inv = HppInv[j];
        if (!inv) continue;
        // dp = Hpp⁻¹ (−gp − Σ Hcpᵀ dc)
        const rhs = [-(gp[3 * j] as number), -(gp[3 * j + 1] as number), -(gp[3 * j + 2] as number)];
        const seen = new Set<number>();
        for (const o of byPoint[j]!) {
          const ci = col[o.camera] as number;
          if (ci < 0 || seen.has(ci)) continue;
          seen.add(ci);
          const B = Hcp.get(j * nc + o.camera);
          if (!B) continue;
          for (let k = 0; k < 3; k++) for (let r = 0; r < 6; r++) rhs[k]! -= (B[r * 3 + k] as number) * (dc[6 * ci + r] as number);
        }
        for (let k = 0; k < 3; k++) nextPts[3 * j + k]! += (inv[k * 3] as number) * rhs[0]! + (inv[k * 3 + 1] as number) * rhs[1]! + (inv[k * 3 + 2] as number) * rhs[2]!;
      }
      const next = evaluate(p, nextCams, nextPts, huber, depthSigma);
      if (next.cost < cur.cost) {
        cams = nextCams;
        pts = nextPts;
        const gain = cur.cost - next.cost;
        cur = next;
        lambda = Math.max(1e-7, lambda / 3);
        accepted = true;
        if (gain < 1e-6 * Math.max(1, cur.cost)) it = iterations;
      } else {
        lambda *= 10;
      }
    }
    if (!accepted) break;
  }
  for (let i = 0; i < nc; i++) p.cameras[i] = cams[i] as Pose;
  p.points.set(pts);
  return {
    iterations: it, initialCost: start.cost, finalCost: cur.cost,
    initialRms: Math.sqrt(start.sq / Math.max(1, start.count)), finalRms: Math.sqrt(cur.sq / Math.max(1, cur.count)),
  };
}

