/* The CUDA shape of the MASt3R GPU bodies (mast3r_nn_gpu.h, mast3r_similarity_gpu.h: 128 × 128
 * tiles, 256 threads, the register tile step of mast3r_tile_gpu.h; the tensor-core scan of
 * mast3r_nn_tc_gpu.h with emulated MMAs) run on the CPU without a GPU:
 * each block's threads are fibers that meet at every __syncthreads (the emulator's fibers), in
 * forward or reverse order, launched as native/cuda/mast3r.cu launches them. Held to the CPU's
 * exact nearest neighbour (mast3r_nn_exact) on ties, near-ties and k-chunked dimensions, to the
 * plain similarity chain bit for bit, and to a float64 InfoNCE. Prints "ok" or what differs. */
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <vector>
#include "fiber.h"

#define SS_BACKEND_CPU_COMPILE 1
#define ss_device_inline static inline
#define ss_host_device_inline static inline
#define ss_global
#define ss_shared
#define ss_thread
#define ss_constant const
#define SS_INF (std::numeric_limits<float>::infinity())
#define SS_NAN (std::numeric_limits<float>::quiet_NaN())
static inline float ss_sqrt(float v) { return std::sqrt(v); }
static inline float ss_fma(float a, float b, float c) { return std::fma(a, b, c); }
static inline float ss_exp(float v) { return std::exp(v); }
static inline int32_t ss_round_to_int(float v) { return (int32_t)std::lrintf(v); }
static inline uint32_t ss_atomic_add_u32(uint32_t* p, uint32_t v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
struct float4 { float x, y, z, w; };
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

void sim_sync();
static int sim_thread();
#define ss_threadgroup_sync() sim_sync()
#include "scanstream.h"
#include "mast3r_real.h"
#include "mast3r_gpu_params.h"
#include "mast3r_tile_gpu.h"

/* the CUDA path's warp shuffles and cp.async, for fibers: the scan's threads all shuffle together
 * (uniform code), so an exchange is a slot per thread between two block barriers; a cp.async copy
 * lands only when its thread waits (the strictest order the hardware allows) */
static uint32_t g_lanes[M3T_THREADS];
static uint32_t shfl_xor_u(uint32_t v, int off) {
  g_lanes[sim_thread()] = v;
  sim_sync();
  const uint32_t r = g_lanes[(uint32_t)sim_thread() ^ (uint32_t)off];
  sim_sync();
  return r;
}
static float __shfl_xor_sync(uint32_t, float v, int off) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  u = shfl_xor_u(u, off);
  std::memcpy(&v, &u, 4);
  return v;
}
static int32_t __shfl_xor_sync(uint32_t, int32_t v, int off) { return (int32_t)shfl_xor_u((uint32_t)v, off); }
/* the GPU vocabulary's SIMD-group shuffles (compat/cuda.h), over the same exchange */
static float ss_simd_shuffle_xor_f32(float v, uint32_t m) { return __shfl_xor_sync(0xffffffffu, v, (int)m); }
static int32_t ss_simd_shuffle_xor_i32(int32_t v, uint32_t m) { return __shfl_xor_sync(0xffffffffu, v, (int)m); }
static uint32_t ss_simd_shuffle_xor_u32(uint32_t v, uint32_t m) { return shfl_xor_u(v, (int)m); }
struct PendingCopy { float* dst; const float* src; bool in; };
static std::vector<PendingCopy> g_pending[M3T_THREADS];
static void m3g_cp_async4(float* dst, const float* src, bool in) { g_pending[sim_thread()].push_back({dst, src, in}); }
static void m3g_cp_async_wait_all() {
  for (const PendingCopy& q : g_pending[sim_thread()]) *q.dst = q.in ? *q.src : 0.0f;
  g_pending[sim_thread()].clear();
}
/* the tensor-core path's TF32 rounding, warp MMA and 16-byte cp.async, for fibers. An MMA is a
 * warp-wide exchange between two block barriers (every thread of the scan calls it together); its
 * sum is exact, then truncated towards zero as the hardware's alignment may */
