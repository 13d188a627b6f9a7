/* scanstream C ABI — every backend library exports exactly this: the CPU
 * (libscanstream_cpu, the reference), CUDA (libscanstream_cuda) and, for Apple
 * GPUs, Metal (ScanKit, Swift) with its CPU-run emulator (metal-emu).
 *
 * Rules (see DESIGN.md §3): prefix ss_, sized integer types, opaque handles,
 * ss_status returns with the message in ss_last_error(ctx). Argument structs
 * hold only 4-byte scalars and arrays of them, so their layout is the same in
 * C, CUDA, Metal and the TypeScript DataView that fills them; ss_args_sizeof()
 * lets the FFI facade check that at load time.
 *
 * Every kernel is listed once, in SS_KERNEL_TABLE at the end of this file: its
 * name, its args struct ss_<name>_args and its buffers with which ones it
 * writes. Declarations, ss_args_sizeof, ss_kernel_supported, each backend's
 * answers for kernels it lacks, the TypeScript symbol table and args layouts
 * (src/native/abi.generated.ts) all come from that table.
 *
 * Backends may be partial: ss_kernel_supported(ctx, name) says whether this
 * backend runs a kernel; one it lacks answers SS_ERR_UNSUPPORTED, and the
 * TypeScript facade runs it on a CPU context instead (over the same memory
 * where ss_context_unified_memory says it is shared; download → CPU → upload
 * otherwise).
 *
 * Buffers: ss_buffer_host_ptr() is host-visible memory. On the CPU and Metal
 * (unified memory) kernels read it directly and upload/download are no-ops; on
 * CUDA it is a pinned mirror of device memory and upload/download copy ranges.
 * Kernels read the device copy: upload inputs before a call, download outputs
 * after it. Matrices are row-major.
 */
#ifndef SCANSTREAM_H
#define SCANSTREAM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SS_API __declspec(dllexport)
#else
#define SS_API __attribute__((visibility("default")))
#endif

#define SS_ABI_VERSION 3u

typedef int32_t ss_status;
enum {
  SS_OK = 0,
  SS_ERR_INVALID_ARGUMENT = 1,
  SS_ERR_OUT_OF_MEMORY = 2,
  SS_ERR_CAPACITY = 3, /* an output buffer is too small; the call says how much it needs */
  SS_ERR_BACKEND = 4,
  SS_ERR_UNSUPPORTED = 5,
  SS_ERR_INTERNAL = 6
};

enum { SS_BACKEND_AUTO = 0, SS_BACKEND_CPU = 1, SS_BACKEND_CUDA = 2, SS_BACKEND_METAL = 3, SS_BACKEND_METAL_EMU = 4 };

/* Distances, one meaning everywhere: DOT = dot product, larger is nearer;
 * L2 = Euclidean (squared where a kernel says so), smaller is nearer. */
enum { SS_DIST_DOT = 0, SS_DIST_L2 = 1 };

/* flags bits, each with one meaning across the ABI (a kernel reads the ones it documents):
 * PORTABLE: run the portable per-element kernel bodies instead of the backend's hot path
 *   (the tests hold both to one answer);
 * HINTS: ss_mast3r_nn_query reads a guess per query from its output on entry;
 * RAYCAST_FULL_FALLBACK / RAYCAST_NO_NORMALS: see ss_tsdf_raycast_guided;
 * POINTS_KEEP_INVALID: ss_depth_to_points and ss_mast3r_depthmap_to_pts3d compute
 *   every pixel as MASt3R does (d·(u − cx)/fx, … also where d is not a valid
 *   depth) instead of NaN. */
enum {
  SS_FLAG_PORTABLE = 1,
  SS_FLAG_HINTS = 2,
  SS_FLAG_RAYCAST_FULL_FALLBACK = 4,
  SS_FLAG_RAYCAST_NO_NORMALS = 8,
  SS_FLAG_POINTS_KEEP_INVALID = 16
};

typedef struct ss_context ss_context;
typedef struct ss_buffer ss_buffer;

