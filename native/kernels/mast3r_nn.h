/* MASt3R nearest neighbours over descriptors, exact.
 *
 * Scores are "bigger is better": dot → a·b, l2 → −‖a−b‖². A float32 pass
 * finds the best score m; every candidate whose float32 score is within the
 * rounding bound E of m is re-scored in float64 (products of float32 values
 * are exact in float64, summed in index order; l2 as 2a·b − ‖b‖², see
 * mast3r_score_f64), and the float64 maximum wins, the lowest index on ties. So results
 * equal the exact argmax for any blocking or evaluation order, which is what
 * makes CPU, CUDA and Metal agree bit for bit (Metal lacks float64: its port
 * needs a float-float re-score).
 *
 * Error bound (Higham, Accuracy and Stability of Numerical Algorithms, §3.1):
 * a float32 sum of n products differs from the exact one by at most
 * γ_n Σ|a_k b_k| ≤ γ_n ‖a‖‖b‖, γ_n = n·u/(1 − n·u), u = 2⁻²⁴. We use twice
 * that as e and accept candidates down to m − 2e.
 */
#ifndef SS_KERNEL_MAST3R_NN_H
#define SS_KERNEL_MAST3R_NN_H

#define MAST3R_U32 5.9604645e-8f
/* super-tile = 4×4 tiles of 8×8 pixels */
#define MAST3R_TILE 8
#define MAST3R_TILE_PX 64
#define MAST3R_SUPER 4
#define MAST3R_SUPER_PX 32
#define MAST3R_INDEX_MAGIC 0x5849334du /* "M3IX" */
#define MAST3R_INDEX_HEADER 16

ss_device_inline float mast3r_gamma(uint32_t n) {
  float nu = (float)n * MAST3R_U32;
  return nu / (1.0f - nu);
}

/* float32 score of a query against one row */
ss_device_inline float mast3r_score_f32(ss_global const float* q, ss_global const float* b, uint32_t dim,
                                        uint32_t dist) {
  float s = 0.0f;
  if (dist == SS_DIST_DOT) {
    for (uint32_t k = 0; k < dim; ++k) s += q[k] * b[k];
    return s;
  }
  for (uint32_t k = 0; k < dim; ++k) {
    float d = q[k] - b[k];
    s += d * d;
  }
  return -s;
}

/* float64 score in index order: the value that decides between near-equal
 * candidates. l2 ranks by 2q·b − ‖b‖² (= ‖q‖² − ‖q − b‖²: the same order), so
 * every term is a product of two float32 values, exact in float64: the sum
 * rounds alike whether a compiler fuses it or not, and the GPU bodies
 * (mast3r_x64_add in mast3r_real.h, integer arithmetic on Metal) reproduce it
 * bit for bit. */
ss_device_inline double mast3r_score_f64(ss_global const float* q, ss_global const float* b, uint32_t dim,
                                         uint32_t dist) {
  double s = 0.0;
  if (dist == SS_DIST_DOT) {
    for (uint32_t k = 0; k < dim; ++k) s += (double)q[k] * (double)b[k];
    return s;
  }
  for (uint32_t k = 0; k < dim; ++k) {
    double bk = (double)b[k];
    s += 2.0 * ((double)q[k] * bk);
    s -= bk * bk;
  }
  return s;
}

/* ‖v‖ rounded up: a float32 sum of dim squares is within γ_dim of the exact
 * one, so its square root within γ_dim/2; + one rounding each for the root
 * and the scaling */
ss_device_inline float mast3r_norm_up(float sum_sq, uint32_t dim) {
  return ss_sqrt(sum_sq) * (1.0f + (0.5f * (float)dim + 3.0f) * MAST3R_U32);
}

ss_device_inline float mast3r_norm(ss_global const float* v, uint32_t dim) {
  float s = 0.0f;
  for (uint32_t k = 0; k < dim; ++k) s += v[k] * v[k];
  return mast3r_norm_up(s, dim);
}

/* e for mast3r_score_f32 of a query of norm qn against rows of norm ≤ bmax */
ss_device_inline float mast3r_err_plain(uint32_t dim, uint32_t dist, float qn, float bmax) {
  if (dist == SS_DIST_DOT) return 2.0f * mast3r_gamma(dim + 2) * qn * bmax + 1e-30f;
  float r = qn + bmax;
  return 2.0f * mast3r_gamma(dim + 4) * r * r + 1e-30f;
}