struct float2 { float x, y; };
static inline float __uint_as_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline uint32_t __float_as_uint(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
static uint32_t m3tc_tf32(float x) {
  const uint32_t u = __float_as_uint(x);
  return (u & 0x7f800000u) == 0x7f800000u ? u : (u + 0x1000u) & 0xffffe000u;
}
static uint32_t g_mma_a[M3T_THREADS][4], g_mma_b[M3T_THREADS][2];
static void m3tc_mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  const int t = sim_thread();
  std::memcpy(g_mma_a[t], a, 16);
  std::memcpy(g_mma_b[t], b, 8);
  sim_sync();
  const int base = t & ~31, g = (t & 31) / 4, q = t % 4;
  auto A = [&](int r, int k) { return (double)__uint_as_float(g_mma_a[base + (r % 8) * 4 + k % 4][r / 8 + 2 * (k / 4)]); };
  auto B = [&](int k, int c) { return (double)__uint_as_float(g_mma_b[base + c * 4 + k % 4][k / 4]); };
  float out[4];
  for (int e = 0; e < 4; ++e) {
    const int r = g + 8 * (e >> 1), c = 2 * q + (e & 1);
    double sum = d[e];
    for (int k = 0; k < 8; ++k) sum += A(r, k) * B(k, c);
    float f = (float)sum;
    if (std::fabs((double)f) > std::fabs(sum)) f = std::nextafter(f, 0.0f);
    out[e] = f;
  }
  sim_sync();
  for (int e = 0; e < 4; ++e) d[e] = out[e];
}
static void m3tc_cp_async16(void* dst, const void* src) {
  for (int w = 0; w < 4; ++w) m3g_cp_async4((float*)dst + w, (const float*)src + w, true);
}
static void m3tc_cp_wait() { m3g_cp_async_wait_all(); }
#include "mast3r_nn_gpu.h"
#include "mast3r_nn_tc_gpu.h"
#include "mast3r_similarity_gpu.h"
#include "mast3r_nn.h"

/* ---- a block of fibers ---- */
static msl_emu::fiber g_sched;
struct Th { msl_emu::fiber f; msl_emu::fiber_stack st; int state; /* 0 run 1 wait 2 done */ };
static std::vector<Th> g_th;
static int g_cur;
static std::function<void(uint32_t)> g_body;
static bool g_reverse;
void sim_sync() {
  g_th[g_cur].state = 1;
  msl_emu::fiber_switch(&g_th[g_cur].f, &g_sched);
}
static int sim_thread() { return g_cur; }
static void entry(void* arg) {
  int t = (int)(intptr_t)arg;
  g_body((uint32_t)t);
  if (!g_pending[t].empty()) { std::fprintf(stderr, "a cp.async copy was never waited for\n"); std::abort(); }
  g_th[t].state = 2;
  msl_emu::fiber_switch(&g_th[t].f, &g_sched);
}
static void run_block(uint32_t T, std::function<void(uint32_t)> body) {
  if (g_th.size() < T) {
    size_t old = g_th.size();
    g_th.resize(T);
    for (size_t i = old; i < T; ++i) msl_emu::fiber_stack_create(&g_th[i].st, 256 << 10);
  }
  g_body = body;
  for (uint32_t t = 0; t < T; ++t) {
    g_th[t].state = 0;
    msl_emu::fiber_prepare(&g_th[t].f, &g_th[t].st, entry, (void*)(intptr_t)t);
  }
  for (;;) {
    bool any = false;
    for (uint32_t k = 0; k < T; ++k) {
      uint32_t t = g_reverse ? T - 1 - k : k;
      if (g_th[t].state != 0) continue;
      any = true;
      g_cur = (int)t;
      msl_emu::fiber_switch(&g_sched, &g_th[t].f);
    }
    if (any) continue;
    bool waiting = false;
    for (uint32_t t = 0; t < T; ++t) if (g_th[t].state == 1) { g_th[t].state = 0; waiting = true; }
    if (!waiting) break;
  }
}
static std::vector<float> g_smem(std::max<size_t>(std::max(M3T_SHARED_FLOATS, M3T_NN_SHARED_FLOATS(1)), M3TC_SHARED_WORDS(M3TC_MAX_KS)) + 16);
static float g_red[4][M3T_THREADS];

