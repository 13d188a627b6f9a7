/* The Metal Shading Language vocabulary in C++17, so a .metal file compiles
 * unchanged with clang++ (-include msl_shim.h) and runs on the CPU under the
 * emulator's dispatcher (dispatch.h). The subset it accepts, and what it
 * refuses, is written down in docs/metal-emulator.md.
 *
 * Sizes and alignments follow MSL: float3 is 16 bytes, packed_float3 12.
 * Math uses compiler builtins rather than <cmath>, so no global float
 * overloads compete with metal:: ones after `using namespace metal;`. */
#ifndef MSL_EMU_SHIM_H
#define MSL_EMU_SHIM_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "dispatch.h"

#define MSL_EMU 1
/* Metal 3.0: sources that test __METAL_VERSION__ take their Metal path here */
#ifndef __METAL_VERSION__
#define __METAL_VERSION__ 300
#endif

#if defined(__clang__)
/* [[buffer(0)]], [[thread_position_in_grid]] ...: the generated trampoline binds them */
#pragma clang diagnostic ignored "-Wunknown-attributes"
#pragma clang diagnostic ignored "-Wuser-defined-literals"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wattributes"
#pragma GCC diagnostic ignored "-Wliteral-suffix"
#endif

/* Address spaces: all memory is one address space on the CPU. `threadgroup`
 * must also survive as the attribute [[threadgroup(i)]]: a keyword is the
 * only token that is an attribute name there (C++ reads it as an identifier)
 * and a qualifier in every type position, so it is `volatile`. That keeps a
 * threadgroup pointer from silently becoming a device or thread one, as
 * Metal does; the price is that a whole user struct cannot be copied out of
 * threadgroup memory in one assignment (member by member works). */
#define kernel
#define device
#define constant
#define thread
#define threadgroup volatile

/* The call site of a barrier or SIMD-group function: all lanes must meet at the same one. */
#define MSL_EMU_SITE_PARAMS const char *msl_emu_file = __builtin_FILE(), unsigned msl_emu_line = __builtin_LINE()
#define MSL_EMU_SITE msl_emu_file, msl_emu_line

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong; /* 64-bit as in MSL (LP64 hosts: Linux, macOS) */
static_assert(sizeof(ulong) == 8 && sizeof(long) == 8, "msl_emu: needs an LP64 host (long is 64-bit in MSL)");

namespace msl_emu {

/* ---------------------------------------------------------------- half */

/* IEEE binary16 storage. Arithmetic converts to float (half + half is a
 * float expression), so only what is stored back into a half is rounded. */
struct half {
  uint16_t bits;
  half() = default;
  constexpr half(float f) : bits(from_float(f)) {}
  constexpr operator float() const { return to_float(bits); }
  /* threadgroup (volatile) memory */
  template <class V, class = std::enable_if_t<std::is_same<V, volatile half>::value>> half(const V& o) : bits(o.bits) {}
  operator float() const volatile { return to_float(bits); }
  void operator=(float f) volatile { bits = from_float(f); }

  static constexpr uint16_t from_float(float f) {
    uint32_t x = __builtin_bit_cast(uint32_t, f);
    uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu, mant = x & 0x7fffffu;
    if (exp == 0xffu) return uint16_t(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0u));
    int32_t e = int32_t(exp) - 127 + 15;
    if (e >= 0x1f) return uint16_t(sign | 0x7c00u);
    if (e <= 0) { /* subnormal half: round the shifted mantissa to nearest even */
      if (e < -10) return uint16_t(sign);
      mant |= 0x800000u;
      uint32_t shift = uint32_t(14 - e), h = mant >> shift, rest = mant & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
      if (rest > halfway || (rest == halfway && (h & 1u))) ++h;
      return uint16_t(sign | h);
    }
    uint32_t h = (uint32_t(e) << 10) | (mant >> 13), rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h; /* carries into the exponent correctly */
    return uint16_t(sign | h);
  }
  static constexpr float to_float(uint16_t h) {
    uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1fu) return __builtin_bit_cast(float, sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
      if (mant == 0) return __builtin_bit_cast(float, sign);
      int32_t e = -1;
      do { mant <<= 1; ++e; } while (!(mant & 0x400u));
      return __builtin_bit_cast(float, sign | (uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13));
    }
    return __builtin_bit_cast(float, sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }
};

/* ---------------------------------------------------------------- vectors */

template <class T, int N> struct vec;

/* Hidden friends, so `v * 2` and `2.0f * v` convert the scalar through the
 * broadcasting constructor. The component loops unroll. */
#define MSL_EMU_VEC_COMMON(N)                                                                                          \
  using value_type = T;                                                                                                \
  static constexpr int size = N;                                                                                       \
  constexpr T& operator[](int i) { return (&x)[i]; }                                                                   \
  constexpr const T& operator[](int i) const { return (&x)[i]; }                                                       \
  volatile T& operator[](int i) volatile { return (&x)[i]; }                                                           \
  const volatile T& operator[](int i) const volatile { return (&x)[i]; }                                               \
  /* threadgroup (volatile) memory: templates, so the class keeps its trivial copy */                                 \
  template <class V, class = std::enable_if_t<std::is_same<V, volatile vec>::value>> vec(const V& o) {                 \
    for (int i = 0; i < N; ++i) (*this)[i] = o[i];                                                                     \
  }                                                                                                                    \
  template <class V, class = std::enable_if_t<std::is_same<V, vec>::value>> void operator=(const V& o) volatile {      \
    for (int i = 0; i < N; ++i) (*this)[i] = o[i];                                                                     \
  }                                                                                                                    \
  MSL_EMU_VEC_BINARY(+) MSL_EMU_VEC_BINARY(-) MSL_EMU_VEC_BINARY(*) MSL_EMU_VEC_BINARY(/) MSL_EMU_VEC_BINARY(%)        \
  MSL_EMU_VEC_BINARY(&) MSL_EMU_VEC_BINARY(|) MSL_EMU_VEC_BINARY(^) MSL_EMU_VEC_BINARY(<<) MSL_EMU_VEC_BINARY(>>)      \
  MSL_EMU_VEC_COMPARE(==) MSL_EMU_VEC_COMPARE(!=) MSL_EMU_VEC_COMPARE(<) MSL_EMU_VEC_COMPARE(<=)                       \
  MSL_EMU_VEC_COMPARE(>) MSL_EMU_VEC_COMPARE(>=)                                                                       \
  friend constexpr vec operator-(vec a) {                                                                              \
    for (int i = 0; i < N; ++i) a[i] = T(-a[i]);                                                                       \
    return a;                                                                                                          \
  }                                                                                                                    \
  friend constexpr vec operator+(vec a) { return a; }                                                                  \
  friend constexpr vec operator~(vec a) {                                                                              \
    for (int i = 0; i < N; ++i) a[i] = T(~a[i]);                                                                       \
    return a;                                                                                                          \
  }                                                                                                                    \
  friend constexpr vec<bool, N> operator!(vec a) {                                                              \
    vec<bool, N> r{};                                                                                                  \
    for (int i = 0; i < N; ++i) r[i] = !a[i];                                                                          \
    return r;                                                                                                          \
  }                                                                                                                    \
  friend constexpr vec<bool, N> operator&&(vec a, vec b) {                                               \
    vec<bool, N> r{};                                                                                                  \
    for (int i = 0; i < N; ++i) r[i] = a[i] && b[i];                                                                   \
    return r;                                                                                                          \
  }                                                                                                                    \
  friend constexpr vec<bool, N> operator||(vec a, vec b) {                                               \
    vec<bool, N> r{};                                                                                                  \
    for (int i = 0; i < N; ++i) r[i] = a[i] || b[i];                                                                   \
    return r;                                                                                                          \
  }

