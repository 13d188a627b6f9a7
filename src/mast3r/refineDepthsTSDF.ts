import { Mast3rInputError } from './errors';
import { contextOf, type KernelOptions } from './native';
import { shapeString, sizeOf, type NdArray } from './ndarray';
import { CallBuffers, requireDistinct, tensorShape, type OutputOptions, type TensorInput } from './tensor';
import { floatData, requirePositiveInt } from './validate';

export interface RefineDepthsTSDFOptions extends KernelOptions, OutputOptions {
  /** the TSDF threshold τ (MASt3R's TSDF_thresh), > 0 */
  tau: number;
  /** candidate depths per pixel (default 1000) */
  samples?: number;
  /** Philox4x32-10 key (default 0); results depend only on it, not on threads or backend */
  seed?: number | bigint;
}

/** Packs cam→world [N, 4, 4] or [N, 3, 4] and pinhole K [N, 3, 3] into 16 floats per image. */
export function packCameras(poses: NdArray, K: NdArray, images: number): Float32Array {
  const okPose = poses.shape.length === 3 && poses.shape[0] === images && (poses.shape[1] === 3 || poses.shape[1] === 4) &&
    poses.shape[2] === 4;
  if (!okPose) throw new Mast3rInputError(`poses: expected cam→world [${images}, 4, 4] or [${images}, 3, 4], got ${shapeString(poses.shape)}`);
  if (K.shape.length !== 3 || K.shape[0] !== images || K.shape[1] !== 3 || K.shape[2] !== 3) {
    throw new Mast3rInputError(`K: expected [${images}, 3, 3], got ${shapeString(K.shape)}`);
  }
  const p = floatData('poses', poses);
  const k = floatData('K', K);
  const rows = poses.shape[1] as number;
  const out = new Float32Array(images * 16);
  for (let i = 0; i < images; i++) {
    for (let j = 0; j < 12; j++) {
      const v = p[i * rows * 4 + j] as number;
      if (!Number.isFinite(v)) throw new Mast3rInputError(`poses[${i}]: not finite`);
      out[i * 16 + j] = v;
    }
    const kk = k.subarray(i * 9, i * 9 + 9);
    if (kk[1] !== 0 || kk[3] !== 0 || kk[6] !== 0 || kk[7] !== 0 || kk[8] !== 1) {
      throw new Mast3rInputError(`K[${i}]: expected a pinhole [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], got [${Array.from(kk).join(', ')}]`);
    }
    if (!((kk[0] as number) !== 0 && Number.isFinite(kk[0] as number) && (kk[4] as number) !== 0 && Number.isFinite(kk[4] as number))) {
      throw new Mast3rInputError(`K[${i}]: fx and fy must be finite and non-zero`);
    }
    out[i * 16 + 12] = kk[0] as number;
    out[i * 16 + 13] = kk[4] as number;
    out[i * 16 + 14] = kk[2] as number;
    out[i * 16 + 15] = kk[5] as number;
  }
  return out;
}

export function seedWords(seed: number | bigint): [number, number] {
  const s = typeof seed === 'bigint' ? seed : BigInt(seed);
  if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new Mast3rInputError(`seed must be an integer, got ${seed}`);
  if (s < 0n || s >= 1n << 64n) throw new Mast3rInputError(`seed must be in [0, 2^64), got ${s}`);
  return [Number(s & 0xffffffffn), Number(s >> 32n)];
}

/**
 * The TSDF depth refinement of MASt3R's tsdf_optimizer.py: per pixel, samples
 * candidate depths d + (n − 1)·τ, scores each by the confidence-weighted TSDF
 * over all images and keeps the one closest to the zero level (see
 * mast3r-kernels.md). depths, confs: [N, H, W] (NativeTensors are read in
 * place); poses cam→world; K pinhole. With `out` the refined depths are a
 * view of that buffer, else a fresh array (the kernel's output copied once).
 * O(N²·H·W·samples) work, O(1) memory per pixel.
 */
export function refineDepthsTSDF(depths: TensorInput, confs: TensorInput, poses: NdArray, K: NdArray,
  opts: RefineDepthsTSDFOptions): NdArray<Float32Array> {
  const ds = tensorShape('depths', depths);
  if (ds.length !== 3) throw new Mast3rInputError(`depths: expected depths [N, H, W], got shape ${shapeString(ds)}`);
  if (sizeOf(ds) === 0) throw new Mast3rInputError(`depths: is empty (shape ${shapeString(ds)})`);
  const [N, H, W] = ds as [number, number, number];
  const cs = tensorShape('confs', confs);
  if (cs.length !== 3 || cs[0] !== N || cs[1] !== H || cs[2] !== W) {
    throw new Mast3rInputError(`confs: expected ${shapeString(ds)} like depths, got ${shapeString(cs)}`);
  }
  const tau = opts?.tau;
  if (typeof tau !== 'number' || !(tau > 0) || !Number.isFinite(tau)) throw new Mast3rInputError(`tau must be a finite number > 0, got ${tau}`);
  const samples = opts.samples ?? 1000;
  requirePositiveInt('samples', samples);
  const [seedLo, seedHi] = seedWords(opts.seed ?? 0);
  const cams = packCameras(poses, K, N);
  requireDistinct('out', opts.out, { depths, confs });
  const bufs = new CallBuffers(contextOf(opts));
  try {
    const out = bufs.output('out', opts.out, N * H * W * 4);
    bufs.ctx.call('ss_mast3r_refine_depths_tsdf', {
      images: N, width: W, height: H, samples, seed_lo: seedLo, seed_hi: seedHi, tau,
    }, { depths: bufs.input(depths), confs: bufs.input(confs), cams: bufs.params(cams), out });
    return { data: bufs.f32(out, N * H * W), shape: [N, H, W] };
  } finally {
    bufs.release();
  }
}