static const uint32_t kSM = 132;
static void plan_splits(uint32_t row_blocks, uint32_t col_tiles, uint32_t want, uint32_t* splits, uint32_t* per) {
  uint32_t s = (want + row_blocks - 1) / row_blocks;
  uint32_t max_s = (col_tiles + 3) / 4;
  if (s > max_s) s = max_s;
  if (s < 1) s = 1;
  *per = (col_tiles + s - 1) / s;
  *splits = (col_tiles + *per - 1) / *per;
}
static bool g_tc;
static m3tc_params tc_params(uint32_t rows, uint32_t cols, uint32_t dim, uint32_t dist, uint32_t gather);
static m3g_nn_params nn_params(uint32_t n, uint32_t m, uint32_t dim, uint32_t dist, bool recip) {
  m3g_nn_params p = {};
  p.n = n; p.m = m; p.dim = dim; p.dist = dist;
  p.row_blocks = (n + M3T_TM - 1) / M3T_TM;
  p.col_tiles = (m + M3T_TN - 1) / M3T_TN;
  plan_splits(p.row_blocks, p.col_tiles, kSM * 16, &p.splits, &p.tiles_per_split);
  if (g_tc && dim <= 8 * M3TC_MAX_KS) {
    p.tc_ks = (dim + 7) / 8;
    p.splits = tc_params(n, m, dim, dist, 0).splits;
    if (recip) p.cp_entries = tc_params(m, n, dim, dist, 0).splits;
  }
  return p;
}
/* the tensor-core scan as native/cuda/mast3r.cu plans it (nn_plan), when g_tc and dim ≤ 32 */
static m3tc_params tc_params(uint32_t rows, uint32_t cols, uint32_t dim, uint32_t dist, uint32_t gather) {
  m3tc_params t = {};
  t.rows = rows; t.cols = cols; t.dim = dim; t.dist = dist; t.ks = (dim + 7) / 8; t.gather = gather;
  t.row_blocks = (rows + M3TC_TM - 1) / M3TC_TM;
  t.col_tiles = (cols + M3TC_TN - 1) / M3TC_TN;
  plan_splits(t.row_blocks, t.col_tiles, kSM * 8, &t.splits, &t.tiles_per_split);
  return t;
}
/* columns split (one thread each), then the rows' blocks; partials at t.out */
static void tc_scan(const m3tc_params& t, const float* A, const int32_t* gather, const float* B, float* scratch) {
  const uint32_t padded = t.col_tiles * M3TC_TN;
  std::vector<uint32_t> frag((size_t)padded * M3TC_COL_WORDS(t.ks) + 4, 0xdeadbeefu);
  std::vector<float> G(padded + 4, 4242.0f);
  for (uint64_t w = 0; w < (uint64_t)padded * M3TC_COL_WORDS(t.ks); ++w) m3g_tc_split_word(w, t.cols, t.dim, t.ks, B, frag.data());
  if (t.dist == SS_DIST_L2) for (uint32_t c = 0; c < padded; ++c) m3g_tc_split_g(c, t.cols, t.dim, B, G.data());
  for (uint32_t rb = 0; rb < t.row_blocks; ++rb)
    for (uint32_t sp = 0; sp < t.splits; ++sp)
      run_block(M3TC_THREADS, [&](uint32_t th) {
        switch (t.ks) {
          case 1: m3tc_scan<1>(t, rb, sp, th, A, gather, frag.data(), G.data(), scratch, g_smem.data()); break;
          case 2: m3tc_scan<2>(t, rb, sp, th, A, gather, frag.data(), G.data(), scratch, g_smem.data()); break;
          case 3: m3tc_scan<3>(t, rb, sp, th, A, gather, frag.data(), G.data(), scratch, g_smem.data()); break;
          default: m3tc_scan<4>(t, rb, sp, th, A, gather, frag.data(), G.data(), scratch, g_smem.data()); break;
        }
      });
}
static void max_norm(const float* src, uint32_t rows, uint32_t dim, float* partial, float* target) {
  uint32_t groups = (rows + M3T_THREADS - 1) / M3T_THREADS;
  for (uint32_t g = 0; g < groups; ++g) run_block(M3T_THREADS, [&](uint32_t t) { m3g_max_norm(g, t, M3T_THREADS, rows, dim, src, g_red[0], partial); });
  run_block(M3T_THREADS, [&](uint32_t t) { m3g_max_reduce(t, M3T_THREADS, groups, partial, g_red[0], target); });
}
static uint32_t g_ambiguous, g_partials_wrong;
/* the scan's row partials, merged over the splits, against this row's exact float32 best two (the
 * tile step sums k in order with one fma each, as m3g_score_plain; l2 adds G_b after): the exact
 * re-rank would hide a wrong partial as an ambiguous row, so the partials are held to it here */
