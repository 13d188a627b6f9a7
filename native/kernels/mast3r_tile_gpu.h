/* The one backend-specific piece of the MASt3R GPU bodies: the tile step of a
 * tiled GEMM with K = a descriptor's dimension. A threadgroup holds a chunk of
 * TM rows and TN columns, k-major, in threadgroup memory (As[k·AP + r],
 * Bs[k·BP + c], zero past the descriptor's end up to a multiple of 8); the
 * tile step accumulates S[r][c] = Σ_k As[k][r]·Bs[k][c] over the chunks (one
 * fused multiply-add per k, k ascending) and stores S[r·SP + c] in
 * threadgroup memory, where the shared code (mast3r_nn_gpu.h,
 * mast3r_similarity_gpu.h) reads it: arg-best, log-sum-exp, output.
 *   Metal: each SIMD-group an 8-row strip of 8×8 simdgroup_float8x8 tiles.
 *   CUDA: each thread an 8×8 register block (FP32 FFMA); the nearest-neighbour
 *   scan reads that block (m3t_acc.c) without m3t_store. For descriptors of up
 *   to 32 floats CUDA's nearest-neighbour scan runs on the tensor cores instead
 *   (mast3r_nn_tc_gpu.h: TF32 inputs split in three products, so its rounding
 *   bound stays near this one's).
 * Everything else (tiling, loads, epilogues but the CUDA nearest-neighbour one) is
 * written once. Needs mast3r_gpu_params.h. */
#ifndef SS_KERNEL_MAST3R_TILE_GPU_H
#define SS_KERNEL_MAST3R_TILE_GPU_H

#if defined(SS_BACKEND_METAL_COMPILE)
/* 4 SIMD-groups, each an 8-row strip */
#define M3T_TM M3T_METAL_TM
#define M3T_TN M3T_METAL_TN
#define M3T_THREADS M3T_METAL_THREADS
#else
/* 16 × 16 threads of 8 × 8 outputs */
#define M3T_TM M3T_CUDA_TM
#define M3T_TN M3T_CUDA_TN
#define M3T_THREADS M3T_CUDA_THREADS
#endif
#define M3T_KC 32u
/* padded strides (bank conflicts of the loads and of the epilogue's row reads) */
#define M3T_AP (M3T_TM + 4u)
#define M3T_BP (M3T_TN + 4u)
#define M3T_SP (M3T_TN + 8u)
/* threadgroup floats: As, Bs, S, then a float per row and per column */
#define M3T_AS 0u
#define M3T_BS (M3T_KC * M3T_AP)
#define M3T_S (M3T_BS + M3T_KC * M3T_BP)
#define M3T_GA (M3T_S + M3T_TM * M3T_SP)
#define M3T_GB (M3T_GA + M3T_TM)
#define M3T_SHARED_FLOATS (M3T_GB + M3T_TN)
/* threads per row in the row epilogue, per column in the column epilogue */
#define M3T_RT (M3T_THREADS / M3T_TM)
#define M3T_CT (M3T_THREADS / M3T_TN)
/* partials of the nearest-neighbour scan per row and split, per column and row block (mast3r_gpu_params.h) */
#if defined(SS_BACKEND_METAL_COMPILE)
#define M3T_NN_RT M3T_METAL_NN_RT
#define M3T_NN_CT M3T_METAL_NN_CT
#else
#define M3T_NN_RT M3T_CUDA_NN_RT
#define M3T_NN_CT M3T_CUDA_NN_CT
#endif

#if defined(SS_BACKEND_METAL_COMPILE)

struct m3t_acc {
  simdgroup_float8x8 c[M3T_TN / 8u];
};

ss_device_inline void m3t_zero(thread m3t_acc& acc) {
  for (uint32_t j = 0; j < M3T_TN / 8u; ++j) acc.c[j] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
}

/* kc8: rows of As/Bs to use, a multiple of 8 */
ss_device_inline void m3t_accumulate(thread m3t_acc& acc, threadgroup const float* As, threadgroup const float* Bs, uint32_t kc8,
                                     uint32_t t) {
  const uint32_t sg = t / 32u;
  for (uint32_t k0 = 0; k0 < kc8; k0 += 8u) {
    simdgroup_float8x8 a;
    simdgroup_load(a, As, M3T_AP, ulong2((ulong)(sg * 8u), (ulong)k0), true);
    for (uint32_t j = 0; j < M3T_TN / 8u; ++j) {
      simdgroup_float8x8 b;
      simdgroup_load(b, Bs, M3T_BP, ulong2((ulong)(j * 8u), (ulong)k0));
      simdgroup_multiply_accumulate(acc.c[j], a, b, acc.c[j]);
    }
  }
}

