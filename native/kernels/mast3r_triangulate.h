/* MASt3R batched_triangulate: inhomogeneous DLT least squares per point, in
 * mast3r_real (mast3r_real.h: float64, float-float on Metal) */
#ifndef SS_KERNEL_MAST3R_TRIANGULATE_H
#define SS_KERNEL_MAST3R_TRIANGULATE_H

#define MAST3R_TRI_MAX_CAMS 64
#define MAST3R_MATCH_MAX_VIEWS 64

ss_device_inline void mast3r_tri_nan(ss_global float* o) {
  o[0] = SS_NAN;
  o[1] = SS_NAN;
  o[2] = SS_NAN;
}

/* Least squares A[:, :3]·X = −A[:, 3] over `rows` rows by Householder QR in
 * float64 — the solution torch.linalg.lstsq returns for a full-rank system,
 * without the squared condition number of normal equations. false for
 * non-finite input or rank < 3 (relative pivot 1e-12). A is overwritten. */
ss_device_inline bool mast3r_lstsq3(ss_thread mast3r_real A[][4], uint32_t rows, ss_thread mast3r_real X[3]) {
  mast3r_real scale = m3r(0.0f);
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t k = 0; k < 4; ++k) {
      if (!m3r_finite(A[r][k])) return false;
      mast3r_real v = A[r][k] < 0.0f ? -A[r][k] : A[r][k];
      if (k < 3 && v > scale) scale = v;
    }
    A[r][3] = -A[r][3];
  }
  if (rows < 3 || !(scale > 0.0f)) return false;
  for (uint32_t k = 0; k < 3; ++k) {
    mast3r_real norm2 = m3r(0.0f);
    for (uint32_t r = k; r < rows; ++r) norm2 = norm2 + A[r][k] * A[r][k];
    mast3r_real alpha = m3r_sqrt(norm2);
    if (!(alpha > 1e-12f * scale)) return false;
    if (A[k][k] > 0.0f) alpha = -alpha;
    mast3r_real v0 = A[k][k] - alpha;
    mast3r_real vnorm2 = v0 * v0;
    for (uint32_t r = k + 1; r < rows; ++r) vnorm2 = vnorm2 + A[r][k] * A[r][k];
    A[k][k] = v0;
    for (uint32_t c = k + 1; c < 4; ++c) {
      mast3r_real dot = m3r(0.0f);
      for (uint32_t r = k; r < rows; ++r) dot = dot + A[r][k] * A[r][c];
      mast3r_real f = 2.0f * dot / vnorm2;
      for (uint32_t r = k; r < rows; ++r) A[r][c] = A[r][c] - f * A[r][k];
    }
    A[k][k] = alpha;
  }
  for (int k = 2; k >= 0; --k) {
    mast3r_real s = A[k][3];
    for (uint32_t c = (uint32_t)k + 1; c < 3; ++c) s = s - A[k][c] * X[c];
    X[k] = s / A[k][k];
  }
  return true;
}

/* camera c's rows of MASt3R's system for pixel (x, y): P0 − x·P2 at row c,
 * P1 − y·P2 at row nc + c (every camera's x row, then every y row) */
ss_device_inline void mast3r_tri_rows(ss_thread mast3r_real A[][4], uint32_t c, uint32_t nc, ss_global const float* P, float x,
                                     float y) {
  for (uint32_t k = 0; k < 4; ++k) {
    A[c][k] = m3r(P[k]) - m3r(x) * m3r(P[8 + k]);
    A[nc + c][k] = m3r(P[4 + k]) - m3r(y) * m3r(P[8 + k]);
  }
}