/* Exact nearest neighbour of q among the n rows of db (row stride dim):
 * two float32 passes, float64 on the candidates. -1 when n == 0. */
ss_device_inline int32_t mast3r_nn_exact(ss_global const float* q, ss_global const float* db, uint32_t n,
                                         uint32_t dim, uint32_t dist, float bmax) {
  float e = mast3r_err_plain(dim, dist, mast3r_norm(q, dim), bmax);
  float best = -SS_INF;
  for (uint32_t j = 0; j < n; ++j) {
    float s = mast3r_score_f32(q, db + (uint64_t)j * dim, dim, dist);
    if (s > best) best = s;
  }
  float thr = best - 2.0f * e;
  int32_t win = -1;
  double wbest = 0.0;
  for (uint32_t j = 0; j < n; ++j) {
    ss_global const float* b = db + (uint64_t)j * dim;
    if (mast3r_score_f32(q, b, dim, dist) >= thr) {
      double x = mast3r_score_f64(q, b, dim, dist);
      if (win < 0 || x > wbest) {
        wbest = x;
        win = (int32_t)j;
      }
    }
  }
  return win;
}

/* ---- tile index of a descriptor map -------------------------------------
 * floats: header[16] | level1 | level2 | tiles
 *   level1: (dim + 2) × S16 — super-tile centroids c[k][s], then h[s], r[s]
 *   level2: S × (dim + 2) × 16 — per super-tile, its 16 tiles' c, h, r
 *   tiles:  S × 16 × (64 + 64·dim) — per tile G[64] then data[k][64]
 * S = ceil(W/32)·ceil(H/32) super-tiles, S16 = S rounded up to 16. Tile slot
 * t of super-tile s covers pixels x = 32·(s % sx) + 8·(t % 4) + lane % 8,
 * y likewise with /. Score of lane = q·b + G: G = 0 (dot), −‖b‖²/2 (l2),
 * −∞ outside the map. h = 0 (dot) or ‖c‖²/2 (l2); empty entries h = +∞. */
typedef struct mast3r_index_view {
  uint32_t width, height, dim, dist;
  uint32_t sx, sy, S, S16;
  float bmax, gmax;
  ss_global const float* l1;
  ss_global const float* l2;
  ss_global const float* tiles;
} mast3r_index_view;

ss_device_inline uint32_t mast3r_ceil_div(uint32_t a, uint32_t b) { return (a + b - 1) / b; }
ss_device_inline uint32_t mast3r_ceil16(uint32_t a) { return (a + 15u) & ~15u; }

/* floats before the int8 section */
ss_device_inline uint64_t mast3r_index_f32_floats(uint32_t width, uint32_t height, uint32_t dim) {
  uint64_t S = (uint64_t)mast3r_ceil_div(width, MAST3R_SUPER_PX) * mast3r_ceil_div(height, MAST3R_SUPER_PX);
  uint64_t S16 = (S + 15u) & ~(uint64_t)15u;
  return MAST3R_INDEX_HEADER + (uint64_t)(dim + 2) * S16 + S * (dim + 2) * 16 + S * 16 * 64 * (uint64_t)(dim + 1);
}

/* int8 section (after the float tiles), in tile order: P = 64·S panels of
 * 16 pixels, panel s·64 + 4·t + u holding lanes 16u … 16u+15 of tile t of
 * super-tile s (mast3r_tile_pixel), each ceil(dim/4) groups of 16 lanes × 4
 * bytes of u8 = round(b/sb) + 128 (pads 128), then P × 16 floats G = 0 (dot),
 * −‖b‖²/2 (l2), −∞ outside the map. sb = max|b_k|/127 over the map (header
 * float 9), max ‖b‖₁ in header float 10. */
ss_device_inline uint64_t mast3r_index_panels(uint32_t width, uint32_t height) {
  return 64u * (uint64_t)mast3r_ceil_div(width, MAST3R_SUPER_PX) * mast3r_ceil_div(height, MAST3R_SUPER_PX);
}

