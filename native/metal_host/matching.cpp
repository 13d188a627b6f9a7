/* Reciprocal matching on Metal (metal/matching.metal): the shared argument
 * checks, then per side one rows pass over threadgroups of 64 rows, and the
 * match flags; one command buffer per call. */
#include "host.h"
#include "../common/match_checks.h"

/* as SS_HAM_ROWS / SS_FM_ROWS in native/kernels/hamming_match_gpu.h and float_match_gpu.h */
static const uint32_t kRowsPerGroup = 64;

static uint32_t groups_for(uint32_t rows) { return (rows + kRowsPerGroup - 1) / kRowsPerGroup; }

extern "C" {

ss_status ss_metal_hamming_match(ss_context* ctx, const ss_hamming_match_args* args, ss_buffer* a, ss_buffer* b, ss_buffer* out_a,
                                 ss_buffer* out_b) {
  const char* fn = "ss_hamming_match";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_hamming_match_args p = *args;
  SS_TRY(ss_check_hamming_match(ctx, p, a, b, out_a, out_b));
  ss_metal_pipeline_limits lim;
  SS_TRY(ss_metal_limits(ctx, "k_hamming_rows", &lim));
  if (lim.max_threads < kRowsPerGroup) return ss_fail(ctx, SS_ERR_BACKEND, "%s: k_hamming_rows allows %u threads per threadgroup, needs 64", fn, lim.max_threads);
  uint32_t width = 0;
  SS_TRY(ss_metal_group_width(ctx, "k_hamming_finalize", 256, &width));
  const uint32_t side_a[4] = {p.n, p.m, 4, 1}, side_b[4] = {p.m, p.n, 2, 0};
  SS_TRY(ss_metal_begin(ctx));
  ss_metal_dispatch(ctx, ss_metal_launch("k_hamming_rows").groups(groups_for(p.n), kRowsPerGroup).bytes(0, &p, sizeof p).buffer(1, a).buffer(2, b)
                             .buffer(3, out_a).bytes(4, side_a, sizeof side_a));
  ss_metal_dispatch(ctx, ss_metal_launch("k_hamming_rows").groups(groups_for(p.m), kRowsPerGroup).bytes(0, &p, sizeof p).buffer(1, b).buffer(2, a)
                             .buffer(3, out_b).bytes(4, side_b, sizeof side_b));
  ss_metal_dispatch(ctx, ss_metal_launch("k_hamming_finalize").threads(p.n, 1, 1, width).bytes(0, &p, sizeof p).buffer(3, out_a).buffer(4, out_b));
  return ss_metal_end(ctx, fn);
}

ss_status ss_metal_float_match(ss_context* ctx, const ss_float_match_args* args, ss_buffer* a, ss_buffer* b, ss_buffer* out_a,
                               ss_buffer* out_b) {
  const char* fn = "ss_float_match";
  SS_METAL_ENTRY(ctx, args, fn);
  const ss_float_match_args p = *args;
  SS_TRY(ss_check_float_match(ctx, p, a, b, out_a, out_b));
  ss_metal_pipeline_limits lim;
  SS_TRY(ss_metal_limits(ctx, "k_float_match_rows", &lim));
  if (lim.max_threads < kRowsPerGroup)
    return ss_fail(ctx, SS_ERR_BACKEND, "%s: k_float_match_rows allows %u threads per threadgroup, needs 64", fn, lim.max_threads);
  uint32_t max_width = 0, fin_width = 0;
  SS_TRY(ss_metal_group_width(ctx, "k_float_match_row_max", 256, &max_width));
  SS_TRY(ss_metal_group_width(ctx, "k_float_match_finalize", 256, &fin_width));
  /* scratch, in 256-byte aligned parts: max |x| per row of a, of b (floats); 3 × uint64 per row of a, of b */
  const auto part = [](uint64_t bytes) { return (bytes + 255) / 256 * 256; };
  const uint64_t b_max_at = part((uint64_t)p.n * 4), res_a_at = b_max_at + part((uint64_t)p.m * 4), res_b_at = res_a_at + part((uint64_t)p.n * 24);
  const uint64_t rows = (uint64_t)p.n + p.m;
  ss_buffer* scratch = nullptr;
  SS_TRY(ss_metal_scratch(ctx, SS_METAL_SCRATCH_MATCH, res_b_at + (uint64_t)p.m * 24, &scratch));
  const uint32_t side_a[3] = {p.n, p.m, 1}, side_b[3] = {p.m, p.n, 0};
  SS_TRY(ss_metal_begin(ctx));
  /* the dot bound's max |x| (L2 bounds by the sum itself) */
  if (p.dist == SS_DIST_DOT)
    ss_metal_dispatch(ctx, ss_metal_launch("k_float_match_row_max").threads((uint32_t)rows, 1, 1, max_width).bytes(0, &p, sizeof p).buffer(1, a)
                               .buffer(2, b).buffer(5, scratch, 0).buffer(6, scratch, b_max_at));
  ss_metal_dispatch(ctx, ss_metal_launch("k_float_match_rows").groups(groups_for(p.n), kRowsPerGroup).bytes(0, &p, sizeof p).buffer(1, a)
                             .buffer(2, b).buffer(3, scratch, 0).buffer(4, scratch, b_max_at).buffer(5, scratch, res_a_at)
                             .bytes(6, side_a, sizeof side_a));
  ss_metal_dispatch(ctx, ss_metal_launch("k_float_match_rows").groups(groups_for(p.m), kRowsPerGroup).bytes(0, &p, sizeof p).buffer(1, b)
                             .buffer(2, a).buffer(3, scratch, b_max_at).buffer(4, scratch, 0).buffer(5, scratch, res_b_at)
                             .bytes(6, side_b, sizeof side_b));
  ss_metal_dispatch(ctx, ss_metal_launch("k_float_match_finalize").threads((uint32_t)rows, 1, 1, fin_width).bytes(0, &p, sizeof p)
                             .buffer(1, scratch, res_a_at).buffer(2, scratch, res_b_at).buffer(3, out_a).buffer(4, out_b));
  return ss_metal_end(ctx, fn);
}

}  // extern "C"
