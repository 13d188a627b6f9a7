/* TSDF depth refinement of MASt3R's tsdf_optimizer.py (_refine_depths_with_TSDF, niter = 1);
 * needs mast3r_real.h */
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

/* N(0,1) for sample s of a pixel: Box–Muller (mast3r_real.h) on Philox words 0
 * and 1 of counter (s/2, pixel, image, 0); u1 = (w0 + 1)/2³² ∈ (0, 1],
 * u2 = w1/2³²; even s → r·cos(2πu2), odd s → r·sin(2πu2). */
ss_device_inline mast3r_real mast3r_normal(uint32_t seed_lo, uint32_t seed_hi, uint32_t image, uint32_t pixel,
                                           uint32_t s) {
  uint32_t w[4];
  mast3r_philox4x32_10(s >> 1, pixel, image, 0u, seed_lo, seed_hi, w);
  return m3r_box_muller(w[0], w[1], (s & 1u) != 0u);
}

/* i: flat (image, pixel) index. cams: 16 floats per image = cam→world 3×4
 * row-major, fx, fy, cx, cy. Geometry in mast3r_real (float64; float-float on
 * Metal, so the nearest pixel of a projection is the CPU's). For each candidate
 * d' = d + (n − 1)·τ: back-project through image i, then for every image j
 * project (K·X, divide by z, round half to even as torch.round does),
 * SDF = D_j − z, unseen if SDF < −τ, TSDF_j = min(max(SDF, −τ), 1e20),
 * w_j = exp(C_j) when inside and seen. TSDF = Σ w·TSDF / Σ w, valid if Σ w ≠ 0;
 * |TSDF| is rounded to float32 (the reference's precision, so exact ties
 * stay ties) and the first candidate with the smallest wins (invalid = ∞,
 * so all-invalid picks candidate 0 like torch.argmin); if every |TSDF|
 * equals τ the depth is kept. The z sign is not checked (nor is it in
 * MASt3R). Weights are wide, so confidences above ~88 do not overflow
 * to inf as float32 exp would. */
ss_device_inline void mast3r_tsdf_refine_pixel(const ss_mast3r_refine_depths_tsdf_args args, uint32_t i,
                                               ss_global const float* depths, ss_global const float* confs,
                                               ss_global const float* cams, ss_global float* out) {
  uint32_t W = args.width, H = args.height, hw = W * H;
  uint32_t img = i / hw, pix = i % hw;
  mast3r_real x = m3r((float)(pix % W)), y = m3r((float)(pix / W));
  float d = depths[i];
  mast3r_real tau = m3r(args.tau);
  float tau_f = args.tau;
  ss_global const float* ci = cams + (uint64_t)img * 16;
  mast3r_real rx = (x - m3r(ci[14])) / m3r(ci[12]);
  mast3r_real ry = (y - m3r(ci[15])) / m3r(ci[13]);
  float best = SS_INF;
  mast3r_real bestd = m3r(0.0f);
  bool allbad = true;
  for (uint32_t s = 0; s < args.samples; ++s) {
    mast3r_real n = mast3r_normal(args.seed_lo, args.seed_hi, img, pix, s);
    mast3r_real dc = m3r(d) + (n - 1.0f) * tau;
    mast3r_real X = dc * rx, Y = dc * ry, Z = dc;
    mast3r_real px = ci[0] * X + ci[1] * Y + ci[2] * Z + ci[3];
    mast3r_real py = ci[4] * X + ci[5] * Y + ci[6] * Z + ci[7];
    mast3r_real pz = ci[8] * X + ci[9] * Y + ci[10] * Z + ci[11];
    mast3r_real wsum = m3r(0.0f), vsum = m3r(0.0f);
    for (uint32_t j = 0; j < args.images; ++j) {
      ss_global const float* cj = cams + (uint64_t)j * 16;
      mast3r_real dx = px - cj[3], dy = py - cj[7], dz = pz - cj[11];
      /* world → camera j: Rᵀ(p − t), as MASt3R's Rinv = Rᵀ */
      mast3r_real qx = cj[0] * dx + cj[4] * dy + cj[8] * dz;
      mast3r_real qy = cj[1] * dx + cj[5] * dy + cj[9] * dz;
      mast3r_real qz = cj[2] * dx + cj[6] * dy + cj[10] * dz;
      mast3r_real u = (cj[12] * qx + cj[14] * qz) / qz;
      mast3r_real v = (cj[13] * qy + cj[15] * qz) / qz;
      if (!m3r_finite(u) || !m3r_finite(v)) continue;
      mast3r_real ur = m3r_rint(u), vr = m3r_rint(v);
      if (!(ur >= 0.0f && ur < (float)W && vr >= 0.0f && vr < (float)H)) continue;
      uint64_t at = (uint64_t)j * hw + (uint64_t)m3r_to_int(vr) * W + (uint64_t)m3r_to_int(ur);
      mast3r_real sdf = m3r(depths[at]) - qz;
      if (sdf < -tau) continue;
      mast3r_real tsdf = sdf < 1e20f ? sdf : m3r(1e20f);
      mast3r_real w = m3r_exp_f(confs[at]);
      wsum = wsum + w;
      vsum = vsum + w * tsdf;
    }
    float a = SS_INF;
    if (wsum != 0.0f) {
      float t = m3r_to_float(vsum / wsum);
      a = t < 0.0f ? -t : t;
    }
    if (s == 0 || a < best) {
      bestd = dc;
      best = a;
    }
    if (!(a == tau_f)) allbad = false;
  }
  out[i] = allbad ? d : m3r_to_float(bestd);
}

#endif