#define MSL_EMU_VEC_BINARY(op)                                                                                         \
  friend constexpr vec operator op(vec a, vec b) {                                                                     \
    for (int i = 0; i < size; ++i) a[i] = T(a[i] op b[i]);                                                             \
    return a;                                                                                                          \
  }                                                                                                                    \
  constexpr vec& operator op##=(vec b) {                                                                               \
    for (int i = 0; i < size; ++i) (*this)[i] = T((*this)[i] op b[i]);                                                 \
    return *this;                                                                                                      \
  }                                                                                                                    \
  void operator op##=(vec b) volatile {                                                                                \
    for (int i = 0; i < size; ++i) (*this)[i] = T((*this)[i] op b[i]);                                                \
  }

#define MSL_EMU_VEC_COMPARE(op)                                                                                        \
  friend constexpr vec<bool, size> operator op(vec a, vec b) {                                                         \
    vec<bool, size> r{};                                                                                               \
    for (int i = 0; i < size; ++i) r[i] = a[i] op b[i];                                                                \
    return r;                                                                                                          \
  }

/* MSL's alignment rule: a 2- or 4-vector is aligned to its size, a 3-vector like a 4-vector. */
template <class T> struct alignas(2 * sizeof(T)) vec<T, 2> {
  T x, y;
  vec() = default;
  constexpr vec(T s) : x(s), y(s) {}
  constexpr vec(T x_, T y_) : x(x_), y(y_) {}
  template <class U> constexpr explicit vec(const vec<U, 2>& o) : x(T(o.x)), y(T(o.y)) {}
  MSL_EMU_VEC_COMMON(2)
};

template <class T> struct alignas(4 * sizeof(T)) vec<T, 3> {
  T x, y, z;
  vec() = default;
  constexpr vec(T s) : x(s), y(s), z(s) {}
  constexpr vec(T x_, T y_, T z_) : x(x_), y(y_), z(z_) {}
  constexpr vec(const vec<T, 2>& xy, T z_) : x(xy.x), y(xy.y), z(z_) {}
  constexpr vec(T x_, const vec<T, 2>& yz) : x(x_), y(yz.x), z(yz.y) {}
  template <class U> constexpr explicit vec(const vec<U, 3>& o) : x(T(o.x)), y(T(o.y)), z(T(o.z)) {}
  MSL_EMU_VEC_COMMON(3)
};

template <class T> struct alignas(4 * sizeof(T)) vec<T, 4> {
  T x, y, z, w;
  vec() = default;
  constexpr vec(T s) : x(s), y(s), z(s), w(s) {}
  constexpr vec(T x_, T y_, T z_, T w_) : x(x_), y(y_), z(z_), w(w_) {}
  constexpr vec(const vec<T, 3>& xyz, T w_) : x(xyz.x), y(xyz.y), z(xyz.z), w(w_) {}
  constexpr vec(T x_, const vec<T, 3>& yzw) : x(x_), y(yzw.x), z(yzw.y), w(yzw.z) {}
  constexpr vec(const vec<T, 2>& xy, const vec<T, 2>& zw) : x(xy.x), y(xy.y), z(zw.x), w(zw.y) {}
  constexpr vec(const vec<T, 2>& xy, T z_, T w_) : x(xy.x), y(xy.y), z(z_), w(w_) {}
  constexpr vec(T x_, T y_, const vec<T, 2>& zw) : x(x_), y(y_), z(zw.x), w(zw.y) {}
  template <class U> constexpr explicit vec(const vec<U, 4>& o) : x(T(o.x)), y(T(o.y)), z(T(o.z)), w(T(o.w)) {}
  MSL_EMU_VEC_COMMON(4)
};

/* packed_floatN: the components only, aligned like the scalar (packed_float3 is 12 bytes). */
template <class T, int N> struct packed_vec;
template <class T> struct packed_vec<T, 3> {
  T x, y, z;
  packed_vec() = default;
  constexpr packed_vec(const vec<T, 3>& o) : x(o.x), y(o.y), z(o.z) {}
  constexpr packed_vec(T x_, T y_, T z_) : x(x_), y(y_), z(z_) {}
  constexpr operator vec<T, 3>() const { return vec<T, 3>(x, y, z); }
  constexpr T& operator[](int i) { return (&x)[i]; }
  constexpr const T& operator[](int i) const { return (&x)[i]; }
#define MSL_EMU_PACKED_OP(op)                                                                                          \
  friend constexpr vec<T, 3> operator op(const packed_vec& a, const packed_vec& b) { return vec<T, 3>(a) op vec<T, 3>(b); } \
  friend constexpr vec<T, 3> operator op(const packed_vec& a, const vec<T, 3>& b) { return vec<T, 3>(a) op b; }         \
  friend constexpr vec<T, 3> operator op(const vec<T, 3>& a, const packed_vec& b) { return a op vec<T, 3>(b); }         \
  friend constexpr vec<T, 3> operator op(const packed_vec& a, T b) { return vec<T, 3>(a) op vec<T, 3>(b); }             \
  friend constexpr vec<T, 3> operator op(T a, const packed_vec& b) { return vec<T, 3>(a) op vec<T, 3>(b); }
  MSL_EMU_PACKED_OP(+) MSL_EMU_PACKED_OP(-) MSL_EMU_PACKED_OP(*) MSL_EMU_PACKED_OP(/)
#undef MSL_EMU_PACKED_OP
};
template <class T> struct packed_vec<T, 2> {
  T x, y;
  packed_vec() = default;
  constexpr packed_vec(const vec<T, 2>& o) : x(o.x), y(o.y) {}
  constexpr packed_vec(T x_, T y_) : x(x_), y(y_) {}
  constexpr operator vec<T, 2>() const { return vec<T, 2>(x, y); }
  constexpr T& operator[](int i) { return (&x)[i]; }
  constexpr const T& operator[](int i) const { return (&x)[i]; }
};
template <class T> struct packed_vec<T, 4> {
  T x, y, z, w;
  packed_vec() = default;
  constexpr packed_vec(const vec<T, 4>& o) : x(o.x), y(o.y), z(o.z), w(o.w) {}
  constexpr packed_vec(T x_, T y_, T z_, T w_) : x(x_), y(y_), z(z_), w(w_) {}
  constexpr operator vec<T, 4>() const { return vec<T, 4>(x, y, z, w); }
  constexpr T& operator[](int i) { return (&x)[i]; }
  constexpr const T& operator[](int i) const { return (&x)[i]; }
};

