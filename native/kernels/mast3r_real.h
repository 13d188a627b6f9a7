/* The wide scalar of the MASt3R geometry bodies (triangulation, matches_to_depths,
 * TSDF refinement): float64 on the CPU and CUDA, a float-float pair (hi + lo,
 * ~48 bits) on Metal, which has no double. The bodies are written once over
 * mast3r_real with these operations, so the CPU's code and results are what
 * they were with plain double. Literals stay float-suffixed (exact in both)
 * because the Metal sources may not hold a double literal anywhere.
 *
 * Also the exact re-rank score of the nearest-neighbour kernels (mast3r_x64):
 * a float64 sum of float32 products in index order, as IEEE binary64 bits —
 * computed with double where there is one and with integer arithmetic on
 * Metal, bit for bit the same (see mast3r_x64_add). */
#ifndef SS_KERNEL_MAST3R_REAL_H
#define SS_KERNEL_MAST3R_REAL_H

#if defined(SS_BACKEND_METAL_COMPILE)

/* ---- float-float (Dekker/Knuth error-free transforms; fma gives exact products) ---- */
struct mast3r_real {
  float hi, lo;
};

ss_device_inline mast3r_real m3r(float x) {
  mast3r_real r;
  r.hi = x;
  r.lo = 0.0f;
  return r;
}
ss_device_inline mast3r_real m3r_fast_two_sum(float a, float b) {
  mast3r_real r;
  r.hi = a + b;
  r.lo = b - (r.hi - a);
  return r;
}
ss_device_inline mast3r_real m3r_two_sum(float a, float b) {
  mast3r_real r;
  r.hi = a + b;
  float bb = r.hi - a;
  r.lo = (a - (r.hi - bb)) + (b - bb);
  return r;
}
ss_device_inline mast3r_real operator+(mast3r_real x, mast3r_real y) {
  mast3r_real s = m3r_two_sum(x.hi, y.hi);
  mast3r_real t = m3r_two_sum(x.lo, y.lo);
  s = m3r_fast_two_sum(s.hi, s.lo + t.hi);
  return m3r_fast_two_sum(s.hi, s.lo + t.lo);
}
ss_device_inline mast3r_real operator-(mast3r_real x) {
  mast3r_real r;
  r.hi = -x.hi;
  r.lo = -x.lo;
  return r;
}
ss_device_inline mast3r_real operator-(mast3r_real x, mast3r_real y) { return x + (-y); }
ss_device_inline mast3r_real operator*(mast3r_real x, mast3r_real y) {
  float p = x.hi * y.hi;
  float e = fma(x.hi, y.hi, -p);
  e = fma(x.hi, y.lo, e);
  e = fma(x.lo, y.hi, e);
  return m3r_fast_two_sum(p, e);
}
ss_device_inline mast3r_real operator/(mast3r_real x, mast3r_real y) {
  float q1 = x.hi / y.hi;
  mast3r_real r = x - m3r(q1) * y;
  float q2 = r.hi / y.hi;
  r = r - m3r(q2) * y;
  float q3 = r.hi / y.hi;
  return m3r_fast_two_sum(q1, q2) + m3r(q3);
}
ss_device_inline mast3r_real operator+(mast3r_real x, float y) { return x + m3r(y); }
ss_device_inline mast3r_real operator+(float x, mast3r_real y) { return m3r(x) + y; }
ss_device_inline mast3r_real operator-(mast3r_real x, float y) { return x - m3r(y); }
ss_device_inline mast3r_real operator-(float x, mast3r_real y) { return m3r(x) - y; }
ss_device_inline mast3r_real operator*(mast3r_real x, float y) { return x * m3r(y); }
ss_device_inline mast3r_real operator*(float x, mast3r_real y) { return m3r(x) * y; }
ss_device_inline mast3r_real operator/(mast3r_real x, float y) { return x / m3r(y); }
ss_device_inline mast3r_real operator/(float x, mast3r_real y) { return m3r(x) / y; }
/* normalised pairs order by hi, then lo */
ss_device_inline bool operator<(mast3r_real x, mast3r_real y) { return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo); }
ss_device_inline bool operator>(mast3r_real x, mast3r_real y) { return y < x; }
ss_device_inline bool operator<=(mast3r_real x, mast3r_real y) { return x.hi < y.hi || (x.hi == y.hi && x.lo <= y.lo); }
ss_device_inline bool operator>=(mast3r_real x, mast3r_real y) { return y <= x; }
ss_device_inline bool operator==(mast3r_real x, mast3r_real y) { return x.hi == y.hi && x.lo == y.lo; }
ss_device_inline bool operator!=(mast3r_real x, mast3r_real y) { return !(x == y); }
ss_device_inline bool operator<(mast3r_real x, float y) { return x < m3r(y); }
ss_device_inline bool operator>(mast3r_real x, float y) { return x > m3r(y); }
ss_device_inline bool operator<=(mast3r_real x, float y) { return x <= m3r(y); }
ss_device_inline bool operator>=(mast3r_real x, float y) { return x >= m3r(y); }
ss_device_inline bool operator==(mast3r_real x, float y) { return x == m3r(y); }
ss_device_inline bool operator!=(mast3r_real x, float y) { return x != m3r(y); }

