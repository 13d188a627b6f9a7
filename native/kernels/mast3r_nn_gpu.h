/* MASt3R nearest neighbours shaped for a GPU, written once for CUDA and Metal
 * (needs mast3r_real.h, mast3r_tile_gpu.h, mast3r_gpu_params.h). Exact, as the
 * CPU's bodies in mast3r_nn.h: the same answers bit for bit.
 *
 * 1. m3g_nn_scan: a threadgroup takes TM rows and a range of column tiles;
 *    each tile's float32 scores S = A·Bᵀ (+ G = −‖·‖²/2 for l2) go through
 *    threadgroup memory (Metal) or stay in the threads' registers (CUDA)
 *    (mast3r_tile_gpu.h) and never further: each row keeps its best two
 *    scores and the best's column, each column (reciprocal) its best two over
 *    the tile's rows, as partials (NN_RT per row and split, NN_CT per column
 *    and row block).
 * 2. m3g_nn_merge_rows / _cols: the partials of a row (column) merged by a
 *    SIMD-group. If the runner-up is below the best by more than E, twice
 *    the float32 rounding bound of both, the best is the exact winner (no
 *    other score can reach it, whatever order the GPU summed in); otherwise
 *    the row goes on the ambiguous list (ties land there too) with its best.
 * 3. m3g_nn_rescan_best / _finish: each listed row against every column, a
 *    SIMD-group per 512 columns, as mast3r_nn_exact does — every candidate
 *    near the best re-scored as a float64 sum in index order (mast3r_x64_add:
 *    double on CUDA, integer arithmetic on Metal), the largest wins, the
 *    lowest index on ties.
 * Results therefore depend neither on tiling nor on thread order. */
#ifndef SS_KERNEL_MAST3R_NN_GPU_H
#define SS_KERNEL_MAST3R_NN_GPU_H

#define M3G_U32 5.9604645e-8f

ss_device_inline float m3g_gamma(uint32_t n) {
  float nu = (float)n * M3G_U32;
  return nu / (1.0f - nu);
}

/* ‖v‖ rounded up (a float32 sum of dim squares is within γ_dim of the exact one) */
ss_device_inline float m3g_norm_up(ss_global const float* v, uint32_t dim) {
  return ss_sqrt(m3t_sumsq(v, dim)) * (1.0f + (0.5f * (float)dim + 3.0f) * M3G_U32);
}

/* E for tile scores of a row of norm ≤ qn against columns of norm ≤ omax: q·b (+ G_b = −‖b‖²/2,
 * itself rounded) is within e = γ(‖q‖‖b‖ + ‖b‖²/2) of the exact value whatever the summation
 * order; E = 4e, so a best ahead by E is ahead exactly by more than 2e */
ss_device_inline float m3g_tile_E(uint32_t dim, uint32_t dist, float qn, float omax) {
  if (dist == SS_DIST_DOT) return 4.0f * m3g_gamma(dim + 2u) * qn * omax + 1e-30f;
  return 4.0f * m3g_gamma(dim + 4u) * (qn * omax + 0.5f * omax * omax) + 1e-30f;
}

/* E for scores from the tensor-core scan (mast3r_nn_tc_gpu.h) over ks k steps: each of its 3·ks
 * MMAs adds, whatever its alignment and truncation, within 20 units of 2⁻²³ of the sum of the
 * magnitudes (≤ 1.01‖q‖‖b‖), and the TF32 split drops under 4 units of 2⁻²² of each product; l2
 * adds G_b's error and the rounding of the add as the tile bound does; E = 4e, as there */
ss_device_inline float m3g_tc_E(uint32_t ks, uint32_t dim, uint32_t dist, float qn, float omax) {
  const float dot = (60.0f * (float)ks + 8.0f) * 1.01f * M3G_U32 * 2.0f * qn * omax;
  if (dist == SS_DIST_DOT) return 4.0f * dot + 1e-30f;
  return 4.0f * (dot + m3g_gamma(dim + 4u) * (qn * omax + 0.5f * omax * omax)) + 1e-30f;
}
/* the merge's E for the scan that wrote the partials */
ss_device_inline float m3g_scan_E(const m3g_nn_params p, float qn, float omax) {
  return p.tc_ks ? m3g_tc_E(p.tc_ks, p.dim, p.dist, qn, omax) : m3g_tile_E(p.dim, p.dist, qn, omax);
}

/* the plain float32 score of the re-scan and its bound (mast3r_score_f32 / mast3r_err_plain) */
ss_device_inline float m3g_score_plain(ss_global const float* q, ss_global const float* b, uint32_t dim, uint32_t dist) {
  float s = 0.0f;
  if (dist == SS_DIST_DOT) {
    for (uint32_t k = 0; k < dim; ++k) s = ss_fma(q[k], b[k], s);
    return s;
  }
  for (uint32_t k = 0; k < dim; ++k) {
    float d = q[k] - b[k];
    s = ss_fma(d, d, s);
  }
  return -s;
}
ss_device_inline float m3g_err_plain(uint32_t dim, uint32_t dist, float qn, float omax) {
  if (dist == SS_DIST_DOT) return 2.0f * m3g_gamma(dim + 2u) * qn * omax + 1e-30f;
  float r = qn + omax;
  return 2.0f * m3g_gamma(dim + 4u) * r * r + 1e-30f;
}