template <class T> struct is_vec : std::false_type {};
template <class T, int N> struct is_vec<vec<T, N>> : std::true_type {};

/* ---------------------------------------------------------------- SIMD-group support */

template <class T> inline T lane_operand(const rt::simd_view& v, uint32_t lane) {
  T t;
  std::memcpy(&t, v.slots + size_t(lane) * MSL_EMU_SIMD_SLOT_BYTES, sizeof(T));
  return t;
}

template <class T> inline rt::simd_view exchange(const T& value, const char* what, const char* file, unsigned line,
                                                 rt::simd_completion completion = nullptr) {
  static_assert(sizeof(T) <= MSL_EMU_SIMD_SLOT_BYTES, "msl_emu: SIMD-group operand larger than a lane slot");
  return rt::simd_exchange(&value, sizeof(T), what, file, line, completion);
}

/* The operand and an index (shuffle lane, delta, mask) side by side in a lane's slot. */
template <class T> struct indexed_operand {
  T value;
  uint32_t index;
};

} // namespace msl_emu

/* ---------------------------------------------------------------- the metal namespace */

namespace metal {

using msl_emu::half;
#define MSL_EMU_VEC_TYPES(T, name)                                                                                     \
  typedef msl_emu::vec<T, 2> name##2;                                                                                  \
  typedef msl_emu::vec<T, 3> name##3;                                                                                  \
  typedef msl_emu::vec<T, 4> name##4;                                                                                  \
  typedef msl_emu::packed_vec<T, 2> packed_##name##2;                                                                  \
  typedef msl_emu::packed_vec<T, 3> packed_##name##3;                                                                  \
  typedef msl_emu::packed_vec<T, 4> packed_##name##4;
MSL_EMU_VEC_TYPES(float, float)
MSL_EMU_VEC_TYPES(half, half)
MSL_EMU_VEC_TYPES(int, int)
MSL_EMU_VEC_TYPES(uint, uint)
MSL_EMU_VEC_TYPES(short, short)
MSL_EMU_VEC_TYPES(ushort, ushort)
MSL_EMU_VEC_TYPES(char, char)
MSL_EMU_VEC_TYPES(uchar, uchar)
MSL_EMU_VEC_TYPES(long, long)
MSL_EMU_VEC_TYPES(ulong, ulong)
MSL_EMU_VEC_TYPES(bool, bool)
#undef MSL_EMU_VEC_TYPES

static_assert(sizeof(float3) == 16 && alignof(float3) == 16, "float3 is 16 bytes in MSL");
static_assert(sizeof(packed_float3) == 12 && alignof(packed_float3) == 4, "packed_float3 is 12 bytes in MSL");
static_assert(sizeof(float2) == 8 && alignof(float2) == 8 && sizeof(float4) == 16 && alignof(float4) == 16, "MSL sizes");
static_assert(sizeof(uchar3) == 4 && alignof(uchar3) == 4 && sizeof(uchar2) == 2 && sizeof(half3) == 8, "MSL sizes");
static_assert(sizeof(int3) == 16 && sizeof(uint4) == 16 && sizeof(bool3) == 4 && sizeof(half) == 2, "MSL sizes");

/* ---------------------------------------------------------------- scalar math */

/* metal::fast and metal::precise name the same functions: the emulator always computes precisely */
namespace fast {
using namespace metal;
}
namespace precise {
using namespace metal;
}

/* The float functions; half arguments convert to float. */
#define MSL_EMU_F1(name, expr)                                                                                         \
  inline float name(float x) { return expr; }                                                                         \
  template <int N> inline msl_emu::vec<float, N> name(msl_emu::vec<float, N> v) {                                     \
    for (int i = 0; i < N; ++i) v[i] = name(v[i]);                                                                    \
    return v;                                                                                                          \
  }
#define MSL_EMU_F2(name, expr)                                                                                         \
  inline float name(float x, float y) { return expr; }                                                                \
  template <int N> inline msl_emu::vec<float, N> name(msl_emu::vec<float, N> a, msl_emu::vec<float, N> b) {   \
    for (int i = 0; i < N; ++i) a[i] = name(a[i], b[i]);                                                              \
    return a;                                                                                                          \
  }

MSL_EMU_F1(sqrt, __builtin_sqrtf(x))
MSL_EMU_F1(rsqrt, 1.0f / __builtin_sqrtf(x))
MSL_EMU_F1(fabs, __builtin_fabsf(x))
MSL_EMU_F1(floor, __builtin_floorf(x))
MSL_EMU_F1(ceil, __builtin_ceilf(x))
MSL_EMU_F1(trunc, __builtin_truncf(x))
MSL_EMU_F1(rint, __builtin_rintf(x))   /* half to even (default rounding mode) */
MSL_EMU_F1(round, __builtin_roundf(x)) /* half away from zero */
MSL_EMU_F1(fract, __builtin_fminf(x - __builtin_floorf(x), 0x1.fffffep-1f))
MSL_EMU_F1(exp, __builtin_expf(x))
MSL_EMU_F1(exp2, __builtin_exp2f(x))
MSL_EMU_F1(log, __builtin_logf(x))
MSL_EMU_F1(log2, __builtin_log2f(x))
MSL_EMU_F1(log10, __builtin_log10f(x))
MSL_EMU_F1(sin, __builtin_sinf(x))
MSL_EMU_F1(cos, __builtin_cosf(x))
MSL_EMU_F1(tan, __builtin_tanf(x))
MSL_EMU_F1(asin, __builtin_asinf(x))
MSL_EMU_F1(acos, __builtin_acosf(x))
MSL_EMU_F1(atan, __builtin_atanf(x))
MSL_EMU_F1(sinh, __builtin_sinhf(x))
MSL_EMU_F1(cosh, __builtin_coshf(x))
MSL_EMU_F1(tanh, __builtin_tanhf(x))
MSL_EMU_F1(saturate, __builtin_fminf(__builtin_fmaxf(x, 0.0f), 1.0f))
MSL_EMU_F1(sign, x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x == 0.0f ? x : 0.0f) /* keeps -0.0; NaN gives 0 */
/* fmin/fmax/min/max on floats: IEEE minNum/maxNum, a NaN operand gives the other one */
MSL_EMU_F2(fmin, __builtin_fminf(x, y))
MSL_EMU_F2(fmax, __builtin_fmaxf(x, y))
MSL_EMU_F2(min, __builtin_fminf(x, y))
MSL_EMU_F2(max, __builtin_fmaxf(x, y))
MSL_EMU_F2(pow, __builtin_powf(x, y))
MSL_EMU_F2(powr, __builtin_powf(x, y))
MSL_EMU_F2(atan2, __builtin_atan2f(x, y))
MSL_EMU_F2(fmod, __builtin_fmodf(x, y))
MSL_EMU_F2(copysign, __builtin_copysignf(x, y))
MSL_EMU_F2(fdim, __builtin_fdimf(x, y))
MSL_EMU_F2(step, y < x ? 0.0f : 1.0f) /* step(edge, x) */
#undef MSL_EMU_F1
#undef MSL_EMU_F2

inline float abs(float x) { return __builtin_fabsf(x); }
template <int N> inline msl_emu::vec<float, N> abs(msl_emu::vec<float, N> v) { return fabs(v); }
inline float fma(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
template <int N>
inline msl_emu::vec<float, N> fma(msl_emu::vec<float, N> a, msl_emu::vec<float, N> b,
                                  msl_emu::vec<float, N> c) {
  for (int i = 0; i < N; ++i) a[i] = __builtin_fmaf(a[i], b[i], c[i]);
  return a;
}
/* mad: a * b + c, rounded twice (a fused result is also allowed by MSL; the emulator does not fuse) */
inline float mad(float a, float b, float c) { return a * b + c; }
inline float clamp(float x, float lo, float hi) { return fmin(fmax(x, lo), hi); }
template <int N>
inline msl_emu::vec<float, N> clamp(msl_emu::vec<float, N> x, msl_emu::vec<float, N> lo,
                                    msl_emu::vec<float, N> hi) {
  return fmin(fmax(x, lo), hi);
}
/* mix(x, y, a) = x + (y - x) * a, as MSL defines it */
inline float mix(float x, float y, float a) { return x + (y - x) * a; }
template <int N>
inline msl_emu::vec<float, N> mix(msl_emu::vec<float, N> x, msl_emu::vec<float, N> y,
                                  msl_emu::vec<float, N> a) {
  return x + (y - x) * a;
}
inline float smoothstep(float e0, float e1, float x) {
  float t = clamp((x - e0) / (e1 - e0), 0.0f, 1.0f);
  return t * t * (3.0f - 2.0f * t);
}

inline bool isnan(float x) { return __builtin_isnan(x); }
inline bool isinf(float x) { return __builtin_isinf(x); }
inline bool isfinite(float x) { return __builtin_isfinite(x); }
inline bool signbit(float x) { return __builtin_signbit(x); }
#define MSL_EMU_PRED(name)                                                                                             \
  template <int N> inline msl_emu::vec<bool, N> name(msl_emu::vec<float, N> v) {                               \
    msl_emu::vec<bool, N> r{};                                                                                         \
    for (int i = 0; i < N; ++i) r[i] = name(v[i]);                                                                     \
    return r;                                                                                                          \
  }
MSL_EMU_PRED(isnan)
MSL_EMU_PRED(isinf)
MSL_EMU_PRED(isfinite)
MSL_EMU_PRED(signbit)
#undef MSL_EMU_PRED

/* Integer min/max/clamp/abs per type (as MSL overloads them: mixed types are ambiguous there too). */
#define MSL_EMU_INT(T)                                                                                                 \
  inline T min(T a, T b) { return b < a ? b : a; }                                                                     \
  inline T max(T a, T b) { return a < b ? b : a; }                                                                     \
  inline T clamp(T x, T lo, T hi) { return min(max(x, lo), hi); }                                                     \
  template <int N> inline msl_emu::vec<T, N> min(msl_emu::vec<T, N> a, msl_emu::vec<T, N> b) {                  \
    for (int i = 0; i < N; ++i) a[i] = min(a[i], b[i]);                                                                \
    return a;                                                                                                          \
  }                                                                                                                    \
  template <int N> inline msl_emu::vec<T, N> max(msl_emu::vec<T, N> a, msl_emu::vec<T, N> b) {                  \
    for (int i = 0; i < N; ++i) a[i] = max(a[i], b[i]);                                                                \
    return a;                                                                                                          \
  }                                                                                                                    \
  template <int N>                                                                                                     \
  inline msl_emu::vec<T, N> clamp(msl_emu::vec<T, N> x, msl_emu::vec<T, N> lo,                           \
                                  msl_emu::vec<T, N> hi) {                                                      \
    return min(max(x, lo), hi);                                                                                        \
  }
MSL_EMU_INT(int)
MSL_EMU_INT(uint)
MSL_EMU_INT(short)
MSL_EMU_INT(ushort)
MSL_EMU_INT(char)
MSL_EMU_INT(uchar)
MSL_EMU_INT(long)
MSL_EMU_INT(ulong)
#undef MSL_EMU_INT
inline int abs(int x) { return x < 0 ? -x : x; }
inline long abs(long x) { return x < 0 ? -x : x; }
inline short abs(short x) { return short(x < 0 ? -x : x); }
inline char abs(char x) { return char(x < 0 ? -x : x); }
inline uint abs(uint x) { return x; }
template <int N> inline msl_emu::vec<int, N> abs(msl_emu::vec<int, N> v) {
  for (int i = 0; i < N; ++i) v[i] = abs(v[i]);
  return v;
}
inline uint absdiff(int a, int b) { return a > b ? uint(a) - uint(b) : uint(b) - uint(a); }
inline uint absdiff(uint a, uint b) { return a > b ? a - b : b - a; }

/* popcount/clz/ctz: MSL defines clz(0) and ctz(0) as the bit width */
template <class T> inline T popcount(T x) {
  static_assert(std::is_integral<T>::value, "popcount takes an integer");
  using U = std::make_unsigned_t<T>;
  return T(sizeof(T) == 8 ? __builtin_popcountll(uint64_t(U(x))) : __builtin_popcount(uint32_t(U(x))));
}
template <class T> inline T clz(T x) {
  static_assert(std::is_integral<T>::value, "clz takes an integer");
  using U = std::make_unsigned_t<T>;
  constexpr int bits = int(sizeof(T) * 8);
  if (U(x) == 0) return T(bits);
  return T(sizeof(T) == 8 ? __builtin_clzll(uint64_t(U(x))) : __builtin_clz(uint32_t(U(x))) - (32 - bits));
}
template <class T> inline T ctz(T x) {
  static_assert(std::is_integral<T>::value, "ctz takes an integer");
  using U = std::make_unsigned_t<T>;
  if (U(x) == 0) return T(sizeof(T) * 8);
  return T(sizeof(T) == 8 ? __builtin_ctzll(uint64_t(U(x))) : __builtin_ctz(uint32_t(U(x))));
}
inline uint mulhi(uint a, uint b) { return uint((ulong(a) * ulong(b)) >> 32); }
inline int mulhi(int a, int b) { return int((long(a) * long(b)) >> 32); }
inline ulong mulhi(ulong a, ulong b) { return ulong((unsigned __int128)a * b >> 64); }

/* ---------------------------------------------------------------- geometric, relational */

template <int N> inline float dot(msl_emu::vec<float, N> a, msl_emu::vec<float, N> b) {
  float s = a[0] * b[0]; /* left to right: ((a.x*b.x + a.y*b.y) + a.z*b.z) ... */
  for (int i = 1; i < N; ++i) s = s + a[i] * b[i];
  return s;
}
inline float3 cross(float3 a, float3 b) {
  return float3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
template <int N> inline float length_squared(msl_emu::vec<float, N> v) { return dot(v, v); }
template <int N> inline float length(msl_emu::vec<float, N> v) { return __builtin_sqrtf(dot(v, v)); }
template <int N> inline float distance(msl_emu::vec<float, N> a, msl_emu::vec<float, N> b) {
  return length(a - b);
}
template <int N> inline float distance_squared(msl_emu::vec<float, N> a, msl_emu::vec<float, N> b) {
  return length_squared(a - b);
}
template <int N> inline msl_emu::vec<float, N> normalize(msl_emu::vec<float, N> v) {
  return v * (1.0f / __builtin_sqrtf(dot(v, v)));
}

/* select(a, b, c): c ? b : a, per component */
template <class T, class = std::enable_if_t<!msl_emu::is_vec<T>::value>> inline T select(T a, T b, bool c) {
  return c ? b : a;
}
template <class T, int N>
inline msl_emu::vec<T, N> select(msl_emu::vec<T, N> a, msl_emu::vec<T, N> b, msl_emu::vec<bool, N> c) {
  for (int i = 0; i < N; ++i)
    if (c[i]) a[i] = b[i];
  return a;
}
inline bool all(bool b) { return b; }
inline bool any(bool b) { return b; }
template <int N> inline bool all(msl_emu::vec<bool, N> b) {
  for (int i = 0; i < N; ++i)
    if (!b[i]) return false;
  return true;
}
template <int N> inline bool any(msl_emu::vec<bool, N> b) {
  for (int i = 0; i < N; ++i)
    if (b[i]) return true;
  return false;
}

/* as_type<T>(x): the same bits as another type of the same size */
template <class T, class U> inline T as_type(U u) {
  static_assert(sizeof(T) == sizeof(U), "as_type needs types of the same size");
  T t;
  std::memcpy(&t, &u, sizeof(T));
  return t;
}

/* ---------------------------------------------------------------- atomics */

/* MSL's atomics take memory_order_relaxed only. */
enum memory_order { memory_order_relaxed = 0 };

template <class T> struct atomic_storage {
  T value; /* 4 bytes over a uint32/int32 of device or threadgroup memory */
};
template <class T> struct atomic_select {
  static_assert(!(std::is_integral<T>::value && sizeof(T) == 8),
                "msl_emu: 64-bit atomics (atomic<ulong>, atomic_ulong, atomic<long>) are not available in Metal "
                "(no 64-bit add or compare-exchange on any Apple GPU): use 32-bit atomic_uint/atomic_int");
  static_assert(std::is_same<T, int>::value || std::is_same<T, uint>::value || sizeof(T) == 8,
                "msl_emu: only the 32-bit atomic_int and atomic_uint are emulated (sums are reductions in a fixed "
                "order, never float atomics)");
  using type = atomic_storage<T>;
};
/* an alias template: naming atomic<ulong> at all instantiates atomic_select, so the rule fires at once */
template <class T> using atomic = typename atomic_select<T>::type;
typedef atomic<int> atomic_int;
typedef atomic<uint> atomic_uint;
#define atomic_ulong ::metal::atomic<ulong>
#define atomic_long ::metal::atomic<long>

template <class T> struct atomic_value {
  static_assert(sizeof(T) == 4, "msl_emu: 64-bit atomic operations are not available in Metal: use 32-bit atomics");
  typedef T type;
};
/* The operand's type is not deduced, so `atomic_fetch_add_explicit(p, 1, ...)` works on an atomic_uint. */
template <class T> using atomic_operand = typename atomic_value<T>::type;

template <class T> inline T atomic_load_explicit(const volatile atomic_storage<T>* o, memory_order) {
  return __atomic_load_n(&o->value, __ATOMIC_RELAXED);
}
template <class T> inline void atomic_store_explicit(volatile atomic_storage<T>* o, atomic_operand<T> v, memory_order) {
  __atomic_store_n(&o->value, v, __ATOMIC_RELAXED);
}
template <class T> inline T atomic_exchange_explicit(volatile atomic_storage<T>* o, atomic_operand<T> v, memory_order) {
  return __atomic_exchange_n(&o->value, v, __ATOMIC_RELAXED);
}
/* strong underneath: the emulator never fails spuriously */
template <class T>
inline bool atomic_compare_exchange_weak_explicit(volatile atomic_storage<T>* o, T* expected, atomic_operand<T> desired,
                                                  memory_order, memory_order) {
  return __atomic_compare_exchange_n(&o->value, expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
template <class T>
inline bool atomic_compare_exchange_strong_explicit(volatile atomic_storage<T>* o, T* expected, atomic_operand<T> desired,
                                                    memory_order, memory_order) {
  return __atomic_compare_exchange_n(&o->value, expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
#define MSL_EMU_ATOMIC_RMW(name, builtin)                                                                              \
  template <class T> inline T name(volatile atomic_storage<T>* o, atomic_operand<T> v, memory_order) {                 \
    return builtin(&o->value, v, __ATOMIC_RELAXED);                                                                    \
  }
MSL_EMU_ATOMIC_RMW(atomic_fetch_add_explicit, __atomic_fetch_add)
MSL_EMU_ATOMIC_RMW(atomic_fetch_sub_explicit, __atomic_fetch_sub)
MSL_EMU_ATOMIC_RMW(atomic_fetch_and_explicit, __atomic_fetch_and)
MSL_EMU_ATOMIC_RMW(atomic_fetch_or_explicit, __atomic_fetch_or)
MSL_EMU_ATOMIC_RMW(atomic_fetch_xor_explicit, __atomic_fetch_xor)
#undef MSL_EMU_ATOMIC_RMW
/* min/max compare as T (signed for atomic_int); a compare-exchange loop, portable across compilers */
template <class T> inline T atomic_fetch_min_explicit(volatile atomic_storage<T>* o, atomic_operand<T> v, memory_order) {
  T old = __atomic_load_n(&o->value, __ATOMIC_RELAXED);
  while (v < old && !__atomic_compare_exchange_n(&o->value, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
template <class T> inline T atomic_fetch_max_explicit(volatile atomic_storage<T>* o, atomic_operand<T> v, memory_order) {
  T old = __atomic_load_n(&o->value, __ATOMIC_RELAXED);
  while (old < v && !__atomic_compare_exchange_n(&o->value, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}

/* ---------------------------------------------------------------- barriers */

enum class mem_flags : uint {
  mem_none = 0,
  mem_device = 1,
  mem_threadgroup = 2,
  mem_texture = 4,
  mem_threadgroup_imageblock = 8,
  mem_object_data = 16
};
constexpr mem_flags operator|(mem_flags a, mem_flags b) { return mem_flags(uint(a) | uint(b)); }
constexpr mem_flags operator&(mem_flags a, mem_flags b) { return mem_flags(uint(a) & uint(b)); }

/* Every thread of the threadgroup that has not returned must reach the same barrier call. */
inline void threadgroup_barrier(mem_flags, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::threadgroup_barrier("threadgroup_barrier", MSL_EMU_SITE);
}
/* Every lane of the SIMD-group that has not returned must reach the same call. */
inline void simdgroup_barrier(mem_flags, MSL_EMU_SITE_PARAMS) {
  unsigned char none = 0;
  msl_emu::exchange(none, "simdgroup_barrier", MSL_EMU_SITE);
}

/* ---------------------------------------------------------------- SIMD-group functions */
/* Each is a meeting of the SIMD-group's active lanes (those that have not
 * returned) at one call site; reductions and scans combine the active lanes
 * in ascending lane order, left to right. */

/* simd_ballot's result. vote_t is 64-bit as in MSL; bits 32..63 are zero (SIMD-groups are 32 wide). */
class simd_vote {
public:
  typedef ulong vote_t;
  constexpr explicit simd_vote(vote_t v = 0) : bits_(v), active_(~vote_t(0)) {}
  constexpr simd_vote(vote_t v, vote_t active) : bits_(v), active_(active) {}
  constexpr explicit operator vote_t() const { return bits_; }
  constexpr bool all() const { return (bits_ & active_) == active_; }
  constexpr bool any() const { return bits_ != 0; }

private:
  vote_t bits_, active_;
};

template <class T> inline T simd_sum(T x, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(x, "simd_sum", MSL_EMU_SITE);
  uint32_t m = v.active;
  T acc = msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m)));
  for (m &= m - 1; m; m &= m - 1) acc = T(acc + msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m))));
  return acc;
}
template <class T> inline T simd_product(T x, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(x, "simd_product", MSL_EMU_SITE);
  uint32_t m = v.active;
  T acc = msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m)));
  for (m &= m - 1; m; m &= m - 1) acc = T(acc * msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m))));
  return acc;
}
#define MSL_EMU_SIMD_FOLD(name, combine)                                                                               \
  template <class T> inline T name(T x, MSL_EMU_SITE_PARAMS) {                                                         \
    msl_emu::rt::simd_view v = msl_emu::exchange(x, #name, MSL_EMU_SITE);                                              \
    uint32_t m = v.active;                                                                                             \
    T acc = msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m)));                                                   \
    for (m &= m - 1; m; m &= m - 1) {                                                                                  \
      T b = msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m)));                                                   \
      acc = combine;                                                                                                   \
    }                                                                                                                  \
    return acc;                                                                                                        \
  }
