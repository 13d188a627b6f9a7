// transient harness: fast_reciprocal_NNs loop (as src/mast3r/fastReciprocalNN.ts) over the C ABI
#include "scanstream.h"
#include <algorithm>
#include <cstring>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <unordered_map>
#include <vector>
static double now() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  uint32_t W = 512, H = 384, D = 24; uint64_t px = (uint64_t)W * H;
  ss_context* ctx; ss_context_create(1, threads, &ctx);
  ss_buffer *m[2], *ix[2], *q, *o;
  std::mt19937 rng(1); std::normal_distribution<float> nd;
  uint64_t S = ((W + 31) / 32) * ((H + 31) / 32), S16 = (S + 15) / 16 * 16, d4 = (D + 3) / 4;
  uint64_t fl = 16 + (D + 2) * S16 + S * (D + 2) * 16 + S * 1024 * (D + 1) + S * 1024 * (d4 + 1);
  for (int t = 0; t < 2; ++t) {
    ss_buffer_create(ctx, px * D * 4, &m[t]); float* p = (float*)ss_buffer_host_ptr(m[t]);
    for (uint64_t i = 0; i < px; ++i) { float s = 0; for (uint32_t k = 0; k < D; ++k) { p[i*D+k] = nd(rng); s += p[i*D+k]*p[i*D+k]; } s = sqrtf(s); for (uint32_t k = 0; k < D; ++k) p[i*D+k] /= s; }
  }
  std::vector<int32_t> seeds; for (uint32_t y = 4; y < H; y += 8) for (uint32_t x = 4; x < W; x += 8) seeds.push_back(y * W + x);
  uint32_t n = seeds.size();
  ss_buffer_create(ctx, n * 4, &q); ss_buffer_create(ctx, n * 4, &o);
  int32_t* qp = (int32_t*)ss_buffer_host_ptr(q); int32_t* op = (int32_t*)ss_buffer_host_ptr(o);
  std::vector<double> ts;
  for (int rep = 0; rep < 7; ++rep) {
    double t0 = now();
    for (int t = 0; t < 2; ++t) { ss_buffer_create(ctx, fl * 4, &ix[t]); ss_mast3r_desc_index_args ia = {W, H, D, 0}; ss_mast3r_desc_index(ctx, &ia, m[t], ix[t]); }
    std::vector<int32_t> xy1 = seeds, xy2(n, -1), old1 = xy1, old2 = xy2; std::vector<char> notyet(n, 1);
    std::unordered_map<int32_t, int32_t> known[2];
    auto half = [&](int src, std::vector<int32_t>& cur, std::vector<int32_t>& out) {
      uint32_t c = 0; std::unordered_map<int32_t, char> asked;
      for (uint32_t i = 0; i < n; ++i) if (notyet[i] && !known[src].count(cur[i]) && !asked.count(cur[i])) { asked[cur[i]] = 1; qp[c] = cur[i]; op[c] = out[i]; ++c; }
      if (c) { ss_mast3r_nn_query_args qa = {c, W, H, D, W, H, 0, 2}; ss_mast3r_nn_query(ctx, &qa, m[src], q, m[1 - src], ix[1 - src], o); for (uint32_t k = 0; k < c; ++k) known[src][qp[k]] = op[k]; }
      for (uint32_t i = 0; i < n; ++i) if (notyet[i]) out[i] = known[src][cur[i]];
    };
    int iter = 0; uint32_t matches = 0;
    while (std::count(notyet.begin(), notyet.end(), 1)) {
      half(0, xy1, xy2); for (uint32_t i = 0; i < n; ++i) if (notyet[i] && old2[i] == xy2[i]) notyet[i] = 0;
      half(1, xy2, xy1); for (uint32_t i = 0; i < n; ++i) if (notyet[i] && old1[i] == xy1[i]) notyet[i] = 0;
      if (++iter >= 10) break; old1 = xy1; old2 = xy2;
    }
    for (uint32_t i = 0; i < n; ++i) matches += !notyet[i];
    ts.push_back(now() - t0);
    for (int t = 0; t < 2; ++t) ss_buffer_destroy(ctx, ix[t]);
    if (rep == 0) printf("converged seeds %u, iterations %d\n", matches, iter);
  }
  std::sort(ts.begin(), ts.end());
  printf("fast_reciprocal_NNs 512x384x24 random, %d threads: min %.1f median %.1f ms\n", threads, ts[0], ts[3]);
  // brute force 3072
  ss_buffer *a, *b, *na, *nb; uint32_t N = 3072;
  ss_buffer_create(ctx, N * D * 4, &a); ss_buffer_create(ctx, N * D * 4, &b); ss_buffer_create(ctx, N * 4, &na); ss_buffer_create(ctx, N * 4, &nb);
  memcpy(ss_buffer_host_ptr(a), ss_buffer_host_ptr(m[0]), N * D * 4); memcpy(ss_buffer_host_ptr(b), ss_buffer_host_ptr(m[1]), N * D * 4);
  ts.clear(); ss_mast3r_nn_args ra = {N, N, D, 0, 0, 0, 0, 0};
  for (int rep = 0; rep < 21; ++rep) { double t0 = now(); ss_mast3r_reciprocal_nn(ctx, &ra, a, b, na, nb); ts.push_back(now() - t0); }
  std::sort(ts.begin(), ts.end());
  printf("reciprocal_nn 3072x3072x24 dot, %d threads: min %.2f median %.2f ms (%.1f GFLOP/s)\n", threads, ts[0], ts[10], 2.0 * N * N * D / ts[10] / 1e6);
}