/* mast3r_score_f64 as float64 bits: q·b, or 2q·b − ‖b‖² (l2), summed in index order */
ss_device_inline mast3r_x64 m3g_score_x64(ss_global const float* q, ss_global const float* b, uint32_t dim, uint32_t dist) {
  mast3r_x64 s = 0;
  if (dist == SS_DIST_DOT) {
    for (uint32_t k = 0; k < dim; ++k) s = mast3r_x64_add(s, q[k], b[k], 0, 0u);
    return s;
  }
  for (uint32_t k = 0; k < dim; ++k) {
    s = mast3r_x64_add(s, q[k], b[k], 1, 0u);
    s = mast3r_x64_add(s, b[k], b[k], 0, 1u);
  }
  return s;
}

/* ---- best two ----------------------------------------------------------------------------- */
typedef struct m3g_top2 {
  float m1, m2;
  int32_t id;
} m3g_top2;

ss_device_inline m3g_top2 m3g_top2_empty() {
  m3g_top2 b;
  b.m1 = -SS_INF;
  b.m2 = -SS_INF;
  b.id = -1;
  return b;
}
/* an equal score of another index becomes the runner-up: a tie is always ambiguous */
ss_device_inline void m3g_top2_offer(ss_thread m3g_top2* b, float s, int32_t j) {
  if (s > b->m1) {
    b->m2 = b->m1;
    b->m1 = s;
    b->id = j;
  } else if (s > b->m2) {
    b->m2 = s;
  }
}
/* order-independent in the values; the index of a tied best is the lowest (and ambiguous anyway) */
ss_device_inline void m3g_top2_merge(ss_thread m3g_top2* b, float m1, float m2, int32_t id) {
  if (id < 0) return;
  if (b->id < 0) {
    b->m1 = m1;
    b->m2 = m2;
    b->id = id;
    return;
  }
  float lo = m1 < b->m1 ? m1 : b->m1;
  float hi2 = m2 > b->m2 ? m2 : b->m2;
  float second = lo > hi2 ? lo : hi2;
  if (m1 > b->m1 || (m1 == b->m1 && id < b->id)) {
    b->m1 = m1;
    b->id = id;
  }
  b->m2 = second;
}

/* a best two merged over the lanes whose index differs from this one's in the bits below `span` (a power
 * of two up to 32): every such lane ends with the same merge. Every lane of the SIMD-group calls it. */
ss_device_inline void m3g_top2_butterfly(ss_thread m3g_top2* b, uint32_t span) {
  for (uint32_t off = 1u; off < span; off <<= 1) {
    const float m1 = ss_simd_shuffle_xor_f32(b->m1, off);
    const float m2 = ss_simd_shuffle_xor_f32(b->m2, off);
    const int32_t id = ss_simd_shuffle_xor_i32(b->id, off);
    m3g_top2_merge(b, m1, m2, id);
  }
}

/* G_a = −‖a‖²/2 of the threadgroup's rows (l2; 0 for dot and past the last row) */
ss_device_inline void m3g_nn_rows_g(const m3g_nn_params p, ss_shared float* Ga, ss_global const float* A, ss_global const int32_t* gather,
                                    uint32_t row0, bool l2, uint32_t t) {
  if (t >= M3T_TM) return;
  float g = 0.0f;
  if (l2 && row0 + t < p.n) {
    const uint64_t row = p.gather ? (uint64_t)gather[row0 + t] : (uint64_t)(row0 + t);
    g = -0.5f * m3t_sumsq(A + row * p.dim, p.dim);
  }
  Ga[t] = g;
}

/* one tile's scores into acc, a k chunk at a time through As/Bs (the rows' chunk stays put across tiles
 * when one chunk holds the whole descriptor), and G_b of its columns (l2) */
ss_device_inline void m3g_nn_tile_chunks(const m3g_nn_params p, ss_thread m3t_acc& acc, ss_shared float* As, ss_shared float* Bs,
                                         ss_shared float* Gb, ss_global const float* A, ss_global const int32_t* gather,
                                         ss_global const float* B, uint32_t row0, uint32_t col0, bool first_tile, uint32_t chunks,
                                         bool l2, uint32_t t) {
  for (uint32_t chunk = 0; chunk < chunks; ++chunk) {
    const uint32_t k0 = chunk * M3T_KC;
    const uint32_t kc = p.dim - k0 < M3T_KC ? p.dim - k0 : M3T_KC;
    const uint32_t kc8 = (kc + 7u) & ~7u;
    if (chunk > 0) ss_threadgroup_sync();
    if (chunks > 1 || first_tile) m3t_load(As, M3T_AP, M3T_TM, A, gather, p.gather, row0, p.n, p.dim, k0, kc8, t);
    m3t_load(Bs, M3T_BP, M3T_TN, B, gather, 0u, col0, p.m, p.dim, k0, kc8, t);
    if (chunk == 0 && t < M3T_TN) Gb[t] = (l2 && col0 + t < p.m) ? -0.5f * m3t_sumsq(B + (uint64_t)(col0 + t) * p.dim, p.dim) : 0.0f;
    ss_threadgroup_sync();
    m3t_accumulate(acc, As, Bs, kc8, t);
  }
}