static void check_row_partials(const m3g_nn_params& p, const float* A, const int32_t* gather, const float* B, const float* scratch) {
  const uint64_t stride = (uint64_t)p.splits * M3T_NN_RT * p.n;
  for (uint32_t i = 0; i < p.n; ++i) {
    m3g_top2 got = m3g_top2_empty(), want = m3g_top2_empty();
    for (uint64_t e = 0; e < (uint64_t)p.splits * M3T_NN_RT; ++e) {
      const uint64_t at = e * p.n + i;
      m3g_top2_merge(&got, scratch[p.rp + at], scratch[p.rp + stride + at], ((const int32_t*)scratch)[p.rp + 2 * stride + at]);
    }
    const float* q = A + (uint64_t)(p.gather ? (uint32_t)gather[i] : i) * p.dim;
    for (uint32_t j = 0; j < p.m; ++j) {
      const float* b = B + (uint64_t)j * p.dim;
      float sc = m3g_score_plain(q, b, p.dim, SS_DIST_DOT);
      if (p.dist == SS_DIST_L2) sc += -0.5f * m3t_sumsq(b, p.dim);
      m3g_top2_offer(&want, sc, (int32_t)j);
    }
    if (got.m1 != want.m1 || got.m2 != want.m2) ++g_partials_wrong;
  }
}
/* the tensor-core partials, merged, within the scan's bound of the exact float32 best two (a broken
 * fragment, shuffle or copy is far outside it) and naming a column whose score is within it */
