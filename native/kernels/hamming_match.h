/* Hamming distances of binary descriptors (uint32 words), portable popcount */
#ifndef SS_KERNEL_HAMMING_MATCH_H
#define SS_KERNEL_HAMMING_MATCH_H

/* SWAR popcount (Hacker's Delight 5-2): compilers turn it into popcnt where there is one */
ss_device_inline uint32_t ss_popcount32(uint32_t v) {
  v = v - ((v >> 1) & 0x55555555u);
  v = (v & 0x33333333u) + ((v >> 2) & 0x33333333u);
  v = (v + (v >> 4)) & 0x0f0f0f0fu;
  return (v * 0x01010101u) >> 24;
}

ss_device_inline uint32_t hamming_distance(ss_global const uint32_t* a, ss_global const uint32_t* b, uint32_t words) {
  uint32_t d = 0u;
  for (uint32_t k = 0; k < words; ++k) d += ss_popcount32(a[k] ^ b[k]);
  return d;
}

#endif