/* ---- 1. the tiled scan ---------------------------------------------------------------------- */
#if defined(SS_BACKEND_METAL_COMPILE)
/* threadgroup (rb, split), thread t of M3T_THREADS; sm: M3T_SHARED_FLOATS of threadgroup memory */
ss_device_inline void m3g_nn_scan(const m3g_nn_params p, uint32_t rb, uint32_t split, uint32_t t, ss_global const float* A,
                                  ss_global const int32_t* gather, ss_global const float* B, ss_global float* scratch,
                                  ss_shared float* sm) {
  ss_shared float* As = sm + M3T_AS;
  ss_shared float* Bs = sm + M3T_BS;
  ss_shared float* S = sm + M3T_S;
  ss_shared float* Ga = sm + M3T_GA;
  ss_shared float* Gb = sm + M3T_GB;
  const uint32_t row0 = rb * M3T_TM;
  const uint32_t tile0 = split * p.tiles_per_split;
  const uint32_t tile1 = tile0 + p.tiles_per_split < p.col_tiles ? tile0 + p.tiles_per_split : p.col_tiles;
  const bool l2 = p.dist == SS_DIST_L2;
  const uint32_t chunks = (p.dim + M3T_KC - 1u) / M3T_KC;
  const uint32_t rr = t / M3T_RT, rsub = t % M3T_RT;
  const uint32_t cc = t % M3T_TN, csub = t / M3T_TN;
  m3g_top2 best = m3g_top2_empty();
  m3g_nn_rows_g(p, Ga, A, gather, row0, l2, t);
  for (uint32_t tile = tile0; tile < tile1; ++tile) {
    const uint32_t col0 = tile * M3T_TN;
    const uint32_t ncols = p.m - col0 < M3T_TN ? p.m - col0 : M3T_TN;
    m3t_acc acc;
    m3t_zero(acc);
    m3g_nn_tile_chunks(p, acc, As, Bs, Gb, A, gather, B, row0, col0, tile == tile0, chunks, l2, t);
    m3t_store(acc, S, t);
    ss_threadgroup_sync();
    if (row0 + rr < p.n) {
      /* groups of 4 columns, interleaved between a row's threads (conflict-free 16-byte reads) */
      for (uint32_t j = 0; j < M3T_TN / (4u * M3T_RT); ++j) {
        const uint32_t c = 4u * (rsub + M3T_RT * j);
        if (c >= ncols) continue;
        float4 v = m3t_read4(S, rr * M3T_SP + c);
        if (l2) {
          const float4 g = m3t_read4(Gb, c);
          v.x += g.x;
          v.y += g.y;
          v.z += g.z;
          v.w += g.w;
        }
        const int32_t j0 = (int32_t)(col0 + c);
        if (c + 4u <= ncols) {
          m3g_top2_offer(&best, v.x, j0);
          m3g_top2_offer(&best, v.y, j0 + 1);
          m3g_top2_offer(&best, v.z, j0 + 2);
          m3g_top2_offer(&best, v.w, j0 + 3);
        } else {
          m3g_top2_offer(&best, v.x, j0);
          if (c + 1u < ncols) m3g_top2_offer(&best, v.y, j0 + 1);
          if (c + 2u < ncols) m3g_top2_offer(&best, v.z, j0 + 2);
        }
      }
    }
    if (p.recip && cc < ncols) {
      m3g_top2 cb = m3g_top2_empty();
      const uint32_t rows = p.n - row0 < M3T_TM ? p.n - row0 : M3T_TM;
      if (l2) {
        for (uint32_t r = csub; r < rows; r += M3T_CT) m3g_top2_offer(&cb, S[r * M3T_SP + cc] + Ga[r], (int32_t)(row0 + r));
      } else {
        for (uint32_t r = csub; r < rows; r += M3T_CT) m3g_top2_offer(&cb, S[r * M3T_SP + cc], (int32_t)(row0 + r));
      }
      const uint64_t stride = (uint64_t)p.row_blocks * M3T_CT * p.m;
      const uint64_t at = (uint64_t)(rb * M3T_CT + csub) * p.m + col0 + cc;
      scratch[p.cp + at] = cb.m1;
      scratch[p.cp + stride + at] = cb.m2;
      ((ss_global int32_t*)scratch)[p.cp + 2u * stride + at] = cb.id;
    }
    ss_threadgroup_sync();
  }
  if (row0 + rr < p.n) {
    const uint64_t stride = (uint64_t)p.splits * M3T_RT * p.n;
    const uint64_t at = (uint64_t)(split * M3T_RT + rsub) * p.n + row0 + rr;
    scratch[p.rp + at] = best.m1;
    scratch[p.rp + stride + at] = best.m2;
    ((ss_global int32_t*)scratch)[p.rp + 2u * stride + at] = best.id;
  }
}
#else
/* CUDA: the arg-best straight from the accumulators, no score tile in shared memory. Thread t
 * (ty = t / 16, tx = t % 16) holds the scores of rows ty·8 .. ty·8 + 7 and columns tx·8 .. tx·8 + 7
 * (mast3r_tile_gpu.h). Rows: a best two per row in registers across the split's tiles, merged
 * over the row's 16 threads (a half-warp) by shuffles at the end: one partial per row and split.
 * Columns (recip): per tile a best two per column over the thread's 8 rows, through shared memory
 * (Cs, 16 row groups × TN × (m1, m2, id)) to one thread per column that merges the 16: one
 * partial per column and row block. Invalid columns (past m) and rows (past n) add −∞, which
 * an offer ignores; a dot score adds −0 where an add is needed (x + −0 = x bit for bit).
 * When one chunk holds the descriptor (dim ≤ KC) and M3T_NN_PIPELINE is on, B's tiles (and G_b)
 * are double-buffered: the next tile is copied (cp.async) while this one is multiplied, one
 * __syncthreads per tile (two with recip); longer descriptors load chunk by chunk in between. */