ss_device_inline uint64_t mast3r_index_floats(uint32_t width, uint32_t height, uint32_t dim) {
  uint64_t p8 = mast3r_index_panels(width, height);
  uint64_t d4 = (dim + 3u) / 4u;
  return mast3r_index_f32_floats(width, height, dim) + p8 * 16u * (d4 + 1u);
}

ss_device_inline uint64_t mast3r_tile_floats(uint32_t dim) { return 64u * (uint64_t)(dim + 1); }

ss_device_inline mast3r_index_view mast3r_index_make_view(ss_global const float* index, uint32_t width,
                                                          uint32_t height, uint32_t dim, uint32_t dist,
                                                          float bmax) {
  mast3r_index_view v;
  v.width = width;
  v.height = height;
  v.dim = dim;
  v.dist = dist;
  v.sx = mast3r_ceil_div(width, MAST3R_SUPER_PX);
  v.sy = mast3r_ceil_div(height, MAST3R_SUPER_PX);
  v.S = v.sx * v.sy;
  v.S16 = mast3r_ceil16(v.S);
  v.bmax = bmax;
  v.gmax = dist == SS_DIST_L2 ? 0.5f * bmax * bmax * (1.0f + 4.0f * MAST3R_U32) : 0.0f;
  v.l1 = index + MAST3R_INDEX_HEADER;
  v.l2 = v.l1 + (uint64_t)(dim + 2) * v.S16;
  v.tiles = v.l2 + (uint64_t)v.S * (dim + 2) * 16;
  return v;
}

/* pixel of lane `lane` in tile slot `t` of super-tile `s`, or -1 outside the map */
ss_device_inline int32_t mast3r_tile_pixel(const mast3r_index_view v, uint32_t s, uint32_t t, uint32_t lane) {
  uint32_t x = MAST3R_SUPER_PX * (s % v.sx) + MAST3R_TILE * (t % MAST3R_SUPER) + lane % MAST3R_TILE;
  uint32_t y = MAST3R_SUPER_PX * (s / v.sx) + MAST3R_TILE * (t / MAST3R_SUPER) + lane / MAST3R_TILE;
  if (x >= v.width || y >= v.height) return -1;
  return (int32_t)(y * v.width + x);
}

/* int8 panel p of the index (tile order): quantised lanes and G */
ss_device_inline void mast3r_index_build_i8_panel(const mast3r_index_view v, float sb, uint32_t p,
                                                  ss_global const float* map, ss_global float* index) {
  uint32_t dim = v.dim;
  uint64_t p8 = mast3r_index_panels(v.width, v.height);
  uint32_t d4 = (dim + 3u) / 4u;
  ss_global float* base = index + mast3r_index_f32_floats(v.width, v.height, dim);
  ss_global uint8_t* q8 = (ss_global uint8_t*)(base + (uint64_t)p * 16u * d4);
  ss_global float* g = base + p8 * 16u * d4 + (uint64_t)p * 16u;
  float inv = sb > 0.0f ? 1.0f / sb : 0.0f;
  for (uint32_t lane = 0; lane < 16; ++lane) {
    int32_t px = mast3r_tile_pixel(v, p / 64u, (p % 64u) / 4u, (p % 4u) * 16u + lane);
    double bb = 0.0;
    for (uint32_t k = 0; k < 4 * d4; ++k) {
      int32_t q = 0;
      if (px >= 0 && k < dim) {
        float x = map[(uint64_t)px * dim + k];
        bb += (double)x * (double)x;
        q = ss_round_to_int(x * inv);
        q = q > 127 ? 127 : (q < -127 ? -127 : q);
      }
      q8[(uint64_t)(k / 4) * 64u + lane * 4u + (k % 4)] = (uint8_t)(q + 128);
    }
    g[lane] = px < 0 ? -SS_INF : (v.dist == SS_DIST_L2 ? (float)(-0.5 * bb) : 0.0f);
  }
}

