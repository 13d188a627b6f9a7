/* ORB extraction (ss_orb_extract) shaped for a GPU: the CPU's keypoints and
 * descriptors exactly, in a few passes over all pyramid levels at once
 * (needs fast.h, orb_pattern.h, orb.h, orb_gpu_plan.h):
 *   1. pyramid: each level from the one before (orb_resize_pixel), one pass per level;
 *   2. smoothing for the descriptors, both separable passes over every level (orb_blur_pixel);
 *   3. FAST at the threshold, one thread per pixel: the score map (fast_score + 1, 0 elsewhere)
 *      and 32-bit atomic counts per grid cell and per level;
 *   4. the retry: in a level with fewer than twice its share of corners, each cell with none
 *      runs FAST again at the minimum threshold (the CPU's spans of empty cells are exactly
 *      these cells: the empty test sees only the first pass);
 *   5. one threadgroup per cell: 3×3 non-maximum suppression on the score, the cell's `keep`
 *      best by (FAST score ↓, y ↑, x ↑) — a histogram of scores gives the cut-off score, a
 *      threadgroup prefix sum in raster order the first of the ties —, their Harris responses,
 *      and their ranks by (Harris ↓, y ↑, x ↑) (counting, so no sort): entries[cell][rank];
 *   6. one threadgroup: per level the entries, each level's take (its share plus what the
 *      levels before could not fill) and where its keypoints start; the count;
 *   7. one threadgroup per level and round r: round r holds every cell's r-th entry; the CPU
 *      orders a level by (round ↑, Harris ↓, cell ↑), so an entry's place is the entries of
 *      rounds before (Σ over cells of min(taken, r)) plus the stronger ones of its round;
 *   8. one SIMD-group per keypoint: orientation moments (a lane per disc row, integer sums),
 *      the orientation bin, 32 descriptor bytes (a lane each), the keypoint's floats.
 * Every decision is on integers or on floats computed as the CPU computes them (orb.h's
 * explicit fma, ss_div_rn, ss_sqrt_rn), so nothing depends on thread order. Written against
 * the GPU vocabulary (DESIGN.md §3 rule 10). */
#ifndef SS_KERNEL_ORB_GPU_H
#define SS_KERNEL_ORB_GPU_H

/* threads per threadgroup of the cell, level and order passes (multiples of 32) */
#define SS_ORB_CELL_THREADS 128
#define SS_ORB_LEVEL_THREADS 256
#define SS_ORB_ORDER_THREADS 128
/* words per entry {x, y, FAST score, Harris bits} and per selected keypoint {level, x, y, FAST, Harris, 0, 0, 0} */
#define SS_ORB_ENTRY_WORDS 4
#define SS_ORB_SELECTED_WORDS 8

ss_device_inline uint32_t orb_level_of_pixel(ss_args_ref(ss_orb_gpu_plan) p, uint32_t g) {
  uint32_t l = 0;
  while (l + 1 < p.levels && g >= p.level[l + 1].off) ++l;
  return l;
}

ss_device_inline uint32_t orb_level_of_cell(ss_args_ref(ss_orb_gpu_plan) p, uint32_t cell) {
  uint32_t l = 0;
  while (l + 1 < p.levels && cell >= p.level[l + 1].cell_base) ++l;
  return l;
}

/* level 0 is the input image; the others lie in the pyramid buffer */
ss_device_inline ss_global const uint8_t* orb_level_image(ss_args_ref(ss_orb_gpu_plan) p, uint32_t l, ss_global const uint8_t* gray,
                                                          ss_global const uint8_t* pyr) {
  return l == 0 ? gray : pyr + p.level[l].off;
}