/* ---- core ---------------------------------------------------------------- */
SS_API uint32_t ss_abi_version(void);
/* sizeof(struct ss_<name>_args), or 0 for an unknown name */
SS_API uint32_t ss_args_sizeof(const char* name);
/* threads <= 0: one per core present */
SS_API ss_status ss_context_create(int32_t backend, int32_t threads, ss_context** out);
SS_API void ss_context_destroy(ss_context* ctx);
SS_API const char* ss_last_error(const ss_context* ctx);
SS_API const char* ss_backend_name(const ss_context* ctx);
SS_API int32_t ss_context_threads(const ss_context* ctx);
/* 1 when kernels read and write ss_buffer_host_ptr memory itself (CPU, Metal on
 * unified memory, metal-emu): upload/download are no-ops and another backend's
 * kernel may run over the same memory; 0 when it is a mirror (CUDA) */
SS_API int32_t ss_context_unified_memory(const ss_context* ctx);

/* the kernel table, enumerable: names are "ss_<kernel>"; NULL past the end */
SS_API uint32_t ss_kernel_count(void);
SS_API const char* ss_kernel_name(uint32_t index);
/* 1: this context runs the kernel; 0: it answers SS_ERR_UNSUPPORTED (run it
 * elsewhere); -1: no kernel of that name in this ABI */
SS_API int32_t ss_kernel_supported(const ss_context* ctx, const char* kernel);

/* page-aligned, zero-filled */
SS_API ss_status ss_buffer_create(ss_context* ctx, uint64_t bytes, ss_buffer** out);
SS_API void ss_buffer_destroy(ss_context* ctx, ss_buffer* buf);
SS_API uint64_t ss_buffer_size(const ss_buffer* buf);
SS_API void* ss_buffer_host_ptr(ss_buffer* buf);
/* Where memory is not shared (CUDA), a kernel call may return once its work is queued: calls run in
 * order, a download waits for everything queued before it, and an error in queued work is reported
 * by the next call that waits. Upload returns when the host range may be written again. */
SS_API ss_status ss_buffer_upload(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes);
SS_API ss_status ss_buffer_download(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes);
/* sets every byte of the range to value (host mirror and device copy) */
SS_API ss_status ss_buffer_fill(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes, uint32_t value);
/* a buffer over host memory the caller owns and keeps alive until it is
 * destroyed (destroying it frees nothing): how a CPU context runs a kernel over
 * another unified-memory backend's buffer without a copy. SS_ERR_UNSUPPORTED
 * where kernels cannot read host memory (CUDA). */
SS_API ss_status ss_buffer_wrap(ss_context* ctx, void* host, uint64_t bytes, ss_buffer** out);

/* ---- point maps ----------------------------------------------------------- */
/* depth (float32 metres, or uint16 raw units when depth_u16) → points float32 xyz per pixel;
 * invalid depth (<= 0, NaN, outside [min_depth, max_depth]) → NaN xyz, or with
 * SS_FLAG_POINTS_KEEP_INVALID every pixel computed as MASt3R's depthmap_to_pts3d
 * does (X = d·(u − cx)/fx, Y = d·(v − cy)/fy, Z = d whatever d is). */
typedef struct ss_depth_to_points_args {
  uint32_t width, height, depth_u16, batch;
  float fx, fy, cx, cy;
  float depth_scale; /* raw units per metre when depth_u16 */
  float min_depth, max_depth;
  uint32_t flags;
} ss_depth_to_points_args;

/* normals from an organised point map: cross product of central differences,
 * oriented towards the camera, unit length; NaN where a neighbour is invalid
 * or farther than max_jump (metres) */
typedef struct ss_points_to_normals_args {
  uint32_t width, height;
  float max_jump, pad0;
} ss_points_to_normals_args;

/* 2× downsampling. Depth (float32): mean of the valid pixels of each 2×2 cell
 * that lie within max_diff of the cell's nearest valid depth (no averaging
 * across depth edges); 0 where none is valid. Image (uint8, channels 1..4):
 * rounded 2×2 box mean. Destination is floor(w/2) × floor(h/2). */
typedef struct ss_depth_pyramid_down_args {
  uint32_t src_width, src_height;
  float max_diff, pad0;
} ss_depth_pyramid_down_args;
typedef struct ss_image_pyramid_down_args {
  uint32_t src_width, src_height, channels, pad0;
} ss_image_pyramid_down_args;

