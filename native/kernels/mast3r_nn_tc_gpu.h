/* Step 1 of mast3r_nn_gpu.h on CUDA's tensor cores, for descriptors of up to 32 floats: each
 * row's best two scores and the best's column over a split's column tiles, from mma.sync
 * m16n8k8 (TF32 in, FP32 accumulate). Needs mast3r_nn_gpu.h (m3g_top2) and mast3r_tile_gpu.h.
 *
 * Why its own body: Metal's matrix unit (simdgroup_float8x8) multiplies in full float32, so
 * Metal keeps the shared tile step; CUDA's rounds its inputs to TF32 (11 significant bits). Each
 * float is therefore split, x = hi + lo + r with hi = tf32(x), lo = tf32(x − hi), |r| ≤ 2⁻²²|x|,
 * and a score is Σ lo_a·hi_b + hi_a·lo_b + hi_a·hi_b over k (3 MMAs per k step of 8, products
 * exact in FP32). The sum's error, whatever the tensor core's internal alignment and truncation,
 * stays within m3g_tc_err (mast3r_nn_gpu.h), a few times the FFMA path's bound: the merge's
 * ambiguity test and exact re-scan (steps 2 and 3) are the same, so results are bit for bit the
 * CPU's, only a few more rows are re-scanned.
 *
 * Shape: 8 warps, each 32 rows (two m16 tiles) whose split A fragments stay in registers for the
 * whole split; the columns arrive pre-split (m3g_tc_split_word: per column and k step 8 hi then 8 lo
 * words, ordered so a lane's two B values are adjacent) in tiles of 128, double-buffered through
 * shared memory by cp.async. A row's scores reach only registers: each lane keeps its 4 rows'
 * best two over its columns, the row's 4 lanes merge by shuffles at the end of the split, one
 * partial per row and split (as M3T_NN_RT = 1). Reciprocal: the same scan with the roles swapped
 * (B's rows against A's split columns) gives the column partials. */
#ifndef SS_KERNEL_MAST3R_NN_TC_GPU_H
#define SS_KERNEL_MAST3R_NN_TC_GPU_H

#define M3TC_WARPS 8u
#define M3TC_THREADS (M3TC_WARPS * 32u)
/* rows per threadgroup (32 per warp), columns per tile (16 n8 tiles) */
#define M3TC_TM (M3TC_WARPS * 32u)
#define M3TC_TN 128u
/* k steps of 8: descriptors of up to 32 floats */
#define M3TC_MAX_KS 4u
/* words of a column's split record, and its shared stride (≡ 8 or 24 mod 32: a half-warp's
 * 8-byte reads of 4 columns × 4 lane pairs hit 32 banks) */
#define M3TC_COL_WORDS(ks) ((ks) * 16u)
#define M3TC_CP(ks) ((ks) * 16u + 8u)
/* one tile buffer: records then G; two buffers */
#define M3TC_BUF_WORDS(ks) (M3TC_TN * M3TC_CP(ks) + M3TC_TN)
#define M3TC_SHARED_WORDS(ks) (2u * M3TC_BUF_WORDS(ks))

#if defined(SS_BACKEND_CUDA_COMPILE)
/* x rounded to TF32 (nearest, ties away), as float32 bits with the low 13 bits zero */
ss_device_inline uint32_t m3tc_tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
}
/* d += a·b for the warp's 16 × 8 tile (PTX fragment layout of m16n8k8 .tf32) */
ss_device_inline void m3tc_mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
/* 16 bytes global → shared, landing asynchronously (L2 only: the tiles are read once per block) */
ss_device_inline void m3tc_cp_async16(void* dst, const void* src) {
  const uint32_t d = (uint32_t)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(d), "l"(src) : "memory");
}
/* the calling thread's copies have landed (a __syncthreads then shows them to the block) */
ss_device_inline void m3tc_cp_wait() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
#endif

/* rows (optionally gathered) against cols pre-split columns; partials at scratch[out ..]: three
 * arrays (m1, m2, index) of splits × rows, entry split·rows + row */
typedef struct m3tc_params {
  uint32_t rows, cols, dim, dist;
  uint32_t ks, gather, splits, tiles_per_split;
  uint32_t col_tiles, row_blocks, out, pad0;
} m3tc_params;