static void check_tc_partials(const m3g_nn_params& p, uint32_t rows, uint32_t cols, uint32_t entries, uint32_t at0, const float* A,
                              const int32_t* gather, const float* B, const float* scratch, float omax) {
  const uint64_t stride = (uint64_t)entries * rows;
  for (uint32_t i = 0; i < rows; ++i) {
    m3g_top2 got = m3g_top2_empty(), want = m3g_top2_empty();
    for (uint64_t e = 0; e < entries; ++e) {
      const uint64_t at = at0 + e * rows + i;
      m3g_top2_merge(&got, scratch[at], scratch[stride + at], ((const int32_t*)scratch)[2 * stride + at]);
    }
    const float* q = A + (uint64_t)(gather ? (uint32_t)gather[i] : i) * p.dim;
    auto score = [&](uint32_t j) {
      const float* b = B + (uint64_t)j * p.dim;
      float sc = m3g_score_plain(q, b, p.dim, SS_DIST_DOT);
      return p.dist == SS_DIST_L2 ? sc + -0.5f * m3t_sumsq(b, p.dim) : sc;
    };
    for (uint32_t j = 0; j < cols; ++j) m3g_top2_offer(&want, score(j), (int32_t)j);
    const float e2 = 0.5f * m3g_tc_E(p.tc_ks, p.dim, p.dist, m3g_norm_up(q, p.dim), omax);
    if (got.id < 0 || !(std::fabs(got.m1 - want.m1) <= e2) || !(std::fabs(got.m2 - want.m2) <= e2) || !(score((uint32_t)got.id) >= want.m1 - e2))
      ++g_partials_wrong;
  }
}
static void nn_launch(m3g_nn_params p, const float* A, const int32_t* gather, const float* B, float* scratch, const float* stats, int32_t* out_rows, int32_t* out_cols) {
  ((uint32_t*)scratch)[p.list] = 0;
  if (p.tc_ks) {
    m3tc_params rows = tc_params(p.n, p.m, p.dim, p.dist, p.gather), cols = tc_params(p.m, p.n, p.dim, p.dist, 0);
    rows.out = p.rp;
    cols.out = p.cp;
    tc_scan(rows, A, p.gather ? gather : nullptr, B, scratch);
    check_tc_partials(p, p.n, p.m, rows.splits, p.rp, A, p.gather ? gather : nullptr, B, scratch, stats[p.omax_row]);
    if (p.recip) {
      tc_scan(cols, B, nullptr, A, scratch);
      check_tc_partials(p, p.m, p.n, cols.splits, p.cp, B, nullptr, A, scratch, stats[p.omax_col]);
    }
  } else {
    for (uint32_t rb = 0; rb < p.row_blocks; ++rb)
      for (uint32_t sp = 0; sp < p.splits; ++sp) run_block(M3T_THREADS, [&](uint32_t t) { m3g_nn_scan(p, rb, sp, t, A, gather, B, scratch, g_smem.data()); });
    check_row_partials(p, A, gather, B, scratch);
  }
  /* steps 2 and 3 as CUDA runs them: a warp per row, column or work item, 8 warps to a block; the
   * re-scan's passes over a small persistent grid, so blocks loop */
  for (uint32_t b = 0; b < (p.n + 7) / 8; ++b)
    run_block(256, [&](uint32_t t) { m3g_nn_merge_rows(p, b * 8 + t / 32, t % 32, A, gather, scratch, stats, out_rows); });
  if (p.recip)
    for (uint32_t b = 0; b < (p.m + 7) / 8; ++b)
      run_block(256, [&](uint32_t t) { m3g_nn_merge_cols(p, b * 8 + t / 32, t % 32, B, scratch, stats, out_cols); });
  const uint32_t count = ((uint32_t*)scratch)[p.list];
  g_ambiguous += count;
  const uint64_t items = (uint64_t)count * M3G_RESCAN_CHUNKS(p);
  std::vector<uint32_t> rkey(2 * items + 2, 0xabababab);
  std::vector<int32_t> ridx(items + 1, -99);
  const uint32_t grid = 3;
  for (uint32_t g = 0; g < grid; ++g)
    run_block(256, [&](uint32_t t) {
      for (uint64_t base = g * 8; base < items; base += grid * 8)
        m3g_nn_rescan_best(p, base + t / 32, t % 32, A, gather, B, scratch, stats, rkey.data(), ridx.data());
    });
  for (uint32_t g = 0; g < grid; ++g)
    run_block(256, [&](uint32_t t) {
      for (uint32_t base = g * 8; base < count; base += grid * 8) m3g_nn_rescan_finish(p, base + t / 32, t % 32, scratch, rkey.data(), ridx.data(), out_rows, out_cols);
    });
}
static void reciprocal(const float* a, const float* b, uint32_t n, uint32_t m, uint32_t dim, uint32_t dist, int32_t* nn_a, int32_t* nn_b) {
  m3g_nn_params p = nn_params(n, m, dim, dist, true);
  p.recip = 1;
  const uint32_t ga = (n + M3T_THREADS - 1) / M3T_THREADS, gb = (m + M3T_THREADS - 1) / M3T_THREADS;
  const uint64_t rp_words = 3ull * p.splits * M3T_NN_RT * n, cp_words = 3ull * (p.cp_entries ? p.cp_entries : p.row_blocks * M3T_NN_CT) * m;
  const uint64_t part_at = 2, rp_at = part_at + ga + gb, cp_at = rp_at + rp_words, list_at = cp_at + cp_words;
  std::vector<float> s(list_at + 1 + 2 * (n + m), 12345.0f);
  p.rp = (uint32_t)rp_at; p.cp = (uint32_t)cp_at; p.list = (uint32_t)list_at; p.omax_row = 1; p.omax_col = 0;
  max_norm(a, n, dim, s.data() + part_at, s.data());
  max_norm(b, m, dim, s.data() + part_at + ga, s.data() + 1);
  nn_launch(p, a, (const int32_t*)a, b, s.data(), s.data(), nn_a, nn_b);
}
static void query(const float* qm, const int32_t* qi, uint32_t count, const float* db, uint32_t dpx, uint32_t dim, uint32_t dist, int32_t* out) {
  std::vector<float> index(16, 0.0f), part((dpx + M3T_THREADS - 1) / M3T_THREADS);
  max_norm(db, dpx, dim, part.data(), index.data() + 8);
  m3g_nn_params p = nn_params(count, dpx, dim, dist, false);
  p.gather = 1; p.omax_row = 8;
  const uint64_t rp_words = 3ull * p.splits * M3T_NN_RT * count;
  p.rp = 0; p.list = (uint32_t)rp_words;
  std::vector<float> s(rp_words + 1 + 2 * count, 777.0f);
  nn_launch(p, qm, qi, db, s.data(), index.data(), out, out);
}
static void similarity(const float* d1, const float* d2, uint32_t batch, uint32_t n, uint32_t m, uint32_t dim, uint32_t euc, float* out) {
  m3g_sim_params p = {};
  p.batch = batch; p.n = n; p.m = m; p.dim = dim; p.euc = euc;
  p.row_blocks = (n + M3T_TM - 1) / M3T_TM; p.col_tiles = (m + M3T_TN - 1) / M3T_TN;
  p.tiles_per_split = 1; p.splits = p.col_tiles;
  for (uint32_t g = 0; g < batch * p.row_blocks; ++g)
    for (uint32_t sp = 0; sp < p.splits; ++sp) run_block(M3T_THREADS, [&](uint32_t t) { m3g_sim_scan(p, g, sp, t, d1, d2, out, g_smem.data()); });
}
static void infonce(const float* d1, const float* d2, uint32_t batch, uint32_t n, uint32_t dim, uint32_t euc, float temp, float eps, float* loss) {
  m3g_sim_params p = {};
  p.batch = batch; p.n = n; p.m = n; p.dim = dim; p.euc = euc; p.lse = 1;
  p.row_blocks = (n + M3T_TM - 1) / M3T_TM; p.col_tiles = (n + M3T_TN - 1) / M3T_TN;
  plan_splits(batch * p.row_blocks, p.col_tiles, kSM * 16, &p.splits, &p.tiles_per_split);
  p.splits = p.col_tiles; p.tiles_per_split = 1; /* force several entries per row */
  p.inv_t = 1.0f / temp;
  uint64_t rows = (uint64_t)batch * n, entries = (uint64_t)p.splits * M3T_RT, half = 3 * entries * rows;
  std::vector<float> s(2 * half, 999.0f);
  p.lp = 0;
  for (uint32_t g = 0; g < batch * p.row_blocks; ++g) for (uint32_t sp = 0; sp < p.splits; ++sp) run_block(M3T_THREADS, [&](uint32_t t) { m3g_sim_scan(p, g, sp, t, d1, d2, s.data(), g_smem.data()); });
  p.lp = (uint32_t)half;
  for (uint32_t g = 0; g < batch * p.row_blocks; ++g) for (uint32_t sp = 0; sp < p.splits; ++sp) run_block(M3T_THREADS, [&](uint32_t t) { m3g_sim_scan(p, g, sp, t, d2, d1, s.data(), g_smem.data()); });
  m3g_infonce_params q = {};
  q.batch = batch; q.n = n; q.dim = dim; q.euc = euc; q.entries = (uint32_t)entries; q.lp_row = 0; q.lp_col = (uint32_t)half; q.inv_t = p.inv_t; q.log_eps = (float)std::log((double)eps);
  for (uint32_t i = 0; i < rows; ++i) m3g_infonce_pair(q, i, d1, d2, s.data(), loss);
}