/* rigid/projective transform of point batches: MASt3R's geotrf.
 * dim 2 or 3; T is (dim+1)×(dim+1) row-major in t[] (first (dim+1)^2 used);
 * points [first, first + count) of in → the same points of out (in place
 * allowed; first lets one buffer of B batches take B transforms):
 * out = in @ R^T + t; normalize (MASt3R's norm): SS_GEOTRF_DIVIDE_LAST divides
 * by the last output coordinate (MASt3R with a dim×dim T, embedded here with a
 * last row (0, …, 0, 1)), SS_GEOTRF_DIVIDE_W by the homogeneous
 * w = T[dim]·(p, 1) (MASt3R with a (dim+1)×(dim+1) T), then multiplies by
 * scale (MASt3R's norm value; 0 reads as 1, so callers that predate it keep
 * their meaning). flags: SS_FLAG_PORTABLE. */
enum { SS_GEOTRF_NO_DIVIDE = 0, SS_GEOTRF_DIVIDE_LAST = 1, SS_GEOTRF_DIVIDE_W = 2 };
typedef struct ss_geotrf_args {
  uint32_t count, dim, normalize, first;
  float t[16];
  float scale;
  uint32_t flags, pad0, pad1;
} ss_geotrf_args;

/* ---- TSDF voxel-block volume ----------------------------------------------
 * Voxel blocks of 8³ voxels. Block bookkeeping (hash, pool slots) lives in
 * TypeScript; kernels get:
 *   pool:   capacity blocks of 6144 bytes, structure of arrays per block:
 *           float tsdf[512] (signed distance / sdf_trunc, in [-1, 1]),
 *           float weight[512] (0 = never observed), uint8 rgba[512][4];
 *           voxel (x,y,z) of a block is element x + 8y + 64z
 *           (contiguous rows for SIMD loads and coalesced GPU access)
 *   hash:   open addressing, entries int32 {bx, by, bz, slot}, slot -1 empty,
 *           -2 deleted; slot index h = ss_block_hash(bx,by,bz) & hash_mask,
 *           linear probing. Written only by TypeScript.
 *   blocks: a list of int32 {bx, by, bz, slot} to work on.
 */
#define SS_BLOCK_BYTES 6144u

/* blocks within ±sdf_trunc of each sampled depth pixel, deduplicated.
 * scratch: hash_capacity (power of two) × 8 bytes, cleared by the call.
 * out: int32 {bx,by,bz} × max_out; counts: uint32 {count, dropped}. */
typedef struct ss_tsdf_touched_blocks_args {
  uint32_t width, height, stride, hash_capacity;
  uint32_t max_out, pad0, pad1, pad2;
  float fx, fy, cx, cy;
  float cam_to_world[12];
  float voxel_size, sdf_trunc, min_depth, max_depth;
} ss_tsdf_touched_blocks_args;

/* projective TSDF update of every voxel in the listed blocks from one depth
 * (+ colour) frame. depth float32 metres (0/NaN invalid); color uint8 RGB. */
typedef struct ss_tsdf_integrate_args {
  uint32_t width, height, block_count, has_color;
  float fx, fy, cx, cy;
  float world_to_cam[12];
  float voxel_size, sdf_trunc, max_weight, min_depth;
  float max_depth, pad0, pad1, pad2;
} ss_tsdf_integrate_args;

/* marching cubes over the listed blocks. Each block meshes the cubes whose
 * lowest corner is one of its voxels, reading its +x/+y/+z neighbours through
 * the hash, so block meshes meet without seams. Vertices are shared within a
 * block; indices are local to the block (0 = its first vertex).
 * mesh (bytes): one record per block with a surface, at a byte offset that
 * is a multiple of 4: positions float32 xyz [nv], colors uint8 rgb [nv]
 * zero-padded to a multiple of 4 bytes, indices uint32 [ni] — the three
 * sections of the MeshBlock wire message, in its order (ss_mesh_record_bytes).
 * ranges: uint32 {byte_offset, vertex_count, index_count, record_bytes} per
 * block (record_bytes 0: no surface); totals: uint32 {record bytes,
 * vertices, indices} needed. SS_ERR_CAPACITY when `capacity` (bytes of mesh)
 * is too small (totals say how much is needed; retry with a larger buffer). */