/* k of word j (0..7) of a k step's hi (or lo) half: lane quad q reads words 2q, 2q + 1 = k q, q + 4 */
ss_host_device_inline uint32_t m3tc_word_k(uint32_t j) { return (j >> 1) + (j & 1u) * 4u; }

/* word w of the split records (column c = w / (ks·16); past cols: zeros): one thread per word, so
 * the writes are contiguous and a warp's reads stay within a few columns */
ss_device_inline void m3g_tc_split_word(uint64_t w, uint32_t cols, uint32_t dim, uint32_t ks, const float* src, uint32_t* frag) {
  const uint32_t cw = M3TC_COL_WORDS(ks);
  const uint64_t c = w / cw;
  const uint32_t in_col = (uint32_t)(w % cw), j = in_col % 16u;
  const uint32_t k = (in_col / 16u) * 8u + m3tc_word_k(j % 8u);
  const float x = c < cols && k < dim ? src[c * dim + k] : 0.0f;
  const uint32_t hi = m3tc_tf32(x);
  frag[w] = j < 8u ? hi : m3tc_tf32(x - __uint_as_float(hi));
}
/* G[c] = −‖b‖²/2 of column c as the FFMA path computes it (l2; past cols: 0) */
ss_device_inline void m3g_tc_split_g(uint32_t c, uint32_t cols, uint32_t dim, const float* src, float* G) {
  G[c] = c < cols ? -0.5f * m3t_sumsq(src + (uint64_t)c * dim, dim) : 0.0f;
}

/* a tile's records (and G) into a shared buffer; 16-byte copies that land by m3tc_cp_wait */
ss_device_inline void m3tc_load_tile(float* dst, const uint32_t* frag, const float* G, uint32_t col0, uint32_t ks, bool l2, uint32_t t) {
  const uint32_t chunks_per_col = ks * 4u, cp = M3TC_CP(ks);
  const uint32_t* src = frag + (uint64_t)col0 * M3TC_COL_WORDS(ks);
  for (uint32_t e = t; e < M3TC_TN * chunks_per_col; e += M3TC_THREADS) {
    const uint32_t col = e / chunks_per_col, w = (e % chunks_per_col) * 4u;
    m3tc_cp_async16(dst + col * cp + w, src + (uint64_t)col * M3TC_COL_WORDS(ks) + w);
  }
  if (l2 && t < M3TC_TN / 4u) m3tc_cp_async16(dst + M3TC_TN * cp + 4u * t, reinterpret_cast<const uint32_t*>(G + col0) + 4u * t);
}

/* the lane's scores of one n8 tile (+ g0, g1 on its two columns when ADD) into its 4 rows' best two */
template <bool ADD>
ss_device_inline void m3tc_offer(m3g_top2 (&best)[4], const float (&acc)[2][4], float g0, float g1, int32_t c) {
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
    m3g_top2_offer_sel(&best[2 * mt], ADD ? acc[mt][0] + g0 : acc[mt][0], c);
    m3g_top2_offer_sel(&best[2 * mt], ADD ? acc[mt][1] + g1 : acc[mt][1], c + 1);
    m3g_top2_offer_sel(&best[2 * mt + 1], ADD ? acc[mt][2] + g0 : acc[mt][2], c);
    m3g_top2_offer_sel(&best[2 * mt + 1], ADD ? acc[mt][3] + g1 : acc[mt][3], c + 1);
  }
}