/* nearest float (hi, unless the pair is not finite: then hi alone says what it is) */
ss_device_inline float m3r_to_float(mast3r_real x) { return isfinite(x.hi) ? x.hi + x.lo : x.hi; }
ss_device_inline bool m3r_finite(mast3r_real x) { return isfinite(x.hi) && isfinite(x.lo); }
ss_device_inline mast3r_real m3r_sqrt(mast3r_real x) {
  if (!(x.hi > 0.0f)) return m3r(sqrt(x.hi));
  float q = sqrt(x.hi);
  float p = q * q;
  mast3r_real r = x - m3r_fast_two_sum(p, fma(q, q, -p));
  return m3r_fast_two_sum(q, r.hi / (2.0f * q));
}
/* round half to even of a value of modest size (pixel coordinates): |lo| ≤ ulp(hi)/2,
 * so only a hi exactly halfway needs lo's sign */
ss_device_inline mast3r_real m3r_rint(mast3r_real x) {
  if (!(fabs(x.hi) < 4194304.0f)) return m3r(x.hi);
  float f = floor(x.hi);
  float frac = x.hi - f;
  float r;
  if (frac > 0.5f) r = f + 1.0f;
  else if (frac < 0.5f) r = f;
  else if (x.lo > 0.0f) r = f + 1.0f;
  else if (x.lo < 0.0f) r = f;
  else r = rint(x.hi);
  return m3r(r);
}
/* of an integral value (m3r_rint's) */
ss_device_inline int32_t m3r_to_int(mast3r_real x) { return (int32_t)x.hi; }
/* e^x of a float (TSDF weights: exp of a confidence) */
ss_device_inline mast3r_real m3r_exp_f(float x) { return m3r(exp(x)); }

/* N(0,1) by Box–Muller in float from Philox words w0, w1 (the CPU does it in
 * float64: samples agree to float rounding, far below what moves a result) */
ss_device_inline mast3r_real m3r_box_muller(uint32_t w0, uint32_t w1, bool odd) {
  float u1 = ((float)w0 + 1.0f) * 2.3283064365386963e-10f;
  float u2 = (float)w1 * 2.3283064365386963e-10f;
  float r = sqrt(-2.0f * log(u1));
  float th = 6.2831853071795865f * u2;
  return m3r(odd ? r * sin(th) : r * cos(th));
}

/* ---- float64 bits from integers: IEEE round-to-nearest-even of acc + (±x·y·2^scale) ---- */
typedef ulong mast3r_x64;

/* leading zeros of a 64-bit value (v != 0), from 32-bit clz */
ss_device_inline int32_t m3x_clz(ulong v) {
  uint32_t h = (uint32_t)(v >> 32);
  return h ? (int32_t)clz(h) : 32 + (int32_t)clz((uint32_t)v);
}

/* value = (-1)^neg · m · 2^e with m < 2^53 (0 for zero) → binary64 bits (no subnormal or
 * overflow can arise: float32 products lie within [2^-298, 2^257]) */
ss_device_inline mast3r_x64 m3x_pack(uint32_t neg, ulong m, int32_t e) {
  if (m == 0ul) return 0ul;
  return ((ulong)neg << 63) | ((ulong)(uint32_t)(e + 1075) << 52) | (m & 0xFFFFFFFFFFFFFul);
}

/* acc + (neg ? −1 : 1)·x·y·2^scale, rounded once as a float64 add of the exact product
 * (x·y of two float32 values is exact in float64) */