#ifndef M3T_NN_PIPELINE
#define M3T_NN_PIPELINE 1
#endif
#define M3T_NN_BUFS (M3T_NN_PIPELINE ? 2u : 1u)
#define M3T_NN_BSZ (M3T_KC * M3T_BP)
#define M3T_NN_GA (M3T_BS + M3T_NN_BUFS * M3T_NN_BSZ)
#define M3T_NN_GB (M3T_NN_GA + M3T_TM)
#define M3T_NN_CS (M3T_NN_GB + M3T_NN_BUFS * M3T_TN)
#define M3T_NN_CSZ ((M3T_TM / 8u) * M3T_TN)
/* shared floats of the scan: As, Bs (×2), Ga, Gb (×2), and the column partials when recip */
#define M3T_NN_SHARED_FLOATS(recip) (M3T_NN_CS + ((recip) ? 3u * M3T_NN_CSZ : 0u))

#if defined(SS_BACKEND_CUDA_COMPILE)
/* a 4-byte copy global → shared that completes asynchronously (zeros when !in: src-size 0 reads nothing) */
ss_device_inline void m3g_cp_async4(float* dst, const float* src, bool in) {
  const uint32_t d = (uint32_t)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(d), "l"(src), "r"(in ? 4u : 0u) : "memory");
}
/* the calling thread's copies complete (a __syncthreads then shows them to the block) */
ss_device_inline void m3g_cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
#endif

/* B's columns [col0, col0 + TN), k < kc8 (one chunk: dim ≤ kc8), as m3t_load lays them out, by cp.async */
ss_device_inline void m3g_nn_load_b_async(float* dst, const float* B, uint32_t col0, uint32_t m, uint32_t dim, uint32_t kc8, uint32_t t) {
  uint32_t r = t / kc8, k = t % kc8;
  const uint32_t dr = M3T_THREADS / kc8, dk = M3T_THREADS % kc8;
  for (uint32_t e = t; e < M3T_TN * kc8; e += M3T_THREADS) {
    const bool in = col0 + r < m && k < dim;
    m3g_cp_async4(dst + k * M3T_BP + r, in ? B + (uint64_t)(col0 + r) * dim + k : B, in);
    r += dr;
    k += dk;
    if (k >= kc8) {
      k -= kc8;
      ++r;
    }
  }
}

/* Cs slot of row group ty, column c: the 8 columns of a thread swizzled by its tx / 4 and ty's
 * parity, so a warp's stores (one column j of 16 tx × 2 ty) and loads (32 columns of one ty)
 * hit 32 different banks */
ss_device_inline uint32_t m3g_cs_at(uint32_t ty, uint32_t c) {
  return ty * M3T_TN + (c & ~7u) + ((c & 7u) ^ (((c >> 5) & 3u) | ((ty & 1u) << 2)));
}

/* m3g_top2_offer as a compare, a max and selects (no branches in the unrolled epilogues): the same
 * values but for the sign of a zero runner-up (max(+0, −0)), which no comparison after sees; a NaN
 * score is ignored, as there (fmaxf returns the other operand) */
ss_device_inline void m3g_top2_offer_sel(m3g_top2* b, float s, int32_t j) {
  const bool gt = s > b->m1;
  const float mx = fmaxf(b->m2, s);
  b->m2 = gt ? b->m1 : mx;
  b->m1 = gt ? s : b->m1;
  b->id = gt ? j : b->id;
}

/* the thread's 8 × 8 scores (+ gc[j] when ADD) into its rows' best two; c0 its first column */
template <bool ADD>
ss_device_inline void m3g_nn_offer_rows(m3g_top2 (&best)[8], const m3t_acc& acc, const float (&gc)[8], int32_t c0) {
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) m3g_top2_offer_sel(&best[i], ADD ? acc.c[i][j] + gc[j] : acc.c[i][j], c0 + j);
}

/* the best two of each of the thread's 8 columns over its 8 rows (+ gr[i] when ADD) into Cs; r0 its first row */
template <bool ADD>
ss_device_inline void m3g_nn_offer_cols(float* Cs, const m3t_acc& acc, const float (&gr)[8], int32_t r0, uint32_t ty, uint32_t tx) {
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    m3g_top2 cb = m3g_top2_empty();
#pragma unroll
    for (int i = 0; i < 8; ++i) m3g_top2_offer_sel(&cb, ADD ? acc.c[i][j] + gr[i] : acc.c[i][j], r0 + i);
    const uint32_t at = m3g_cs_at(ty, tx * 8u + (uint32_t)j);
    Cs[at] = cb.m1;
    Cs[M3T_NN_CSZ + at] = cb.m2;
    reinterpret_cast<int32_t*>(Cs)[2u * M3T_NN_CSZ + at] = cb.id;
  }
}