/* (panel, lane) of the int8 section holding pixel px */
ss_device_inline uint64_t mast3r_i8_slot(const mast3r_index_view v, uint32_t px) {
  uint32_t x = px % v.width, y = px / v.width;
  uint32_t s = (y / MAST3R_SUPER_PX) * v.sx + x / MAST3R_SUPER_PX;
  uint32_t t = ((y % MAST3R_SUPER_PX) / MAST3R_TILE) * MAST3R_SUPER + (x % MAST3R_SUPER_PX) / MAST3R_TILE;
  uint32_t lane64 = (y % MAST3R_TILE) * MAST3R_TILE + x % MAST3R_TILE;
  return ((uint64_t)s * 64u + t * 4u + lane64 / 16u) * 16u + lane64 % 16u;
}

/* radius (float64 distance to the stored float32 centroid, rounded up) and h of a ball */
ss_device_inline void mast3r_ball_finish(uint32_t dim, uint32_t dist, uint32_t count, double r2, ss_thread const float* c,
                                         float* h, float* r) {
  if (count == 0) {
    *h = SS_INF;
    *r = 0.0f;
    return;
  }
  double cc = 0.0;
  for (uint32_t k = 0; k < dim; ++k) cc += (double)c[k] * (double)c[k];
  *r = (float)((double)ss_sqrt((float)r2) * (1.0 + 1e-5)) + 1e-30f;
  *h = dist == SS_DIST_L2 ? (float)(0.5 * cc) : 0.0f;
}

/* builds super-tile s: its 16 tile records (G and dim-major data), their
 * level-2 lanes (centroid, h, radius) and its level-1 lane. Centroids are
 * float64 means stored as float32; radii are measured from the stored ones. */
ss_device_inline void mast3r_index_build_super(const mast3r_index_view v, uint32_t s, ss_global const float* map,
                                               ss_global float* index, bool records) {
  uint32_t dim = v.dim;
  ss_global float* l1 = index + MAST3R_INDEX_HEADER;
  ss_global float* l2 = l1 + (uint64_t)(dim + 2) * v.S16 + (uint64_t)s * (dim + 2) * 16;
  ss_global float* tiles = l1 + (uint64_t)(dim + 2) * v.S16 + (uint64_t)v.S * (dim + 2) * 16 +
                           (uint64_t)s * 16 * mast3r_tile_floats(dim);
  double ssum[256];
  float c[256];
  for (uint32_t k = 0; k < dim; ++k) ssum[k] = 0.0;
  uint32_t scount = 0;
  for (uint32_t t = 0; t < 16; ++t) {
    ss_global float* rec = tiles + (uint64_t)t * mast3r_tile_floats(dim);
    double tsum[256];
    for (uint32_t k = 0; k < dim; ++k) tsum[k] = 0.0;
    uint32_t tcount = 0;
    for (uint32_t lane = 0; lane < MAST3R_TILE_PX; ++lane) {
      int32_t p = mast3r_tile_pixel(v, s, t, lane);
      if (p < 0) {
        if (records) {
          rec[lane] = -SS_INF;
          for (uint32_t k = 0; k < dim; ++k) rec[64 + k * 64 + lane] = 0.0f;
        }
        continue;
      }
      ss_global const float* b = map + (uint64_t)p * dim;
      double bb = 0.0;
      for (uint32_t k = 0; k < dim; ++k) {
        float x = b[k];
        if (records) rec[64 + k * 64 + lane] = x;
        bb += (double)x * (double)x;
        tsum[k] += (double)x;
      }
      if (records) rec[lane] = v.dist == SS_DIST_L2 ? (float)(-0.5 * bb) : 0.0f;
      ++tcount;
    }
    for (uint32_t k = 0; k < dim; ++k) {
      c[k] = tcount ? (float)(tsum[k] / (double)tcount) : 0.0f;
      ssum[k] += tsum[k];
    }
    scount += tcount;
    double r2 = 0.0;
    for (uint32_t lane = 0; lane < MAST3R_TILE_PX; ++lane) {
      int32_t p = mast3r_tile_pixel(v, s, t, lane);
      if (p < 0) continue;
      ss_global const float* b = map + (uint64_t)p * dim;
      double d2 = 0.0;
      for (uint32_t k = 0; k < dim; ++k) {
        double d = (double)b[k] - (double)c[k];
        d2 += d * d;
      }
      r2 = d2 > r2 ? d2 : r2;
    }
    float h, r;
    mast3r_ball_finish(dim, v.dist, tcount, r2, c, &h, &r);
    for (uint32_t k = 0; k < dim; ++k) l2[k * 16 + t] = c[k];
    l2[dim * 16 + t] = h;
    l2[(dim + 1) * 16 + t] = r;
  }
  for (uint32_t k = 0; k < dim; ++k) c[k] = scount ? (float)(ssum[k] / (double)scount) : 0.0f;
  double r2 = 0.0;
  for (uint32_t t = 0; t < 16; ++t) {
    for (uint32_t lane = 0; lane < MAST3R_TILE_PX; ++lane) {
      int32_t p = mast3r_tile_pixel(v, s, t, lane);
      if (p < 0) continue;
      ss_global const float* b = map + (uint64_t)p * dim;
      double d2 = 0.0;
      for (uint32_t k = 0; k < dim; ++k) {
        double d = (double)b[k] - (double)c[k];
        d2 += d * d;
      }
      r2 = d2 > r2 ? d2 : r2;
    }
  }
  float h, r;
  mast3r_ball_finish(dim, v.dist, scount, r2, c, &h, &r);
  for (uint32_t k = 0; k < dim; ++k) l1[(uint64_t)k * v.S16 + s] = c[k];
  l1[(uint64_t)dim * v.S16 + s] = h;
  l1[(uint64_t)(dim + 1) * v.S16 + s] = r;
}

