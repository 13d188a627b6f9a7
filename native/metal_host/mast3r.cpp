/* MASt3R's kernels on Metal (metal/mast3r.metal): the shared argument checks
 * (native/common/mast3r_checks.h), then the GPU-shaped bodies CUDA runs too —
 * nearest neighbours as a tiled scan, merges and an exact re-scan of the
 * ambiguous rows, similarities and InfoNCE over the same tiles — and the
 * per-element geometry. Scratch is a buffer per call. */
#include "host.h"
#include "../common/checks.h"
#include "../common/mast3r_checks.h"
#include "../kernels/mast3r_gpu_params.h"

#include <cmath>

namespace {

/* the Metal tile of mast3r_tile_gpu.h */
const uint32_t kTM = M3T_METAL_TM, kTN = M3T_METAL_TN, kThreads = M3T_METAL_THREADS;
const uint32_t kRT = kThreads / kTM;
/* the nearest-neighbour scan's partials per row and split, per column and row block */
const uint32_t kNnRT = M3T_METAL_NN_RT, kNnCT = M3T_METAL_NN_CT;
/* threadgroups to aim for: a few per GPU core of the largest Apple GPUs */
const uint32_t kWantGroups = 128;

/* a call's scratch buffer, freed when the call returns */
struct Scratch {
  ss_context* ctx;
  ss_buffer b{};
  explicit Scratch(ss_context* c) : ctx(c) {}
  ss_status alloc(const char* fn, uint64_t words) {
    uint64_t bytes = (words ? words : 1) * 4;
    int32_t s = ctx->ops.buffer_create(ctx->ops.device, bytes, &b.gpu, &b.contents);
    if (s != SS_OK || !b.gpu || !b.contents) {
      if (b.gpu) ctx->ops.buffer_destroy(ctx->ops.device, b.gpu);
      b = ss_buffer{};
      return ss_fail(ctx, s == SS_OK ? SS_ERR_OUT_OF_MEMORY : s, "%s: cannot allocate %llu bytes of scratch", fn, (unsigned long long)bytes);
    }
    b.bytes = bytes;
    return SS_OK;
  }
  float* f() { return static_cast<float*>(b.contents); }
  ~Scratch() {
    if (b.gpu) ctx->ops.buffer_destroy(ctx->ops.device, b.gpu);
  }
};

/* every tile kernel is written for threadgroups of exactly kThreads threads in SIMD-groups of 32 */
ss_status require_tile_width(ss_context* ctx, const char* fn, const char* pipeline) {
  ss_metal_pipeline_limits lim;
  SS_TRY(ss_metal_limits(ctx, pipeline, &lim));
  if (lim.max_threads < kThreads || lim.simd_width != 32)
    return ss_fail(ctx, SS_ERR_BACKEND, "%s: %s needs threadgroups of %u threads in SIMD-groups of 32 (this GPU allows %u, width %u)", fn,
                   pipeline, kThreads, lim.max_threads, lim.simd_width);
  return SS_OK;
}

/* the nearest-neighbour pipelines: the scan's tiles, and a SIMD-group of 32 per row, column or work item after it */
ss_status require_nn_width(ss_context* ctx, const char* fn) {
  for (const char* pipeline : {"k_m3_scan", "k_m3_merge_rows", "k_m3_merge_cols", "k_m3_rescan_best", "k_m3_rescan_finish"})
    SS_TRY(require_tile_width(ctx, fn, pipeline));
  return SS_OK;
}

void plan_splits(uint32_t row_blocks, uint32_t col_tiles, uint32_t* splits, uint32_t* per) {
  uint32_t s = (kWantGroups + row_blocks - 1) / row_blocks;
  uint32_t max_s = (col_tiles + 3) / 4;
  if (s > max_s) s = max_s;
  if (s < 1) s = 1;
  *per = (col_tiles + s - 1) / s;
  *splits = (col_tiles + *per - 1) / *per;
}

m3g_nn_params nn_params(uint32_t n, uint32_t m, uint32_t dim, uint32_t dist) {
  m3g_nn_params p = {};
  p.n = n;
  p.m = m;
  p.dim = dim;
  p.dist = dist;
  p.row_blocks = (n + kTM - 1) / kTM;
  p.col_tiles = (m + kTN - 1) / kTN;
  plan_splits(p.row_blocks, p.col_tiles, &p.splits, &p.tiles_per_split);
  return p;
}

/* largest norm of `rows` rows into partials at word `part` of scratch, then into target (at byte offset) */
void max_norm(ss_context* ctx, ss_buffer* src, uint32_t rows, uint32_t dim, ss_buffer* scratch, uint32_t part, uint32_t* info,
              ss_buffer* target, uint64_t target_offset) {
  const uint32_t groups = (rows + kThreads - 1) / kThreads;
  info[0] = rows;
  info[1] = dim;
  info[2] = groups;
  ss_metal_dispatch(ctx, ss_metal_launch("k_m3_maxnorm").groups(groups, kThreads).bytes(0, info, 8).buffer(1, src).buffer(2, scratch, 4ull * part));
  ss_metal_dispatch(ctx, ss_metal_launch("k_m3_maxreduce").groups(1, kThreads).bytes(0, info + 2, 4).buffer(1, scratch, 4ull * part)
                             .buffer(2, target, target_offset));
}

/* scan and merges in one command buffer; then, if any row is ambiguous, the exact re-scan: a
 * SIMD-group per row or column, and per (entry, chunk of columns) work item (mast3r_nn_gpu.h) */
ss_status nn_run(ss_context* ctx, const char* fn, m3g_nn_params p, ss_buffer* A, ss_buffer* gather, ss_buffer* B, Scratch& s,
                 ss_buffer* stats, ss_buffer* out_rows, ss_buffer* out_cols, ss_status begun) {
  SS_TRY(begun);
  const uint32_t simds = kThreads / 32u;
  ss_metal_launch scan("k_m3_scan");
  scan.groups(p.row_blocks, kThreads).bytes(0, &p, sizeof p).buffer(1, A).buffer(2, gather).buffer(3, B).buffer(4, &s.b);
  scan.grid[1] = p.splits;
  ss_metal_dispatch(ctx, scan);
  ss_metal_dispatch(ctx, ss_metal_launch("k_m3_merge_rows").groups((p.n + simds - 1) / simds, kThreads).bytes(0, &p, sizeof p).buffer(1, A)
                             .buffer(2, gather).buffer(4, &s.b).buffer(5, stats).buffer(6, out_rows));
  if (p.recip)
    ss_metal_dispatch(ctx, ss_metal_launch("k_m3_merge_cols").groups((p.m + simds - 1) / simds, kThreads).bytes(0, &p, sizeof p).buffer(3, B)
                               .buffer(4, &s.b).buffer(5, stats).buffer(7, out_cols));
  SS_TRY(ss_metal_end(ctx, fn));
  const uint32_t count = reinterpret_cast<const uint32_t*>(s.f())[p.list];
  if (count == 0) return SS_OK;
  /* per work item: a best key (two words) and its index */
  const uint64_t items = (uint64_t)count * M3G_RESCAN_CHUNKS(p);
  Scratch r(ctx);
  SS_TRY(r.alloc(fn, 3 * items));
  SS_TRY(ss_metal_begin(ctx));
  ss_metal_dispatch(ctx, ss_metal_launch("k_m3_rescan_best").groups((uint32_t)((items + simds - 1) / simds), kThreads).bytes(0, &p, sizeof p)
                             .buffer(1, A).buffer(2, gather).buffer(3, B).buffer(4, &s.b).buffer(5, stats).buffer(6, &r.b)
                             .buffer(7, &r.b, 8 * items));
  ss_metal_dispatch(ctx, ss_metal_launch("k_m3_rescan_finish").groups((count + simds - 1) / simds, kThreads).bytes(0, &p, sizeof p)
                             .buffer(4, &s.b).buffer(6, &r.b).buffer(7, &r.b, 8 * items).buffer(8, out_rows).buffer(9, out_cols));
  return ss_metal_end(ctx, fn);
}

}  // namespace