typedef struct ss_tsdf_mesh_blocks_args {
  uint32_t block_count, hash_mask, capacity, pad0;
  float voxel_size, min_weight, pad1, pad2;
} ss_tsdf_mesh_blocks_args;

/* ray-casts the zero level set from a camera: depth float32 (z, 0 = miss),
 * normals float32 xyz (world frame, NaN on miss), color uint8 rgb. */
typedef struct ss_tsdf_raycast_args {
  uint32_t width, height, hash_mask, pad0;
  float fx, fy, cx, cy;
  float cam_to_world[12];
  float voxel_size, sdf_trunc, min_depth, max_depth;
} ss_tsdf_raycast_args;

/* resets the voxels of the listed blocks to unobserved (weight 0) */
typedef struct ss_tsdf_clear_blocks_args {
  uint32_t block_count, pad0, pad1, pad2;
} ss_tsdf_clear_blocks_args;

/* writes entries into the block hash: entries int32 {index, bx, by, bz, slot}
 * × count, each setting hash entry `index` (<= hash_mask, distinct within a
 * call) to {bx, by, bz, slot}. TypeScript keeps the table in the host memory
 * and sends a frame's new entries this way (unified memory: the same values
 * again), so a GPU's copy is kept without uploading the whole table. */
typedef struct ss_tsdf_hash_scatter_args {
  uint32_t count, hash_mask, pad0, pad1;
} ss_tsdf_hash_scatter_args;

/* looks blocks up in the block hash: coords int32 {bx, by, bz} × count (the
 * layout of ss_tsdf_touched_blocks' out); slots int32 × count, the block's
 * slot or -1 when absent. Read-only on the table, so the allocator finds a
 * frame's known blocks on the device and inserts only the new ones itself. */
typedef struct ss_tsdf_hash_lookup_args {
  uint32_t count, hash_mask, pad0, pad1;
} ss_tsdf_hash_lookup_args;

/* ---- tracking: features, matching, ICP (src/tracking) --------------------- */

/* RGB (3 bytes per pixel) → 8-bit luma with BT.601 integer weights
 * (77 R + 150 G + 29 B + 128) >> 8: the image ORB and the photometric ICP term read */
typedef struct ss_rgb_to_gray_args {
  uint32_t width, height, pad0, pad1;
} ss_rgb_to_gray_args;

/* Model ray-cast for frame-to-model tracking, guided by a depth prior (the
 * previous frame's depth seen from the same pose): each ray marches only
 * [prior − band, prior + band], or the whole [min_depth, max_depth] where the
 * prior is 0/NaN and flags has SS_FLAG_RAYCAST_FULL_FALLBACK (with
 * SS_FLAG_RAYCAST_NO_NORMALS the gradient is skipped, normals NaN: the caller
 * derives them from depth). Outputs in the CAMERA
 * frame: depth float32 z (0 = miss), normals float32 xyz (TSDF gradient, NaN
 * on miss), gray uint8 (luma of the voxel colour). Same pool/hash layout as
 * ss_tsdf_raycast; prior float32 metres, width × height. */
typedef struct ss_tsdf_raycast_guided_args {
  uint32_t width, height, hash_mask, flags;
  float fx, fy, cx, cy;
  float cam_to_world[12];
  float voxel_size, sdf_trunc, min_depth, max_depth;
  float band, pad0, pad1, pad2;
} ss_tsdf_raycast_guided_args;

/* One Gauss-Newton step of point-to-plane ICP with projective association
 * (KinectFusion), optionally plus a photometric term (Steinbrücker/Kerl style
 * dense intensity residual), reduced to normal equations in one call.
 * cur_points/cur_normals: float32 xyz per pixel in the current camera frame
 * (NaN invalid); ref_points/ref_normals: same size, reference camera frame.
 * Each current point q = cur_to_ref · p projects with (fx, fy, cx, cy) to the
 * nearest reference pixel; the pair counts when ‖q − r‖ ≤ max_dist and
 * n_ref · (R n_cur) ≥ min_normal_cos. Residual n_ref · (q − r), Jacobian for a
 * left-multiplied twist (ω, v); Huber weights beyond huber_delta (0 = none).
 * use_color: also I_ref(π(q)) − I_cur(p) on uint8 gray (÷255, bilinear),
 * scaled by color_weight. Updates solve (JᵀWJ) ξ = −JᵀWr.
 * out: float64[32] = upper triangle of JᵀWJ (21, row-major), JᵀWr (6),
 * Σ w r² geometric, geometric pairs, Σ w r² photometric, photometric pairs,
 * valid current points. Summed in a fixed order: bit-for-bit deterministic. */