static std::vector<float> unit_rows(uint32_t n, uint32_t d, uint32_t seed) {
  std::mt19937 r(seed); std::normal_distribution<float> g;
  std::vector<float> v((size_t)n * d);
  for (uint32_t i = 0; i < n; ++i) { double s = 0; for (uint32_t k = 0; k < d; ++k) { float x = g(r); v[i * d + k] = x; s += (double)x * x; } for (uint32_t k = 0; k < d; ++k) v[i * d + k] = (float)(v[i * d + k] / std::sqrt(s)); }
  return v;
}
/* rows scaled over 2^±12 and elements over 10^−3..1 within a row: TF32's split and the MMA's alignment then
 * lose bits at every magnitude, which the tensor-core bound must still cover */
static void widen(std::vector<float>& v, uint32_t n, uint32_t d, uint32_t seed) {
  std::mt19937 r(seed);
  std::uniform_real_distribution<float> row(-12.0f, 12.0f), el(-3.0f, 0.0f);
  for (uint32_t i = 0; i < n; ++i) {
    const float sr = std::exp2(row(r));
    for (uint32_t k = 0; k < d; ++k) v[(size_t)i * d + k] *= sr * std::pow(10.0f, el(r));
  }
}
static float maxnorm_ref(const std::vector<float>& v, uint32_t n, uint32_t d) { float m = 0; for (uint32_t i = 0; i < n; ++i) { float x = mast3r_norm(v.data() + (size_t)i * d, d); m = x > m ? x : m; } return m; }

