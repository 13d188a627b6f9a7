/* Dense tracking on Metal (metal/tracking.metal): the shared argument checks,
 * then the kernels; the ICP reduction's last pass runs here, in float64. */
#include "host.h"
#include "../common/checks.h"

extern "C" {

ss_status ss_metal_rgb_to_gray(ss_context* ctx, const ss_rgb_to_gray_args* args, ss_buffer* rgb, ss_buffer* gray) {
  SS_METAL_ENTRY(ctx, args, "ss_rgb_to_gray");
  const ss_rgb_to_gray_args a = *args;
  uint64_t n = 0;
  SS_TRY(ss_check_rgb_to_gray(ctx, a, rgb, gray, &n));
  return ss_metal_run_elementwise(ctx, "ss_rgb_to_gray", "k_rgb_to_gray", n, &a, sizeof a, {rgb, gray});
}

}  // extern "C"