extern "C" {

ss_status ss_metal_mast3r_reciprocal_nn(ss_context* ctx, const ss_mast3r_reciprocal_nn_args* args, ss_buffer* a, ss_buffer* b, ss_buffer* nn_a,
                                        ss_buffer* nn_b) {
  const char* fn = "ss_mast3r_reciprocal_nn";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_mast3r_reciprocal_nn_args A = *args;
  SS_TRY(ss_check_mast3r_reciprocal_nn(ctx, A, a, b, nn_a, nn_b));
  SS_TRY(require_nn_width(ctx, fn));
  m3g_nn_params p = nn_params(A.n, A.m, A.dim, A.dist);
  p.recip = 1;
  const uint32_t ga = (A.n + kThreads - 1) / kThreads, gb = (A.m + kThreads - 1) / kThreads;
  /* words: stats (amax, bmax) | norm partials | row partials | column partials | list */
  const uint64_t rp_words = 3ull * p.splits * kNnRT * A.n, cp_words = 3ull * p.row_blocks * kNnCT * A.m;
  const uint64_t part_at = 2, rp_at = part_at + ga + gb, cp_at = rp_at + rp_words, list_at = cp_at + cp_words;
  const uint64_t words = list_at + 1 + 2 * ((uint64_t)A.n + A.m); /* count, entries, their best scores */
  if (words > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: n x m too large for one call", fn);
  p.rp = (uint32_t)rp_at;
  p.cp = (uint32_t)cp_at;
  p.list = (uint32_t)list_at;
  p.omax_row = 1; /* B's largest norm bounds a row's scores */
  p.omax_col = 0;
  Scratch s(ctx);
  SS_TRY(s.alloc(fn, words));
  reinterpret_cast<uint32_t*>(s.f())[p.list] = 0;
  uint32_t info[6];
  ss_status begun = ss_metal_begin(ctx);
  if (begun == SS_OK) {
    max_norm(ctx, a, A.n, A.dim, &s.b, (uint32_t)part_at, info, &s.b, 0);
    max_norm(ctx, b, A.m, A.dim, &s.b, (uint32_t)(part_at + ga), info + 3, &s.b, 4);
  }
  return nn_run(ctx, fn, p, a, a, b, s, &s.b, nn_a, nn_b, begun);
}

/* The GPU scans the whole db map per query, so the index holds its header and the map's
 * largest norm (header float 8) only; the rest of the buffer the header's size rule asks
 * for stays unused. */
ss_status ss_metal_mast3r_desc_index(ss_context* ctx, const ss_mast3r_desc_index_args* args, ss_buffer* map, ss_buffer* index) {
  const char* fn = "ss_mast3r_desc_index";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_mast3r_desc_index_args A = *args;
  SS_TRY(ss_check_mast3r_desc_index(ctx, A, map, index));
  const uint32_t px = A.width * A.height;
  uint32_t* hdr = ss_host<uint32_t>(index);
  for (int i = 0; i < 16; ++i) hdr[i] = 0;
  hdr[0] = SS_MAST3R_INDEX_MAGIC;
  hdr[1] = A.width;
  hdr[2] = A.height;
  hdr[3] = A.dim;
  hdr[4] = A.dist;
  Scratch s(ctx);
  SS_TRY(s.alloc(fn, (px + kThreads - 1) / kThreads));
  uint32_t info[3];
  SS_TRY(ss_metal_begin(ctx));
  max_norm(ctx, map, px, A.dim, &s.b, 0, info, index, 32);
  return ss_metal_end(ctx, fn);
}

ss_status ss_metal_mast3r_nn_query(ss_context* ctx, const ss_mast3r_nn_query_args* args, ss_buffer* query_map, ss_buffer* query_idx,
                                   ss_buffer* db_map, ss_buffer* db_index, ss_buffer* out_idx) {
  const char* fn = "ss_mast3r_nn_query";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_mast3r_nn_query_args A = *args;
  bool run = false;
  SS_TRY(ss_check_mast3r_nn_query(ctx, A, query_map, query_idx, query_idx ? ss_host<int32_t>(query_idx) : nullptr, db_map, db_index,
                                  db_index ? ss_host<uint32_t>(db_index) : nullptr, out_idx, &run));
  if (!run) return SS_OK;
  SS_TRY(require_nn_width(ctx, fn));
  m3g_nn_params p = nn_params(A.count, A.db_width * A.db_height, A.dim, A.dist);
  p.gather = 1;
  p.omax_row = 8; /* the index header's largest norm */
  const uint64_t rp_words = 3ull * p.splits * kNnRT * A.count;
  p.rp = 0;
  p.list = (uint32_t)rp_words;
  Scratch s(ctx);
  SS_TRY(s.alloc(fn, rp_words + 1 + 2ull * A.count));
  reinterpret_cast<uint32_t*>(s.f())[p.list] = 0;
  return nn_run(ctx, fn, p, query_map, query_idx, db_map, s, db_index, out_idx, out_idx, ss_metal_begin(ctx));
}

ss_status ss_metal_mast3r_similarity(ss_context* ctx, const ss_mast3r_similarity_args* args, ss_buffer* desc1, ss_buffer* desc2, ss_buffer* out) {
  const char* fn = "ss_mast3r_similarity";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_mast3r_similarity_args a = *args;
  uint64_t total = 0;
  SS_TRY(ss_check_mast3r_similarity(ctx, a, desc1, desc2, out, &total));
  SS_TRY(require_tile_width(ctx, fn, "k_m3_sim_scan"));
  m3g_sim_params p = {};
  p.batch = a.batch;
  p.n = a.n;
  p.m = a.m;
  p.dim = a.dim;
  p.euc = a.euc;
  p.row_blocks = (a.n + kTM - 1) / kTM;
  p.col_tiles = (a.m + kTN - 1) / kTN;
  /* one tile per threadgroup: the output is what costs */
  p.tiles_per_split = 1;
  p.splits = p.col_tiles;
  if ((uint64_t)a.batch * p.row_blocks > 0xffffffffull) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: too many tiles for one call", fn);
  ss_metal_launch scan("k_m3_sim_scan");
  scan.groups(a.batch * p.row_blocks, kThreads).bytes(0, &p, sizeof p).buffer(1, desc1).buffer(2, desc2).buffer(3, out);
  scan.grid[1] = p.splits;
  SS_TRY(ss_metal_begin(ctx));
  ss_metal_dispatch(ctx, scan);
  return ss_metal_end(ctx, fn);
}

ss_status ss_metal_mast3r_infonce(ss_context* ctx, const ss_mast3r_infonce_args* args, ss_buffer* desc1, ss_buffer* desc2, ss_buffer* loss) {
  const char* fn = "ss_mast3r_infonce";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_mast3r_infonce_args a = *args;
  uint64_t rows = 0;
  SS_TRY(ss_check_mast3r_infonce(ctx, a, desc1, desc2, loss, &rows));
  SS_TRY(require_tile_width(ctx, fn, "k_m3_sim_scan"));
  m3g_sim_params p = {};
  p.batch = a.batch;
  p.n = a.n;
  p.m = a.n;
  p.dim = a.dim;
  p.euc = a.euc;
  p.lse = 1;
  p.row_blocks = (a.n + kTM - 1) / kTM;
  p.col_tiles = (a.n + kTN - 1) / kTN;
  plan_splits(a.batch * p.row_blocks, p.col_tiles, &p.splits, &p.tiles_per_split);
  p.inv_t = 1.0f / a.temperature;
  const uint64_t entries = (uint64_t)p.splits * kRT, half = 3 * entries * rows;
  if (2 * half > 0xffffffffull || (uint64_t)a.batch * p.row_blocks > 0xffffffffull)
    return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "%s: batch x n too large for one call", fn);
  Scratch s(ctx);
  SS_TRY(s.alloc(fn, 2 * half));
  /* rows: desc1 against desc2; columns: desc2 against desc1 */
  m3g_sim_params pc = p;
  pc.lp = (uint32_t)half;
  m3g_infonce_params q = {};
  q.batch = a.batch;
  q.n = a.n;
  q.dim = a.dim;
  q.euc = a.euc;
  q.entries = (uint32_t)entries;
  q.lp_row = 0;
  q.lp_col = (uint32_t)half;
  q.inv_t = p.inv_t;
  q.log_eps = (float)std::log((double)a.eps);
  uint32_t width = 0;
  SS_TRY(ss_metal_group_width(ctx, "k_m3_infonce", 256, &width));
  ss_metal_launch rows_scan("k_m3_sim_scan"), cols_scan("k_m3_sim_scan");
  rows_scan.groups(a.batch * p.row_blocks, kThreads).bytes(0, &p, sizeof p).buffer(1, desc1).buffer(2, desc2).buffer(3, &s.b);
  rows_scan.grid[1] = p.splits;
  cols_scan.groups(a.batch * p.row_blocks, kThreads).bytes(0, &pc, sizeof pc).buffer(1, desc2).buffer(2, desc1).buffer(3, &s.b);
  cols_scan.grid[1] = p.splits;
  SS_TRY(ss_metal_begin(ctx));
  ss_metal_dispatch(ctx, rows_scan);
  ss_metal_dispatch(ctx, cols_scan);
  ss_metal_dispatch(ctx, ss_metal_launch("k_m3_infonce").threads((uint32_t)rows, 1, 1, width).bytes(0, &q, sizeof q).buffer(1, desc1)
                             .buffer(2, desc2).buffer(3, &s.b).buffer(4, loss));
  return ss_metal_end(ctx, fn);
}

ss_status ss_metal_mast3r_triangulate(ss_context* ctx, const ss_mast3r_triangulate_args* args, ss_buffer* pts2d, ss_buffer* proj,
                                      ss_buffer* out) {
  SS_METAL_ENTRY(ctx, args, "ss_mast3r_triangulate");
  const ss_mast3r_triangulate_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_triangulate(ctx, a, pts2d, proj, out, &n));
  return ss_metal_run_elementwise(ctx, "ss_mast3r_triangulate", "k_mast3r_triangulate", n, &a, sizeof a, {pts2d, proj, out});
}