typedef struct ss_icp_reduce_args {
  uint32_t width, height, use_color, pad0;
  float fx, fy, cx, cy;
  float cur_to_ref[12];
  float max_dist, min_normal_cos, huber_delta, color_weight;
  float color_huber_delta, pad1, pad2, pad3;
} ss_icp_reduce_args;

/* ORB features of an 8-bit image in one call: a pyramid of `levels` images
 * scaled by 1/scale_factor each (bilinear), FAST-9 corners (threshold
 * fast_threshold; a grid cell with none retries at fast_min_threshold),
 * 3×3 non-maximum suppression on the FAST score, Harris response (7×7,
 * harris_k) ranking, grid bucketing (cells of grid_cell pixels per level, the
 * best of each cell taken round by round) so features spread over the image,
 * max_features split over levels in proportion to their area, orientation by
 * intensity centroid (radius 15), and 256-bit steered BRIEF over scanstream's
 * own seeded test pattern (native/kernels/orb_pattern.h; not OpenCV's learned
 * rBRIEF) on a 7×7 σ 2 Gaussian-smoothed level. Keypoints lie ≥ edge pixels
 * (≥ 16) inside their level.
 * keypoints: float32 × 8 each = x, y (level-0 pixels), level, cos θ, sin θ,
 * Harris response, FAST score, patch size (31·scale^level);
 * descriptors: 32 bytes each; count: uint32[1] written (≤ max_features).
 * flags: SS_FLAG_PORTABLE (the SIMD paths give the same bytes). */
typedef struct ss_orb_extract_args {
  uint32_t width, height, levels, max_features;
  uint32_t fast_threshold, fast_min_threshold, grid_cell, edge;
  float scale_factor, harris_k;
  uint32_t flags, pad0;
} ss_orb_extract_args;

/* Brute-force reciprocal nearest neighbours of binary descriptors (Hamming),
 * with MASt3R bruteforce_reciprocal_nns semantics: nn of a[i] = argmin_j
 * d(a_i, b_j), of b[j] = argmin_i, ties → lowest index; i and nn_a[i] match
 * when nn_b[nn_a[i]] = i, best ≤ max_distance and, with ratio < 1,
 * best < ratio · second best (Lowe). a: n × words uint32, b: m × words.
 * Blocked over b (block rows per tile, 0 = auto): memory O(n + m), never n×m.
 * out_a: int32 × 4 per a row = {nn, best, second best (INT32_MAX if none), match 0/1};
 * out_b: int32 × 2 per b row = {nn, best}. flags: SS_FLAG_PORTABLE. */
typedef struct ss_hamming_match_args {
  uint32_t n, m, words, block;
  uint32_t max_distance, flags, pad1, pad2;
  float ratio, pad3, pad4, pad5;
} ss_hamming_match_args;

/* The same for float descriptors (n × dim, m × dim float32): dist
 * SS_DIST_L2 = squared Euclidean distance (smaller is nearer; match needs
 * best ≤ threshold and the ratio test on the distances, i.e. √ratio² on
 * squared ones: best < ratio² · second), or SS_DIST_DOT = dot product
 * (larger is nearer, e.g. MASt3R's unit descriptors; match needs best ≥
 * threshold; ratio unused). Sums in index order in float64 on the CPU.
 * out_a: 16 bytes per a row = {int32 nn, float32 best, float32 second, int32 match};
 * out_b: 8 bytes per b row = {int32 nn, float32 best}. */
typedef struct ss_float_match_args {
  uint32_t n, m, dim, dist;
  uint32_t block, pad0, pad1, pad2;
  float threshold, ratio, pad3, pad4;
} ss_float_match_args;

/* ---- MASt3R post-processing (see shared mast3r-kernels.md) ---------------- */
/* dist: SS_DIST_DOT or SS_DIST_L2 (‖a − b‖); flags: SS_FLAG_PORTABLE, SS_FLAG_HINTS */