/* threadgroup (rb, split), thread t of M3TC_THREADS; sm: M3TC_SHARED_WORDS(KS) words */
template <uint32_t KS>
ss_device_inline void m3tc_scan(const m3tc_params p, uint32_t rb, uint32_t split, uint32_t t, const float* A, const int32_t* gather,
                                const uint32_t* frag, const float* G, float* scratch, float* sm) {
  const uint32_t warp = t / 32u, lane = t % 32u, g = lane / 4u, q = lane % 4u;
  const uint32_t row0 = rb * M3TC_TM + warp * 32u;
  const bool l2 = p.dist == SS_DIST_L2;
  /* the warp's rows, split: fragment (mt, s) holds rows row0 + 16mt + g (+8), k = 8s + q (+4) */
  uint32_t ah[2][KS][4], al[2][KS][4];
#pragma unroll
  for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const uint32_t r = row0 + 16u * (uint32_t)mt + g + 8u * (uint32_t)e;
      const float* v = nullptr;
      if (r < p.rows) v = A + (uint64_t)(p.gather ? (uint32_t)gather[r] : r) * p.dim;
#pragma unroll
      for (uint32_t s = 0; s < KS; ++s) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const uint32_t k = 8u * s + q + 4u * (uint32_t)h;
          const float x = v && k < p.dim ? v[k] : 0.0f;
          const uint32_t hi = m3tc_tf32(x);
          ah[mt][s][e + 2 * h] = hi;
          al[mt][s][e + 2 * h] = m3tc_tf32(x - __uint_as_float(hi));
        }
      }
    }
  }
  m3g_top2 best[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) best[i] = m3g_top2_empty();
  const uint32_t tile0 = split * p.tiles_per_split;
  const uint32_t tile1 = tile0 + p.tiles_per_split < p.col_tiles ? tile0 + p.tiles_per_split : p.col_tiles;
  const uint32_t cp = M3TC_CP(KS);
  if (tile0 < tile1) m3tc_load_tile(sm, frag, G, tile0 * M3TC_TN, KS, l2, t);
  for (uint32_t tile = tile0; tile < tile1; ++tile) {
    /* this tile's copies done and shown; every thread is past the previous tile, whose buffer
     * takes the next one */
    const float* Bs = sm + ((tile - tile0) & 1u) * M3TC_BUF_WORDS(KS);
    m3tc_cp_wait();
    ss_threadgroup_sync();
    if (tile + 1u < tile1) m3tc_load_tile(sm + ((tile + 1u - tile0) & 1u) * M3TC_BUF_WORDS(KS), frag, G, (tile + 1u) * M3TC_TN, KS, l2, t);
    const uint32_t col0 = tile * M3TC_TN;
    const bool add = l2 || col0 + M3TC_TN > p.cols;
#pragma unroll 2
    for (uint32_t nt = 0; nt < M3TC_TN / 8u; ++nt) {
      float acc[2][4] = {{0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};
      const float* bc = Bs + (nt * 8u + g) * cp + 2u * q;
#pragma unroll
      for (uint32_t s = 0; s < KS; ++s) {
        const float2 h = *reinterpret_cast<const float2*>(bc + 16u * s);
        const float2 l = *reinterpret_cast<const float2*>(bc + 16u * s + 8u);
        const uint32_t bh[2] = {__float_as_uint(h.x), __float_as_uint(h.y)};
        const uint32_t bl[2] = {__float_as_uint(l.x), __float_as_uint(l.y)};
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
          m3tc_mma(acc[mt], al[mt][s], bh);
          m3tc_mma(acc[mt], ah[mt][s], bl);
          m3tc_mma(acc[mt], ah[mt][s], bh);
        }
      }
      const uint32_t c = nt * 8u + 2u * q;
      if (add) {
        /* l2: + G_b; past the last column −∞ (an offer ignores it); a dot score + −0 (bit for bit) */
        float g0 = l2 ? Bs[M3TC_TN * cp + c] : -0.0f, g1 = l2 ? Bs[M3TC_TN * cp + c + 1u] : -0.0f;
        if (col0 + c >= p.cols) g0 = -SS_INF;
        if (col0 + c + 1u >= p.cols) g1 = -SS_INF;
        m3tc_offer<true>(best, acc, g0, g1, (int32_t)(col0 + c));
      } else {
        m3tc_offer<false>(best, acc, 0.0f, 0.0f, (int32_t)(col0 + c));
      }
    }
  }
  /* a row's 4 lanes are a quad (q = lane % 4): butterfly over lane bits 0, 1 */
  const uint64_t stride = (uint64_t)p.splits * p.rows;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    m3g_top2_butterfly(&best[i], 4u);
    const uint32_t r = row0 + 16u * (uint32_t)(i / 2) + g + 8u * (uint32_t)(i % 2);
    if (q == 0u && r < p.rows) {
      const uint64_t at = (uint64_t)split * p.rows + r;
      scratch[p.out + at] = best[i].m1;
      scratch[p.out + stride + at] = best[i].m2;
      reinterpret_cast<int32_t*>(scratch)[p.out + 2u * stride + at] = best[i].id;
    }
  }
}

#endif
