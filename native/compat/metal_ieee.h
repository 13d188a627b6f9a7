/* IEEE-exact arithmetic in integers for Metal, where MSL lacks it:
 *  - binary64 (MSL has no double): the ss_f64 vocabulary of compat/cuda.h
 *    (there the hardware's double) with the same results bit for bit: add,
 *    subtract and multiply rounded to nearest even, conversion from float
 *    exact and to float rounded to nearest even, NaN and infinities as IEEE
 *    says, subnormals included. Tens of integer operations each: for the few
 *    values a float32 pass cannot decide, e.g. re-ranking close candidates
 *    the way the CPU's float64 sums rank them (float_match_gpu.h);
 *  - float division and square root correctly rounded (ss_div_rn, ss_sqrt_rn).
 * Included by compat/metal.h; tested against the CPU's IEEE results. */
#ifndef SS_COMPAT_METAL_IEEE_H
#define SS_COMPAT_METAL_IEEE_H

struct ss_f64 {
  ulong bits;
};

#define SS_F64_SIGN 0x8000000000000000ul
#define SS_F64_FRAC 0x000ffffffffffffful
#define SS_F64_HIDDEN 0x0010000000000000ul

ss_device_inline ss_f64 ss_f64_from_bits(ulong b) {
  ss_f64 r;
  r.bits = b;
  return r;
}
ss_device_inline ulong ss_f64_bits(ss_f64 a) { return a.bits; }
ss_device_inline ss_f64 ss_f64_inf() { return ss_f64_from_bits(0x7ff0000000000000ul); }
ss_device_inline ss_f64 ss_f64_neg(ss_f64 a) { return ss_f64_from_bits(a.bits ^ SS_F64_SIGN); }
ss_device_inline bool ss_f64_isnan(ss_f64 a) { return (a.bits & ~SS_F64_SIGN) > 0x7ff0000000000000ul; }
ss_device_inline bool ss_f64_isfinite(ss_f64 a) { return (a.bits & 0x7ff0000000000000ul) != 0x7ff0000000000000ul; }

ss_device_inline uint ss_f64_clz64(ulong v) {
  uint hi = (uint)(v >> 32);
  return hi != 0u ? (uint)clz(hi) : 32u + (uint)clz((uint)v);
}

/* a < b as IEEE compares (false with a NaN; −0 equals +0) */
ss_device_inline bool ss_f64_lt(ss_f64 a, ss_f64 b) {
  if (ss_f64_isnan(a) || ss_f64_isnan(b)) return false;
  if (((a.bits | b.bits) & ~SS_F64_SIGN) == 0ul) return false;
  /* sign-magnitude → an order on unsigned keys */
  ulong ka = (a.bits & SS_F64_SIGN) != 0ul ? ~a.bits : a.bits | SS_F64_SIGN;
  ulong kb = (b.bits & SS_F64_SIGN) != 0ul ? ~b.bits : b.bits | SS_F64_SIGN;
  return ka < kb;
}
ss_device_inline bool ss_f64_le(ss_f64 a, ss_f64 b) { return !(ss_f64_isnan(a) || ss_f64_isnan(b)) && !ss_f64_lt(b, a); }

ss_device_inline ss_f64 ss_f64_from_f32(float f) {
  uint u = as_type<uint>(f);
  ulong sign = (ulong)(u >> 31) << 63;
  uint e = (u >> 23) & 0xffu, m = u & 0x7fffffu;
  if (e == 0xffu) return ss_f64_from_bits(sign | 0x7ff0000000000000ul | ((ulong)m << 29));
  if (e == 0u) {
    if (m == 0u) return ss_f64_from_bits(sign);
    /* subnormal float: normal as a double */
    uint s = (uint)clz(m) - 8u; /* shifts the leading 1 to bit 23 */
    m = (m << s) & 0x7fffffu;
    return ss_f64_from_bits(sign | ((ulong)(1023 - 126 - (int)s) << 52) | ((ulong)m << 29));
  }
  return ss_f64_from_bits(sign | ((ulong)(e + 896u) << 52) | ((ulong)m << 29));
}