/* MASt3R bruteforce_reciprocal_nns. a: float32 n×dim, b: float32 m×dim
 * (row-major); nn_a int32[n] = index in b of a[i]'s best, nn_b int32[m] =
 * index in a of b[j]'s best; best = max a·b (dot) or min ‖a−b‖ (l2).
 * Exact: float32 tiles find each winner and every candidate within the
 * float32 rounding bound of it is re-ranked in float64, so results do not
 * depend on blocking; ties → lowest index. block: column tile (0 = auto).
 * Memory O((n + m) · threads); never n×m. */
typedef struct ss_mast3r_reciprocal_nn_args {
  uint32_t n, m, dim, dist;
  uint32_t block, flags, pad0, pad1;
} ss_mast3r_reciprocal_nn_args;

/* Index of an H×W×dim float32 descriptor map for exact nearest-neighbour
 * queries: 8×8-pixel tiles in 32×32 super-tiles, packed dim-major with
 * centroids and radii (so a query can skip what cannot hold its answer),
 * and an int8 copy (max|b|/127 steps) for pre-filtering. Layout in
 * native/kernels/mast3r_nn.h; size in floats:
 *   16 + (dim+2)·ceil16(S) + S·16·(dim+2) + S·1024·(dim+1) + S·1024·(ceil(dim/4)+1),
 *   S = ceil(W/32)·ceil(H/32). Its content is backend-specific: build and
 *   query it with the same context (the AVX-512 VNNI build fills the ball
 *   bounds and the int8 section, not the float32 tile records, whose pages
 *   then cost address space only).
 * dist fixes the score the index serves. */
typedef struct ss_mast3r_desc_index_args {
  uint32_t width, height, dim, dist;
} ss_mast3r_desc_index_args;

/* One half-iteration of fast_reciprocal_NNs: for each query pixel index
 * query_idx[i] (int32, into the width×height query map), out_idx[i] = the
 * flat pixel index of its nearest neighbour over the whole db map (int32).
 * Exact, ties → lowest index. db_index from ss_mast3r_desc_index(db_map)
 * with the same dist. With SS_FLAG_HINTS, out_idx holds on entry a
 * guess per query (-1: none) that only speeds the search up. */
typedef struct ss_mast3r_nn_query_args {
  uint32_t count, width, height, dim;
  uint32_t db_width, db_height, dist, flags;
} ss_mast3r_nn_query_args;

/* MASt3R depthmap_to_pts3d, one pinhole camera per image: depth float32
 * [batch, height, width], intrinsics float32 [batch, 4] = (fx, fy, cx, cy) →
 * points float32 [batch, height, width, 3], X = d·(u − cx)/fx,
 * Y = d·(v − cy)/fy, Z = d (rounded as MASt3R: product, then quotient), and
 * valid uint8 [batch, height, width] = (d > 0), MASt3R's valid mask. With
 * SS_FLAG_POINTS_KEEP_INVALID every pixel is computed as MASt3R does; without
 * it pixels whose d is not > 0 get NaN (the fusion convention).
 * flags: also SS_FLAG_PORTABLE. */
typedef struct ss_mast3r_depthmap_to_pts3d_args {
  uint32_t width, height, batch, flags;
} ss_mast3r_depthmap_to_pts3d_args;

/* MASt3R batched_triangulate: pts2d float32 [batch, cams, points, 2], proj
 * float32 [batch, cams, 3, 4] → out float32 [batch, points, 3]. Rows
 * P0 − x·P2 and P1 − y·P2 per camera; least squares A[:, :3]·X = −A[:, 3]
 * (Householder QR in float64). NaN where an input is not finite or the
 * system is rank-deficient. */
typedef struct ss_mast3r_triangulate_args {
  uint32_t batch, cams, points, pad0;
} ss_mast3r_triangulate_args;

/* MASt3R matches_to_depths: matches float32 [batch, views, height, width, 5]
 * = (x1, y1, x2, y2, conf) of reference pixel ↔ view v; cams float32
 * [batch, (views + 1)·12 + 4] = the projections K·E[:3] of the reference
 * camera and of each view (3×4 row-major), then the reference camera's
 * world→camera row E[2] (for z). Per pixel, each view's match is triangulated
 * with the reference camera as ss_mast3r_triangulate does (float32 results),
 * averaged weighted by confidence over the views where it is finite
 * (normaliser ≤ 1e-5 → 1; float64 sums) → points float32 [batch, h, w, 3] and
 * depths float32 [batch, h, w] (z in the reference camera), NaN where at most
 * min_valid views are finite; confs float32 [batch, h, w] = the sum of the
 * valid views' confidences. views ≤ 64. */
