/* Macro vocabulary for kernel bodies compiled as Metal Shading Language (the
 * Metal backend: the files in metal/). Same names as compat/cpu.h and compat/cuda.h,
 * plus the GPU vocabulary of DESIGN.md §3 rule 10 (lane, SIMD width 32,
 * shuffles, ballots, prefix sums, threadgroup memory, barriers, 32-bit
 * atomics) that GPU-shaped bodies shared with CUDA are written against.
 *
 * The same text compiles on a Mac (makeLibrary(source:), fast math off) and
 * here through the MSL emulator's shim (native/metal_emu/msl_shim.h, which
 * defines the Metal words first). Keep it inside the subset
 * docs/metal-emulator.md describes: the emulator cannot tell thread from
 * device pointers, so every pointer below names its address space by hand. */
#ifndef SS_COMPAT_METAL_H
#define SS_COMPAT_METAL_H

#include <metal_stdlib>
using namespace metal;

#define SS_BACKEND_METAL_COMPILE 1
#define ss_device_inline static inline
/* callable from host code too (layout helpers the host logic shares) */
#define ss_host_device_inline static inline
#define ss_global device
/* the arrays of an args struct: every body takes its args struct by value, so they are thread memory */
#define ss_constant thread const
#define ss_constant_table constant
#define ss_thread thread
/* memory the threads of a threadgroup share (CUDA __shared__) */
#define ss_shared threadgroup
#define SS_NAN as_type<float>(0x7fc00000u)
#define SS_INF as_type<float>(0x7f800000u)

/* Metal declares threadgroup arrays at kernel scope (the shim defines its own first) */
#ifndef SS_THREADGROUP_ARRAY
#define SS_THREADGROUP_ARRAY(T, name, count) threadgroup T name[count]
#define SS_THREADGROUP_VAR(T, name) threadgroup T name
#endif

typedef float3 ss_float3;
ss_device_inline ss_float3 ss_make_float3(float x, float y, float z) { return float3(x, y, z); }

ss_device_inline float ss_sqrt(float v) { return sqrt(v); }
ss_device_inline float ss_floor(float v) { return floor(v); }
ss_device_inline float ss_fabs(float v) { return fabs(v); }
/* plain compares, as on the CPU (Metal's fmin/fmax return the other operand for a NaN) */
ss_device_inline float ss_fmin(float a, float b) { return b < a ? b : a; }
ss_device_inline float ss_fmax(float a, float b) { return b > a ? b : a; }
/* a · b rounded on its own (as on CUDA; fast math off, Metal does not contract) */
ss_device_inline float ss_mul_rn(float a, float b) { return a * b; }
ss_device_inline float ss_exp(float v) { return exp(v); }
/* a·b + c with one rounding (the emulator compiles with contraction off, so only fma() fuses) */
ss_device_inline float ss_fma(float a, float b, float c) { return fma(a, b, c); }
ss_device_inline bool ss_isfinite(float v) { return isfinite(v); }
ss_device_inline bool ss_isnan(float v) { return isnan(v); }
ss_device_inline int32_t ss_float_to_int_floor(float v) { return (int32_t)floor(v); }
/* round half to even (rint), as lrintf on the CPU and __float2int_rn on CUDA */
ss_device_inline int32_t ss_round_to_int(float v) { return (int32_t)rint(v); }
/* index of the lowest set bit (v != 0) */
ss_device_inline uint32_t ss_ctz(uint32_t v) { return ctz(v); }
ss_device_inline uint32_t ss_popcount(uint32_t v) { return popcount(v); }
/* the bits of a float, as an int32 (outputs that hold both) */
ss_device_inline int32_t ss_float_as_int(float v) { return as_type<int32_t>(v); }
ss_device_inline float ss_int_as_float(int32_t i) { return as_type<float>(i); }
ss_device_inline int32_t ss_min_i(int32_t a, int32_t b) { return a < b ? a : b; }
ss_device_inline int32_t ss_max_i(int32_t a, int32_t b) { return a > b ? a : b; }

/* the args struct a kernel was given, by reference in the constant address space (no per-thread copy) */
#define ss_args_ref(T) constant T&

/* ---- 32-bit atomics (Metal has no 64-bit compare-exchange or add) ---- */
ss_device_inline uint32_t ss_atomic_add_u32(ss_global uint32_t* p, uint32_t v) {
  return atomic_fetch_add_explicit((ss_global atomic_uint*)p, v, memory_order_relaxed);
}
ss_device_inline uint32_t ss_atomic_add_shared_u32(ss_shared uint32_t* p, uint32_t v) {
  return atomic_fetch_add_explicit((ss_shared atomic_uint*)p, v, memory_order_relaxed);
}
ss_device_inline int32_t ss_atomic_min_i32(ss_global int32_t* p, int32_t v) {
  return atomic_fetch_min_explicit((ss_global atomic_int*)p, v, memory_order_relaxed);
}
ss_device_inline int32_t ss_atomic_max_i32(ss_global int32_t* p, int32_t v) {
  return atomic_fetch_max_explicit((ss_global atomic_int*)p, v, memory_order_relaxed);
}
/* strong compare-exchange: returns the value found, writes desired when it equalled expected.
 * Metal has only the weak form; a spurious failure leaves `found` equal to expected, so retry. */
ss_device_inline uint32_t ss_atomic_cas_u32(ss_global uint32_t* p, uint32_t expected, uint32_t desired) {
  uint32_t found = expected;
  while (!atomic_compare_exchange_weak_explicit((ss_global atomic_uint*)p, &found, desired, memory_order_relaxed,
                                                memory_order_relaxed)) {
    if (found != expected) return found;
  }
  return expected;
}

/* ---- SIMD-groups (32 lanes on every Apple GPU). Macros, not functions: the
 * emulator tells meetings apart by their call site, which a wrapper would hide. */
#define SS_SIMD_WIDTH 32u
/* orders threadgroup memory between the lanes of one SIMD-group (CUDA __syncwarp) */
#define ss_simd_sync() simdgroup_barrier(mem_flags::mem_threadgroup)
/* every thread of the threadgroup, threadgroup memory ordered (CUDA __syncthreads) */
#define ss_threadgroup_sync() threadgroup_barrier(mem_flags::mem_threadgroup)
#define ss_simd_any(p) simd_any(p)
#define ss_simd_min_i32(v) simd_min((int32_t)(v))
#define ss_simd_max_i32(v) simd_max((int32_t)(v))
#define ss_simd_sum_u32(v) simd_sum((uint32_t)(v))
#define ss_simd_prefix_exclusive_sum_u32(v) simd_prefix_exclusive_sum((uint32_t)(v))
/* lane `lane`'s value on every lane (the same lane everywhere) */
#define ss_simd_broadcast_u32(v, lane) simd_broadcast((uint32_t)(v), (ushort)(lane))
/* lane (this lane ^ mask)'s value (butterflies) */
#define ss_simd_shuffle_xor_f32(v, mask) simd_shuffle_xor((float)(v), (ushort)(mask))
#define ss_simd_shuffle_xor_i32(v, mask) simd_shuffle_xor((int32_t)(v), (ushort)(mask))
#define ss_simd_shuffle_xor_u32(v, mask) simd_shuffle_xor((uint32_t)(v), (ushort)(mask))
/* every thread of the threadgroup, device memory ordered too (one thread's writes read by another) */
#define ss_threadgroup_sync_device() threadgroup_barrier(mem_flags::mem_device | mem_flags::mem_threadgroup)

/* float64, and correctly rounded float division and square root, in integers: the same bits as CUDA */
#include "metal_ieee.h"

#endif