/* m: significand with its leading 1 at bit 55 (3 guard bits below bit 52) or less when e == 1
 * (subnormal); e: biased exponent ≥ 1 of bit 55. Rounds to nearest even and packs. */
ss_device_inline ss_f64 ss_f64_round_pack(ulong sign, int e, ulong m) {
  ulong grs = m & 7ul;
  m >>= 3;
  if (grs > 4ul || (grs == 4ul && (m & 1ul) != 0ul)) m += 1ul;
  if (m >= (SS_F64_HIDDEN << 1)) {
    m >>= 1;
    e += 1;
  }
  if (e >= 0x7ff) return ss_f64_from_bits(sign | 0x7ff0000000000000ul);
  /* a subnormal that rounded up to 2^-1022 gets its hidden bit here, and the exponent 1 with it */
  ulong ef = (m & SS_F64_HIDDEN) != 0ul ? (ulong)e : 0ul;
  return ss_f64_from_bits(sign | (ef << 52) | (m & SS_F64_FRAC));
}

/* shifts right by s, ORing what falls off into bit 0 (sticky) */
ss_device_inline ulong ss_f64_shift_sticky(ulong m, uint s) {
  if (s == 0u) return m;
  if (s >= 64u) return m != 0ul ? 1ul : 0ul;
  return (m >> s) | (((m << (64u - s)) != 0ul) ? 1ul : 0ul);
}

ss_device_inline ss_f64 ss_f64_add(ss_f64 a, ss_f64 b) {
  if (ss_f64_isnan(a)) return ss_f64_from_bits(a.bits | 0x0008000000000000ul);
  if (ss_f64_isnan(b)) return ss_f64_from_bits(b.bits | 0x0008000000000000ul);
  ulong sa = a.bits & SS_F64_SIGN, sb = b.bits & SS_F64_SIGN;
  int ea = (int)((a.bits >> 52) & 0x7fful), eb = (int)((b.bits >> 52) & 0x7fful);
  if (ea == 0x7ff) return (eb == 0x7ff && sa != sb) ? ss_f64_from_bits(0x7ff8000000000000ul) : a;
  if (eb == 0x7ff) return b;
  ulong ma = a.bits & SS_F64_FRAC, mb = b.bits & SS_F64_FRAC;
  if (ea == 0 && ma == 0ul) return (eb == 0 && mb == 0ul) ? ss_f64_from_bits(sa & sb) : b;
  if (eb == 0 && mb == 0ul) return a;
  if (ea != 0) ma |= SS_F64_HIDDEN; else ea = 1;
  if (eb != 0) mb |= SS_F64_HIDDEN; else eb = 1;
  ma <<= 3;
  mb <<= 3;
  /* |a| ≥ |b| */
  if (eb > ea || (eb == ea && mb > ma)) {
    ulong tm = ma; ma = mb; mb = tm;
    int te = ea; ea = eb; eb = te;
    ulong ts = sa; sa = sb; sb = ts;
  }
  mb = ss_f64_shift_sticky(mb, (uint)(ea - eb));
  ulong m;
  int e = ea;
  if (sa == sb) {
    m = ma + mb;
    if (m >= (SS_F64_HIDDEN << 4)) {
      m = (m >> 1) | (m & 1ul);
      e += 1;
    }
  } else {
    m = ma - mb;
    if (m == 0ul) return ss_f64_from_bits(0ul); /* x − x = +0 when rounding to nearest */
    /* leading 1 back to bit 55, no further than the subnormal exponent */
    int s = (int)ss_f64_clz64(m) - 8;
    if (s > e - 1) s = e - 1;
    if (s > 0) {
      m <<= (uint)s;
      e -= s;
    }
  }
  return ss_f64_round_pack(sa, e, m);
}

