/* CPU backend internals: context, buffers, thread pool, error helpers. */
#ifndef SS_CPU_BACKEND_H
#define SS_CPU_BACKEND_H

#include "scanstream.h"
#include "../compat/cpu.h"

#include <condition_variable>
#include <cstdarg>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct ss_buffer {
  void* data;
  uint64_t bytes;
  bool owned; /* false: ss_buffer_wrap of another backend's host-visible memory */
  /* the stand-in's mirrored mode only: the host copy TypeScript sees, moved by upload/download
   * as on CUDA, while kernels read data */
  void* mirror;
};

/* persistent workers; parallel_for hands out chunks through an atomic counter */
class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  int size() const { return (int)workers_.size() + 1; }
  /* fn(begin, end) over [0, n) in chunks of grain; the caller works too */
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void run_chunks();
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_start_, cv_done_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  std::atomic<int64_t> next_{0};
  int active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

struct ss_context {
  ThreadPool* pool;
  std::string error;
  /* the stand-in only, created as SS_BACKEND_CUDA: buffers behave as CUDA's, a host mirror
   * apart from the memory kernels read, so the CUDA fallback path runs without a GPU */
  bool mirrored = false;
};

#ifdef SS_CPU_STANDIN_PARTIAL
/* the stand-in partial backend (native/CMakeLists.txt): kernels it does not claim answer
 * SS_ERR_UNSUPPORTED at entry, like a GPU backend that lacks them */
bool ss_cpu_claims(const char* kernel);
#define SS_KERNEL_ENTRY_HOOK(ctx, fn) \
  if (!ss_cpu_claims(fn)) return ss_fail((ctx), SS_ERR_UNSUPPORTED, "%s is not on this backend (partial stand-in)", (fn))
#endif

#include "../common/status.h"

template <typename T>
static inline T* ss_data(ss_buffer* b) {
  return static_cast<T*>(b->data);
}

#endif
