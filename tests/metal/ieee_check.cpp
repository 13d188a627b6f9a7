// native/compat/metal_ieee.h (Metal's float64, and its correctly rounded float division and square root, in
// integers) against this host's IEEE arithmetic, bit for bit, on random and edge inputs. Built and run by
// tests/metal/ieee.test.ts; prints "ok <cases>" or the first differences and exits 1.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

// the few MSL names the header uses
typedef uint64_t ulong;
typedef uint32_t uint;
#define ss_device_inline static inline
template <class T, class U> static T as_type(U u) {
  static_assert(sizeof(T) == sizeof(U), "as_type needs types of the same size");
  T t;
  memcpy(&t, &u, sizeof t);
  return t;
}
static inline uint clz(uint x) { return x ? (uint)__builtin_clz(x) : 32u; }
static inline float sqrt(float x) { return std::sqrt(x); }
#include "../../native/compat/metal_ieee.h"

static long bad = 0, cases = 0;
static void report(const char* what, double a, double b, uint64_t want, uint64_t got) {
  if (bad++ < 10) printf("%s(%a, %a): want %016llx, got %016llx\n", what, a, b, (unsigned long long)want, (unsigned long long)got);
}
static ss_f64 D(double d) { return ss_f64_from_bits(as_type<uint64_t>(d)); }
static uint64_t B(double d) { return std::isnan(d) ? 0x7ff8000000000000ull : as_type<uint64_t>(d); }
static uint64_t N(ss_f64 a) { return ss_f64_isnan(a) ? 0x7ff8000000000000ull : a.bits; }

static void check_pair(double a, double b) {
  ++cases;
  if (B(a + b) != N(ss_f64_add(D(a), D(b)))) report("add", a, b, B(a + b), N(ss_f64_add(D(a), D(b))));
  if (B(a - b) != N(ss_f64_sub(D(a), D(b)))) report("sub", a, b, B(a - b), N(ss_f64_sub(D(a), D(b))));
  if (B(a * b) != N(ss_f64_mul(D(a), D(b)))) report("mul", a, b, B(a * b), N(ss_f64_mul(D(a), D(b))));
  if ((a < b) != ss_f64_lt(D(a), D(b)) || (a <= b) != ss_f64_le(D(a), D(b))) report("compare", a, b, a < b, ss_f64_lt(D(a), D(b)));
  const float f = (float)a, g = ss_f64_to_f32(D(a));
  if (!(std::isnan(f) ? std::isnan(g) : as_type<uint>(f) == as_type<uint>(g))) report("to_f32", a, 0, as_type<uint>(f), as_type<uint>(g));
}

static void check_float(float x, float y) {
  ++cases;
  const double xd = x;
  if (B(xd) != N(ss_f64_from_f32(x))) report("from_f32", x, 0, B(xd), N(ss_f64_from_f32(x)));
  const float q = x / y, ax = std::fabs(x);
  /* the domain: finite operands with normal (or zero) results */
  if (std::isfinite(x) && std::isfinite(y) && std::fabs(y) >= 1.17549435e-38f && std::isfinite(q) &&
      (x == 0.0f || (std::fabs(x) >= 1.17549435e-38f && std::fabs(q) > 1.17549435e-38f)))
    if (as_type<uint>(q) != as_type<uint>(ss_div_rn(x, y))) report("div_rn", x, y, as_type<uint>(q), as_type<uint>(ss_div_rn(x, y)));
  if (std::isfinite(ax) && ax >= 1.17549435e-38f && as_type<uint>(std::sqrt(ax)) != as_type<uint>(ss_sqrt_rn(ax)))
    report("sqrt_rn", ax, 0, as_type<uint>(std::sqrt(ax)), as_type<uint>(ss_sqrt_rn(ax)));
}

int main(int argc, char** argv) {
  const long n = argc > 1 ? atol(argv[1]) : 2000000;
  std::mt19937_64 g(12345);
  auto pick = [&](int mode) -> double {
    switch (mode) {
      case 0: return as_type<double>((uint64_t)g());                                            /* any bits: NaN, ∞, subnormals */
      case 1: return std::ldexp((double)(g() >> 11), (int)(g() % 240) - 170) * ((g() & 1) ? -1 : 1); /* a wide range */
      case 2: return (double)(int)(g() % 2001 - 1000) / 64.0;                                    /* exact sums, ties */
      case 3: return as_type<double>((g() & 0x800fffffffffffffull) | ((uint64_t)(g() % 3) << 52)); /* subnormal, tiny */
      default: {                                                                                   /* 2^k ± half an ulp */
        const double p = std::ldexp(1.0, (int)(g() % 60) - 30);
        return ((g() & 1) ? p : -p) + std::ldexp(1.0, (int)(g() % 60) - 83);
      }
    }
  };
  for (long it = 0; it < n; ++it) {
    check_pair(pick((int)(it % 5)), pick((int)((it / 5) % 5)));
    /* doubles halfway between two floats (and their neighbours), for to_f32's ties */
    const float f = as_type<float>((uint)g() & 0x7f7fffffu), nf = std::nextafter(f, INFINITY);
    const double mid = ((double)f + (double)nf) / 2;
    check_pair(mid, std::nextafter(mid, 0.0));
    check_pair(-mid, std::nextafter(mid, 1e300));
    /* floats: random bits, small integers (ORB's moments and image sizes) */
    check_float(as_type<float>((uint)g()), as_type<float>((uint)g()));
    check_float((float)(int)(g() % 33554432) - 16777216.0f, (float)(int)(g() % 16777216 + 1));
  }
  const double special[] = {0.0, -0.0, INFINITY, -INFINITY, NAN, 1.0, -1.0, 0x1p-1074, 0x1p1023};
  for (double a : special)
    for (double b : special) check_pair(a, b);
  if (bad) {
    printf("%ld of %ld cases differ\n", bad, cases);
    return 1;
  }
  printf("ok %ld\n", cases);
  return 0;
}