/* threadgroup (rb, split), thread t of M3T_THREADS; sm: M3T_NN_SHARED_FLOATS(p.recip) floats of shared memory */
ss_device_inline void m3g_nn_scan(const m3g_nn_params p, uint32_t rb, uint32_t split, uint32_t t, const float* A, const int32_t* gather,
                                  const float* B, float* scratch, float* sm) {
  float* As = sm + M3T_AS;
  float* Bs = sm + M3T_BS;
  float* Ga = sm + M3T_NN_GA;
  float* Gb = sm + M3T_NN_GB;
  float* Cs = sm + M3T_NN_CS;
  const uint32_t row0 = rb * M3T_TM;
  const uint32_t rows = p.n - row0 < M3T_TM ? p.n - row0 : M3T_TM;
  const uint32_t tile0 = split * p.tiles_per_split;
  const uint32_t tile1 = tile0 + p.tiles_per_split < p.col_tiles ? tile0 + p.tiles_per_split : p.col_tiles;
  const bool l2 = p.dist == SS_DIST_L2;
  const uint32_t chunks = (p.dim + M3T_KC - 1u) / M3T_KC;
  const uint32_t ty = t / 16u, tx = t % 16u;
  m3g_top2 best[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) best[i] = m3g_top2_empty();
  m3g_nn_rows_g(p, Ga, A, gather, row0, l2, t);
  const bool pipe = M3T_NN_PIPELINE && chunks == 1u;
  const uint32_t kc8_all = (p.dim + 7u) & ~7u;
  if (pipe && tile0 < tile1) {
    /* the rows once, the first tile's columns in flight (both shown by the first tile's sync) */
    m3t_load(As, M3T_AP, M3T_TM, A, gather, p.gather, row0, p.n, p.dim, 0u, kc8_all, t);
    m3g_nn_load_b_async(Bs, B, tile0 * M3T_TN, p.m, p.dim, kc8_all, t);
    if (l2 && t < M3T_TN && tile0 * M3T_TN + t < p.m) Gb[t] = -0.5f * m3t_sumsq(B + (uint64_t)(tile0 * M3T_TN + t) * p.dim, p.dim);
  }
  for (uint32_t tile = tile0; tile < tile1; ++tile) {
    const uint32_t col0 = tile * M3T_TN;
    const uint32_t ncols = p.m - col0 < M3T_TN ? p.m - col0 : M3T_TN;
    const uint32_t buf = pipe ? (tile - tile0) & 1u : 0u;
    const float* Gt = Gb + buf * M3T_TN;
    m3t_acc acc;
    m3t_zero(acc);
    if (pipe) {
      /* this tile's copies done and shown; every thread is past the previous tile, so the other
       * buffers (read there) take the next tile */
      m3g_cp_async_wait_all();
      ss_threadgroup_sync();
      if (tile + 1u < tile1) {
        const uint32_t nb = buf ^ 1u, ncol0 = col0 + M3T_TN;
        m3g_nn_load_b_async(Bs + nb * M3T_NN_BSZ, B, ncol0, p.m, p.dim, kc8_all, t);
        if (l2 && t < M3T_TN && ncol0 + t < p.m) Gb[nb * M3T_TN + t] = -0.5f * m3t_sumsq(B + (uint64_t)(ncol0 + t) * p.dim, p.dim);
      }
      m3t_accumulate(acc, As, Bs + buf * M3T_NN_BSZ, kc8_all, t);
    } else {
      m3g_nn_tile_chunks(p, acc, As, Bs, Gb, A, gather, B, row0, col0, tile == tile0, chunks, l2, t);
    }
    /* rows: score + G_b (l2), −∞ past the last column */
    if (l2 || ncols < M3T_TN) {
      float gc[8];
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const uint32_t c = tx * 8u + (uint32_t)j;
        gc[j] = c < ncols ? (l2 ? Gt[c] : -0.0f) : -SS_INF;
      }
      m3g_nn_offer_rows<true>(best, acc, gc, (int32_t)(col0 + tx * 8u));
    } else {
      const float gc[8] = {};
      m3g_nn_offer_rows<false>(best, acc, gc, (int32_t)(col0 + tx * 8u));
    }
    if (p.recip) {
      /* columns: score + G_a (l2), −∞ past the last row */
      if (l2 || rows < M3T_TM) {
        float gr[8];
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const uint32_t r = ty * 8u + (uint32_t)i;
          gr[i] = r < rows ? (l2 ? Ga[r] : -0.0f) : -SS_INF;
        }
        m3g_nn_offer_cols<true>(Cs, acc, gr, (int32_t)(row0 + ty * 8u), ty, tx);
      } else {
        const float gr[8] = {};
        m3g_nn_offer_cols<false>(Cs, acc, gr, (int32_t)(row0 + ty * 8u), ty, tx);
      }
      /* also orders this tile's reads of As, Bs, Gb before the next tile's loads (unpipelined), and the
       * merge's reads of Cs (before the next tile's first sync) before the next tile's stores */
      ss_threadgroup_sync();
      if (t < M3T_TN) {
        m3g_top2 cb = m3g_top2_empty();
#pragma unroll
        for (uint32_t g = 0; g < M3T_TM / 8u; ++g) {
          const uint32_t at = m3g_cs_at(g, t);
          m3g_top2_merge(&cb, Cs[at], Cs[M3T_NN_CSZ + at], reinterpret_cast<const int32_t*>(Cs)[2u * M3T_NN_CSZ + at]);
        }
        if (t < ncols) {
          const uint64_t stride = (uint64_t)p.row_blocks * M3T_NN_CT * p.m;
          const uint64_t at = (uint64_t)rb * M3T_NN_CT * p.m + col0 + t;
          scratch[p.cp + at] = cb.m1;
          scratch[p.cp + stride + at] = cb.m2;
          reinterpret_cast<int32_t*>(scratch)[p.cp + 2u * stride + at] = cb.id;
        }
      }
    } else if (!pipe) {
      /* this tile's reads of As, Bs, Gb before the next tile's loads */
      ss_threadgroup_sync();
    }
  }
  /* a row's 16 threads are a half-warp (tx = lane % 16): butterfly over lane bits 0..3 */
  const uint64_t stride = (uint64_t)p.splits * M3T_NN_RT * p.n;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    m3g_top2_butterfly(&best[i], 16u);
    const uint32_t r = ty * 8u + (uint32_t)i;
    if (tx == 0u && r < rows) {
      const uint64_t at = (uint64_t)split * M3T_NN_RT * p.n + row0 + r;
      scratch[p.rp + at] = best[i].m1;
      scratch[p.rp + stride + at] = best[i].m2;
      reinterpret_cast<int32_t*>(scratch)[p.rp + 2u * stride + at] = best[i].id;
    }
  }
}
#endif