typedef struct ss_mast3r_matches_to_depths_args {
  uint32_t batch, views, width, height;
  uint32_t min_valid, pad0, pad1, pad2;
} ss_mast3r_matches_to_depths_args;

/* TSDF depth refinement of MASt3R's tsdf_optimizer.py. depths, confs: float32
 * [images, height, width]; cams: float32 [images, 16] = cam→world 3×4
 * row-major, then fx, fy, cx, cy; out: float32 [images, height, width].
 * Per pixel: `samples` candidates d + (n − 1)·tau, n ~ N(0,1) from
 * Philox4x32-10 (key = seed_lo, seed_hi; counter = (sample/2, pixel, image, 0);
 * Box–Muller on words 0,1: even samples take the cosine, odd the sine);
 * each candidate's TSDF over every image; keep the one nearest the zero
 * level (see mast3r-kernels.md). O(images² · pixels · samples), no scratch. */
typedef struct ss_mast3r_refine_depths_tsdf_args {
  uint32_t images, width, height, samples;
  uint32_t seed_lo, seed_hi, flags, pad0;
  float tau, pad1, pad2, pad3;
} ss_mast3r_refine_depths_tsdf_args;

/* MASt3R get_similarities: desc1 float32 [batch, n, dim], desc2 [batch, m, dim]
 * → out float32 [batch, n, m] = desc1·desc2ᵀ, or 1/(1 + ‖d1 − d2‖) with euc. */
typedef struct ss_mast3r_similarity_args {
  uint32_t batch, n, m, dim;
  uint32_t euc, pad0, pad1, pad2;
} ss_mast3r_similarity_args;

/* MASt3R InfoNCE, mode 'proper', per pair: desc1, desc2 float32 [batch, n, dim]
 * (row i of desc1 matches row i of desc2) → loss float32 [batch, n] =
 * −[log clip(S_ii / Σ_k S_ki, eps) + log clip(S_ii / Σ_k S_ik, eps)],
 * S = exp(sim / temperature), sim as ss_mast3r_similarity (NaN → −inf).
 * Log-sum-exp in float64; the n×n matrix is never stored. */
typedef struct ss_mast3r_infonce_args {
  uint32_t batch, n, dim, euc;
  float temperature, eps, pad0, pad1;
} ss_mast3r_infonce_args;

/* ---- monocular: plane-sweep stereo (src/mono) ------------------------------ */
enum { SS_PLANE_SWEEP_MAX_VIEWS = 4, SS_PLANE_SWEEP_MAX_PLANES = 512 };

/* Dense depth of a reference keyframe from 1..4 source views with known
 * poses, one call per keyframe (native/kernels/plane_sweep.h). All images are
 * 8-bit gray, width × height, one pinhole camera (fx, fy, cx, cy).
 * ref_to_src[12 v ..]: 3×4 rigid transform reference camera → view v camera.
 * planes fronto-parallel planes uniform in inverse depth over
 * [min_depth, max_depth] (plane 0 the far one); per plane and view the cost is
 * 1 − ZNCC over a (2 radius + 1)² window (1 where undefined: window off the
 * view, or window variance per pixel ≤ min_variance in gray levels²); views
 * are aggregated by the mean of the best best_views costs (0 = all).
 * Winner-take-all, parabolic sub-plane refinement in inverse depth.
 * ref: uint8 w×h; src: uint8 views×w×h; cost: float32 planes×w×h (out: the
 * aggregated cost volume); depth: float32 w×h (out, metres, 0 = none:
 * textureless, border, or best plane at either end of the range);
 * quality: float32 2 per pixel (out) = {1 − best cost (aggregated ZNCC),
 * 1 − best / second-lowest local minimum (peak-ratio confidence, 0..1)}.
 * Every pixel's result is independent of the thread count. */