/* Upper bound on q·b + G over a ball (centroid c, h, radius r), given qc = q·c.
 * dot: q·c + r‖q‖. l2: q·b − ‖b‖²/2 = q·c − ‖c‖²/2 + (q−c)·v − ‖v‖²/2 with
 * b = c + v, ‖v‖ ≤ r, whose max over v is t²/2 (t ≤ r) or r·t − r²/2, t = ‖q − c‖,
 * increasing in t, so an upper bound of t gives an upper bound. NaN for empty
 * entries (h = +∞), which the caller's `>=` treats as skip. */
ss_device_inline float mast3r_ball_ub(uint32_t dist, float qc, float h, float r, float qn, float slack) {
  if (dist == SS_DIST_DOT) return qc - h + r * qn;
  float t2 = qn * qn - 2.0f * qc + 2.0f * h;
  t2 = (t2 > 0.0f ? t2 : 0.0f) + slack;
  float t = ss_sqrt(t2) * (1.0f + 4.0f * MAST3R_U32);
  float f = t <= r ? 0.5f * t * t : r * t - 0.5f * r * r;
  return qc - h + f;
}

/* a query's running state: best float32 score and the candidates within E of it */
typedef struct mast3r_query_state {
  float best, E;
  uint32_t count, cap, overflow;
  ss_thread int32_t* cand_idx;
  ss_thread float* cand_s;
} mast3r_query_state;

ss_device_inline void mast3r_offer(ss_thread mast3r_query_state* st, int32_t idx, float s) {
  if (!(s >= st->best - st->E)) return;
  if (s > st->best) st->best = s;
  if (st->count == st->cap) {
    /* drop the ones the raised best has left behind */
    uint32_t w = 0;
    float thr = st->best - st->E;
    for (uint32_t i = 0; i < st->count; ++i)
      if (st->cand_s[i] >= thr) {
        st->cand_idx[w] = st->cand_idx[i];
        st->cand_s[w] = st->cand_s[i];
        ++w;
      }
    st->count = w;
    if (w == st->cap) {
      st->overflow = 1;
      return;
    }
  }
  st->cand_idx[st->count] = idx;
  st->cand_s[st->count] = s;
  st->count++;
}

/* scans one tile record against q (64 lanes, dim-major) */
ss_device_inline void mast3r_scan_tile(const mast3r_index_view v, ss_global const float* q, uint32_t s, uint32_t t,
                                       ss_thread mast3r_query_state* st) {
  ss_global const float* rec = v.tiles + ((uint64_t)s * 16 + t) * mast3r_tile_floats(v.dim);
  float acc[MAST3R_TILE_PX];
  for (uint32_t lane = 0; lane < MAST3R_TILE_PX; ++lane) acc[lane] = rec[lane];
  for (uint32_t k = 0; k < v.dim; ++k) {
    float qk = q[k];
    ss_global const float* row = rec + 64 + k * 64;
    for (uint32_t lane = 0; lane < MAST3R_TILE_PX; ++lane) acc[lane] += qk * row[lane];
  }
  for (uint32_t lane = 0; lane < MAST3R_TILE_PX; ++lane)
    if (acc[lane] > -SS_INF && acc[lane] >= st->best - st->E)
      mast3r_offer(st, mast3r_tile_pixel(v, s, t, lane), acc[lane]);
}