MSL_EMU_SIMD_FOLD(simd_min, min(acc, b))
MSL_EMU_SIMD_FOLD(simd_max, max(acc, b))
MSL_EMU_SIMD_FOLD(simd_and, T(acc & b))
MSL_EMU_SIMD_FOLD(simd_or, T(acc | b))
MSL_EMU_SIMD_FOLD(simd_xor, T(acc ^ b))
#undef MSL_EMU_SIMD_FOLD

/* exclusive: the lanes below the caller, starting from T(0); inclusive: the caller too */
template <class T> inline T simd_prefix_exclusive_sum(T x, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(x, "simd_prefix_exclusive_sum", MSL_EMU_SITE);
  T acc = T(0);
  for (uint32_t m = v.active & ((1u << v.lane) - 1u); m; m &= m - 1)
    acc = T(acc + msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m))));
  return acc;
}
template <class T> inline T simd_prefix_inclusive_sum(T x, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(x, "simd_prefix_inclusive_sum", MSL_EMU_SITE);
  T acc = T(0);
  for (uint32_t m = v.active & (uint32_t((2ull << v.lane) - 1u)); m; m &= m - 1)
    acc = T(acc + msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m))));
  return acc;
}
template <class T> inline T simd_prefix_exclusive_product(T x, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(x, "simd_prefix_exclusive_product", MSL_EMU_SITE);
  T acc = T(1);
  for (uint32_t m = v.active & ((1u << v.lane) - 1u); m; m &= m - 1)
    acc = T(acc * msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m))));
  return acc;
}
template <class T> inline T simd_prefix_inclusive_product(T x, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(x, "simd_prefix_inclusive_product", MSL_EMU_SITE);
  T acc = T(1);
  for (uint32_t m = v.active & (uint32_t((2ull << v.lane) - 1u)); m; m &= m - 1)
    acc = T(acc * msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(m))));
  return acc;
}