ss_device_inline ss_f64 ss_f64_sub(ss_f64 a, ss_f64 b) { return ss_f64_add(a, ss_f64_neg(b)); }

ss_device_inline ss_f64 ss_f64_mul(ss_f64 a, ss_f64 b) {
  if (ss_f64_isnan(a)) return ss_f64_from_bits(a.bits | 0x0008000000000000ul);
  if (ss_f64_isnan(b)) return ss_f64_from_bits(b.bits | 0x0008000000000000ul);
  ulong sign = (a.bits ^ b.bits) & SS_F64_SIGN;
  int ea = (int)((a.bits >> 52) & 0x7fful), eb = (int)((b.bits >> 52) & 0x7fful);
  ulong ma = a.bits & SS_F64_FRAC, mb = b.bits & SS_F64_FRAC;
  bool za = ea == 0 && ma == 0ul, zb = eb == 0 && mb == 0ul;
  if (ea == 0x7ff || eb == 0x7ff) return (za || zb) ? ss_f64_from_bits(0x7ff8000000000000ul) : ss_f64_from_bits(sign | 0x7ff0000000000000ul);
  if (za || zb) return ss_f64_from_bits(sign);
  /* significands with the leading 1 at bit 52, subnormals normalised (exponent below 1) */
  if (ea != 0) ma |= SS_F64_HIDDEN;
  else {
    int s = (int)ss_f64_clz64(ma) - 11;
    ma <<= (uint)s;
    ea = 1 - s;
  }
  if (eb != 0) mb |= SS_F64_HIDDEN;
  else {
    int s = (int)ss_f64_clz64(mb) - 11;
    mb <<= (uint)s;
    eb = 1 - s;
  }
  /* the 106-bit product hi:lo from 32-bit halves */
  ulong a0 = ma & 0xfffffffful, a1 = ma >> 32, b0 = mb & 0xfffffffful, b1 = mb >> 32;
  ulong p00 = a0 * b0, mid = a1 * b0 + a0 * b1, p11 = a1 * b1;
  ulong lo = p00 + (mid << 32);
  ulong hi = p11 + (mid >> 32) + (lo < p00 ? 1ul : 0ul);
  /* product in [2^104, 2^106): its leading 1 to bit 55 of m, the rest sticky */
  int e = ea + eb - 1023;
  ulong m;
  if ((hi >> 41) != 0ul) { /* bit 105 */
    m = (hi << 14) | (lo >> 50) | ((lo & 0x3fffffffffffful) != 0ul ? 1ul : 0ul);
    e += 1;
  } else {
    m = (hi << 15) | (lo >> 49) | ((lo & 0x1fffffffffffful) != 0ul ? 1ul : 0ul);
  }
  if (e >= 0x7ff) return ss_f64_from_bits(sign | 0x7ff0000000000000ul);
  if (e < 1) {
    /* subnormal (or zero) result: shift to the exponent 1, keeping the sticky bit */
    m = ss_f64_shift_sticky(m, (uint)(1 - e));
    e = 1;
  }
  return ss_f64_round_pack(sign, e, m);
}

