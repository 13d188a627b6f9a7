/* Reciprocal Hamming matching (ss_hamming_match) shaped for a GPU. One pass per
 * side: threadgroup g takes SS_HAM_ROWS rows of X, one per thread, held
 * transposed in threadgroup memory, and streams Y through threadgroup memory
 * in tiles of SS_HAM_TILE rows; each thread scans Y in index order with
 * strict compares, so the nearest is the lowest index among equals and the
 * second best is the next value of the multiset, as on the CPU. Run once as
 * (X, Y) = (a, b) for out_a and once as (b, a) for out_b, then
 * hamming_finalize_row sets the match flags. Integer throughout: the CPU's
 * answer exactly. Written against the GPU vocabulary (DESIGN.md §3 rule 10). */
#ifndef SS_KERNEL_HAMMING_MATCH_GPU_H
#define SS_KERNEL_HAMMING_MATCH_GPU_H

#define SS_HAM_ROWS 64
#define SS_HAM_TILE 32
#define SS_HAM_MAX_WORDS 64
#define SS_HAM_NONE 0x7fffffff

/* every thread of the threadgroup (SS_HAM_ROWS of them) calls it. xs: SS_HAM_ROWS · SS_HAM_MAX_WORDS words,
 * ys: SS_HAM_TILE · SS_HAM_MAX_WORDS words of threadgroup memory. Row i = group·SS_HAM_ROWS + t of X gets
 * out[stride·i ..] = {nearest, best, second best (with_second)}, SS_HAM_NONE for none. */
ss_device_inline void hamming_rows_group(uint32_t nx, uint32_t ny, uint32_t words, uint32_t group, uint32_t t, ss_global const uint32_t* X,
                                         ss_global const uint32_t* Y, ss_shared uint32_t* xs, ss_shared uint32_t* ys, ss_global int32_t* out,
                                         uint32_t stride, uint32_t with_second) {
  const uint32_t i = group * SS_HAM_ROWS + t;
  /* word k of the group's row r at xs[k · SS_HAM_ROWS + r]: the threads read consecutive words */
  for (uint32_t e = t; e < SS_HAM_ROWS * words; e += SS_HAM_ROWS) {
    const uint32_t r = e / words, k = e % words, row = group * SS_HAM_ROWS + r;
    xs[k * SS_HAM_ROWS + r] = row < nx ? X[(uint64_t)row * words + k] : 0u;
  }
  int32_t d1 = SS_HAM_NONE, d2 = SS_HAM_NONE, i1 = -1;
  for (uint32_t j0 = 0; j0 < ny; j0 += SS_HAM_TILE) {
    ss_threadgroup_sync(); /* the tile before is read (and xs written) */
    const uint32_t jn = ny - j0 < SS_HAM_TILE ? ny - j0 : SS_HAM_TILE;
    for (uint32_t e = t; e < jn * words; e += SS_HAM_ROWS) ys[e] = Y[(uint64_t)j0 * words + e];
    ss_threadgroup_sync();
    for (uint32_t jj = 0; jj < jn; ++jj) {
      int32_t d = 0;
      for (uint32_t k = 0; k < words; ++k) d += (int32_t)ss_popcount(xs[k * SS_HAM_ROWS + t] ^ ys[jj * words + k]);
      if (d < d1) {
        d2 = d1;
        d1 = d;
        i1 = (int32_t)(j0 + jj);
      } else if (d < d2) {
        d2 = d;
      }
    }
  }
  if (i >= nx) return;
  out[(uint64_t)stride * i] = i1;
  out[(uint64_t)stride * i + 1] = d1;
  if (with_second) out[(uint64_t)stride * i + 2] = d2;
}

/* a row i of out_a {nn, best, second, match}: mutual nearest, within max_distance, and Lowe's ratio
 * (0 < ratio < 1, when there is a second) on the float distances, as on the CPU */
ss_device_inline void hamming_finalize_row(ss_args_ref(ss_hamming_match_args) p, uint32_t i, ss_global int32_t* out_a,
                                           ss_global const int32_t* out_b) {
  const int32_t j = out_a[4 * (uint64_t)i], d1 = out_a[4 * (uint64_t)i + 1], d2 = out_a[4 * (uint64_t)i + 2];
  bool ok = j >= 0 && out_b[2 * (uint64_t)j] == (int32_t)i && d1 <= (int32_t)p.max_distance;
  if (ok && p.ratio > 0.0f && p.ratio < 1.0f && d2 != SS_HAM_NONE) ok = (float)d1 < p.ratio * (float)d2;
  out_a[4 * (uint64_t)i + 3] = ok ? 1 : 0;
}

#endif
