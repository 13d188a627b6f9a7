/* Reciprocal matching on Metal: binary descriptors (Hamming) and float
 * descriptors (L2 / dot, the CPU's float64 winners exactly), the bodies of
 * native/kernels/hamming_match_gpu.h and float_match_gpu.h shared with CUDA.
 * Each side is one rows pass, (a, b) then (b, a); a last pass writes the
 * match flags. Buffer 0 is the args struct. */
#include "../native/compat/metal.h"
#include "../native/include/scanstream.h"
#include "../native/kernels/hamming_match_gpu.h"
#include "../native/kernels/float_match_gpu.h"

/* side = {rows of X, rows of Y, uint32 per output row, 1: also the second best} */
kernel void k_hamming_rows(constant ss_hamming_match_args& args [[buffer(0)]], device const uint* X [[buffer(1)]], device const uint* Y [[buffer(2)]],
                           device int* out [[buffer(3)]], constant uint* side [[buffer(4)]], uint group [[threadgroup_position_in_grid]],
                           uint t [[thread_index_in_threadgroup]]) {
  SS_THREADGROUP_ARRAY(uint32_t, xs, SS_HAM_ROWS * SS_HAM_MAX_WORDS);
  SS_THREADGROUP_ARRAY(uint32_t, ys, SS_HAM_TILE * SS_HAM_MAX_WORDS);
  hamming_rows_group(side[0], side[1], args.words, group, t, X, Y, xs, ys, out, side[2], side[3]);
}

kernel void k_hamming_finalize(constant ss_hamming_match_args& args [[buffer(0)]], device int* out_a [[buffer(3)]], device const int* out_b [[buffer(4)]],
                               uint i [[thread_position_in_grid]]) {
  hamming_finalize_row(args, i, out_a, out_b);
}

/* max |x| of each row of a (rows 0 .. n, into a_max) then b (n .. n + m, into b_max) */
kernel void k_float_match_row_max(constant ss_float_match_args& args [[buffer(0)]], device const float* a [[buffer(1)]], device const float* b [[buffer(2)]],
                                  device float* a_max [[buffer(5)]], device float* b_max [[buffer(6)]], uint r [[thread_position_in_grid]]) {
  if (r < args.n) a_max[r] = float_match_row_max(a + (ulong)r * args.dim, args.dim);
  else b_max[r - args.n] = float_match_row_max(b + (ulong)(r - args.n) * args.dim, args.dim);
}

/* side = {rows of X, rows of Y, 1: also the second best}; res: 3 × uint64 per row of X */
kernel void k_float_match_rows(constant ss_float_match_args& args [[buffer(0)]], device const float* X [[buffer(1)]], device const float* Y [[buffer(2)]],
                               device const float* xmax [[buffer(3)]], device const float* ymax [[buffer(4)]], device ulong* res [[buffer(5)]],
                               constant uint* side [[buffer(6)]], uint group [[threadgroup_position_in_grid]], uint t [[thread_index_in_threadgroup]]) {
  SS_THREADGROUP_ARRAY(float, xs, SS_FM_ROWS * SS_FM_CHUNK);
  SS_THREADGROUP_ARRAY(float, ys, SS_FM_TILE * SS_FM_CHUNK);
  float_match_rows_group(side[0], side[1], args.dim, args.dist == SS_DIST_DOT, side[2], group, t, X, Y, xmax, ymax, xs, ys, res);
}

/* rows 0 .. n of out_a, then n .. n + m of out_b */
kernel void k_float_match_finalize(constant ss_float_match_args& args [[buffer(0)]], device const ulong* res_a [[buffer(1)]],
                                   device const ulong* res_b [[buffer(2)]], device int* out_a [[buffer(3)]], device int* out_b [[buffer(4)]],
                                   uint r [[thread_position_in_grid]]) {
  float_match_finalize_row(args, r, res_a, res_b, out_a, out_b);
}