/* Exact NN of q over the indexed map: visits the super-tile and tile with the
 * highest bound first, then every one whose bound reaches best − E, then
 * re-ranks the surviving candidates in float64. ub1: S16 floats of scratch.
 * Falls back to the plain two-pass scan if the candidate list overflows. */
ss_device_inline int32_t mast3r_nn_indexed(const mast3r_index_view v, ss_global const float* q,
                                           ss_global const float* db_map, ss_thread float* ub1,
                                           ss_thread int32_t* cand_idx, ss_thread float* cand_s, uint32_t cap) {
  uint32_t dim = v.dim;
  float qn = mast3r_norm(q, dim);
  float e = 2.0f * mast3r_gamma(dim + 2) * (qn * v.bmax + v.gmax) + 1e-30f;
  float rsum = qn + v.bmax;
  float slack = 8.0f * mast3r_gamma(dim + 4) * rsum * rsum;
  float margin = v.dist == SS_DIST_DOT ? 4.0f * mast3r_gamma(dim + 2) * qn * v.bmax + 1e-30f
                                              : 4.0f * mast3r_gamma(dim + 4) * rsum * rsum;
  mast3r_query_state st;
  st.best = -SS_INF;
  st.E = 2.0f * e;
  st.count = 0;
  st.cap = cap;
  st.overflow = 0;
  st.cand_idx = cand_idx;
  st.cand_s = cand_s;

  uint32_t first = 0;
  float firstub = -SS_INF;
  for (uint32_t s = 0; s < v.S; ++s) {
    float qc = 0.0f;
    for (uint32_t k = 0; k < dim; ++k) qc += q[k] * v.l1[(uint64_t)k * v.S16 + s];
    float ub = mast3r_ball_ub(v.dist, qc, v.l1[(uint64_t)dim * v.S16 + s], v.l1[(uint64_t)(dim + 1) * v.S16 + s],
                              qn, slack) + margin;
    ub1[s] = ub;
    if (ub > firstub) {
      firstub = ub;
      first = s;
    }
  }
  for (uint32_t step = 0; step <= v.S; ++step) {
    uint32_t s = step == 0 ? first : step - 1;
    if (step > 0 && s == first) continue;
    if (!(ub1[s] >= st.best - st.E)) continue;
    ss_global const float* l2 = v.l2 + (uint64_t)s * (dim + 2) * 16;
    float ub2[16];
    uint32_t tfirst = 0;
    float tbest = -SS_INF;
    for (uint32_t t = 0; t < 16; ++t) {
      float qc = 0.0f;
      for (uint32_t k = 0; k < dim; ++k) qc += q[k] * l2[k * 16 + t];
      ub2[t] = mast3r_ball_ub(v.dist, qc, l2[dim * 16 + t], l2[(dim + 1) * 16 + t], qn, slack) + margin;
      if (ub2[t] > tbest) {
        tbest = ub2[t];
        tfirst = t;
      }
    }
    for (uint32_t tstep = 0; tstep <= 16; ++tstep) {
      uint32_t t = tstep == 0 ? tfirst : tstep - 1;
      if (tstep > 0 && t == tfirst) continue;
      if (!(ub2[t] >= st.best - st.E)) continue;
      mast3r_scan_tile(v, q, s, t, &st);
    }
  }
  if (st.overflow)
    return mast3r_nn_exact(q, db_map, v.width * v.height, dim, v.dist, v.bmax);
  float thr = st.best - st.E;
  int32_t win = -1;
  double wbest = 0.0;
  for (uint32_t i = 0; i < st.count; ++i) {
    if (!(st.cand_s[i] >= thr)) continue;
    int32_t j = st.cand_idx[i];
    double x = mast3r_score_f64(q, db_map + (uint64_t)j * dim, dim, v.dist);
    if (win < 0 || x > wbest || (x == wbest && j < win)) {
      wbest = x;
      win = j;
    }
  }
  return win;
}

#endif
