/**
 * Brute-force reciprocal nearest-neighbour matching, one native call per pair
 * of descriptor sets: Hamming for binary descriptors (ORB), squared L2 or dot
 * for float descriptors (e.g. MASt3R's 24-d unit vectors). Semantics of
 * MASt3R's bruteforce_reciprocal_nns: nnA[i] = argmin_j, nnB[j] = argmin_i,
 * ties → lowest index; i ↔ nnA[i] is a match when nnB[nnA[i]] = i and it
 * passes the distance and ratio gates.
 */
import type { NativeBuffer } from '../native/buffer';
import type { NativeContext } from '../native/context';
import { FLOAT_MATCH_METRIC, TRACKING_FLAG_PORTABLE } from '../native/kernels/trackingFeatures';

/** Descriptor arrays that cannot be matched (wrong type, size or dimension). */
export class DescriptorError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'DescriptorError';
  }
}

export interface MatchResult {
  /** index in b of each a's nearest neighbour */
  nnA: Int32Array;
  /** index in a of each b's nearest neighbour */
  nnB: Int32Array;
  /** best and second-best distance (Hamming bits, squared L2, or dot similarity) per a */
  bestA: Float64Array;
  secondA: Float64Array;
  /** 1 where a[i] ↔ b[nnA[i]] is a reciprocal match passing the gates */
  mask: Uint8Array;
  /** the matches as (i, j) pairs, ascending i */
  pairs: Int32Array;
}

export interface BinaryMatchOptions {
  /** bytes per descriptor (multiple of 4; ORB: 32) */
  bytes?: number;
  maxDistance?: number;
  /** Lowe ratio (1 = off) */
  ratio?: number;
  /** portable kernel bodies instead of SIMD (same output; for parity tests) */
  portable?: boolean;
}

export interface FloatMatchOptions {
  dim: number;
  metric?: 'l2' | 'dot';
  /** l2: squared distance must be ≤ threshold; dot: similarity must be ≥ threshold */
  threshold?: number;
  /** Lowe ratio on L2 distances (1 = off) */
  ratio?: number;
}

function pairsOf(mask: Uint8Array, nnA: Int32Array): Int32Array {
  let k = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) k++;
  const out = new Int32Array(2 * k);
  k = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    out[2 * k] = i;
    out[2 * k + 1] = nnA[i] as number;
    k++;
  }
  return out;
}

/** Reusable matcher: grows its native buffers as needed, never per call. */
export class ReciprocalMatcher {
  private readonly ctx: NativeContext;
  private bufs: Record<'a' | 'b' | 'outA' | 'outB', NativeBuffer | null> = { a: null, b: null, outA: null, outB: null };
  private destroyed = false;

  constructor(ctx: NativeContext) {
    this.ctx = ctx;
  }

  private buf(name: 'a' | 'b' | 'outA' | 'outB', bytes: number): NativeBuffer {
    const cur = this.bufs[name];
    if (cur && cur.bytes >= bytes) return cur;
    cur?.destroy();
    const next = this.ctx.buffer(Math.max(64, Math.ceil(bytes * 1.25)));
    this.bufs[name] = next;
    return next;
  }

  private check(): void {
    if (this.destroyed) throw new Error('ReciprocalMatcher was used after destroy()');
  }

