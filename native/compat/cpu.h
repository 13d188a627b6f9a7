/* Macro vocabulary for kernel bodies compiled as C++ on the CPU backend.
 * cuda.h defines the same names for nvcc (and the Metal backend's metal.h for MSL). */
#ifndef SS_COMPAT_CPU_H
#define SS_COMPAT_CPU_H

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#define SS_BACKEND_CPU_COMPILE 1
#define ss_device_inline static inline
/* callable from host code too (layout helpers the launchers share) */
#define ss_host_device_inline static inline
#define ss_global
#define ss_constant const
#define ss_constant_table static const
#define ss_thread
/* memory a GPU threadgroup's threads share (only GPU-shaped bodies use it; one address space here) */
#define ss_shared
/* the args struct a kernel was given, by reference (Metal: the constant address space) */
#define ss_args_ref(T) const T&
#define SS_NAN (std::numeric_limits<float>::quiet_NaN())
#define SS_INF (std::numeric_limits<float>::infinity())

struct ss_float3 {
  float x, y, z;
};
ss_device_inline ss_float3 ss_make_float3(float x, float y, float z) { return ss_float3{x, y, z}; }

ss_device_inline float ss_sqrt(float v) { return std::sqrt(v); }
ss_device_inline float ss_floor(float v) { return std::floor(v); }
ss_device_inline float ss_fabs(float v) { return std::fabs(v); }
/* plain compares (minss/maxss): std::fmin's NaN rules cost a libm call per use */
ss_device_inline float ss_fmin(float a, float b) { return b < a ? b : a; }
ss_device_inline float ss_fmax(float a, float b) { return b > a ? b : a; }
/* a / b and √v rounded to nearest even (IEEE on the CPU; named so GPU backends keep it) */
ss_device_inline float ss_div_rn(float a, float b) { return a / b; }
ss_device_inline float ss_sqrt_rn(float v) { return std::sqrt(v); }
/* a · b rounded on its own: never fused into a following add */
ss_device_inline float ss_mul_rn(float a, float b) { return a * b; }
ss_device_inline float ss_exp(float v) { return std::exp(v); }
/* a·b + c with one rounding on every backend (an instruction where the target has FMA) */
ss_device_inline float ss_fma(float a, float b, float c) { return std::fma(a, b, c); }
ss_device_inline bool ss_isfinite(float v) { return std::isfinite(v); }
ss_device_inline bool ss_isnan(float v) { return std::isnan(v); }
ss_device_inline int32_t ss_float_to_int_floor(float v) { return (int32_t)std::floor(v); }
ss_device_inline int32_t ss_round_to_int(float v) { return (int32_t)std::lrintf(v); }
/* index of the lowest set bit (v != 0) */
ss_device_inline uint32_t ss_ctz(uint32_t v) { return (uint32_t)__builtin_ctz(v); }
ss_device_inline uint32_t ss_popcount(uint32_t v) { return (uint32_t)__builtin_popcount(v); }
/* the bits of a float, as an int32 (outputs that hold both) */
ss_device_inline int32_t ss_float_as_int(float v) {
  int32_t i;
  memcpy(&i, &v, 4);
  return i;
}
ss_device_inline float ss_int_as_float(int32_t i) {
  float v;
  memcpy(&v, &i, 4);
  return v;
}
ss_device_inline int32_t ss_min_i(int32_t a, int32_t b) { return a < b ? a : b; }
ss_device_inline int32_t ss_max_i(int32_t a, int32_t b) { return a > b ? a : b; }

ss_device_inline uint32_t ss_atomic_add_u32(ss_global uint32_t* p, uint32_t v) {
  return reinterpret_cast<std::atomic<uint32_t>*>(p)->fetch_add(v, std::memory_order_relaxed);
}
/* returns the value found; writes desired when it equalled expected */
ss_device_inline uint64_t ss_atomic_cas_u64(ss_global uint64_t* p, uint64_t expected, uint64_t desired) {
  reinterpret_cast<std::atomic<uint64_t>*>(p)->compare_exchange_strong(expected, desired,
                                                                         std::memory_order_relaxed);
  return expected;
}

#endif
