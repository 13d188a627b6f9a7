#include "scanstream.h"

#include <cstring>

/* every ss_*_args struct, so the TypeScript facade can check its layouts */
#define SS_ARGS_LIST(X) \
  X(depth_to_points)    \
  X(points_to_normals)  \
  X(pyramid_down)       \
  X(geotrf)             \
  X(tsdf_touched)       \
  X(tsdf_integrate)     \
  X(tsdf_mesh)          \
  X(tsdf_raycast)       \
  X(tsdf_clear)         \
  X(rgb_to_gray)        \
  X(tsdf_raycast_guided) \
  X(icp_reduce)         \
  X(orb_extract)        \
  X(hamming_match)      \
  X(float_match)        \
  X(mast3r_nn)          \
  X(mast3r_desc_index)  \
  X(mast3r_nn_query)    \
  X(mast3r_triangulate) \
  X(mast3r_tsdf_refine) \
  X(mast3r_similarity)  \
  X(mast3r_infonce)     \
  X(plane_sweep)

extern "C" SS_API uint32_t ss_args_sizeof(const char* name) {
  if (!name) return 0;
#define X(n) \
  if (strcmp(name, #n) == 0) return (uint32_t)sizeof(ss_##n##_args);
  SS_ARGS_LIST(X)
#undef X
  return 0;
}
