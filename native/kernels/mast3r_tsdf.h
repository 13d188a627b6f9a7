/* TSDF depth refinement of MASt3R's tsdf_optimizer.py (_refine_depths_with_TSDF, niter = 1) */
#ifndef SS_KERNEL_MAST3R_TSDF_H
#define SS_KERNEL_MAST3R_TSDF_H

/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011): counter-based, so a sample's normal depends only on (seed, image,
 * pixel, sample) — not on threads, batching or backend. */
ss_device_inline void mast3r_philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                           uint32_t k1, ss_thread uint32_t* out) {
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0;
    uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* N(0,1) for sample s of a pixel: Box–Muller on Philox words 0 and 1 of
 * counter (s/2, pixel, image, 0); u1 = (w0 + 1)/2³² ∈ (0, 1], u2 = w1/2³²;
 * even s → r·cos(2πu2), odd s → r·sin(2πu2). */
ss_device_inline double mast3r_normal(uint32_t seed_lo, uint32_t seed_hi, uint32_t image, uint32_t pixel,
                                      uint32_t s) {
  uint32_t w[4];
  mast3r_philox4x32_10(s >> 1, pixel, image, 0u, seed_lo, seed_hi, w);
  double u1 = ((double)w[0] + 1.0) * 2.3283064365386963e-10;
  double u2 = (double)w[1] * 2.3283064365386963e-10;
  double r = mast3r_sqrt_d(-2.0 * mast3r_log_d(u1));
  double th = 6.283185307179586 * u2;
  return (s & 1u) ? r * mast3r_sin_d(th) : r * mast3r_cos_d(th);
}

/* i: flat (image, pixel) index. cams: 16 floats per image = cam→world 3×4
 * row-major, fx, fy, cx, cy. Geometry in float64. For each candidate
 * d' = d + (n − 1)·τ: back-project through image i, then for every image j
 * project (K·X, divide by z, round half to even as torch.round does),
 * SDF = D_j − z, unseen if SDF < −τ, TSDF_j = min(max(SDF, −τ), 1e20),
 * w_j = exp(C_j) when inside and seen. TSDF = Σ w·TSDF / Σ w, valid if Σ w ≠ 0;
 * |TSDF| is rounded to float32 (the reference's precision, so exact ties
 * stay ties) and the first candidate with the smallest wins (invalid = ∞,
 * so all-invalid picks candidate 0 like torch.argmin); if every |TSDF|
 * equals τ the depth is kept. The z sign is not checked (nor is it in
 * MASt3R). Weights are float64, so confidences above ~88 do not overflow
 * to inf as float32 exp would. */
ss_device_inline void mast3r_tsdf_refine_pixel(const ss_mast3r_refine_depths_tsdf_args args, uint32_t i,
                                               ss_global const float* depths, ss_global const float* confs,
                                               ss_global const float* cams, ss_global float* out) {
  uint32_t W = args.width, H = args.height, hw = W * H;
  uint32_t img = i / hw, pix = i % hw;
  double x = (double)(pix % W), y = (double)(pix / W);
  float d = depths[i];
  double tau = (double)args.tau;
  float tau_f = args.tau;
  ss_global const float* ci = cams + (uint64_t)img * 16;
  double rx = (x - (double)ci[14]) / (double)ci[12];
  double ry = (y - (double)ci[15]) / (double)ci[13];
  float best = SS_INF;
  double bestd = 0.0;
  bool allbad = true;
  for (uint32_t s = 0; s < args.samples; ++s) {
    double n = mast3r_normal(args.seed_lo, args.seed_hi, img, pix, s);
    double dc = (double)d + (n - 1.0) * tau;
    double X = dc * rx, Y = dc * ry, Z = dc;
    double px = ci[0] * X + ci[1] * Y + ci[2] * Z + ci[3];
    double py = ci[4] * X + ci[5] * Y + ci[6] * Z + ci[7];
    double pz = ci[8] * X + ci[9] * Y + ci[10] * Z + ci[11];
    double wsum = 0.0, vsum = 0.0;
    for (uint32_t j = 0; j < args.images; ++j) {
      ss_global const float* cj = cams + (uint64_t)j * 16;
      double dx = px - cj[3], dy = py - cj[7], dz = pz - cj[11];
      /* world → camera j: Rᵀ(p − t), as MASt3R's Rinv = Rᵀ */
      double qx = cj[0] * dx + cj[4] * dy + cj[8] * dz;
      double qy = cj[1] * dx + cj[5] * dy + cj[9] * dz;
      double qz = cj[2] * dx + cj[6] * dy + cj[10] * dz;
      double u = (cj[12] * qx + cj[14] * qz) / qz;
      double v = (cj[13] * qy + cj[15] * qz) / qz;
      if (!mast3r_finite_d(u) || !mast3r_finite_d(v)) continue;
      double ur = mast3r_rint_d(u), vr = mast3r_rint_d(v);
      if (!(ur >= 0.0 && ur < (double)W && vr >= 0.0 && vr < (double)H)) continue;
      uint64_t at = (uint64_t)j * hw + (uint64_t)vr * W + (uint64_t)ur;
      double sdf = (double)depths[at] - qz;
      if (sdf < -tau) continue;
      double tsdf = sdf < 1e20 ? sdf : 1e20;
      double w = mast3r_exp_d((double)confs[at]);
      wsum += w;
      vsum += w * tsdf;
    }
    float a = SS_INF;
    if (wsum != 0.0) {
      float t = (float)(vsum / wsum);
      a = t < 0.0f ? -t : t;
    }
    if (s == 0 || a < best) {
      bestd = dc;
      best = a;
    }
    if (!(a == tau_f)) allbad = false;
  }
  out[i] = allbad ? d : (float)bestd;
}

#endif
