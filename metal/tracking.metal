/* Dense RGB-D tracking on Metal: gray conversion, the guided model ray-cast
 * and the ICP reduction (the per-pixel bodies of native/kernels; the
 * reduction sums in a fixed tree per threadgroup, see k_icp_reduce).
 * Buffer 0 is the args struct, the ABI's buffers follow in table order. */
#include "../native/compat/metal.h"
#include "../native/include/scanstream.h"
#include "../native/kernels/gray.h"

kernel void k_rgb_to_gray(device const uchar* rgb [[buffer(1)]], device uchar* gray [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  rgb_to_gray_pixel(i, rgb, gray);
}
