/* Plane sweep shaped for a GPU (needs plane_sweep.h): one threadgroup per
 * tile of SS_PS_TILE × SS_PS_TILE reference pixels and one plane. Per view
 * the tile and its window's halo are warped into threadgroup memory, then the
 * horizontal window sums of its rows (plus the halo rows), then each pixel's
 * vertical sums and cost: the CPU's per-value helpers in the CPU's order, so
 * every cost is the CPU's float. The views' costs wait in threadgroup memory
 * for the aggregation; the cost volume is written once. The per-pixel passes
 * (reference statistics, winner-take-all) are plane_sweep.h's bodies as they
 * are. Written against the GPU vocabulary (DESIGN.md §3 rule 10). */
#ifndef SS_KERNEL_PLANE_SWEEP_GPU_H
#define SS_KERNEL_PLANE_SWEEP_GPU_H

#define SS_PS_TILE 16
#define SS_PS_MAX_RADIUS 7
#define SS_PS_SIDE_MAX (SS_PS_TILE + 2 * SS_PS_MAX_RADIUS)
/* threadgroup memory: warped halo, the three horizontal sums of the halo rows, the views' costs */
#define SS_PS_WARPED_FLOATS (SS_PS_SIDE_MAX * SS_PS_SIDE_MAX)
#define SS_PS_HSUM_FLOATS (3 * SS_PS_SIDE_MAX * SS_PS_TILE)
#define SS_PS_COST_FLOATS (SS_PLANE_SWEEP_MAX_VIEWS * SS_PS_TILE * SS_PS_TILE)

/* threadgroup `group` = plane · tiles + tile, tiles = tiles_x · tiles_y; thread t of n (any count).
 * Every thread of the threadgroup calls it. */
ss_device_inline void plane_sweep_tile_group(const ss_plane_sweep_args a, uint32_t tiles_x, uint32_t tiles_y, uint32_t group, uint32_t t,
                                             uint32_t n, ss_global const uint8_t* ref, ss_global const uint8_t* src,
                                             ss_global const float* stats, ss_shared float* warped, ss_shared float* hs,
                                             ss_shared float* vcost, ss_global float* cost) {
  const uint32_t tiles = tiles_x * tiles_y, plane = group / tiles, tile = group % tiles;
  const int32_t W = (int32_t)a.width, Hh = (int32_t)a.height, r = (int32_t)a.radius, side = SS_PS_TILE + 2 * r;
  const int32_t x0 = (int32_t)(tile % tiles_x) * SS_PS_TILE, y0 = (int32_t)(tile / tiles_x) * SS_PS_TILE;
  const uint64_t np = (uint64_t)a.width * a.height;
  const uint32_t hrows = (uint32_t)side * SS_PS_TILE;
  const float inv_d = plane_sweep_inv_depth(a, plane);
  for (uint32_t v = 0; v < a.views; ++v) {
    float H[9];
    plane_sweep_homography(a, v, inv_d, H);
    ss_threadgroup_sync(); /* the view before is summed */
    /* warped halo: pixel (x0 − r + wx, y0 − r + wy) at warped[wy · side + wx]; off the image never read */
    for (uint32_t e = t; e < (uint32_t)(side * side); e += n) {
      const int32_t gx = x0 - r + (int32_t)(e % (uint32_t)side), gy = y0 - r + (int32_t)(e / (uint32_t)side);
      warped[e] = gx >= 0 && gy >= 0 && gx < W && gy < Hh ? plane_sweep_warp_value(a, gx, gy, H, src + np * v) : SS_NAN;
    }
    ss_threadgroup_sync();
    /* horizontal sums of the tile's columns over rows y0 − r … y0 + TILE + r (NaN where the window leaves the row) */
    for (uint32_t e = t; e < hrows; e += n) {
      const int32_t hx = (int32_t)(e % SS_PS_TILE), hy = (int32_t)(e / SS_PS_TILE), gx = x0 + hx, gy = y0 - r + hy;
      float s = SS_NAN, ss = SS_NAN, sr = SS_NAN;
      if (gx >= r && gx + r < W && gy >= 0 && gy < Hh) {
        s = 0.0f;
        ss = 0.0f;
        sr = 0.0f;
        ss_global const uint8_t* rr = ref + (uint64_t)gy * a.width + (uint32_t)gx;
        for (int32_t d = -r; d <= r; ++d) plane_sweep_hsum_step(warped[hy * side + hx + r + d], (float)rr[d] - 128.0f, &s, &ss, &sr);
      }
      hs[e] = s;
      hs[hrows + e] = ss;
      hs[2 * hrows + e] = sr;
    }
    ss_threadgroup_sync();
    /* vertical sums → this view's cost of each pixel */
    for (uint32_t p = t; p < SS_PS_TILE * SS_PS_TILE; p += n) {
      const int32_t tx = (int32_t)(p % SS_PS_TILE), ty = (int32_t)(p / SS_PS_TILE), x = x0 + tx, y = y0 + ty;
      float c = 1.0f;
      if (x < W && y < Hh && y >= r && y + r < Hh) {
        float s = 0.0f, ss = 0.0f, sr = 0.0f;
        for (int32_t d = -r; d <= r; ++d) {
          const int32_t e = (ty + r + d) * SS_PS_TILE + tx;
          s += hs[e];
          ss += hs[hrows + e];
          sr += hs[2 * hrows + e];
        }
        const uint64_t i = (uint64_t)y * a.width + (uint32_t)x;
        c = plane_sweep_view_cost_from_sums(a, r, s, ss, sr, stats[i], stats[np + i]);
      }
      vcost[v * SS_PS_TILE * SS_PS_TILE + p] = c;
    }
  }
  ss_threadgroup_sync();
  const uint32_t V = SS_PS_TILE * SS_PS_TILE;
  for (uint32_t p = t; p < V; p += n) {
    const int32_t x = x0 + (int32_t)(p % SS_PS_TILE), y = y0 + (int32_t)(p / SS_PS_TILE);
    if (x >= W || y >= Hh) continue;
    const float c = plane_sweep_aggregate4(a, vcost[p], a.views > 1 ? vcost[V + p] : 0.0f, a.views > 2 ? vcost[2 * V + p] : 0.0f,
                                           a.views > 3 ? vcost[3 * V + p] : 0.0f);
    cost[(uint64_t)plane * np + (uint64_t)y * a.width + (uint32_t)x] = c;
  }
}

#endif
