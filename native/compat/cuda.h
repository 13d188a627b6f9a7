/* Macro vocabulary for kernel bodies compiled by nvcc (CUDA backend). Same names as compat/cpu.h. */
#ifndef SS_COMPAT_CUDA_H
#define SS_COMPAT_CUDA_H

#include <cstdint>

#define SS_BACKEND_CUDA_COMPILE 1
#define ss_device_inline static __device__ __forceinline__
/* callable from host code too (layout helpers the launchers share) */
#define ss_host_device_inline static __host__ __device__ __forceinline__
#define ss_global
#define ss_constant const
#define ss_constant_table static __device__ const
#define ss_thread
/* __shared__ memory: a generic pointer reaches it, so pointers need no word */
#define ss_shared
#define SS_NAN __int_as_float(0x7fc00000)
#define SS_INF __int_as_float(0x7f800000)

typedef float3 ss_float3;
ss_device_inline ss_float3 ss_make_float3(float x, float y, float z) { return make_float3(x, y, z); }

ss_device_inline float ss_sqrt(float v) { return sqrtf(v); }
ss_device_inline float ss_floor(float v) { return floorf(v); }
ss_device_inline float ss_fabs(float v) { return fabsf(v); }
/* plain compares, as on the CPU, so NaN handling matches the reference */
ss_device_inline float ss_fmin(float a, float b) { return b < a ? b : a; }
ss_device_inline float ss_fmax(float a, float b) { return b > a ? b : a; }
ss_device_inline float ss_exp(float v) { return expf(v); }
ss_device_inline float ss_fma(float a, float b, float c) { return fmaf(a, b, c); }
ss_device_inline bool ss_isfinite(float v) { return isfinite(v); }
ss_device_inline bool ss_isnan(float v) { return isnan(v); }
ss_device_inline int32_t ss_float_to_int_floor(float v) { return (int32_t)floorf(v); }
/* round half to even, like lrintf in the default rounding mode */
ss_device_inline int32_t ss_round_to_int(float v) { return __float2int_rn(v); }
ss_device_inline uint32_t ss_ctz(uint32_t v) { return (uint32_t)(__ffs((int)v) - 1); }
ss_device_inline uint32_t ss_popcount(uint32_t v) { return (uint32_t)__popc(v); }
ss_device_inline int32_t ss_min_i(int32_t a, int32_t b) { return a < b ? a : b; }
ss_device_inline int32_t ss_max_i(int32_t a, int32_t b) { return a > b ? a : b; }

/* ---- the GPU vocabulary of DESIGN.md §3 rule 10 (compat/metal.h has the same names): warps of 32 lanes.
 * Every lane of the warp calls these together (full mask). */
#define SS_SIMD_WIDTH 32u
#define ss_simd_sync() __syncwarp()
#define ss_threadgroup_sync() __syncthreads()
#define ss_simd_any(p) __any_sync(0xffffffffu, (p))
/* exclusive prefix sum over the warp's lanes (Hillis–Steele: integers, so any order gives the same) */
ss_device_inline uint32_t ss_simd_prefix_exclusive_sum_u32(uint32_t v) {
  const uint32_t lane = threadIdx.x & 31u;
  uint32_t x = v;
  for (uint32_t d = 1; d < 32; d <<= 1) {
    uint32_t y = __shfl_up_sync(0xffffffffu, x, d);
    if (lane >= d) x += y;
  }
  return x - v;
}
ss_device_inline uint32_t ss_simd_sum_u32(uint32_t v) {
  for (uint32_t d = 16; d > 0; d >>= 1) v += __shfl_xor_sync(0xffffffffu, v, d);
  return v;
}

ss_device_inline uint32_t ss_atomic_add_u32(ss_global uint32_t* p, uint32_t v) { return atomicAdd(p, v); }
ss_device_inline uint64_t ss_atomic_cas_u64(ss_global uint64_t* p, uint64_t expected, uint64_t desired) {
  return (uint64_t)atomicCAS((unsigned long long*)p, (unsigned long long)expected, (unsigned long long)desired);
}

#endif