/* 1. pixel i of level l ≥ 1 */
ss_device_inline void orb_gpu_resize(ss_args_ref(ss_orb_gpu_plan) p, uint32_t l, uint32_t i, ss_global const uint8_t* gray, ss_global uint8_t* pyr) {
  if (i >= p.level[l].w * p.level[l].h) return;
  orb_resize_pixel(orb_level_image(p, l - 1, gray, pyr), p.level[l - 1].w, p.level[l - 1].h, pyr + p.level[l].off, p.level[l].w, p.level[l].h, i);
}

/* 2. pixel g of all levels, pass dir (0: pyramid → tmp, 1: tmp → smooth) */
ss_device_inline void orb_gpu_blur(ss_args_ref(ss_orb_gpu_plan) p, uint32_t dir, uint32_t g, ss_global const uint8_t* gray,
                                   ss_global const uint8_t* pyr, ss_global uint8_t* tmp, ss_global uint8_t* smooth) {
  if (g >= p.pixels) return;
  const uint32_t l = orb_level_of_pixel(p, g), off = p.level[l].off;
  ss_global const uint8_t* src = dir == 0 ? orb_level_image(p, l, gray, pyr) : tmp + off;
  orb_blur_pixel(src, (dir == 0 ? tmp : smooth) + off, p.level[l].w, p.level[l].h, dir, g - off);
}

/* the grid cell of an interior pixel (x, y) of level l, among all levels' */
ss_device_inline uint32_t orb_cell_of(ss_args_ref(ss_orb_gpu_plan) p, uint32_t l, int32_t x, int32_t y) {
  const int32_t e = (int32_t)p.edge, c = (int32_t)p.cell;
  return p.level[l].cell_base + (uint32_t)((y - e) / c) * p.level[l].cells_x + (uint32_t)((x - e) / c);
}

/* fast_score(px, stride) of a pixel that is a corner at threshold t0 ≥ 0, as the largest threshold that
 * fast_is_corner still accepts (fast_score's definition; fast_is_corner is monotone in the threshold):
 * a binary search over compares only. On sm_90 (CUDA 13.0, H200, 2026-12-06) fast_score's chains of
 * min/max came out of the compiler as c − min(circle) — corners and counts right, scores wrong — while
 * its PTX was correct; the corner test compiles right there, so the GPU passes derive the score from it. */