inline simd_vote simd_ballot(bool pred, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(pred, "simd_ballot", MSL_EMU_SITE);
  simd_vote::vote_t bits = 0;
  for (uint32_t m = v.active; m; m &= m - 1) {
    uint32_t lane = uint32_t(__builtin_ctz(m));
    if (msl_emu::lane_operand<bool>(v, lane)) bits |= simd_vote::vote_t(1) << lane;
  }
  return simd_vote(bits, v.active);
}
inline simd_vote simd_active_threads_mask(MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(true, "simd_active_threads_mask", MSL_EMU_SITE);
  return simd_vote(v.active, v.active);
}
inline bool simd_any(bool pred, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(pred, "simd_any", MSL_EMU_SITE);
  for (uint32_t m = v.active; m; m &= m - 1)
    if (msl_emu::lane_operand<bool>(v, uint32_t(__builtin_ctz(m)))) return true;
  return false;
}
inline bool simd_all(bool pred, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(pred, "simd_all", MSL_EMU_SITE);
  for (uint32_t m = v.active; m; m &= m - 1)
    if (!msl_emu::lane_operand<bool>(v, uint32_t(__builtin_ctz(m)))) return false;
  return true;
}
inline bool simd_is_first(MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(true, "simd_is_first", MSL_EMU_SITE);
  return uint32_t(__builtin_ctz(v.active)) == v.lane;
}

} // namespace metal

