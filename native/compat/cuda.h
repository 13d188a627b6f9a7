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
/* a / b and √v rounded to nearest even (also under --use_fast_math) */
ss_device_inline float ss_div_rn(float a, float b) { return __fdiv_rn(a, b); }
ss_device_inline float ss_sqrt_rn(float v) { return __fsqrt_rn(v); }
/* a · b rounded on its own: nvcc never fuses __fmul_rn into a following add (--fmad=true fuses a * b) */
ss_device_inline float ss_mul_rn(float a, float b) { return __fmul_rn(a, b); }
ss_device_inline float ss_exp(float v) { return expf(v); }
ss_device_inline float ss_fma(float a, float b, float c) { return fmaf(a, b, c); }
ss_device_inline bool ss_isfinite(float v) { return isfinite(v); }
ss_device_inline bool ss_isnan(float v) { return isnan(v); }
ss_device_inline int32_t ss_float_to_int_floor(float v) { return (int32_t)floorf(v); }
/* round half to even, like lrintf in the default rounding mode */
ss_device_inline int32_t ss_round_to_int(float v) { return __float2int_rn(v); }
ss_device_inline uint32_t ss_ctz(uint32_t v) { return (uint32_t)(__ffs((int)v) - 1); }
ss_device_inline uint32_t ss_popcount(uint32_t v) { return (uint32_t)__popc(v); }
/* the bits of a float, as an int32 (outputs that hold both) */
ss_device_inline int32_t ss_float_as_int(float v) { return __float_as_int(v); }
ss_device_inline float ss_int_as_float(int32_t i) { return __int_as_float(i); }
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

ss_device_inline int32_t ss_simd_min_i32(int32_t v) { return __reduce_min_sync(0xffffffffu, v); }
ss_device_inline int32_t ss_simd_max_i32(int32_t v) { return __reduce_max_sync(0xffffffffu, v); }
/* lane `lane`'s value on every lane */
ss_device_inline uint32_t ss_simd_broadcast_u32(uint32_t v, uint32_t lane) { return __shfl_sync(0xffffffffu, v, (int)lane); }
/* lane (this lane ^ mask)'s value (butterflies) */
ss_device_inline float ss_simd_shuffle_xor_f32(float v, uint32_t mask) { return __shfl_xor_sync(0xffffffffu, v, (int)mask); }
ss_device_inline int32_t ss_simd_shuffle_xor_i32(int32_t v, uint32_t mask) { return __shfl_xor_sync(0xffffffffu, v, (int)mask); }
ss_device_inline uint32_t ss_simd_shuffle_xor_u32(uint32_t v, uint32_t mask) { return __shfl_xor_sync(0xffffffffu, v, (int)mask); }
/* every thread of the block, global memory ordered too (Metal needs mem_device for that) */
#define ss_threadgroup_sync_device() __syncthreads()
/* shared arrays at kernel scope (compat/metal.h: threadgroup T name[count]) */
#define SS_THREADGROUP_ARRAY(T, name, count) __shared__ T name[count]
#define SS_THREADGROUP_VAR(T, name) __shared__ T name
/* the args struct a kernel was given, by reference (no per-thread copy; Metal: the constant address space) */
#define ss_args_ref(T) const T&

ss_device_inline uint32_t ss_atomic_add_u32(ss_global uint32_t* p, uint32_t v) { return atomicAdd(p, v); }
ss_device_inline uint32_t ss_atomic_add_shared_u32(ss_shared uint32_t* p, uint32_t v) { return atomicAdd(p, v); }
ss_device_inline int32_t ss_atomic_min_i32(ss_global int32_t* p, int32_t v) { return atomicMin(p, v); }
ss_device_inline int32_t ss_atomic_max_i32(ss_global int32_t* p, int32_t v) { return atomicMax(p, v); }
ss_device_inline uint32_t ss_atomic_cas_u32(ss_global uint32_t* p, uint32_t expected, uint32_t desired) {
  return atomicCAS(p, expected, desired);
}
ss_device_inline uint64_t ss_atomic_cas_u64(ss_global uint64_t* p, uint64_t expected, uint64_t desired) {
  return (uint64_t)atomicCAS((unsigned long long*)p, (unsigned long long)expected, (unsigned long long)desired);
}

/* ---- float64 for the few values float32 cannot decide (compat/metal_ieee.h computes the same bits in
 * integers). Rounded to nearest even and never contracted into an fma. */
typedef double ss_f64;
ss_device_inline ss_f64 ss_f64_from_bits(uint64_t b) { return __longlong_as_double((long long)b); }
ss_device_inline uint64_t ss_f64_bits(ss_f64 a) { return (uint64_t)__double_as_longlong(a); }
ss_device_inline ss_f64 ss_f64_inf() { return __longlong_as_double(0x7ff0000000000000ll); }
ss_device_inline ss_f64 ss_f64_neg(ss_f64 a) { return -a; }
ss_device_inline bool ss_f64_isnan(ss_f64 a) { return isnan(a); }
ss_device_inline bool ss_f64_isfinite(ss_f64 a) { return isfinite(a); }
ss_device_inline bool ss_f64_lt(ss_f64 a, ss_f64 b) { return a < b; }
ss_device_inline bool ss_f64_le(ss_f64 a, ss_f64 b) { return a <= b; }
ss_device_inline ss_f64 ss_f64_from_f32(float f) { return (double)f; }
ss_device_inline ss_f64 ss_f64_add(ss_f64 a, ss_f64 b) { return __dadd_rn(a, b); }
ss_device_inline ss_f64 ss_f64_sub(ss_f64 a, ss_f64 b) { return __dsub_rn(a, b); }
ss_device_inline ss_f64 ss_f64_mul(ss_f64 a, ss_f64 b) { return __dmul_rn(a, b); }
ss_device_inline float ss_f64_to_f32(ss_f64 a) { return __double2float_rn(a); }

#endif