ss_device_inline mast3r_x64 mast3r_x64_add(mast3r_x64 acc, float x, float y, int32_t scale, uint32_t neg) {
  uint32_t bx = as_type<uint32_t>(x), by = as_type<uint32_t>(y);
  uint32_t ex = (bx >> 23) & 0xffu, ey = (by >> 23) & 0xffu;
  ulong mx = ex ? (ulong)((bx & 0x7fffffu) | 0x800000u) : (ulong)(bx & 0x7fffffu);
  ulong my = ey ? (ulong)((by & 0x7fffffu) | 0x800000u) : (ulong)(by & 0x7fffffu);
  ulong mp = mx * my;
  if (mp == 0ul) return acc; /* +0 + ±0 = +0, and a sum is never −0 */
  int32_t ep = (ex ? (int32_t)ex - 150 : -149) + (ey ? (int32_t)ey - 150 : -149) + scale;
  uint32_t sp = ((bx ^ by) >> 31) ^ neg;
  int32_t msb = 63 - m3x_clz(mp);
  mp <<= (uint32_t)(52 - msb);
  ep -= 52 - msb;
  if ((acc << 1) == 0ul) return m3x_pack(sp, mp, ep);
  uint32_t sa = (uint32_t)(acc >> 63);
  ulong ma = (acc & 0xFFFFFFFFFFFFFul) | 0x10000000000000ul;
  int32_t ea = (int32_t)((acc >> 52) & 0x7ffu) - 1075;
  /* larger exponent first; 10 guard bits and a sticky bit, so one rounding at the end is exact */
  uint32_t s1 = sa, s2 = sp;
  ulong m1 = ma, m2 = mp;
  int32_t e1 = ea, e2 = ep;
  if (ep > ea) {
    s1 = sp;
    s2 = sa;
    m1 = mp;
    m2 = ma;
    e1 = ep;
    e2 = ea;
  }
  ulong A = m1 << 10, B = m2 << 10;
  int32_t d = e1 - e2;
  if (d >= 64) B = 1ul;
  else if (d > 0) B = (B >> (uint32_t)d) | ((B & ((1ul << (uint32_t)d) - 1ul)) != 0ul ? 1ul : 0ul);
  int32_t e = e1 - 10;
  ulong R;
  uint32_t s;
  if (s1 == s2) {
    R = A + B;
    s = s1;
  } else if (A >= B) {
    R = A - B;
    s = s1;
  } else {
    R = B - A;
    s = s2;
  }
  if (R == 0ul) return 0ul;
  int32_t top = 63 - m3x_clz(R);
  if (top > 52) {
    uint32_t sh = (uint32_t)(top - 52);
    ulong keep = R >> sh, rem = R & ((1ul << sh) - 1ul), half = 1ul << (sh - 1u);
    if (rem > half || (rem == half && (keep & 1ul) != 0ul)) keep += 1ul;
    if (keep == 0x20000000000000ul) {
      keep >>= 1;
      sh += 1u;
    }
    return m3x_pack(s, keep, e + (int32_t)sh);
  }
  return m3x_pack(s, R << (uint32_t)(52 - top), e - (52 - top));
}

#else /* CPU and CUDA: plain float64 */

typedef double mast3r_real;
ss_device_inline mast3r_real m3r(float x) { return (double)x; }
ss_device_inline float m3r_to_float(mast3r_real x) { return (float)x; }
/* finite without relying on fast-math-sensitive isfinite */
ss_device_inline bool m3r_finite(mast3r_real x) { return x - x == 0.0f; }
ss_device_inline int32_t m3r_to_int(mast3r_real x) { return (int32_t)x; }
#if defined(SS_BACKEND_CPU_COMPILE)
ss_device_inline mast3r_real m3r_sqrt(mast3r_real x) { return std::sqrt(x); }
ss_device_inline mast3r_real m3r_rint(mast3r_real x) { return std::nearbyint(x); }
ss_device_inline mast3r_real m3r_exp_f(float x) { return std::exp((double)x); }
ss_device_inline double m3r_log_d(double x) { return std::log(x); }
ss_device_inline double m3r_cos_d(double x) { return std::cos(x); }
ss_device_inline double m3r_sin_d(double x) { return std::sin(x); }
ss_device_inline double m3r_bits_d(uint64_t b) {
  double d;
  std::memcpy(&d, &b, 8);
  return d;
}
ss_device_inline uint64_t m3r_d_bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}
#else
ss_device_inline mast3r_real m3r_sqrt(mast3r_real x) { return sqrt(x); }
ss_device_inline mast3r_real m3r_rint(mast3r_real x) { return rint(x); }
ss_device_inline mast3r_real m3r_exp_f(float x) { return exp((double)x); }
ss_device_inline double m3r_log_d(double x) { return log(x); }
ss_device_inline double m3r_cos_d(double x) { return cos(x); }
ss_device_inline double m3r_sin_d(double x) { return sin(x); }
ss_device_inline double m3r_bits_d(uint64_t b) { return __longlong_as_double((long long)b); }
ss_device_inline uint64_t m3r_d_bits(double d) { return (uint64_t)__double_as_longlong(d); }
#endif

/* N(0,1) by Box–Muller in float64 from Philox words w0, w1: u1 = (w0 + 1)/2³² ∈ (0, 1], u2 = w1/2³² */
ss_device_inline mast3r_real m3r_box_muller(uint32_t w0, uint32_t w1, bool odd) {
  double u1 = ((double)w0 + 1.0f) * 2.3283064365386963e-10f;
  double u2 = (double)w1 * 2.3283064365386963e-10f;
  double r = m3r_sqrt(-2.0f * m3r_log_d(u1));
  double th = m3r_bits_d(0x401921FB54442D18ull) * u2; /* 2π */
  return odd ? r * m3r_sin_d(th) : r * m3r_cos_d(th);
}

typedef uint64_t mast3r_x64;
/* acc + (neg ? −1 : 1)·x·y·2^scale in float64 (the product is exact, so a fused
 * multiply-add rounds the same) */
ss_device_inline mast3r_x64 mast3r_x64_add(mast3r_x64 acc, float x, float y, int32_t scale, uint32_t neg) {
  double p = (double)x * (double)y;
  if (scale) p *= 2.0f;
  return m3r_d_bits(m3r_bits_d(acc) + (neg ? -p : p));
}

#endif

/* the x64 bits' order as an unsigned key (no NaN, no −0: see mast3r_x64_add) */
ss_device_inline mast3r_x64 mast3r_x64_key(mast3r_x64 v) {
  return (v >> 63) ? ~v : (v | ((mast3r_x64)1 << 63));
}

#endif
