#include "backend.h"
#include "kernel_table.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sys/mman.h>
#include <unistd.h>

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) {
    workers_.emplace_back([this] {
      uint64_t seen = 0;
      for (;;) {
        {
          std::unique_lock<std::mutex> lock(mu_);
          cv_start_.wait(lock, [&] { return stop_ || generation_ != seen; });
          if (stop_) return;
          seen = generation_;
        }
        run_chunks();
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (--active_ == 0) cv_done_.notify_all();
        }
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_start_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
  for (;;) {
    int64_t begin = next_.fetch_add(grain_);
    if (begin >= n_) return;
    int64_t end = begin + grain_ < n_ ? begin + grain_ : n_;
    (*job_)(begin, end);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (workers_.empty() || n <= grain) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = &fn;
    n_ = n;
    grain_ = grain;
    next_.store(0);
    active_ = (int)workers_.size();
    ++generation_;
  }
  cv_start_.notify_all();
  run_chunks();
  std::unique_lock<std::mutex> lock(mu_);
  cv_done_.wait(lock, [&] { return active_ == 0; });
  job_ = nullptr;
}

#ifdef SS_CPU_STANDIN_PARTIAL
bool ss_cpu_claims(const char* kernel) {
  static const char* const claimed[] = {"ss_depth_to_points", "ss_points_to_normals", "ss_depth_pyramid_down",
                                        "ss_image_pyramid_down", "ss_geotrf", "ss_tsdf_touched_blocks",
                                        "ss_tsdf_integrate", "ss_tsdf_mesh_blocks", "ss_tsdf_raycast",
                                        "ss_tsdf_clear_blocks", "ss_tsdf_hash_scatter",
                                        "ss_tsdf_hash_lookup"};
  for (const char* c : claimed)
    if (strcmp(c, kernel) == 0) return true;
  return false;
}
#endif

extern "C" {

SS_API uint32_t ss_abi_version(void) { return SS_ABI_VERSION; }

SS_API ss_status ss_context_create(int32_t backend, int32_t threads, ss_context** out) {
  if (!out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
#ifdef SS_CPU_STANDIN_PARTIAL
  /* asked for CUDA, the stand-in takes CUDA's memory model (mirrored buffers) */
  if (backend != SS_BACKEND_AUTO && backend != SS_BACKEND_CPU && backend != SS_BACKEND_CUDA) return SS_ERR_UNSUPPORTED;
#else
  if (backend != SS_BACKEND_AUTO && backend != SS_BACKEND_CPU) return SS_ERR_UNSUPPORTED;
#endif
  if (threads <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    threads = n > 0 ? (int32_t)n : 1;
  }
  ss_context* ctx = new (std::nothrow) ss_context();
  if (!ctx) return SS_ERR_OUT_OF_MEMORY;
  ctx->pool = new (std::nothrow) ThreadPool(threads);
  if (!ctx->pool) {
    delete ctx;
    return SS_ERR_OUT_OF_MEMORY;
  }
#ifdef SS_CPU_STANDIN_PARTIAL
  ctx->mirrored = backend == SS_BACKEND_CUDA;
#endif
  *out = ctx;
  return SS_OK;
}

SS_API void ss_context_destroy(ss_context* ctx) {
  if (!ctx) return;
  delete ctx->pool;
  delete ctx;
}

SS_API const char* ss_last_error(const ss_context* ctx) { return ctx ? ctx->error.c_str() : "null context"; }
#ifdef SS_CPU_STANDIN_PARTIAL
SS_API const char* ss_backend_name(const ss_context* ctx) { return ctx && ctx->mirrored ? "cpu-standin-mirrored" : "cpu-standin"; }
#else
SS_API const char* ss_backend_name(const ss_context*) { return "cpu"; }
#endif
SS_API int32_t ss_context_threads(const ss_context* ctx) { return ctx ? ctx->pool->size() : 0; }
SS_API int32_t ss_context_unified_memory(const ss_context* ctx) { return ctx && ctx->mirrored ? 0 : 1; }

SS_API int32_t ss_kernel_supported(const ss_context*, const char* kernel) {
  if (ss_kernel_index(kernel) < 0) return -1;
#ifdef SS_CPU_STANDIN_PARTIAL
  return ss_cpu_claims(kernel) ? 1 : 0;
#else
  return 1;
#endif
}

/* mmap: page-aligned, zero-filled, and returned to the OS on destroy */
static void* ss_map(uint64_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  /* large buffers (voxel pools, frames) on 2 MiB pages: far fewer TLB misses
   * when kernels hop between voxel blocks */
  if (bytes >= (2u << 20)) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

SS_API ss_status ss_buffer_create(ss_context* ctx, uint64_t bytes, ss_buffer** out) {
  if (!ctx || !out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (bytes == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_buffer_create: size is 0 bytes");
  void* p = ss_map(bytes);
  void* mirror = ctx->mirrored ? ss_map(bytes) : nullptr;
  ss_buffer* b = p && (mirror || !ctx->mirrored) ? new (std::nothrow) ss_buffer{p, bytes, true, mirror} : nullptr;
  if (!b) {
    if (p) munmap(p, bytes);
    if (mirror) munmap(mirror, bytes);
    return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_buffer_create: cannot map %llu bytes", (unsigned long long)bytes);
  }
  *out = b;
  return SS_OK;
}

SS_API ss_status ss_buffer_wrap(ss_context* ctx, void* host, uint64_t bytes, ss_buffer** out) {
  if (!ctx || !out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (ctx->mirrored) return ss_fail(ctx, SS_ERR_UNSUPPORTED, "ss_buffer_wrap: this context's kernels do not read host memory");
  if (!host || bytes == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_buffer_wrap: null memory or 0 bytes");
  ss_buffer* b = new (std::nothrow) ss_buffer{host, bytes, false, nullptr};
  if (!b) return SS_ERR_OUT_OF_MEMORY;
  *out = b;
  return SS_OK;
}

SS_API void ss_buffer_destroy(ss_context*, ss_buffer* buf) {
  if (!buf) return;
  if (buf->owned) munmap(buf->data, buf->bytes);
  if (buf->mirror) munmap(buf->mirror, buf->bytes);
  delete buf;
}

SS_API uint64_t ss_buffer_size(const ss_buffer* buf) { return buf ? buf->bytes : 0; }
SS_API void* ss_buffer_host_ptr(ss_buffer* buf) { return buf ? (buf->mirror ? buf->mirror : buf->data) : nullptr; }

SS_API ss_status ss_buffer_upload(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  ss_status s = ss_check_range(ctx, buf, offset, bytes, "ss_buffer_upload");
  if (s == SS_OK && buf->mirror) memcpy(static_cast<uint8_t*>(buf->data) + offset, static_cast<uint8_t*>(buf->mirror) + offset, bytes);
  return s;
}
SS_API ss_status ss_buffer_download(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  ss_status s = ss_check_range(ctx, buf, offset, bytes, "ss_buffer_download");
  if (s == SS_OK && buf->mirror) memcpy(static_cast<uint8_t*>(buf->mirror) + offset, static_cast<uint8_t*>(buf->data) + offset, bytes);
  return s;
}
SS_API ss_status ss_buffer_fill(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes, uint32_t value) {
  ss_status s = ss_check_range(ctx, buf, offset, bytes, "ss_buffer_fill");
  if (s != SS_OK) return s;
  memset(static_cast<uint8_t*>(buf->data) + offset, (int)(value & 0xff), bytes);
  if (buf->mirror) memset(static_cast<uint8_t*>(buf->mirror) + offset, (int)(value & 0xff), bytes);
  return SS_OK;
}

}  // extern "C"