/* ---- 2. merges: a SIMD-group (32 lanes) per row or column ------------------------------------
 * Its lanes take every 32nd partial, then a butterfly; the merge is order-independent in the
 * values, so any order gives the same best two. An ambiguous entry goes on the list with its
 * merged best score m1 beside it (at list + 1 + cap + slot) for the re-scan's threshold. Every
 * lane of the SIMD-group calls these together (rows or columns past the end only shuffle). */
/* partials e = lane, lane + 32, … of a row (column) at base + e·rows, arrays stride apart; every lane gets the merge */
ss_device_inline m3g_top2 m3g_merge_simd(ss_global const float* scratch, uint64_t base, uint64_t rows, uint64_t stride, uint32_t entries,
                                         uint32_t lane) {
  m3g_top2 b = m3g_top2_empty();
  for (uint32_t e = lane; e < entries; e += 32u) {
    const uint64_t at = base + (uint64_t)e * rows;
    m3g_top2_merge(&b, scratch[at], scratch[stride + at], ((ss_global const int32_t*)scratch)[2u * stride + at]);
  }
  m3g_top2_butterfly(&b, 32u);
  return b;
}

/* If the runner-up is below the best by more than E, the best is the exact winner; otherwise the entry
 * goes on the ambiguous list (ties land there too) */
ss_device_inline void m3g_nn_decide(m3g_top2 b, float E, uint32_t entry, ss_global int32_t* out, ss_global float* scratch, const m3g_nn_params p) {
  if (b.id >= 0 && b.m2 < b.m1 - E) {
    *out = b.id;
    return;
  }
  ss_global uint32_t* l = (ss_global uint32_t*)scratch + p.list;
  const uint32_t slot = ss_atomic_add_u32(l, 1u);
  l[1u + slot] = entry;
  scratch[p.list + 1u + M3G_LIST_CAP(p) + slot] = b.m1;
}

/* row i of n */
ss_device_inline void m3g_nn_merge_rows(const m3g_nn_params p, uint32_t i, uint32_t lane, ss_global const float* A, ss_global const int32_t* gather,
                                        ss_global float* scratch, ss_global const float* stats, ss_global int32_t* out) {
  const uint32_t entries = p.splits * M3T_NN_RT;
  const m3g_top2 b = m3g_merge_simd(scratch, p.rp + (uint64_t)(i < p.n ? i : 0u), p.n, (uint64_t)entries * p.n, i < p.n ? entries : 0u, lane);
  if (lane != 0u || i >= p.n) return;
  const uint64_t row = p.gather ? (uint64_t)gather[i] : (uint64_t)i;
  m3g_nn_decide(b, m3g_scan_E(p, m3g_norm_up(A + row * p.dim, p.dim), stats[p.omax_row]), i, out + i, scratch, p);
}
/* column j of m (reciprocal) */
ss_device_inline void m3g_nn_merge_cols(const m3g_nn_params p, uint32_t j, uint32_t lane, ss_global const float* B, ss_global float* scratch,
                                        ss_global const float* stats, ss_global int32_t* out) {
  const uint32_t entries = p.cp_entries ? p.cp_entries : p.row_blocks * M3T_NN_CT;
  const m3g_top2 b = m3g_merge_simd(scratch, p.cp + (uint64_t)(j < p.m ? j : 0u), p.m, (uint64_t)entries * p.m, j < p.m ? entries : 0u, lane);
  if (lane != 0u || j >= p.m) return;
  m3g_nn_decide(b, m3g_scan_E(p, m3g_norm_up(B + (uint64_t)j * p.dim, p.dim), stats[p.omax_col]), 0x80000000u | j, out + j, scratch, p);
}