  /** Hamming matching of n × bytes and m × bytes binary descriptors. */
  matchBinary(a: Uint8Array, b: Uint8Array, options: BinaryMatchOptions = {}): MatchResult {
    this.check();
    const bytes = options.bytes ?? 32;
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) {
      throw new DescriptorError(`binary descriptors must be Uint8Array, got ${a?.constructor?.name} and ${b?.constructor?.name}`);
    }
    if (!Number.isInteger(bytes) || bytes < 4 || bytes % 4 !== 0 || bytes > 256) {
      throw new DescriptorError(`binary descriptor size must be a multiple of 4 bytes in 4..256, got ${bytes}`);
    }
    if (a.length % bytes !== 0 || b.length % bytes !== 0) {
      throw new DescriptorError(`descriptor arrays of ${a.length} and ${b.length} bytes are not whole ${bytes}-byte descriptors`);
    }
    const n = a.length / bytes, m = b.length / bytes;
    if (n === 0 || m === 0) return emptyResult(n, m);
    const A = this.buf('a', a.length).write(a);
    const B = this.buf('b', b.length).write(b);
    const outA = this.buf('outA', n * 16), outB = this.buf('outB', m * 8);
    this.ctx.call('ss_hamming_match', {
      n, m, words: bytes / 4, block: 0, max_distance: Math.min(bytes * 8, Math.max(0, Math.floor(options.maxDistance ?? bytes * 8))),
      ratio: options.ratio ?? 1, flags: options.portable ? TRACKING_FLAG_PORTABLE : 0,
    }, { a: A, b: B, out_a: outA, out_b: outB });
    outA.download(0, n * 16);
    outB.download(0, m * 8);
    const oa = outA.i32(0, 4 * n), ob = outB.i32(0, 2 * m);
    const nnA = new Int32Array(n), nnB = new Int32Array(m), bestA = new Float64Array(n), secondA = new Float64Array(n), mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      nnA[i] = oa[4 * i] as number;
      bestA[i] = oa[4 * i + 1] as number;
      const s = oa[4 * i + 2] as number;
      secondA[i] = s === 0x7fffffff ? Infinity : s;
      mask[i] = oa[4 * i + 3] as number;
    }
    for (let j = 0; j < m; j++) nnB[j] = ob[2 * j] as number;
    return { nnA, nnB, bestA, secondA, mask, pairs: pairsOf(mask, nnA) };
  }

  /** Float matching of n × dim and m × dim descriptors (squared L2 or dot). */
  matchFloat(a: Float32Array, b: Float32Array, options: FloatMatchOptions): MatchResult {
    this.check();
    const dim = options.dim;
    if (!(a instanceof Float32Array) || !(b instanceof Float32Array)) {
      throw new DescriptorError(`float descriptors must be Float32Array, got ${a?.constructor?.name} and ${b?.constructor?.name}`);
    }
    if (!Number.isInteger(dim) || dim < 1 || dim > 4096) throw new DescriptorError(`descriptor dimension must be an integer in 1..4096, got ${dim}`);
    if (a.length % dim !== 0 || b.length % dim !== 0) {
      throw new DescriptorError(`descriptor arrays of ${a.length} and ${b.length} floats are not whole ${dim}-dimensional descriptors`);
    }
    const n = a.length / dim, m = b.length / dim;
    if (n === 0 || m === 0) return emptyResult(n, m);
    const metric = options.metric ?? 'l2';
    const A = this.buf('a', a.byteLength).write(a);
    const B = this.buf('b', b.byteLength).write(b);
    const outA = this.buf('outA', n * 16), outB = this.buf('outB', m * 8);
    this.ctx.call('ss_float_match', {
      n, m, dim, dist: FLOAT_MATCH_METRIC[metric], block: 0,
      threshold: options.threshold ?? (metric === 'l2' ? 3.4e38 : -3.4e38), ratio: options.ratio ?? 1,
    }, { a: A, b: B, out_a: outA, out_b: outB });
    outA.download(0, n * 16);
    outB.download(0, m * 8);
    const ia = outA.i32(0, 4 * n), fa = outA.f32(0, 4 * n), ib = outB.i32(0, 2 * m);
    const nnA = new Int32Array(n), nnB = new Int32Array(m), bestA = new Float64Array(n), secondA = new Float64Array(n), mask = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      nnA[i] = ia[4 * i] as number;
      bestA[i] = fa[4 * i + 1] as number;
      secondA[i] = fa[4 * i + 2] as number;
      mask[i] = ia[4 * i + 3] as number;
    }
    for (let j = 0; j < m; j++) nnB[j] = ib[2 * j] as number;
    return { nnA, nnB, bestA, secondA, mask, pairs: pairsOf(mask, nnA) };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of Object.values(this.bufs)) b?.destroy();
  }
}

function emptyResult(n: number, m: number): MatchResult {
  return {
    nnA: new Int32Array(n).fill(-1), nnB: new Int32Array(m).fill(-1), bestA: new Float64Array(n).fill(Infinity),
    secondA: new Float64Array(n).fill(Infinity), mask: new Uint8Array(n), pairs: new Int32Array(0),
  };
}
