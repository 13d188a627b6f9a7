/* voxel-block volume layout shared by the TSDF kernels and src/fusion/blockHash.ts */
#ifndef SS_KERNEL_TSDF_COMMON_H
#define SS_KERNEL_TSDF_COMMON_H

#define SS_BLOCK_DIM 8
#define SS_BLOCK_VOXELS 512
/* a block is 1536 floats: tsdf[512], weight[512], rgba8[512] (see scanstream.h) */
#define SS_BLOCK_FLOATS 1536

/* A voxel reference is slot·512 + voxel index (int32; −1 = none). */
ss_device_inline ss_global float* ss_block_base(ss_global float* pool, int32_t slot) {
  return pool + (uint64_t)slot * SS_BLOCK_FLOATS;
}
ss_device_inline float ss_vox_tsdf(ss_global const float* pool, int32_t ref) {
  return pool[(uint64_t)(ref >> 9) * SS_BLOCK_FLOATS + (uint32_t)(ref & 511)];
}
ss_device_inline float ss_vox_weight(ss_global const float* pool, int32_t ref) {
  return pool[(uint64_t)(ref >> 9) * SS_BLOCK_FLOATS + SS_BLOCK_VOXELS + (uint32_t)(ref & 511)];
}
/* channel k (0 r, 1 g, 2 b) of the voxel colour */
/* the rgba bytes of voxel ref = slot·512 + voxel */
ss_device_inline ss_global const uint8_t* ss_vox_rgba(ss_global const float* pool, int32_t ref) {
  return (ss_global const uint8_t*)(pool + (uint64_t)(ref >> 9) * SS_BLOCK_FLOATS + 2 * SS_BLOCK_VOXELS) + 4 * (uint32_t)(ref & 511);
}

ss_device_inline uint8_t ss_vox_rgb(ss_global const float* pool, int32_t ref, uint32_t k) { return ss_vox_rgba(pool, ref)[k]; }

/* Teschner et al. 2003 spatial hash; TypeScript computes the same with Math.imul */
ss_device_inline uint32_t ss_block_hash(int32_t x, int32_t y, int32_t z) {
  return ((uint32_t)x * 73856093u) ^ ((uint32_t)y * 19349669u) ^ ((uint32_t)z * 83492791u);
}

/* slot of block (x,y,z), or -1 */
ss_device_inline int32_t ss_hash_find(ss_global const int32_t* hash, uint32_t mask, int32_t x, int32_t y, int32_t z) {
  uint32_t h = ss_block_hash(x, y, z) & mask;
  for (uint32_t probe = 0; probe <= mask; ++probe) {
    ss_global const int32_t* e = hash + 4 * ((h + probe) & mask);
    int32_t slot = e[3];
    if (slot == -1) return -1;
    if (slot >= 0 && e[0] == x && e[1] == y && e[2] == z) return slot;
  }
  return -1;
}

/* entry i of a scatter list, int32 {index, bx, by, bz, slot}, into the hash (index already checked <= mask) */
ss_device_inline void tsdf_hash_scatter_entry(uint32_t i, ss_global const int32_t* entries, ss_global int32_t* hash) {
  ss_global const int32_t* e = entries + 5 * i;
  ss_global int32_t* h = hash + 4 * (uint32_t)e[0];
  h[0] = e[1];
  h[1] = e[2];
  h[2] = e[3];
  h[3] = e[4];
}

/* slot of listed block i ({bx, by, bz} rows), or -1 */
ss_device_inline int32_t tsdf_hash_lookup_entry(uint32_t i, uint32_t mask, ss_global const int32_t* hash, ss_global const int32_t* coords) {
  return ss_hash_find(hash, mask, coords[3 * i], coords[3 * i + 1], coords[3 * i + 2]);
}

ss_device_inline int32_t ss_floor_div8(int32_t v) { return v >= 0 ? v / 8 : -((-v + 7) / 8); }

#ifndef SS_BACKEND_METAL_COMPILE
/* 64-bit key of a block for the CPU's and CUDA's touched-block set; 0 is the empty marker
 * (Metal has a 32-bit set: tsdf_touched_gpu.h) */
ss_device_inline uint64_t ss_block_key(int32_t x, int32_t y, int32_t z) {
  return ((uint64_t)(uint32_t)(x + (1 << 20)) << 42) | ((uint64_t)(uint32_t)(y + (1 << 20)) << 21) |
         (uint64_t)(uint32_t)(z + (1 << 20));
}
ss_device_inline int32_t ss_block_key_x(uint64_t k) { return (int32_t)((k >> 42) & 0x1fffff) - (1 << 20); }
ss_device_inline int32_t ss_block_key_y(uint64_t k) { return (int32_t)((k >> 21) & 0x1fffff) - (1 << 20); }
ss_device_inline int32_t ss_block_key_z(uint64_t k) { return (int32_t)(k & 0x1fffff) - (1 << 20); }
ss_device_inline uint32_t ss_key_hash(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return (uint32_t)k;
}

#endif

#endif