/* ---- 3. exact re-scan of the ambiguous: a SIMD-group per (entry, chunk of M3G_RESCAN_COLS columns) ----
 * Per chunk, the best float64 key (the lowest index on ties) of the candidates; then per entry the
 * best over the chunks. A candidate is a column whose plain float32 score reaches m1 − E/2 − 2·err
 * (l2: in the plain score's units, below): the scan's m1 is within E/4 of some column's exact score,
 * so the exact maximum is ≥ m1 − E/4 and every column that reaches it passes (its plain score is
 * within err). The answer is that maximum's lowest index: mast3r_nn_exact's. A few ambiguous rows
 * cost a share of the GPU, not one threadgroup's walk over the whole other set. */
typedef struct m3g_rescan_entry {
  ss_global const float* q;
  ss_global const float* set;
  uint32_t size, idx;
  float omax;
} m3g_rescan_entry;
/* list entry `entry`: the vector re-scanned, the set it is scanned against, and the set's size and largest norm */
ss_device_inline m3g_rescan_entry m3g_rescan_at(const m3g_nn_params p, uint32_t entry, ss_global const float* A, ss_global const int32_t* gather,
                                                ss_global const float* B, ss_global const float* stats) {
  m3g_rescan_entry r;
  r.idx = entry & 0x7fffffffu;
  if ((entry & 0x80000000u) != 0u) {
    r.q = B + (uint64_t)r.idx * p.dim;
    r.set = A;
    r.size = p.n;
    r.omax = stats[p.omax_col];
  } else {
    r.q = A + (p.gather ? (uint64_t)gather[r.idx] : (uint64_t)r.idx) * p.dim;
    r.set = B;
    r.size = p.m;
    r.omax = stats[p.omax_row];
  }
  return r;
}

/* the better of two (key, index) candidates: the larger key, the lower index on ties (index < 0: none) */
ss_device_inline void m3g_key_better(ss_thread mast3r_x64* bk, ss_thread int32_t* bi, mast3r_x64 ok, int32_t oi) {
  if (oi >= 0 && (*bi < 0 || ok > *bk || (ok == *bk && oi < *bi))) {
    *bk = ok;
    *bi = oi;
  }
}
ss_device_inline void m3g_key_reduce_simd(ss_thread mast3r_x64* bk, ss_thread int32_t* bi) {
  for (uint32_t off = 1u; off < 32u; off <<= 1) {
    const uint32_t hi = ss_simd_shuffle_xor_u32((uint32_t)(*bk >> 32), off), lo = ss_simd_shuffle_xor_u32((uint32_t)*bk, off);
    const int32_t oi = ss_simd_shuffle_xor_i32(*bi, off);
    m3g_key_better(bk, bi, ((mast3r_x64)hi << 32) | (mast3r_x64)lo, oi);
  }
}

/* m3g_score_plain with the query in registers (dim ≤ 32), the column read 16 bytes at a time when dim is a multiple of 4
 * (buffers are page-aligned, so every row then is) */
ss_device_inline float m3g_score_plain_q32(ss_thread const float* q, ss_global const float* b, uint32_t dim, uint32_t dist) {
  float s = 0.0f;
  const bool l2 = dist != SS_DIST_DOT;
  if ((dim & 3u) == 0u) {
    for (uint32_t k = 0; k < 32u; k += 4u) {
      if (k >= dim) break;
      const float4 v = *(ss_global const float4*)(b + k);
      const float bv[4] = {v.x, v.y, v.z, v.w};
      for (uint32_t i = 0; i < 4u; ++i) {
        const float d = l2 ? q[k + i] - bv[i] : bv[i];
        s = ss_fma(l2 ? d : q[k + i], d, s);
      }
    }
  } else {
    for (uint32_t k = 0; k < 32u; ++k) {
      if (k >= dim) break;
      const float d = l2 ? q[k] - b[k] : b[k];
      s = ss_fma(l2 ? d : q[k], d, s);
    }
  }
  return l2 ? -s : s;
}

/* work item w (entry w / chunks, chunk w % chunks; w ≥ count·chunks: shuffles only): the chunk's best candidate →
 * rkey[w] (two words), ridx[w] */