namespace msl_emu {
/* Reads lane `src` of a completed exchange of indexed operands; a lane out of
 * range or one that has returned is undefined in Metal, an error here. */
template <class T>
inline T read_lane(const rt::simd_view& v, uint32_t src, const char* what, const char* file, unsigned line) {
  if (src >= MSL_EMU_SIMD_WIDTH || !(v.active & (1u << src))) {
    char detail[160];
    std::snprintf(detail, sizeof detail, "lane %u reads lane %u, which %s", v.lane, src,
                  src >= MSL_EMU_SIMD_WIDTH ? "is outside the 32-lane SIMD-group" : "has returned or does not exist");
    rt::kernel_error(what, file, line, detail);
    return lane_operand<indexed_operand<T>>(v, v.lane).value;
  }
  return lane_operand<indexed_operand<T>>(v, src).value;
}
} // namespace msl_emu

namespace metal {

template <class T> inline T simd_shuffle(T x, ushort lane, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(msl_emu::indexed_operand<T>{x, lane}, "simd_shuffle", MSL_EMU_SITE);
  return msl_emu::read_lane<T>(v, lane, "simd_shuffle", MSL_EMU_SITE);
}
template <class T> inline T simd_broadcast(T x, ushort lane, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(msl_emu::indexed_operand<T>{x, lane}, "simd_broadcast", MSL_EMU_SITE);
  for (uint32_t m = v.active; m; m &= m - 1) {
    uint32_t other = msl_emu::lane_operand<msl_emu::indexed_operand<T>>(v, uint32_t(__builtin_ctz(m))).index;
    if (other != lane) {
      char detail[120];
      std::snprintf(detail, sizeof detail, "lane %u broadcasts lane %u but lane %u asks for lane %u (must be uniform)",
                    v.lane, unsigned(lane), unsigned(__builtin_ctz(m)), other);
      msl_emu::rt::kernel_error("simd_broadcast", MSL_EMU_SITE, detail);
      break;
    }
  }
  return msl_emu::read_lane<T>(v, lane, "simd_broadcast", MSL_EMU_SITE);
}
template <class T> inline T simd_broadcast_first(T x, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(x, "simd_broadcast_first", MSL_EMU_SITE);
  return msl_emu::lane_operand<T>(v, uint32_t(__builtin_ctz(v.active)));
}
/* down/up: a source lane past the SIMD-group's edge leaves the caller's own value (MSL's rule) */
template <class T> inline T simd_shuffle_down(T x, ushort delta, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(msl_emu::indexed_operand<T>{x, delta}, "simd_shuffle_down", MSL_EMU_SITE);
  uint32_t src = v.lane + delta;
  return src >= MSL_EMU_SIMD_WIDTH ? x : msl_emu::read_lane<T>(v, src, "simd_shuffle_down", MSL_EMU_SITE);
}
template <class T> inline T simd_shuffle_up(T x, ushort delta, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(msl_emu::indexed_operand<T>{x, delta}, "simd_shuffle_up", MSL_EMU_SITE);
  return delta > v.lane ? x : msl_emu::read_lane<T>(v, v.lane - delta, "simd_shuffle_up", MSL_EMU_SITE);
}
template <class T> inline T simd_shuffle_xor(T x, ushort mask, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(msl_emu::indexed_operand<T>{x, mask}, "simd_shuffle_xor", MSL_EMU_SITE);
  return msl_emu::read_lane<T>(v, v.lane ^ mask, "simd_shuffle_xor", MSL_EMU_SITE);
}
template <class T> inline T simd_shuffle_rotate_down(T x, ushort delta, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(msl_emu::indexed_operand<T>{x, delta}, "simd_shuffle_rotate_down", MSL_EMU_SITE);
  return msl_emu::read_lane<T>(v, (v.lane + delta) % MSL_EMU_SIMD_WIDTH, "simd_shuffle_rotate_down", MSL_EMU_SITE);
}
template <class T> inline T simd_shuffle_rotate_up(T x, ushort delta, MSL_EMU_SITE_PARAMS) {
  msl_emu::rt::simd_view v = msl_emu::exchange(msl_emu::indexed_operand<T>{x, delta}, "simd_shuffle_rotate_up", MSL_EMU_SITE);
  return msl_emu::read_lane<T>(v, (v.lane + MSL_EMU_SIMD_WIDTH - delta % MSL_EMU_SIMD_WIDTH) % MSL_EMU_SIMD_WIDTH,
                               "simd_shuffle_rotate_up", MSL_EMU_SITE);
}

/* ---------------------------------------------------------------- simdgroup matrices */

/* Each lane holds the whole matrix (the GPU spreads it over the lanes); the
 * cooperative operations meet like other SIMD-group functions and the work is
 * done once for the SIMD-group. Element (row r, column c) is m[r][c]. */
template <class T, int Cols, int Rows> struct simdgroup_matrix {
  static_assert(Cols == 8 && Rows == 8, "msl_emu: only 8x8 simdgroup matrices (as on Apple GPUs)");
  T m[Rows][Cols];
  simdgroup_matrix() = default;
  /* MSL: a diagonal matrix with `diagonal` on its diagonal */
  explicit simdgroup_matrix(T diagonal) {
    for (int r = 0; r < Rows; ++r)
      for (int c = 0; c < Cols; ++c) m[r][c] = r == c ? diagonal : T(0);
  }
};
typedef simdgroup_matrix<float, 8, 8> simdgroup_float8x8;
typedef simdgroup_matrix<half, 8, 8> simdgroup_half8x8;

template <class T, int Cols, int Rows> inline simdgroup_matrix<T, Cols, Rows> make_filled_simdgroup_matrix(T value) {
  simdgroup_matrix<T, Cols, Rows> r;
  for (int i = 0; i < Rows; ++i)
    for (int j = 0; j < Cols; ++j) r.m[i][j] = value;
  return r;
}

} // namespace metal

