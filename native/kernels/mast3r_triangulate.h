/* MASt3R batched_triangulate: inhomogeneous DLT least squares per point */
#ifndef SS_KERNEL_MAST3R_TRIANGULATE_H
#define SS_KERNEL_MAST3R_TRIANGULATE_H

#define MAST3R_TRI_MAX_CAMS 64

ss_device_inline void mast3r_tri_nan(ss_global float* o) {
  o[0] = SS_NAN;
  o[1] = SS_NAN;
  o[2] = SS_NAN;
}

/* i: flat (batch, point) index. Rows P0 − x·P2 for every camera, then
 * P1 − y·P2 (MASt3R's order); A[:, :3]·X = −A[:, 3] solved by Householder QR
 * in float64 — the least-squares solution torch.linalg.lstsq returns for a
 * full-rank system, without the squared condition number of normal
 * equations. NaN for non-finite input or rank < 3 (relative pivot 1e-12). */
ss_device_inline void mast3r_triangulate_point(const ss_mast3r_triangulate_args args, uint32_t i,
                                               ss_global const float* pts2d, ss_global const float* proj,
                                               ss_global float* out) {
  uint32_t nc = args.cams, np = args.points;
  uint32_t b = i / np, p = i % np;
  uint32_t rows = 2 * nc;
  ss_global float* o = out + (uint64_t)i * 3;
  double A[2 * MAST3R_TRI_MAX_CAMS][4];
  double scale = 0.0;
  for (uint32_t c = 0; c < nc; ++c) {
    ss_global const float* P = proj + ((uint64_t)b * nc + c) * 12;
    ss_global const float* xy = pts2d + (((uint64_t)b * nc + c) * np + p) * 2;
    double x = xy[0], y = xy[1];
    for (uint32_t k = 0; k < 4; ++k) {
      A[c][k] = (double)P[k] - x * (double)P[8 + k];
      A[nc + c][k] = (double)P[4 + k] - y * (double)P[8 + k];
    }
  }
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t k = 0; k < 4; ++k) {
      if (!mast3r_finite_d(A[r][k])) {
        mast3r_tri_nan(o);
        return;
      }
      double v = A[r][k] < 0.0 ? -A[r][k] : A[r][k];
      if (k < 3 && v > scale) scale = v;
    }
    A[r][3] = -A[r][3];
  }
  if (rows < 3 || !(scale > 0.0)) {
    mast3r_tri_nan(o);
    return;
  }
  for (uint32_t k = 0; k < 3; ++k) {
    double norm2 = 0.0;
    for (uint32_t r = k; r < rows; ++r) norm2 += A[r][k] * A[r][k];
    double alpha = mast3r_sqrt_d(norm2);
    if (!(alpha > 1e-12 * scale)) {
      mast3r_tri_nan(o);
      return;
    }
    if (A[k][k] > 0.0) alpha = -alpha;
    double v0 = A[k][k] - alpha;
    double vnorm2 = v0 * v0;
    for (uint32_t r = k + 1; r < rows; ++r) vnorm2 += A[r][k] * A[r][k];
    A[k][k] = v0;
    for (uint32_t c = k + 1; c < 4; ++c) {
      double dot = 0.0;
      for (uint32_t r = k; r < rows; ++r) dot += A[r][k] * A[r][c];
      double f = 2.0 * dot / vnorm2;
      for (uint32_t r = k; r < rows; ++r) A[r][c] -= f * A[r][k];
    }
    A[k][k] = alpha;
  }
  double X[3];
  for (int k = 2; k >= 0; --k) {
    double s = A[k][3];
    for (uint32_t c = (uint32_t)k + 1; c < 3; ++c) s -= A[k][c] * X[c];
    X[k] = s / A[k][k];
  }
  o[0] = (float)X[0];
  o[1] = (float)X[1];
  o[2] = (float)X[2];
}

#endif