ss_device_inline void m3t_store(thread const m3t_acc& acc, threadgroup float* S, uint32_t t) {
  const uint32_t sg = t / 32u;
  for (uint32_t j = 0; j < M3T_TN / 8u; ++j) simdgroup_store(acc.c[j], S, M3T_SP, ulong2((ulong)(j * 8u), (ulong)(sg * 8u)));
}

/* four consecutive scores S[i .. i + 3] (i a multiple of 4) */
ss_device_inline float4 m3t_read4(threadgroup const float* S, uint32_t i) { return float4(S[i], S[i + 1u], S[i + 2u], S[i + 3u]); }

#else

struct m3t_acc {
  float c[8][8];
};

ss_device_inline void m3t_zero(m3t_acc& acc) {
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc.c[i][j] = 0.0f;
}

ss_device_inline void m3t_accumulate(m3t_acc& acc, const float* As, const float* Bs, uint32_t kc8, uint32_t t) {
  const uint32_t ty = t / 16u, tx = t % 16u;
  const float* a = As + ty * 8u;
  const float* b = Bs + tx * 8u;
#pragma unroll 8
  for (uint32_t k = 0; k < kc8; ++k) {
    const float4 a0 = *reinterpret_cast<const float4*>(a + k * M3T_AP), a1 = *reinterpret_cast<const float4*>(a + k * M3T_AP + 4);
    const float4 b0 = *reinterpret_cast<const float4*>(b + k * M3T_BP), b1 = *reinterpret_cast<const float4*>(b + k * M3T_BP + 4);
    const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
    const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc.c[i][j] = fmaf(av[i], bv[j], acc.c[i][j]);
  }
}

/* four consecutive scores S[i .. i + 3] (i a multiple of 4: one 16-byte load) */
ss_device_inline float4 m3t_read4(const float* S, uint32_t i) { return *reinterpret_cast<const float4*>(S + i); }

ss_device_inline void m3t_store(const m3t_acc& acc, float* S, uint32_t t) {
  const uint32_t ty = t / 16u, tx = t % 16u;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    float* row = S + (ty * 8u + (uint32_t)i) * M3T_SP + tx * 8u;
    *reinterpret_cast<float4*>(row) = make_float4(acc.c[i][0], acc.c[i][1], acc.c[i][2], acc.c[i][3]);
    *reinterpret_cast<float4*>(row + 4) = make_float4(acc.c[i][4], acc.c[i][5], acc.c[i][6], acc.c[i][7]);
  }
}

#endif

/* ---- loads (shared): rows [row0, row0 + TM) of src (a row r is src[row(r)·dim ..], row(r) =
 * gather[r] when gather_on) and the k chunk [k0, k0 + kc8), transposed to dst[k·stride + r];
 * zero outside. Every thread calls it. */
ss_device_inline void m3t_load(ss_shared float* dst, uint32_t stride, uint32_t rows_in_tile, ss_global const float* src,
                               ss_global const int32_t* gather, uint32_t gather_on, uint32_t row0, uint32_t nrows, uint32_t dim,
                               uint32_t k0, uint32_t kc8, uint32_t t) {
  /* (r, k) of element e = r·kc8 + k, stepped without a division per element */
  uint32_t r = t / kc8, k = t % kc8;
  const uint32_t dr = M3T_THREADS / kc8, dk = M3T_THREADS % kc8;
  for (uint32_t e = t; e < rows_in_tile * kc8; e += M3T_THREADS) {
    float v = 0.0f;
    if (row0 + r < nrows && k0 + k < dim) {
      uint64_t row = gather_on ? (uint64_t)gather[row0 + r] : (uint64_t)(row0 + r);
      v = src[row * dim + k0 + k];
    }
    dst[k * stride + r] = v;
    r += dr;
    k += dk;
    if (k >= kc8) {
      k -= kc8;
      ++r;
    }
  }
}

/* Σ x² of a row, one fused multiply-add per element in index order */
ss_device_inline float m3t_sumsq(ss_global const float* v, uint32_t dim) {
  float s = 0.0f;
  for (uint32_t k = 0; k < dim; ++k) s = ss_fma(v[k], v[k], s);
  return s;
}

#endif