/* rounded to the nearest float, ties to even (subnormal floats and overflow to infinity included) */
ss_device_inline float ss_f64_to_f32(ss_f64 a) {
  uint sign = (uint)(a.bits >> 63) << 31;
  int e = (int)((a.bits >> 52) & 0x7fful);
  ulong m = a.bits & SS_F64_FRAC;
  if (e == 0x7ff) return as_type<float>(sign | 0x7f800000u | (m != 0ul ? 0x400000u | (uint)(m >> 29) : 0u));
  if (e == 0) return as_type<float>(sign); /* double subnormals are far below the smallest float */
  m |= SS_F64_HIDDEN;
  int ef = e - 1023 + 127;
  /* 29 bits drop for a normal float, more below its range */
  uint drop = ef >= 1 ? 29u : (uint)(29 + 1 - ef);
  if (drop > 60u) return as_type<float>(sign);
  ulong r = m >> drop, rem = m & ((1ul << drop) - 1ul), half = 1ul << (drop - 1u);
  if (rem > half || (rem == half && (r & 1ul) != 0ul)) r += 1ul;
  if (ef < 1) return as_type<float>(sign | (uint)r); /* subnormal, or the smallest normal when it rounded up */
  if (r >= (1ul << 24)) {
    r >>= 1;
    ef += 1;
  }
  if (ef >= 255) return as_type<float>(sign | 0x7f800000u);
  return as_type<float>(sign | ((uint)ef << 23) | ((uint)r & 0x7fffffu));
}

/* ---- float division and square root rounded to nearest even, in integers: MSL documents neither as
 * correctly rounded, and ORB turns their results into integers (pixels, orientation bins). For finite
 * operands with normal results (ORB's ratios of image sizes and unit vectors of integer moments). */

/* significand (24 bits, hidden bit set) and unbiased exponent of a normal float */
ss_device_inline uint ss_f32_significand(float f) { return (as_type<uint>(f) & 0x7fffffu) | 0x800000u; }
ss_device_inline int ss_f32_exponent(float f) { return (int)((as_type<uint>(f) >> 23) & 0xffu) - 127; }

/* q: 24..25+ significant bits with `extra` bits below the 24 kept, sticky: a nonzero remainder; e: exponent of bit 23 */
ss_device_inline float ss_f32_round_pack(uint sign, ulong q, uint extra, bool sticky, int e) {
  ulong keep = q >> extra, rest = q & ((1ul << extra) - 1ul), half = 1ul << (extra - 1u);
  if (rest > half || (rest == half && (sticky || (keep & 1ul) != 0ul))) keep += 1ul;
  if (keep >= (1ul << 24)) {
    keep >>= 1;
    e += 1;
  }
  return as_type<float>(sign | ((uint)(e + 127) << 23) | ((uint)keep & 0x7fffffu));
}

ss_device_inline float ss_div_rn(float x, float y) {
  uint sign = (as_type<uint>(x) ^ as_type<uint>(y)) & 0x80000000u;
  if ((as_type<uint>(x) & 0x7fffffffu) == 0u) return as_type<float>(sign);
  /* mx / my in (½, 2): 26 or 27 bits of quotient over 24 kept */
  ulong num = (ulong)ss_f32_significand(x) << 26, den = (ulong)ss_f32_significand(y);
  ulong q = num / den;
  bool sticky = num - q * den != 0ul;
  int e = ss_f32_exponent(x) - ss_f32_exponent(y);
  if (q >= (1ul << 26)) return ss_f32_round_pack(sign, q, 3u, sticky, e);
  return ss_f32_round_pack(sign, q, 2u, sticky, e - 1);
}

ss_device_inline float ss_sqrt_rn(float x) {
  if (x == 0.0f) return x;
  ulong m = ss_f32_significand(x);
  int e = ss_f32_exponent(x) - 23; /* x = m · 2^e */
  if ((e & 1) != 0) {
    m <<= 1;
    e -= 1;
  }
  /* r = ⌊√(m · 2²⁶)⌋: 25 or 26 bits; a float estimate, then exact integer steps */
  ulong n = m << 26;
  ulong r = (ulong)sqrt((float)n);
  while (r * r > n) r -= 1ul;
  while ((r + 1ul) * (r + 1ul) <= n) r += 1ul;
  bool sticky = r * r != n;
  /* √x = r · 2^(e/2 − 13) */
  if (r >= (1ul << 25)) return ss_f32_round_pack(0u, r, 2u, sticky, e / 2 - 13 + 25);
  return ss_f32_round_pack(0u, r, 1u, sticky, e / 2 - 13 + 24);
}

#endif