namespace msl_emu {
template <class T> struct matrix_transfer {
  metal::simdgroup_matrix<T, 8, 8>* matrix; /* the lane's own matrix (load: destination; store: source) */
  volatile T* memory; /* device or threadgroup */
  ulong elements_per_row, origin_x, origin_y;
  bool transpose;
};
/* all lanes must pass the same memory, stride, origin and transpose flag */
template <class T> inline const char* transfer_uniform(const rt::simd_view& v) {
  auto first = lane_operand<matrix_transfer<T>>(v, uint32_t(__builtin_ctz(v.active)));
  for (uint32_t m = v.active; m; m &= m - 1) {
    auto t = lane_operand<matrix_transfer<T>>(v, uint32_t(__builtin_ctz(m)));
    if (t.memory != first.memory || t.elements_per_row != first.elements_per_row || t.origin_x != first.origin_x ||
        t.origin_y != first.origin_y || t.transpose != first.transpose)
      return "the lanes passed different pointers, strides, origins or transpose flags (they must be uniform)";
  }
  return nullptr;
}
/* element (r, c) of the matrix is memory[(origin.y + r) * elements_per_row + origin.x + c], (c, r) when transposed */
template <class T> inline size_t matrix_offset(const matrix_transfer<T>& t, int r, int c) {
  if (t.transpose) {
    int s = r;
    r = c;
    c = s;
  }
  return size_t(t.origin_y + ulong(r)) * t.elements_per_row + t.origin_x + ulong(c);
}
template <class T> inline const char* complete_matrix_load(const rt::simd_view& v) {
  if (const char* e = transfer_uniform<T>(v)) return e;
  auto first = lane_operand<matrix_transfer<T>>(v, uint32_t(__builtin_ctz(v.active)));
  metal::simdgroup_matrix<T, 8, 8> loaded;
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) loaded.m[r][c] = first.memory[matrix_offset(first, r, c)];
  for (uint32_t m = v.active; m; m &= m - 1) *lane_operand<matrix_transfer<T>>(v, uint32_t(__builtin_ctz(m))).matrix = loaded;
  return nullptr;
}
template <class T> inline const char* complete_matrix_store(const rt::simd_view& v) {
  if (const char* e = transfer_uniform<T>(v)) return e;
  auto first = lane_operand<matrix_transfer<T>>(v, uint32_t(__builtin_ctz(v.active)));
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) first.memory[matrix_offset(first, r, c)] = first.matrix->m[r][c];
  return nullptr;
}
template <class T> struct matrix_product {
  metal::simdgroup_matrix<T, 8, 8>* d;
  const metal::simdgroup_matrix<T, 8, 8>*a, *b, *c; /* c may be null: d = a * b */
};
/* d[i][j] = fma(a[i][7], b[7][j], ... fma(a[i][0], b[0][j], c[i][j])): k ascending, one rounding per
 * step. The operands of the lowest active lane are used; every lane gets the result. */