typedef struct ss_plane_sweep_args {
  uint32_t width, height, views, planes;
  uint32_t radius, best_views, pad0, pad1;
  float fx, fy, cx, cy;
  float min_depth, max_depth, min_variance, pad2;
  float ref_to_src[48];
} ss_plane_sweep_args;

/* ---- the kernel table -------------------------------------------------------
 * Every kernel once: K(name, buffers), buffers in call order, each IN(b) (read),
 * OUT(b) (written) or INOUT(b) (read and written). The kernel is
 *   ss_status ss_<name>(ss_context* ctx, const ss_<name>_args* args, ss_buffer* b...);
 * A test holds src/native/abi.generated.ts, the parity suite and every backend's
 * answers to this list. */
#define SS_KERNEL_TABLE(K, IN, OUT, INOUT)                                                         \
  K(depth_to_points, IN(depth) OUT(points))                                                        \
  K(points_to_normals, IN(points) OUT(normals))                                                    \
  K(depth_pyramid_down, IN(src) OUT(dst))                                                          \
  K(image_pyramid_down, IN(src) OUT(dst))                                                          \
  K(geotrf, IN(in) OUT(out))                                                                       \
  K(tsdf_touched_blocks, IN(depth) INOUT(scratch) OUT(out) OUT(counts))                            \
  K(tsdf_integrate, IN(depth) IN(color) IN(blocks) INOUT(pool))                                    \
  K(tsdf_mesh_blocks, IN(pool) IN(hash) IN(blocks) OUT(mesh) OUT(ranges) OUT(totals))              \
  K(tsdf_raycast, IN(pool) IN(hash) OUT(depth) OUT(normals) OUT(color))                            \
  K(tsdf_clear_blocks, IN(blocks) INOUT(pool))                                                     \
  K(tsdf_hash_scatter, IN(entries) INOUT(hash))                                                    \
  K(tsdf_hash_lookup, IN(hash) IN(coords) OUT(slots))                                              \
  K(rgb_to_gray, IN(rgb) OUT(gray))                                                                \
  K(tsdf_raycast_guided, IN(pool) IN(hash) IN(prior) OUT(depth) OUT(normals) OUT(gray))            \
  K(icp_reduce, IN(cur_points) IN(cur_normals) IN(cur_gray) IN(ref_points) IN(ref_normals)         \
                IN(ref_gray) OUT(out))                                                             \
  K(orb_extract, IN(gray) OUT(keypoints) OUT(descriptors) OUT(count))                              \
  K(hamming_match, IN(a) IN(b) OUT(out_a) OUT(out_b))                                              \
  K(float_match, IN(a) IN(b) OUT(out_a) OUT(out_b))                                                \
  K(mast3r_reciprocal_nn, IN(a) IN(b) OUT(nn_a) OUT(nn_b))                                         \
  K(mast3r_desc_index, IN(map) OUT(index))                                                         \
  K(mast3r_nn_query, IN(query_map) IN(query_idx) IN(db_map) IN(db_index) INOUT(out_idx))           \
  K(mast3r_depthmap_to_pts3d, IN(depth) IN(intrinsics) OUT(points) OUT(valid))                     \
  K(mast3r_triangulate, IN(pts2d) IN(proj) OUT(out))                                               \
  K(mast3r_matches_to_depths, IN(matches) IN(cams) OUT(points) OUT(depths) OUT(confs))             \
  K(mast3r_refine_depths_tsdf, IN(depths) IN(confs) IN(cams) OUT(out))                             \
  K(mast3r_similarity, IN(desc1) IN(desc2) OUT(out))                                               \
  K(mast3r_infonce, IN(desc1) IN(desc2) OUT(loss))                                                 \
  K(plane_sweep, IN(ref) IN(src) OUT(cost) OUT(depth) OUT(quality))

#define SS_KERNEL_PARAM_(b) , ss_buffer* b
#define SS_DECLARE_KERNEL_(name, buffers) \
  SS_API ss_status ss_##name(ss_context* ctx, const ss_##name##_args* args buffers);
SS_KERNEL_TABLE(SS_DECLARE_KERNEL_, SS_KERNEL_PARAM_, SS_KERNEL_PARAM_, SS_KERNEL_PARAM_)
#undef SS_DECLARE_KERNEL_

#ifdef __cplusplus
}
#endif
#endif