ss_device_inline int32_t orb_gpu_fast_score(ss_global const uint8_t* px, int32_t stride, int32_t t0) {
  int32_t lo = t0, hi = 254; /* fast_is_corner(px, lo) holds; the answer is in [lo, hi] */
  while (lo < hi) {
    const int32_t mid = (lo + hi + 1) >> 1;
    if (fast_is_corner(px, stride, mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/* 3. pixel g of all levels: score[g] = FAST score + 1 at a corner, else 0 */
ss_device_inline void orb_gpu_fast(ss_args_ref(ss_orb_gpu_plan) p, uint32_t g, ss_global const uint8_t* gray, ss_global const uint8_t* pyr,
                                   ss_global uint8_t* score, ss_global uint32_t* cell_count, ss_global uint32_t* level_count) {
  if (g >= p.pixels) return;
  const uint32_t l = orb_level_of_pixel(p, g), i = g - p.level[l].off;
  const int32_t w = (int32_t)p.level[l].w, h = (int32_t)p.level[l].h, e = (int32_t)p.edge;
  const int32_t x = (int32_t)(i % p.level[l].w), y = (int32_t)(i / p.level[l].w);
  uint32_t v = 0u;
  if (x >= e && x < w - e && y >= e && y < h - e) {
    ss_global const uint8_t* px = orb_level_image(p, l, gray, pyr) + i;
    if (fast_is_corner(px, w, (int32_t)p.fast_threshold)) {
      v = (uint32_t)ss_min_i(orb_gpu_fast_score(px, w, (int32_t)p.fast_threshold) + 1, 255);
      ss_atomic_add_u32(cell_count + orb_cell_of(p, l, x, y), 1u);
      ss_atomic_add_u32(level_count + l, 1u);
    }
  }
  score[g] = (uint8_t)v;
}

/* 4. pixel g of all levels: FAST at the minimum threshold in an empty cell of a level short of corners */
ss_device_inline void orb_gpu_fast_retry(ss_args_ref(ss_orb_gpu_plan) p, uint32_t g, ss_global const uint8_t* gray, ss_global const uint8_t* pyr,
                                         ss_global uint8_t* score, ss_global const uint32_t* cell_count, ss_global const uint32_t* level_count) {
  if (g >= p.pixels) return;
  const uint32_t l = orb_level_of_pixel(p, g), i = g - p.level[l].off;
  if ((int64_t)level_count[l] >= 2 * (int64_t)p.level[l].want) return;
  const int32_t w = (int32_t)p.level[l].w, h = (int32_t)p.level[l].h, e = (int32_t)p.edge;
  const int32_t x = (int32_t)(i % p.level[l].w), y = (int32_t)(i / p.level[l].w);
  if (x < e || x >= w - e || y < e || y >= h - e || cell_count[orb_cell_of(p, l, x, y)] != 0u) return;
  ss_global const uint8_t* px = orb_level_image(p, l, gray, pyr) + i;
  if (fast_is_corner(px, w, (int32_t)p.fast_min_threshold))
    score[g] = (uint8_t)ss_min_i(orb_gpu_fast_score(px, w, (int32_t)p.fast_min_threshold) + 1, 255);
}

/* 3×3 non-maximum suppression at r (the score map at the pixel): strict against earlier neighbours, ≥ against
 * later ones, so a plateau keeps one */
ss_device_inline bool orb_nms_keep(ss_global const uint8_t* r, int32_t w, int32_t v) {
  return v != 0 && !(v <= r[-1] || v < r[1] || v <= r[-w - 1] || v <= r[-w] || v <= r[-w + 1] || v < r[w - 1] || v < r[w] || v < r[w + 1]);
}

/* the sum of v over the threadgroup (n threads, a multiple of 32) on every thread; tot: n / 32 words */
ss_device_inline uint32_t orb_group_sum(uint32_t v, uint32_t t, uint32_t n, ss_shared uint32_t* tot) {
  const uint32_t s = ss_simd_sum_u32(v);
  ss_threadgroup_sync(); /* tot's last readers are done */
  if ((t & 31u) == 0u) tot[t >> 5] = s;
  ss_threadgroup_sync();
  uint32_t sum = 0u;
  for (uint32_t k = 0; k < n / 32u; ++k) sum += tot[k];
  return sum;
}

/* entry {x, y, FAST, Harris} a precedes b in a cell (Harris ↓, y ↑, x ↑) */
ss_device_inline bool orb_entry_before(ss_global const uint32_t* a, ss_global const uint32_t* b) {
  const float ha = ss_int_as_float((int32_t)a[3]), hb = ss_int_as_float((int32_t)b[3]);
  if (ha != hb) return ha > hb;
  if (a[1] != b[1]) return a[1] < b[1];
  return a[0] < b[0];
}

/* 5. the cell `cell` (among all levels'): every thread of the threadgroup calls it (n threads, a multiple of 32).
 * hist: 256 words, tot: n / 32 words, vals: 4 words of threadgroup memory; cand: the cell's unordered entries,
 * entries: in rank order, both at entry_base + c · keep; cell_taken[cell]: how many */
ss_device_inline void orb_gpu_cell(ss_args_ref(ss_orb_gpu_plan) p, uint32_t cell, uint32_t t, uint32_t n, ss_global const uint8_t* gray,
                                   ss_global const uint8_t* pyr, ss_global const uint8_t* score, ss_global uint32_t* cand,
                                   ss_global uint32_t* entries, ss_global uint32_t* cell_taken, ss_shared uint32_t* hist,
                                   ss_shared uint32_t* tot, ss_shared uint32_t* vals) {
  const uint32_t l = orb_level_of_cell(p, cell), c = cell - p.level[l].cell_base, keep = p.level[l].keep;
  const int32_t w = (int32_t)p.level[l].w, h = (int32_t)p.level[l].h, e = (int32_t)p.edge, cs = (int32_t)p.cell;
  const int32_t x0 = e + (int32_t)(c % p.level[l].cells_x) * cs, y0 = e + (int32_t)(c / p.level[l].cells_x) * cs;
  const int32_t cw = ss_min_i(w - e, x0 + cs) - x0, chh = ss_min_i(h - e, y0 + cs) - y0;
  const uint32_t P = (uint32_t)(cw * chh);
  ss_global const uint8_t* sc = score + p.level[l].off;
  ss_global const uint8_t* img = orb_level_image(p, l, gray, pyr);
  const uint32_t base = p.level[l].entry_base + c * keep;
  for (uint32_t k = t; k < 256u; k += n) hist[k] = 0u;
  if (t == 0u) vals[2] = 0u;
  ss_threadgroup_sync();
  for (uint32_t qi = t; qi < P; qi += n) {
    const int32_t x = x0 + (int32_t)(qi % (uint32_t)cw), y = y0 + (int32_t)(qi / (uint32_t)cw);
    ss_global const uint8_t* r = sc + y * w + x;
    const int32_t v = r[0];
    if (orb_nms_keep(r, w, v)) ss_atomic_add_shared_u32(hist + (v - 1), 1u);
  }
  ss_threadgroup_sync();
  /* the CPU takes the `keep` first by (FAST ↓, y ↑, x ↑) — only those ≥ fast_threshold when the best is —:
   * every candidate above the cut-off score, and the first `need` at it */
  if (t == 0u) {
    int32_t top = -1;
    for (int32_t b = 254; b >= 0 && top < 0; --b)
      if (hist[b] != 0u) top = b;
    uint32_t cutoff = 255u, need = 0u;
    if (top >= 0) {
      const int32_t lo = top >= (int32_t)p.fast_threshold ? (int32_t)p.fast_threshold : 0;
      uint32_t cum = 0u;
      cutoff = (uint32_t)lo;
      need = hist[lo];
      for (int32_t b = top; b >= lo; --b) {
        if (cum + hist[b] >= keep) {
          cutoff = (uint32_t)b;
          need = keep - cum;
          break;
        }
        cum += hist[b];
      }
    }
    vals[0] = cutoff;
    vals[1] = need;
  }
  ss_threadgroup_sync();
  const uint32_t cutoff = vals[0], need = vals[1];
  const bool ordered = cutoff < 255u && need < hist[cutoff];
  uint32_t before = 0u; /* candidates at the cut-off in the chunks before */
  for (uint32_t q0 = 0; q0 < P; q0 += n) {
    const uint32_t qi = q0 + t;
    int32_t x = 0, y = 0, f = 0;
    bool take = false, at_cut = false;
    if (qi < P) {
      x = x0 + (int32_t)(qi % (uint32_t)cw);
      y = y0 + (int32_t)(qi / (uint32_t)cw);
      ss_global const uint8_t* r = sc + y * w + x;
      const int32_t v = r[0];
      if (orb_nms_keep(r, w, v)) {
        f = v - 1;
        at_cut = (uint32_t)f == cutoff;
        take = (uint32_t)f > cutoff || at_cut;
      }
    }
    if (ordered) { /* uniform: the rank of each tie in raster order, (y, x) */
      const uint32_t one = at_cut ? 1u : 0u;
      const uint32_t pre = ss_simd_prefix_exclusive_sum_u32(one), s = ss_simd_sum_u32(one);
      ss_threadgroup_sync();
      if ((t & 31u) == 0u) tot[t >> 5] = s;
      ss_threadgroup_sync();
      uint32_t rank = before + pre, chunk = 0u;
      for (uint32_t k = 0; k < n / 32u; ++k) {
        if (k < (t >> 5)) rank += tot[k];
        chunk += tot[k];
      }
      if (at_cut && rank >= need) take = false;
      before += chunk;
    }
    if (take) {
      ss_global uint32_t* o = cand + (uint64_t)SS_ORB_ENTRY_WORDS * (base + ss_atomic_add_shared_u32(vals + 2, 1u));
      o[0] = (uint32_t)x;
      o[1] = (uint32_t)y;
      o[2] = (uint32_t)f;
    }
  }
  ss_threadgroup_sync_device();
  const uint32_t taken = vals[2];
  for (uint32_t k = t; k < taken; k += n) {
    ss_global uint32_t* o = cand + (uint64_t)SS_ORB_ENTRY_WORDS * (base + k);
    o[3] = (uint32_t)ss_float_as_int(orb_harris(img, w, (int32_t)o[0], (int32_t)o[1], p.harris_k));
  }
  ss_threadgroup_sync_device();
  for (uint32_t k = t; k < taken; k += n) {
    ss_global const uint32_t* a = cand + (uint64_t)SS_ORB_ENTRY_WORDS * (base + k);
    uint32_t rank = 0u;
    for (uint32_t j = 0; j < taken; ++j) rank += orb_entry_before(cand + (uint64_t)SS_ORB_ENTRY_WORDS * (base + j), a) ? 1u : 0u;
    ss_global uint32_t* o = entries + (uint64_t)SS_ORB_ENTRY_WORDS * (base + rank);
    for (uint32_t m = 0; m < SS_ORB_ENTRY_WORDS; ++m) o[m] = a[m];
  }
  if (t == 0u) cell_taken[cell] = taken;
}

/* 6. one threadgroup (n threads, a multiple of 32): level_take[2l] = how many keypoints level l gives (its share,
 * plus what the levels before could not fill, at most its entries), level_take[2l + 1] = its first keypoint;
 * count[0] = all of them */
ss_device_inline void orb_gpu_levels(ss_args_ref(ss_orb_gpu_plan) p, uint32_t t, uint32_t n, ss_global const uint32_t* cell_taken,
                                     ss_global uint32_t* level_take, ss_global uint32_t* count, ss_shared uint32_t* tot) {
  int32_t carry = 0;
  uint32_t first = 0u;
  for (uint32_t l = 0; l < p.levels; ++l) {
    uint32_t part = 0u;
    const uint32_t cells = p.level[l].cells_x * p.level[l].cells_y;
    for (uint32_t c = t; c < cells; c += n) part += cell_taken[p.level[l].cell_base + c];
    const int32_t have = (int32_t)orb_group_sum(part, t, n, tot);
    const int32_t want = p.level[l].want + carry;
    const int32_t take = ss_max_i(0, ss_min_i(want, have));
    if (t == 0u) {
      level_take[2 * l] = (uint32_t)take;
      level_take[2 * l + 1] = first;
    }
    first += (uint32_t)take;
    carry = want - take;
  }
  if (t == 0u) count[0] = first < p.max_features ? first : p.max_features;
}

/* 7. the threadgroup of round `g` among all levels' (n threads, a multiple of 32): the r-th entry of every cell
 * of its level, in the CPU's order, into selected[first + place] while place < take */
ss_device_inline void orb_gpu_order(ss_args_ref(ss_orb_gpu_plan) p, uint32_t g, uint32_t t, uint32_t n, ss_global const uint32_t* entries,
                                    ss_global const uint32_t* cell_taken, ss_global const uint32_t* level_take, ss_global uint32_t* selected,
                                    ss_shared uint32_t* tot) {
  uint32_t l = 0;
  while (l + 1 < p.levels && g >= p.level[l + 1].round_base) ++l;
  const uint32_t r = g - p.level[l].round_base, keep = p.level[l].keep, cb = p.level[l].cell_base;
  const uint32_t cells = p.level[l].cells_x * p.level[l].cells_y;
  uint32_t part = 0u;
  for (uint32_t c = t; c < cells; c += n) part += ss_min_i((int32_t)cell_taken[cb + c], (int32_t)r);
  const uint32_t start = orb_group_sum(part, t, n, tot), take = level_take[2 * l], first = level_take[2 * l + 1];
  if (start >= take) return; /* the whole threadgroup: start is uniform */
  for (uint32_t c = t; c < cells; c += n) {
    if (cell_taken[cb + c] <= r) continue;
    ss_global const uint32_t* a = entries + (uint64_t)SS_ORB_ENTRY_WORDS * (p.level[l].entry_base + c * keep + r);
    const float ha = ss_int_as_float((int32_t)a[3]);
    uint32_t place = start;
    for (uint32_t c2 = 0; c2 < cells; ++c2) {
      if (c2 == c || cell_taken[cb + c2] <= r) continue;
      const float hb = ss_int_as_float((int32_t)entries[(uint64_t)SS_ORB_ENTRY_WORDS * (p.level[l].entry_base + c2 * keep + r) + 3]);
      if (hb > ha || (hb == ha && c2 < c)) ++place;
    }
    if (place >= take || first + place >= p.max_features) continue;
    ss_global uint32_t* o = selected + (uint64_t)SS_ORB_SELECTED_WORDS * (first + place);
    o[0] = l;
    o[1] = a[0];
    o[2] = a[1];
    o[3] = a[2];
    o[4] = a[3];
  }
}

/* 8. keypoint i < count, every lane of its SIMD-group (lane 0..31): orientation, descriptor, keypoint floats */
ss_device_inline void orb_gpu_describe(ss_args_ref(ss_orb_gpu_plan) p, uint32_t i, uint32_t lane, ss_global const uint8_t* gray,
                                       ss_global const uint8_t* pyr, ss_global const uint8_t* smooth, ss_global const uint32_t* selected,
                                       ss_global float* keypoints, ss_global uint8_t* descriptors) {
  ss_global const uint32_t* s = selected + (uint64_t)SS_ORB_SELECTED_WORDS * i;
  const uint32_t l = s[0];
  const int32_t x = (int32_t)s[1], y = (int32_t)s[2], w = (int32_t)p.level[l].w;
  /* lane v + 15 sums disc row v (lane 31 none); integers, so any order is the CPU's */
  const int32_t v = (int32_t)lane - 15;
  int32_t sum = 0, wsum = 0;
  if (lane < 31u) {
    const int32_t span = orb_disc_span(v);
    ss_global const uint8_t* row = orb_level_image(p, l, gray, pyr) + (y + v) * w + x;
    for (int32_t u = -span; u <= span; ++u) {
      const int32_t val = row[u];
      sum += val;
      wsum += u * val;
    }
  }
  const int32_t m10 = (int32_t)ss_simd_sum_u32((uint32_t)wsum), m01 = (int32_t)ss_simd_sum_u32((uint32_t)(v * sum));
  float cs, sn;
  orb_orientation_from_moments(m10, m01, &cs, &sn);
  const int32_t bin = orb_angle_bin(cs, sn);
  descriptors[32 * (uint64_t)i + lane] = (uint8_t)orb_describe_byte(smooth + p.level[l].off, w, x, y, bin, (int32_t)lane);
  if (lane == 0u) {
    ss_global float* o = keypoints + 8 * (uint64_t)i;
    const float scale = p.level[l].scale;
    /* level pixel centre → level-0 pixel coordinates (centres at integers) */
    o[0] = ss_fma((float)x + 0.5f, scale, -0.5f);
    o[1] = ss_fma((float)y + 0.5f, scale, -0.5f);
    o[2] = (float)l;
    o[3] = cs;
    o[4] = sn;
    o[5] = ss_int_as_float((int32_t)s[4]);
    o[6] = (float)s[3];
    o[7] = 31.0f * scale;
  }
}

#endif
