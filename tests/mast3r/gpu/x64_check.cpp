/* mast3r_x64_add as Metal computes it (64-bit integers: MSL has no double), compiled here
 * through the MSL emulator's shim, held to this host's float64 bit for bit: sums in index order
 * of ±x·y·2^s over float32 inputs of every kind (normal, subnormal, tiny and huge exponents,
 * exact cancellations), and the order of mast3r_x64_key. Prints "ok <terms>". */
#include "msl_shim.h"
#undef double
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>

namespace m3 {
using namespace metal;
#define SS_BACKEND_METAL_COMPILE 1
#define ss_device_inline static inline
#include "mast3r_real.h"
}  // namespace m3

static uint64_t bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

int main(int argc, char** argv) {
  const long trials = argc > 1 ? std::atol(argv[1]) : 100000;
  std::mt19937_64 rng(1);
  long terms = 0;
  for (long trial = 0; trial < trials; ++trial) {
    const int dim = 1 + (int)(rng() % 32), mode = (int)(rng() % 4);
    uint64_t acc = 0;
    double ref = 0.0;
    for (int k = 0; k < dim; ++k) {
      float x, y;
      if (mode == 0) {
        std::normal_distribution<float> nd;
        x = nd(rng);
        y = nd(rng);
      } else if (mode == 1) { /* any finite bit pattern, subnormals included */
        uint32_t a = (uint32_t)rng(), b = (uint32_t)rng();
        std::memcpy(&x, &a, 4);
        std::memcpy(&y, &b, 4);
        if (!std::isfinite(x)) x = 1.5f;
        if (!std::isfinite(y)) y = -2.5f;
      } else if (mode == 2) { /* few distinct values: exact cancellations and ties */
        x = (float)((int)(rng() % 9) - 4) * 0.125f;
        y = (float)((int)(rng() % 9) - 4) * 0.25f;
      } else {
        std::uniform_real_distribution<float> u(-1, 1);
        x = u(rng) * std::ldexp(1.0f, (int)(rng() % 40) - 20);
        y = u(rng) * std::ldexp(1.0f, (int)(rng() % 40) - 20);
      }
      const int scale = (int)(rng() % 2);
      const unsigned neg = (unsigned)(rng() % 2);
      double p = (double)x * (double)y;
      if (scale) p *= 2.0;
      ref += neg ? -p : p;
      acc = m3::mast3r_x64_add(acc, x, y, scale, neg);
      ++terms;
      if (acc != bits(ref) && !(ref == 0.0 && acc == 0)) {
        std::printf("mismatch: mode %d, float64 %.17g (%016llx), integers %016llx\n", mode, ref, (unsigned long long)bits(ref),
                    (unsigned long long)acc);
        return 1;
      }
    }
  }
  std::normal_distribution<double> nd;
  for (int t = 0; t < 100000; ++t) {
    double a = nd(rng), b = nd(rng);
    if ((m3::mast3r_x64_key(bits(a)) < m3::mast3r_x64_key(bits(b))) != (a < b)) {
      std::printf("key order differs for %.17g, %.17g\n", a, b);
      return 1;
    }
  }
  std::printf("ok %ld\n", terms);
  return 0;
}