ss_status ss_metal_mast3r_matches_to_depths(ss_context* ctx, const ss_mast3r_matches_to_depths_args* args, ss_buffer* matches, ss_buffer* cams,
                                            ss_buffer* points, ss_buffer* depths, ss_buffer* confs) {
  SS_METAL_ENTRY(ctx, args, "ss_mast3r_matches_to_depths");
  const ss_mast3r_matches_to_depths_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_matches_to_depths(ctx, a, matches, cams, points, depths, confs, &n));
  return ss_metal_run_elementwise(ctx, "ss_mast3r_matches_to_depths", "k_mast3r_matches_to_depths", n, &a, sizeof a,
                                  {matches, cams, points, depths, confs});
}

ss_status ss_metal_mast3r_refine_depths_tsdf(ss_context* ctx, const ss_mast3r_refine_depths_tsdf_args* args, ss_buffer* depths,
                                             ss_buffer* confs, ss_buffer* cams, ss_buffer* out) {
  SS_METAL_ENTRY(ctx, args, "ss_mast3r_refine_depths_tsdf");
  const ss_mast3r_refine_depths_tsdf_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_mast3r_refine_depths_tsdf(ctx, a, depths, confs, cams, out, &n));
  return ss_metal_run_elementwise(ctx, "ss_mast3r_refine_depths_tsdf", "k_mast3r_refine_depths_tsdf", n, &a, sizeof a,
                                  {depths, confs, cams, out});
}

}  // extern "C"