ss_device_inline void m3g_nn_rescan_best(const m3g_nn_params p, uint64_t w, uint32_t lane, ss_global const float* A, ss_global const int32_t* gather,
                                         ss_global const float* B, ss_global const float* scratch, ss_global const float* stats,
                                         ss_global uint32_t* rkey, ss_global int32_t* ridx) {
  ss_global const uint32_t* list = (ss_global const uint32_t*)scratch + p.list;
  const uint32_t chunks = M3G_RESCAN_CHUNKS(p);
  const bool live = w < (uint64_t)list[0] * chunks;
  mast3r_x64 bk = 0;
  int32_t bi = -1;
  if (live) {
    const uint32_t e = (uint32_t)(w / chunks);
    const m3g_rescan_entry r = m3g_rescan_at(p, list[1u + e], A, gather, B, stats);
    const float qn = m3g_norm_up(r.q, p.dim);
    const float m1 = scratch[p.list + 1u + M3G_LIST_CAP(p) + e];
    /* l2: the plain score is −‖q − b‖² = 2·(q·b − ‖b‖²/2) − ‖q‖², the scan's doubled less ‖q‖² (qn² rounded up bounds it) */
    const float E = m3g_scan_E(p, qn, r.omax), err = m3g_err_plain(p.dim, p.dist, qn, r.omax);
    const float thr = p.dist == SS_DIST_DOT ? m1 - 0.5f * E - 2.0f * err : 2.0f * m1 - E - qn * qn * (1.0f + 4.0f * M3G_U32) - 2.0f * err;
    const uint32_t j0 = (uint32_t)(w % chunks) * M3G_RESCAN_COLS;
    const uint32_t j1 = r.size < j0 + M3G_RESCAN_COLS ? r.size : j0 + M3G_RESCAN_COLS;
    if (p.dim <= 32u) {
      float q[32];
      for (uint32_t k = 0; k < 32u; ++k) q[k] = k < p.dim ? r.q[k] : 0.0f;
      for (uint32_t j = j0 + lane; j < j1; j += 32u) {
        ss_global const float* b = r.set + (uint64_t)j * p.dim;
        if (!(m3g_score_plain_q32(q, b, p.dim, p.dist) >= thr)) continue;
        m3g_key_better(&bk, &bi, mast3r_x64_key(m3g_score_x64(r.q, b, p.dim, p.dist)), (int32_t)j);
      }
    } else {
      for (uint32_t j = j0 + lane; j < j1; j += 32u) {
        ss_global const float* b = r.set + (uint64_t)j * p.dim;
        if (!(m3g_score_plain(r.q, b, p.dim, p.dist) >= thr)) continue;
        m3g_key_better(&bk, &bi, mast3r_x64_key(m3g_score_x64(r.q, b, p.dim, p.dist)), (int32_t)j);
      }
    }
  }
  m3g_key_reduce_simd(&bk, &bi);
  if (live && lane == 0u) {
    rkey[2u * w] = (uint32_t)(bk >> 32);
    rkey[2u * w + 1u] = (uint32_t)bk;
    ridx[w] = bi;
  }
}

/* entry e (e ≥ count: shuffles only) → its output */
ss_device_inline void m3g_nn_rescan_finish(const m3g_nn_params p, uint32_t e, uint32_t lane, ss_global const float* scratch,
                                           ss_global const uint32_t* rkey, ss_global const int32_t* ridx, ss_global int32_t* out_rows,
                                           ss_global int32_t* out_cols) {
  ss_global const uint32_t* list = (ss_global const uint32_t*)scratch + p.list;
  const uint32_t chunks = M3G_RESCAN_CHUNKS(p);
  const bool live = e < list[0];
  mast3r_x64 bk = 0;
  int32_t bi = -1;
  if (live) {
    for (uint32_t c = lane; c < chunks; c += 32u) {
      const uint64_t w = (uint64_t)e * chunks + c;
      m3g_key_better(&bk, &bi, ((mast3r_x64)rkey[2u * w] << 32) | (mast3r_x64)rkey[2u * w + 1u], ridx[w]);
    }
  }
  m3g_key_reduce_simd(&bk, &bi);
  if (live && lane == 0u) {
    const uint32_t entry = list[1u + e];
    if ((entry & 0x80000000u) != 0u) out_cols[entry & 0x7fffffffu] = bi;
    else out_rows[entry] = bi;
  }
}

/* ---- the largest norm of a set (rounded up): a threadgroup tree per group of T rows into
 * partial[group], then one threadgroup over the partials into *target (max is exact: any order) */
ss_device_inline void m3g_max_norm(uint32_t group, uint32_t t, uint32_t T, uint32_t rows, uint32_t dim, ss_global const float* src,
                                   ss_shared float* red, ss_global float* partial) {
  const uint32_t i = group * T + t;
  red[t] = i < rows ? m3g_norm_up(src + (uint64_t)i * dim, dim) : 0.0f;
  ss_threadgroup_sync();
  for (uint32_t stride = T / 2u; stride > 0u; stride >>= 1) {
    if (t < stride && red[t + stride] > red[t]) red[t] = red[t + stride];
    ss_threadgroup_sync();
  }
  if (t == 0u) partial[group] = red[0];
}
ss_device_inline void m3g_max_reduce(uint32_t t, uint32_t T, uint32_t count, ss_global const float* partial, ss_shared float* red,
                                     ss_global float* target) {
  float m = 0.0f;
  for (uint32_t i = t; i < count; i += T) m = partial[i] > m ? partial[i] : m;
  red[t] = m;
  ss_threadgroup_sync();
  for (uint32_t stride = T / 2u; stride > 0u; stride >>= 1) {
    if (t < stride && red[t + stride] > red[t]) red[t] = red[t + stride];
    ss_threadgroup_sync();
  }
  if (t == 0u) *target = red[0];
}

#endif
