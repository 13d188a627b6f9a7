/* The plan of one ss_orb_extract call on a GPU: what the host computes once
 * (native/common/orb_plan.h) and every ORB kernel reads (orb_gpu.h), passed
 * as constant bytes. 4-byte fields only: the same layout in C++, CUDA and MSL. */
#ifndef SS_KERNEL_ORB_GPU_PLAN_H
#define SS_KERNEL_ORB_GPU_PLAN_H

#define SS_ORB_GPU_LEVELS 16

typedef struct ss_orb_gpu_level {
  uint32_t w, h, off;                    /* level size; its first pixel in the level-sized buffers */
  uint32_t cells_x, cells_y, cell_base;  /* its bucketing grid; the index of its first cell among all levels' */
  int32_t want;                          /* its share of max_features */
  uint32_t keep;                         /* candidates per cell that get a Harris response */
  uint32_t entry_base, round_base;       /* its cells' entries (keep each) and its rounds (keep) among all levels' */
  float scale;                           /* level-0 pixels per level pixel */
  uint32_t pad;
} ss_orb_gpu_level;

typedef struct ss_orb_gpu_plan {
  uint32_t levels, edge, cell, max_features;
  uint32_t fast_threshold, fast_min_threshold, pixels, cells;
  uint32_t rounds, entries, pad0, pad1;
  float harris_k, pad2, pad3, pad4;
  ss_orb_gpu_level level[SS_ORB_GPU_LEVELS];
} ss_orb_gpu_plan;

#endif
