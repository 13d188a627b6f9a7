#include "backend.h"

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

extern "C" {

SS_API uint32_t ss_abi_version(void) { return SS_ABI_VERSION; }

SS_API ss_status ss_context_create(int32_t backend, int32_t threads, ss_context** out) {
  if (!out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (backend != SS_BACKEND_AUTO && backend != SS_BACKEND_CPU) return SS_ERR_UNSUPPORTED;
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
  *out = ctx;
  return SS_OK;
}

SS_API void ss_context_destroy(ss_context* ctx) {
  if (!ctx) return;
  delete ctx->pool;
  delete ctx;
}

SS_API const char* ss_last_error(const ss_context* ctx) { return ctx ? ctx->error.c_str() : "null context"; }
SS_API const char* ss_backend_name(const ss_context*) { return "cpu"; }
SS_API int32_t ss_context_threads(const ss_context* ctx) { return ctx ? ctx->pool->size() : 0; }

SS_API ss_status ss_buffer_create(ss_context* ctx, uint64_t bytes, ss_buffer** out) {
  if (!ctx || !out) return SS_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  if (bytes == 0) return ss_fail(ctx, SS_ERR_INVALID_ARGUMENT, "ss_buffer_create: size is 0 bytes");
  /* mmap: page-aligned, zero-filled, and returned to the OS on destroy */
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return ss_fail(ctx, SS_ERR_OUT_OF_MEMORY, "ss_buffer_create: cannot map %llu bytes", (unsigned long long)bytes);
#ifdef MADV_HUGEPAGE
  /* large buffers (voxel pools, frames) on 2 MiB pages: far fewer TLB misses
   * when kernels hop between voxel blocks */
  if (bytes >= (2u << 20)) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  ss_buffer* b = new (std::nothrow) ss_buffer{p, bytes};
  if (!b) {
    munmap(p, bytes);
    return SS_ERR_OUT_OF_MEMORY;
  }
  *out = b;
  return SS_OK;
}

SS_API void ss_buffer_destroy(ss_context*, ss_buffer* buf) {
  if (!buf) return;
  munmap(buf->data, buf->bytes);
  delete buf;
}

SS_API uint64_t ss_buffer_size(const ss_buffer* buf) { return buf ? buf->bytes : 0; }
SS_API void* ss_buffer_host_ptr(ss_buffer* buf) { return buf ? buf->data : nullptr; }

SS_API ss_status ss_buffer_upload(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  return ss_check_range(ctx, buf, offset, bytes, "ss_buffer_upload");
}
SS_API ss_status ss_buffer_download(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes) {
  return ss_check_range(ctx, buf, offset, bytes, "ss_buffer_download");
}
SS_API ss_status ss_buffer_fill(ss_context* ctx, ss_buffer* buf, uint64_t offset, uint64_t bytes, uint32_t value) {
  ss_status s = ss_check_range(ctx, buf, offset, bytes, "ss_buffer_fill");
  if (s != SS_OK) return s;
  memset(static_cast<uint8_t*>(buf->data) + offset, (int)(value & 0xff), bytes);
  return SS_OK;
}

}  // extern "C"
