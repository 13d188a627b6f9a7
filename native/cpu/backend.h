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
};

ss_status ss_fail(ss_context* ctx, ss_status code, const char* fmt, ...);
/* checks a buffer exists and holds at least bytes */
bool ss_check_buffer(ss_context* ctx, const ss_buffer* buf, uint64_t bytes, const char* name);

#define SS_REQUIRE_BUFFER(ctx, buf, bytes)                                                   \
  do {                                                                                       \
    if (!ss_check_buffer((ctx), (buf), (uint64_t)(bytes), #buf)) return SS_ERR_INVALID_ARGUMENT; \
  } while (0)
#define SS_REQUIRE_ARGS(ctx, args)                                                      \
  do {                                                                                  \
    if (!(ctx)) return SS_ERR_INVALID_ARGUMENT;                                         \
    if (!(args)) return ss_fail((ctx), SS_ERR_INVALID_ARGUMENT, "%s: args is null", __func__); \
    (ctx)->error.clear();                                                               \
  } while (0)

template <typename T>
static inline T* ss_data(ss_buffer* b) {
  return static_cast<T*>(b->data);
}

#endif