int main(int argc, char** argv) {
  int bad = 0;
  for (int order = 0; order < 2; ++order) for (int tc = 0; tc < 2; ++tc) {
    g_reverse = order == 1;
    g_tc = tc == 1;
    for (int wide = 0; wide < (tc ? 2 : 1); ++wide)
    for (uint32_t dim : tc ? std::vector<uint32_t>{24u, 5u, 12u, 32u} : std::vector<uint32_t>{24u, 40u, 5u}) for (uint32_t dist : {0u, 1u}) {
      uint32_t n = 300, m = 270;
      auto a = unit_rows(n, dim, 1 + dim), b = unit_rows(m, dim, 2 + dim);
      if (wide) {
        widen(a, n, dim, 91 + dim);
        widen(b, m, dim, 92 + dim);
      }
      std::memcpy(b.data() + 200 * dim, b.data(), 60 * dim * 4);   /* ties in nn_a */
      std::memcpy(a.data() + 250 * dim, a.data() + 10 * dim, 40 * dim * 4); /* ties in nn_b */
      std::memcpy(a.data() + 100 * dim, b.data() + 150 * dim, dim * 4);
      std::memcpy(b.data() + 151 * dim, b.data() + 150 * dim, dim * 4);
      b[151 * dim + 3] = std::nextafter(b[151 * dim + 3], 2.0f);
      std::vector<int32_t> na(n), nb(m);
      g_ambiguous = 0;
      g_partials_wrong = 0;
      reciprocal(a.data(), b.data(), n, m, dim, dist, na.data(), nb.data());
      float am = maxnorm_ref(a, n, dim), bm = maxnorm_ref(b, m, dim);
      int diff = 0;
      for (uint32_t i = 0; i < n; ++i) diff += na[i] != mast3r_nn_exact(a.data() + (size_t)i * dim, b.data(), m, dim, dist, bm);
      for (uint32_t j = 0; j < m; ++j) diff += nb[j] != mast3r_nn_exact(b.data() + (size_t)j * dim, a.data(), n, dim, dist, am);
      printf("order %d %s reciprocal dim %u dist %u: %d differ (ambiguous %u, row partials wrong %u)\n", order, tc ? (wide ? "tensor wide" : "tensor") : "ffma", dim, dist, diff, g_ambiguous, g_partials_wrong);
      bad += diff + (int)g_partials_wrong;
      /* queries: gathered rows of a map against a db map of 2000 pixels with a copied patch */
      uint32_t dpx = 2000, qpx = 900, count = 150;
      auto db = unit_rows(dpx, dim, 3 + dim), qm = unit_rows(qpx, dim, 4 + dim);
      if (wide) {
        widen(db, dpx, dim, 93 + dim);
        widen(qm, qpx, dim, 94 + dim);
      }
      std::memcpy(db.data() + 1500 * dim, db.data() + 100 * dim, 300 * dim * 4);
      std::memcpy(qm.data() + 50 * dim, db.data() + 120 * dim, 20 * dim * 4);
      std::vector<int32_t> qi(count), out(count, -7);
      for (uint32_t i = 0; i < count; ++i) qi[i] = (int32_t)((i * 37 + 11) % qpx);
      for (uint32_t i = 0; i < 20; ++i) qi[i] = 50 + i;
      g_ambiguous = 0;
      g_partials_wrong = 0;
      query(qm.data(), qi.data(), count, db.data(), dpx, dim, dist, out.data());
      float dm = maxnorm_ref(db, dpx, dim);
      diff = 0;
      for (uint32_t i = 0; i < count; ++i) diff += out[i] != mast3r_nn_exact(qm.data() + (size_t)qi[i] * dim, db.data(), dpx, dim, dist, dm);
      printf("order %d %s query dim %u dist %u: %d differ (ambiguous %u, row partials wrong %u)\n", order, tc ? (wide ? "tensor wide" : "tensor") : "ffma", dim, dist, diff, g_ambiguous, g_partials_wrong);
      bad += diff + (int)g_partials_wrong;
    }
    if (!g_tc) for (uint32_t euc : {0u, 1u}) for (uint32_t dim : {24u, 40u}) {
      uint32_t B = 2, n = 150, m = 140;
      auto d1 = unit_rows(B * n, dim, 5), d2 = unit_rows(B * m, dim, 6);
      std::vector<float> out((size_t)B * n * m, -1.0f);
      similarity(d1.data(), d2.data(), B, n, m, dim, euc, out.data());
      double worst = 0;
      for (uint32_t bb = 0; bb < B; ++bb) for (uint32_t i = 0; i < n; ++i) for (uint32_t j = 0; j < m; ++j) {
        float r = m3g_sim(d1.data() + ((size_t)bb * n + i) * dim, d2.data() + ((size_t)bb * m + j) * dim, dim, euc);
        worst = std::max(worst, (double)std::fabs(r - out[((size_t)bb * n + i) * m + j]));
      }
      printf("order %d similarity euc %u dim %u: max |diff| %g\n", order, euc, dim, worst);
      if (worst != 0) bad++;
      /* InfoNCE against a float64 two-pass reference */
      auto e1 = unit_rows(B * n, dim, 7), e2 = e1;
      auto noise = unit_rows(B * n, dim, 8);
      for (size_t i = 0; i < e2.size(); ++i) e2[i] += 0.4f * noise[i];
      std::vector<float> loss(B * n);
      infonce(e1.data(), e2.data(), B, n, dim, euc, 0.05f, 1e-8f, loss.data());
      double wrel = 0;
      for (uint32_t bb = 0; bb < B; ++bb) for (uint32_t i = 0; i < n; ++i) {
        const float* a = e1.data() + ((size_t)bb * n + i) * dim; const float* c = e2.data() + ((size_t)bb * n + i) * dim;
        auto lse = [&](const float* q, const float* base, bool first) { double mx = -INFINITY; std::vector<double> v(n); for (uint32_t k = 0; k < n; ++k) { v[k] = (first ? m3g_sim(q, base + (size_t)k * dim, dim, euc) : m3g_sim(base + (size_t)k * dim, q, dim, euc)) ; v[k] = (double)((float)v[k] * (1.0f / 0.05f)); mx = std::max(mx, v[k]); } double s = 0; for (double x : v) s += std::exp(x - mx); return mx + std::log(s); };
        double pos = (double)(m3g_sim(a, c, dim, euc) * (1.0f / 0.05f));
        double t1 = pos - lse(c, e1.data() + (size_t)bb * n * dim, false), t2 = pos - lse(a, e2.data() + (size_t)bb * n * dim, true);
        double le = std::log(1e-8); t1 = std::max(t1, le); t2 = std::max(t2, le);
        double ref = -(t1 + t2);
        wrel = std::max(wrel, std::fabs(ref - loss[bb * n + i]) / std::max(1e-3, std::fabs(ref)));
      }
      printf("order %d infonce euc %u dim %u: max rel diff %g\n", order, euc, dim, wrel);
      if (!(wrel < 1e-4)) bad++;
    }
  }
  printf(bad ? "BAD %d\n" : "ok\n", bad);
  return bad != 0;
}