template <class T> inline const char* complete_matrix_product(const rt::simd_view& v) {
  auto first = lane_operand<matrix_product<T>>(v, uint32_t(__builtin_ctz(v.active)));
  float acc[8][8];
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) acc[i][j] = first.c ? float(first.c->m[i][j]) : 0.0f;
  /* j innermost: eight independent fma chains, each element still summed k = 0..7 in order */
  for (int i = 0; i < 8; ++i)
    for (int k = 0; k < 8; ++k) {
      const float a = float(first.a->m[i][k]);
      for (int j = 0; j < 8; ++j) acc[i][j] = __builtin_fmaf(a, float(first.b->m[k][j]), acc[i][j]);
    }
  metal::simdgroup_matrix<T, 8, 8> out;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) out.m[i][j] = T(acc[i][j]);
  for (uint32_t m = v.active; m; m &= m - 1) *lane_operand<matrix_product<T>>(v, uint32_t(__builtin_ctz(m))).d = out;
  return nullptr;
}
} // namespace msl_emu

namespace metal {

template <class T, int C, int R>
inline void simdgroup_load(simdgroup_matrix<T, C, R>& d, const volatile T* src, ulong elements_per_row = C,
                           ulong2 matrix_origin = ulong2(0, 0), bool transpose_matrix = false, MSL_EMU_SITE_PARAMS) {
  msl_emu::matrix_transfer<T> t{&d, const_cast<volatile T*>(src), elements_per_row, matrix_origin.x, matrix_origin.y,
                                transpose_matrix};
  msl_emu::exchange(t, "simdgroup_load", MSL_EMU_SITE, msl_emu::complete_matrix_load<T>);
}
template <class T, int C, int R>
inline void simdgroup_store(const simdgroup_matrix<T, C, R>& a, volatile T* dst, ulong elements_per_row = C,
                            ulong2 matrix_origin = ulong2(0, 0), bool transpose_matrix = false, MSL_EMU_SITE_PARAMS) {
  msl_emu::matrix_transfer<T> t{const_cast<simdgroup_matrix<T, C, R>*>(&a), dst, elements_per_row, matrix_origin.x,
                                matrix_origin.y, transpose_matrix};
  msl_emu::exchange(t, "simdgroup_store", MSL_EMU_SITE, msl_emu::complete_matrix_store<T>);
}
template <class T, int C, int R>
inline void simdgroup_multiply_accumulate(simdgroup_matrix<T, C, R>& d, const simdgroup_matrix<T, C, R>& a,
                                          const simdgroup_matrix<T, C, R>& b, const simdgroup_matrix<T, C, R>& c,
                                          MSL_EMU_SITE_PARAMS) {
  msl_emu::matrix_product<T> p{&d, &a, &b, &c};
  msl_emu::exchange(p, "simdgroup_multiply_accumulate", MSL_EMU_SITE, msl_emu::complete_matrix_product<T>);
}
template <class T, int C, int R>
inline void simdgroup_multiply(simdgroup_matrix<T, C, R>& d, const simdgroup_matrix<T, C, R>& a,
                               const simdgroup_matrix<T, C, R>& b, MSL_EMU_SITE_PARAMS) {
  msl_emu::matrix_product<T> p{&d, &a, &b, nullptr};
  msl_emu::exchange(p, "simdgroup_multiply", MSL_EMU_SITE, msl_emu::complete_matrix_product<T>);
}

} // namespace metal

/* Vector types and a few names are global in MSL too. */
using metal::half;
#define MSL_EMU_GLOBAL_VEC(name)                                                                                       \
  using metal::name##2;                                                                                                \
  using metal::name##3;                                                                                                \
  using metal::name##4;                                                                                                \
  using metal::packed_##name##2;                                                                                       \
  using metal::packed_##name##3;                                                                                       \
  using metal::packed_##name##4;
MSL_EMU_GLOBAL_VEC(float)
MSL_EMU_GLOBAL_VEC(half)
MSL_EMU_GLOBAL_VEC(int)
MSL_EMU_GLOBAL_VEC(uint)
MSL_EMU_GLOBAL_VEC(short)
MSL_EMU_GLOBAL_VEC(ushort)
MSL_EMU_GLOBAL_VEC(char)
MSL_EMU_GLOBAL_VEC(uchar)
MSL_EMU_GLOBAL_VEC(long)
MSL_EMU_GLOBAL_VEC(ulong)
MSL_EMU_GLOBAL_VEC(bool)
#undef MSL_EMU_GLOBAL_VEC

/* 1.0h: a half literal */
constexpr metal::half operator""h(long double v) { return metal::half(float(v)); }

/* Threadgroup memory declared in a kernel body. `threadgroup` is also a
 * pointer qualifier, so the shim cannot give `threadgroup float tile[256];`
 * its meaning; write SS_THREADGROUP_ARRAY(float, tile, 256) instead (under
 * Metal the same macro is `threadgroup float tile[256]`). One instance per
 * threadgroup, shared by its threads, uninitialised (poisoned) like Metal's. */
#define SS_THREADGROUP_ARRAY(T, name, count)                                                                           \
  static const char msl_emu_key_##name = 0;                                                                            \
  threadgroup T(&name)[count] = *static_cast<threadgroup T(*)[count]>(::msl_emu::rt::threadgroup_array(                                        \
      &msl_emu_key_##name, sizeof(T[count]), alignof(T), #name, __FILE__, __LINE__))
#define SS_THREADGROUP_VAR(T, name)                                                                                    \
  static const char msl_emu_key_##name = 0;                                                                            \
  threadgroup T& name = *static_cast<threadgroup T*>(                                                                  \
      ::msl_emu::rt::threadgroup_array(&msl_emu_key_##name, sizeof(T), alignof(T), #name, __FILE__, __LINE__))

/* Binding of kernel parameters by the generated trampolines. */
namespace msl_emu {
template <class T> inline T bind_buffer(void* p) {
  if constexpr (std::is_pointer<T>::value) {
    return static_cast<T>(p);
  } else {
    static_assert(std::is_reference<T>::value, "a [[buffer(i)]] parameter is a pointer or a reference");
    return *static_cast<std::remove_reference_t<T>*>(p);
  }
}
template <class T> inline T bind_position(const uint32_t (&v)[3]) {
  if constexpr (is_vec<T>::value) {
    T r{};
    for (int i = 0; i < T::size; ++i) r[i] = typename T::value_type(v[i]);
    return r;
  } else {
    return T(v[0]);
  }
}
template <class T> inline T bind_position(uint32_t v) {
  static_assert(!is_vec<T>::value, "this position attribute is a scalar");
  return T(v);
}
} // namespace msl_emu

/* Metal has no double: any use in a kernel source fails to compile here, naming the rule.
 * (Unsuffixed literals such as 1.0 are doubles in C++; scripts/gen-metal-emu.ts flags them.) */
#define double msl_emu_error_double_is_not_available_in_Metal

#endif
