/* Launch parameters of the MASt3R GPU bodies, shared by their host logic
 * (C++: native/cuda/mast3r*.cu, native/metal_host/mast3r.cpp) and the kernels:
 * 4-byte fields only, so one layout in C, CUDA and MSL (setBytes / a kernel
 * argument by value). Offsets count 4-byte words into the call's scratch. */
#ifndef SS_KERNEL_MAST3R_GPU_PARAMS_H
#define SS_KERNEL_MAST3R_GPU_PARAMS_H

/* tile shapes of mast3r_tile_gpu.h (the host logic sizes grids and scratch with them):
 * Metal 32 rows × 64 columns in 128 threads (threadgroup memory under 32 KiB),
 * CUDA 128 × 128 in 256 */
#define M3T_METAL_TM 32u
#define M3T_METAL_TN 64u
#define M3T_METAL_THREADS 128u
#define M3T_CUDA_TM 128u
#define M3T_CUDA_TN 128u
#define M3T_CUDA_THREADS 256u
/* the nearest-neighbour scan's partials per row and split (NN_RT) and per column and row block
 * (NN_CT): Metal one per thread of a row's (column's) epilogue over threadgroup memory, CUDA one
 * (a row's threads merged by shuffles, a column's through threadgroup memory) */
#define M3T_METAL_NN_RT (M3T_METAL_THREADS / M3T_METAL_TM)
#define M3T_METAL_NN_CT (M3T_METAL_THREADS / M3T_METAL_TN)
#define M3T_CUDA_NN_RT 1u
#define M3T_CUDA_NN_CT 1u

/* nearest neighbours of n rows (A, or query pixels gathered from a map) over m
 * columns (B, or a whole db map). Row partials: splits·NN_RT (m1, m2, index)
 * triples per row at rp (three arrays of that many·n); column partials
 * (recip): row_blocks·NN_CT per column at cp; ambiguous list at list (count,
 * then entries: a row, or 0x80000000 | a column). stats[omax_row] is the
 * columns' largest norm (rounded up), stats[omax_col] the rows'.
 * cp_entries: column partials per column when not row_blocks·NN_CT (0);
 * tc_ks: the partials came from the tensor-core scan over that many k steps
 * of 8 (mast3r_nn_tc_gpu.h, CUDA), whose rounding bound the merges then use
 * (0: the float32 tile step's). */
typedef struct m3g_nn_params {
  uint32_t n, m, dim, dist;
  uint32_t gather, recip, splits, tiles_per_split;
  uint32_t row_blocks, col_tiles, omax_row, omax_col;
  uint32_t rp, cp, list, groups;
  uint32_t cp_entries, tc_ks, pad0, pad1;
} m3g_nn_params;

/* the ambiguous list's capacity (a row or column each: count, entries, then each entry's best
 * score), and the re-scan's work items per entry: chunks of M3G_RESCAN_COLS columns of the larger set */
#define M3G_RESCAN_COLS 512u
#define M3G_LIST_CAP(p) ((p).n + ((p).recip ? (p).m : 0u))
#define M3G_RESCAN_CHUNKS(p) (((((p).recip && (p).n > (p).m) ? (p).n : (p).m) + M3G_RESCAN_COLS - 1u) / M3G_RESCAN_COLS)

/* similarities (lse = 0: written out) or the log-sum-exp partials of InfoNCE
 * (lse = 1: splits·RT (max, sum hi, sum lo) triples per row at lp, three
 * arrays of that many·batch·n), for batch × n rows against the batch's m columns */
typedef struct m3g_sim_params {
  uint32_t batch, n, m, dim;
  uint32_t euc, lse, row_blocks, col_tiles;
  uint32_t splits, tiles_per_split, lp, pad0;
  float inv_t, pad1, pad2, pad3;
} m3g_sim_params;

/* InfoNCE per pair from the row and column log-sum-exp partials (entries each, at lp_row and lp_col) */
typedef struct m3g_infonce_params {
  uint32_t batch, n, dim, euc;
  uint32_t entries, lp_row, lp_col, pad0;
  float inv_t, log_eps, pad1, pad2;
} m3g_infonce_params;

#endif