/* i: flat (batch, point) index; NaN where mast3r_lstsq3 fails */
ss_device_inline void mast3r_triangulate_point(const ss_mast3r_triangulate_args args, uint32_t i,
                                               ss_global const float* pts2d, ss_global const float* proj,
                                               ss_global float* out) {
  uint32_t nc = args.cams, np = args.points;
  uint32_t b = i / np, p = i % np;
  ss_global float* o = out + (uint64_t)i * 3;
  mast3r_real A[2 * MAST3R_TRI_MAX_CAMS][4];
  for (uint32_t c = 0; c < nc; ++c) {
    ss_global const float* xy = pts2d + (((uint64_t)b * nc + c) * np + p) * 2;
    mast3r_tri_rows(A, c, nc, proj + ((uint64_t)b * nc + c) * 12, xy[0], xy[1]);
  }
  mast3r_real X[3];
  if (!mast3r_lstsq3(A, 2 * nc, X)) {
    mast3r_tri_nan(o);
    return;
  }
  o[0] = m3r_to_float(X[0]);
  o[1] = m3r_to_float(X[1]);
  o[2] = m3r_to_float(X[2]);
}

/* MASt3R matches_to_depths at one reference pixel i (flat over batch × H × W):
 * each view's match triangulated with the reference camera (float32 results,
 * as batched_triangulate returns them), averaged weighted by confidence over
 * the views where it is finite (normaliser ≤ 1e-5 → 1), NaN when at most
 * min_valid views are; depth = z in the reference camera. */
ss_device_inline void mast3r_matches_depth_pixel(const ss_mast3r_matches_to_depths_args args, uint32_t i,
                                                 ss_global const float* matches, ss_global const float* cams,
                                                 ss_global float* points, ss_global float* depths,
                                                 ss_global float* confs) {
  uint32_t nv = args.views, hw = args.width * args.height;
  uint32_t b = i / hw, px = i % hw;
  ss_global const float* cb = cams + (uint64_t)b * ((nv + 1) * 12 + 4);
  float X[MAST3R_MATCH_MAX_VIEWS][3];
  bool ok[MAST3R_MATCH_MAX_VIEWS];
  mast3r_real norm = m3r(0.0f);
  uint32_t valid = 0;
  for (uint32_t v = 0; v < nv; ++v) {
    ss_global const float* m = matches + (((uint64_t)b * nv + v) * hw + px) * 5;
    mast3r_real A[4][4], Xd[3];
    mast3r_tri_rows(A, 0, 2, cb, m[0], m[1]);
    mast3r_tri_rows(A, 1, 2, cb + 12 * (v + 1), m[2], m[3]);
    ok[v] = false;
    if (!mast3r_lstsq3(A, 4, Xd)) continue;
    for (uint32_t k = 0; k < 3; ++k) X[v][k] = m3r_to_float(Xd[k]);
    /* a float32 overflow is as invalid as a failed solve */
    if (!(m3r_finite(m3r(X[v][0])) && m3r_finite(m3r(X[v][1])) && m3r_finite(m3r(X[v][2])))) continue;
    ok[v] = true;
    norm = norm + m3r(m[4]);
    valid++;
  }
  confs[i] = m3r_to_float(norm);
  ss_global float* o = points + (uint64_t)i * 3;
  if (valid <= args.min_valid) {
    mast3r_tri_nan(o);
    depths[i] = SS_NAN;
    return;
  }
  /* 1e-5 as a float32 bound, as MASt3R compares its float32 sums */
  if (norm <= 1e-5f) norm = m3r(1.0f);
  mast3r_real s[3];
  for (uint32_t k = 0; k < 3; ++k) s[k] = m3r(0.0f);
  for (uint32_t v = 0; v < nv; ++v) {
    if (!ok[v]) continue;
    mast3r_real w = m3r(matches[(((uint64_t)b * nv + v) * hw + px) * 5 + 4]) / norm;
    for (uint32_t k = 0; k < 3; ++k) s[k] = s[k] + m3r(X[v][k]) * w;
  }
  ss_global const float* z = cb + (nv + 1) * 12;
  for (uint32_t k = 0; k < 3; ++k) o[k] = m3r_to_float(s[k]);
  depths[i] = m3r_to_float(m3r(z[0]) * s[0] + m3r(z[1]) * s[1] + m3r(z[2]) * s[2] + m3r(z[3]));
}

#endif
