/* The emulator's dispatcher: threadgroups one after another on each worker,
 * the threads of a threadgroup as fibers (kernels with barriers, SIMD-group
 * functions or threadgroup memory) or as a plain loop (the rest). A fiber
 * runs until it reaches a meeting point (a barrier or SIMD-group function) or
 * returns; when every fiber is waiting, the scheduler completes the meetings
 * whose members are all present, and reports a kernel error when none can. */
#include "dispatch.h"

#include "fiber.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace msl_emu {
namespace {

constexpr uint32_t kWidth = MSL_EMU_SIMD_WIDTH;

enum class lane_state : uint8_t { runnable, at_simd, at_barrier, exited, failed };

/* Where a suspended thread waits: the function, its call site, and how many
 * such calls the thread made before (threads meet only at the same count). */
struct meeting_point {
  const char* what = nullptr;
  const char* file = nullptr;
  unsigned line = 0;
  uint32_t count = 0;
};

bool same_meeting(const meeting_point& a, const meeting_point& b) {
  return a.line == b.line && a.count == b.count && (a.what == b.what || std::strcmp(a.what, b.what) == 0) &&
         (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}

/* A thread's fiber and what it waits at: touched when it starts or waits. */
struct lane {
  fiber context;
  msl_emu_thread_position position;
  uint32_t simd_calls = 0;
  uint32_t barrier_calls = 0;
  meeting_point at;
};

/* A SIMD-group's meeting in progress, and its operands. Two operand sets: a
 * lane that resumed first may deposit its next operand before a slower lane
 * has read this one. */
struct simd_group {
  alignas(16) unsigned char slots[2][kWidth][MSL_EMU_SIMD_SLOT_BYTES];
  uint32_t active[2];
  uint32_t live = 0;    /* lanes that have not returned */
  uint32_t waiting = 0; /* lanes at the meeting */
  bool mismatch = false; /* some lane waits at another call than the first arrival */
  meeting_point first;
  rt::simd_completion completion = nullptr;
};

struct array_slot {
  const void* key;
  size_t offset;
};

struct job {
  const msl_emu_kernel_info* kernel = nullptr;
  void* buffers[MSL_EMU_MAX_BUFFERS] = {};
  uint32_t threadgroup_lengths[MSL_EMU_MAX_THREADGROUP_BUFFERS] = {};
  bool threads_grid = true;       /* dispatchThreads: partial threadgroups at the far edges */
  uint32_t grid_threads[3] = {};  /* threads_per_grid */
  uint32_t groups[3] = {};        /* threadgroups_per_grid */
  uint32_t group_size[3] = {};    /* requested threads_per_threadgroup */
  uint32_t total_groups = 0;
  std::vector<uint32_t> group_order; /* shuffled order; empty for forward/reverse */
  msl_emu_options options{};
  std::atomic<uint32_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  std::string error;

  uint32_t group_at(uint32_t k) const {
    if (options.order == MSL_EMU_ORDER_REVERSE) return total_groups - 1 - k;
    if (options.order == MSL_EMU_ORDER_SHUFFLE) return group_order[k];
    return k;
  }
};

/* One OS thread's execution state: its fibers, stacks and threadgroup memory, reused across dispatches. */
struct worker {
  std::vector<lane> lanes;
  std::vector<lane_state> states; /* per thread, apart from the lanes: the scheduler scans these */
  std::vector<fiber_stack> stacks;
  size_t stack_bytes = 0;
  std::vector<simd_group> groups;
  std::vector<uint32_t> order;
  fiber scheduler;
  std::vector<unsigned char> arena_storage;
  unsigned char* arena = nullptr;
  size_t arena_used = 0;
  std::vector<array_slot> arrays;
  void* threadgroup_pointers[MSL_EMU_MAX_THREADGROUP_BUFFERS] = {};
  msl_emu_invocation invocation{};
  job* current = nullptr;
  lane* running = nullptr;
  bool fibers = false;
  lane plain;
  uint32_t group_position[3] = {};
  uint32_t thread_count = 0;
  uint32_t live_threads = 0;
  uint32_t barrier_waiting = 0;
  bool barrier_mismatch = false;
  meeting_point barrier_first;
  std::string error;

  ~worker() {
    for (fiber_stack& s : stacks) fiber_stack_destroy(&s);
  }
};

thread_local worker* t_worker = nullptr;

const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

std::string meeting_text(const meeting_point& m) {
  return format("%s (%s:%u, call %u)", m.what, base_name(m.file), m.line, m.count + 1);
}

std::string kernel_prefix(const worker& w) {
  return format("kernel '%s', threadgroup (%u,%u,%u)", w.current->kernel->name, w.group_position[0],
                w.group_position[1], w.group_position[2]);
}

/* "threads 0-15, 17 at threadgroup_barrier (a.metal:12, call 1); threads 16, 18-63 returned" */
std::string describe_threads(const worker& w, uint32_t first, uint32_t end, const char* noun) {
  struct group {
    lane_state state;
    meeting_point at;
    std::vector<uint32_t> threads;
  };
  std::vector<group> seen;
  for (uint32_t t = first; t < end; ++t) {
    const lane& l = w.lanes[t];
    const lane_state state = w.states[t];
    auto it = std::find_if(seen.begin(), seen.end(), [&](const group& g) {
      return g.state == state && (state == lane_state::exited || same_meeting(g.at, l.at));
    });
    if (it == seen.end()) {
      seen.push_back({state, l.at, {}});
      it = seen.end() - 1;
    }
    it->threads.push_back(t - first);
  }
  std::string out;
  for (const group& g : seen) {
    if (!out.empty()) out += "; ";
    out += noun;
    out += ' ';
    for (size_t i = 0; i < g.threads.size();) {
      size_t j = i;
      while (j + 1 < g.threads.size() && g.threads[j + 1] == g.threads[j] + 1) ++j;
      if (i) out += ", ";
      out += j > i ? format("%u-%u", g.threads[i], g.threads[j]) : format("%u", g.threads[i]);
      i = j + 1;
    }
    out += g.state == lane_state::exited ? " returned" : " at " + meeting_text(g.at);
  }
  return out;
}

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void permutation(std::vector<uint32_t>& out, uint32_t n, msl_emu_order order, uint64_t seed) {
  out.resize(n);
  for (uint32_t i = 0; i < n; ++i) out[i] = order == MSL_EMU_ORDER_REVERSE ? n - 1 - i : i;
  if (order == MSL_EMU_ORDER_SHUFFLE)
    for (uint32_t i = n; i > 1; --i) std::swap(out[i - 1], out[uint32_t(splitmix64(seed) % i)]);
}

/* the fields that are the same for every thread of the threadgroup */
void fill_group_fields(msl_emu_thread_position& p, const job& j, const worker& w, const uint32_t size[3]) {
  for (int d = 0; d < 3; ++d) {
    p.threadgroup_position_in_grid[d] = w.group_position[d];
    p.threads_per_threadgroup[d] = size[d];
    p.threadgroups_per_grid[d] = j.groups[d];
    p.threads_per_grid[d] = j.grid_threads[d];
  }
  p.simdgroups_per_threadgroup = (w.thread_count + kWidth - 1) / kWidth;
  p.threads_per_simdgroup = kWidth;
}

void fill_thread_fields(msl_emu_thread_position& p, const job& j, const uint32_t size[3], uint32_t t) {
  uint32_t local[3] = {t, 0, 0};
  if (size[1] != 1 || size[2] != 1) {
    local[0] = t % size[0];
    local[1] = (t / size[0]) % size[1];
    local[2] = t / (size[0] * size[1]);
  }
  for (int d = 0; d < 3; ++d) {
    p.thread_position_in_threadgroup[d] = local[d];
    p.thread_position_in_grid[d] = p.threadgroup_position_in_grid[d] * j.group_size[d] + local[d];
  }
  p.thread_index_in_threadgroup = t;
  p.thread_index_in_simdgroup = t % kWidth;
  p.simdgroup_index_in_threadgroup = t / kWidth;
}

void fiber_main(void* arg) {
  lane* l = static_cast<lane*>(arg);
  worker* w = t_worker;
  w->current->kernel->entry(&w->invocation, &l->position);
  const uint32_t t = l->position.thread_index_in_threadgroup;
  w->states[t] = lane_state::exited;
  w->groups[t / kWidth].live &= ~(1u << (t % kWidth));
  --w->live_threads;
  fiber_switch(&l->context, &w->scheduler);
  std::abort(); /* an exited fiber is prepared again before it runs */
}

bool ensure_fibers(worker& w, uint32_t n, size_t stack_bytes) {
  if (w.stack_bytes != stack_bytes) {
    for (fiber_stack& s : w.stacks) fiber_stack_destroy(&s);
    w.stacks.clear();
    w.stack_bytes = stack_bytes;
  }
  if (w.lanes.size() < n) w.lanes.resize(n);
  if (w.states.size() < n) w.states.resize(n);
  while (w.stacks.size() < n) {
    fiber_stack s;
    if (!fiber_stack_create(&s, stack_bytes)) return false;
    w.stacks.push_back(s);
  }
  if (w.groups.size() < (n + kWidth - 1) / kWidth) w.groups.resize((n + kWidth - 1) / kWidth);
  return true;
}

bool run_plain(worker& w, job& j, const uint32_t size[3]) {
  w.fibers = false;
  w.running = &w.plain;
  fill_group_fields(w.plain.position, j, w, size);
  for (uint32_t k = 0; k < w.thread_count; ++k) {
    fill_thread_fields(w.plain.position, j, size, w.order[k]);
    j.kernel->entry(&w.invocation, &w.plain.position);
    if (!w.error.empty()) break;
  }
  w.running = nullptr;
  return w.error.empty();
}

bool run_fibers(worker& w, job& j, const uint32_t size[3]) {
  const uint32_t n = w.thread_count, simd_groups = (n + kWidth - 1) / kWidth;
  if (!ensure_fibers(w, n, j.options.stack_bytes)) {
    w.error = kernel_prefix(w) + ": could not allocate the fibers' stacks";
    return false;
  }
  w.fibers = true;
  for (uint32_t t = 0; t < n; ++t) {
    lane& l = w.lanes[t];
    w.states[t] = lane_state::runnable;
    l.simd_calls = l.barrier_calls = 0;
    fill_group_fields(l.position, j, w, size);
    fill_thread_fields(l.position, j, size, t);
    fiber_prepare(&l.context, &w.stacks[t], fiber_main, &l);
  }
  for (uint32_t g = 0; g < simd_groups; ++g) {
    simd_group& group = w.groups[g];
    const uint32_t lanes = std::min(kWidth, n - g * kWidth);
    group.live = lanes == kWidth ? ~0u : (1u << lanes) - 1u;
    group.waiting = 0;
    group.mismatch = false;
  }
  w.live_threads = n;
  w.barrier_waiting = 0;
  w.barrier_mismatch = false;
  for (;;) {
    for (uint32_t k = 0; k < n; ++k) {
      const uint32_t t = w.order[k];
      if (w.states[t] != lane_state::runnable) continue;
      lane& l = w.lanes[t];
      w.running = &l;
      fiber_switch(&w.scheduler, &l.context);
      w.running = nullptr;
      if (w.states[t] == lane_state::failed) return false;
    }
    /* every thread waits or has returned: complete each SIMD-group meeting that all its live lanes reached */
    bool progressed = false;
    for (uint32_t g = 0; g < simd_groups; ++g) {
      simd_group& group = w.groups[g];
      if (!group.waiting || group.waiting != group.live) continue;
      const uint32_t first = g * kWidth, end = std::min(first + kWidth, n);
      if (group.mismatch) {
        w.error = kernel_prefix(w) + format(", SIMD-group %u: ", g) + group.first.what +
                  " reached by only some of its lanes (a SIMD-group function in divergent control flow): " +
                  describe_threads(w, first, end, "lanes");
        return false;
      }
      const uint32_t parity = group.first.count & 1u;
      group.active[parity] = group.live;
      if (group.completion) {
        rt::simd_view view{&group.slots[parity][0][0], group.live, uint32_t(__builtin_ctz(group.live))};
        if (const char* e = group.completion(view)) {
          w.error = kernel_prefix(w) + format(", SIMD-group %u: ", g) + meeting_text(group.first) + ": " + e;
          return false;
        }
      }
      for (uint32_t m = group.waiting; m; m &= m - 1) w.states[first + uint32_t(__builtin_ctz(m))] = lane_state::runnable;
      group.waiting = 0;
      group.mismatch = false;
      progressed = true;
    }
    if (progressed) continue;
    if (!w.live_threads) return true;
    /* no SIMD-group meeting can complete: a barrier that every live thread reached, or a dead end */
    if (w.barrier_waiting == w.live_threads) {
      if (w.barrier_mismatch) {
        w.error = kernel_prefix(w) + ": " + w.barrier_first.what +
                  " reached by only some threads (a barrier in divergent control flow): " +
                  describe_threads(w, 0, n, "threads");
        return false;
      }
      for (uint32_t t = 0; t < n; ++t)
        if (w.states[t] == lane_state::at_barrier) w.states[t] = lane_state::runnable;
      w.barrier_waiting = 0;
      w.barrier_mismatch = false;
      continue;
    }
    w.error = kernel_prefix(w) +
              ": the threads wait at different meeting points and none can complete (a barrier or SIMD-group "
              "function reached by only some threads): " +
              describe_threads(w, 0, n, "threads");
    return false;
  }
}

bool run_threadgroup(worker& w, job& j, uint32_t linear) {
  w.group_position[0] = linear % j.groups[0];
  w.group_position[1] = (linear / j.groups[0]) % j.groups[1];
  w.group_position[2] = linear / (j.groups[0] * j.groups[1]);
  uint32_t size[3];
  for (int d = 0; d < 3; ++d)
    size[d] = j.threads_grid ? std::min(j.group_size[d], j.grid_threads[d] - w.group_position[d] * j.group_size[d])
                             : j.group_size[d];
  w.thread_count = size[0] * size[1] * size[2];
  w.error.clear();
  w.arrays.clear();
  w.arena_used = 0;
  for (uint32_t i = 0; i < MSL_EMU_MAX_THREADGROUP_BUFFERS; ++i) {
    if (!j.threadgroup_lengths[i]) {
      w.threadgroup_pointers[i] = nullptr;
      continue;
    }
    w.threadgroup_pointers[i] = w.arena + w.arena_used;
    w.arena_used += (j.threadgroup_lengths[i] + 15u) & ~15u;
  }
  if (j.options.poison_threadgroup_memory) std::memset(w.arena, 0xff, w.arena_used);
  const uint64_t seed = j.options.seed ^ (uint64_t(linear) * 0xd1342543de82ef95ull);
  permutation(w.order, w.thread_count, j.options.order, seed);
  return j.kernel->uses_sync ? run_fibers(w, j, size) : run_plain(w, j, size);
}

void work(job& j, worker& w) {
  worker* saved = t_worker;
  t_worker = &w;
  w.current = &j;
  w.invocation.buffers = j.buffers;
  w.invocation.threadgroup_buffers = w.threadgroup_pointers;
  const size_t arena_bytes = size_t(j.options.max_threadgroup_memory) + 64;
  if (w.arena_storage.size() < arena_bytes) w.arena_storage.assign(arena_bytes, 0);
  w.arena = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(w.arena_storage.data()) + 63) & ~uintptr_t(63));
  while (!j.failed.load(std::memory_order_relaxed)) {
    const uint32_t k = j.next.fetch_add(1, std::memory_order_relaxed);
    if (k >= j.total_groups) break;
    if (!run_threadgroup(w, j, j.group_at(k))) {
      std::lock_guard<std::mutex> lock(j.error_mutex);
      if (!j.failed.exchange(true)) j.error = w.error;
    }
  }
  w.current = nullptr;
  t_worker = saved;
}

/* Threads that share a dispatch's threadgroups with the calling thread. One
 * dispatch uses them at a time; a concurrent one runs on its caller alone. */
class worker_pool {
public:
  static worker_pool& instance() {
    static worker_pool pool;
    return pool;
  }

  bool run(job& j, uint32_t helpers, worker& caller) {
    if (!busy_.try_lock()) return false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (threads_.size() < helpers) {
        workers_.push_back(std::make_unique<worker>());
        threads_.emplace_back(&worker_pool::thread_main, this, uint32_t(threads_.size()));
      }
      current_ = &j;
      wanted_ = helpers;
      finished_ = 0;
      ++generation_;
    }
    wake_.notify_all();
    work(j, caller);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return finished_ == wanted_; });
      current_ = nullptr;
    }
    busy_.unlock();
    return true;
  }

  ~worker_pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

private:
  void thread_main(uint32_t index) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      if (index >= wanted_) continue;
      job* j = current_;
      worker* w = workers_[index].get();
      lock.unlock();
      work(*j, *w);
      lock.lock();
      if (++finished_ == wanted_) done_.notify_all();
    }
  }

  std::mutex busy_, mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  std::vector<std::unique_ptr<worker>> workers_;
  job* current_ = nullptr;
  uint64_t generation_ = 0;
  uint32_t wanted_ = 0, finished_ = 0;
  bool stopping_ = false;
};

worker& own_worker() {
  thread_local std::unique_ptr<worker> w = std::make_unique<worker>();
  return *w;
}

int fail(char* error, size_t error_size, int status, const std::string& message) {
  if (error && error_size) std::snprintf(error, error_size, "%s", message.c_str());
  return status;
}

/* kernel code called a runtime function outside a dispatch: nothing to report to */
worker& require_worker(const char* what) {
  if (!t_worker || !t_worker->running) {
    std::fprintf(stderr, "msl_emu: %s called outside a kernel dispatch\n", what);
    std::abort();
  }
  return *t_worker;
}

} // namespace

/* ---------------------------------------------------------------- runtime called by the shim */

namespace rt {

simd_view simd_exchange(const void* operand, size_t bytes, const char* what, const char* file, unsigned line,
                        simd_completion completion) {
  worker& w = require_worker(what);
  lane& l = *w.running;
  const uint32_t t = l.position.thread_index_in_threadgroup, lane_id = t % kWidth;
  if (!w.fibers) {
    /* the generator judged this kernel free of SIMD-group functions: report, and answer as a lone lane */
    kernel_error(what, file, line,
                 "SIMD-group function in a kernel dispatched without fibers (scripts/gen-metal-emu.ts did not find "
                 "it reachable from the kernel)");
    static thread_local simd_group lone;
    std::memcpy(lone.slots[0][lane_id], operand, bytes);
    simd_view view{&lone.slots[0][0][0], 1u << lane_id, lane_id};
    if (completion) completion(view);
    return view;
  }
  simd_group& g = w.groups[t / kWidth];
  const uint32_t count = l.simd_calls++;
  std::memcpy(g.slots[count & 1u][lane_id], operand, bytes);
  l.at = meeting_point{what, file, line, count};
  if (!g.waiting) {
    g.first = l.at;
    g.completion = completion;
  } else if (!same_meeting(g.first, l.at)) {
    g.mismatch = true;
  }
  g.waiting |= 1u << lane_id;
  w.states[t] = lane_state::at_simd;
  fiber_switch(&l.context, &w.scheduler);
  return simd_view{&g.slots[count & 1u][0][0], g.active[count & 1u], lane_id};
}

void threadgroup_barrier(const char* what, const char* file, unsigned line) {
  worker& w = require_worker(what);
  if (!w.fibers) {
    kernel_error(what, file, line,
                 "barrier in a kernel dispatched without fibers (scripts/gen-metal-emu.ts did not find it reachable "
                 "from the kernel)");
    return;
  }
  lane& l = *w.running;
  l.at = meeting_point{what, file, line, l.barrier_calls++};
  if (!w.barrier_waiting) w.barrier_first = l.at;
  else if (!same_meeting(w.barrier_first, l.at)) w.barrier_mismatch = true;
  ++w.barrier_waiting;
  w.states[l.position.thread_index_in_threadgroup] = lane_state::at_barrier;
  fiber_switch(&l.context, &w.scheduler);
}

void* threadgroup_array(const void* key, size_t bytes, size_t align, const char* name, const char* file,
                        unsigned line) {
  worker& w = require_worker("threadgroup memory");
  if (!w.fibers)
    kernel_error("threadgroup memory", file, line,
                 "threadgroup array in a kernel dispatched without fibers (scripts/gen-metal-emu.ts did not see it)");
  for (const array_slot& s : w.arrays)
    if (s.key == key) return w.arena + s.offset;
  align = std::max<size_t>(align, 16);
  const size_t offset = (w.arena_used + align - 1) / align * align;
  const size_t limit = w.current->options.max_threadgroup_memory;
  if (offset + bytes > limit) {
    kernel_error("threadgroup memory", file, line,
                 format("the array '%s' (%zu bytes) takes the threadgroup's memory past its limit of %zu bytes (%zu "
                        "already in use)",
                        name, bytes, limit, w.arena_used)
                     .c_str());
    return w.arena; /* plain loop only: the dispatch is already marked failed */
  }
  if (w.current->options.poison_threadgroup_memory) std::memset(w.arena + offset, 0xff, bytes);
  w.arrays.push_back(array_slot{key, offset});
  w.arena_used = offset + bytes;
  return w.arena + offset;
}

void kernel_error(const char* what, const char* file, unsigned line, const char* detail) {
  worker& w = require_worker(what);
  lane& l = *w.running;
  std::string message = kernel_prefix(w) + format(", thread %u: %s (%s:%u): %s", l.position.thread_index_in_threadgroup,
                                                  what, base_name(file), line, detail);
  if (!w.fibers) {
    if (w.error.empty()) w.error = message;
    return;
  }
  w.error = message;
  w.states[l.position.thread_index_in_threadgroup] = lane_state::failed;
  fiber_switch(&l.context, &w.scheduler);
  std::abort(); /* a failed fiber is never resumed */
}

} // namespace rt
} // namespace msl_emu

/* ---------------------------------------------------------------- host API */

using namespace msl_emu;

extern "C" {

const msl_emu_kernel_info* msl_emu_find_kernel(const msl_emu_kernel_registry* registry, const char* name) {
  if (!registry || !name) return nullptr;
  for (uint32_t i = 0; i < registry->count; ++i)
    if (std::strcmp(registry->kernels[i].name, name) == 0) return &registry->kernels[i];
  return nullptr;
}

void msl_emu_bindings_init(msl_emu_bindings* b) { std::memset(b, 0, sizeof *b); }

int msl_emu_bindings_set_buffer(msl_emu_bindings* b, uint32_t index, void* data, uint64_t length) {
  if (index >= MSL_EMU_MAX_BUFFERS) return MSL_EMU_ERR_ARGUMENT;
  b->buffers[index] = data;
  b->buffer_lengths[index] = length;
  return MSL_EMU_OK;
}

int msl_emu_bindings_set_bytes(msl_emu_bindings* b, uint32_t index, const void* data, uint32_t length) {
  const uint32_t offset = (b->bytes_used + 15u) & ~15u;
  if (index >= MSL_EMU_MAX_BUFFERS || offset + uint64_t(length) > MSL_EMU_MAX_BYTES) return MSL_EMU_ERR_ARGUMENT;
  std::memcpy(b->bytes + offset, data, length);
  b->buffers[index] = b->bytes + offset;
  b->buffer_lengths[index] = length;
  b->bytes_used = offset + length;
  return MSL_EMU_OK;
}

int msl_emu_bindings_set_threadgroup_length(msl_emu_bindings* b, uint32_t index, uint32_t length) {
  if (index >= MSL_EMU_MAX_THREADGROUP_BUFFERS || length % 16 != 0) return MSL_EMU_ERR_ARGUMENT;
  b->threadgroup_lengths[index] = length;
  return MSL_EMU_OK;
}

msl_emu_options msl_emu_default_options(void) {
  msl_emu_options o;
  o.order = MSL_EMU_ORDER_FORWARD;
  o.seed = 1;
  o.workers = 1;
  o.stack_bytes = 64u << 10;
  o.max_threads_per_threadgroup = 1024;
  o.max_threadgroup_memory = 32u << 10;
  o.poison_threadgroup_memory = 1;
  return o;
}

int msl_emu_options_from_env(msl_emu_options* o, char* error, size_t error_size) {
  *o = msl_emu_default_options();
  const unsigned hw = std::thread::hardware_concurrency();
  o->workers = hw ? std::min(hw, 64u) : 1u;
  auto number = [&](const char* name, uint64_t min, uint64_t max, uint64_t* out) -> bool {
    const char* v = std::getenv(name);
    if (!v || !*v) return true;
    char* end = nullptr;
    unsigned long long x = std::strtoull(v, &end, 10);
    if (*end || x < min || x > max) {
      fail(error, error_size, 0,
           format("%s='%s' is not a whole number from %llu to %llu", name, v, (unsigned long long)min,
                  (unsigned long long)max));
      return false;
    }
    *out = x;
    return true;
  };
  if (const char* v = std::getenv("SCANSTREAM_METAL_EMU_ORDER")) {
    if (!std::strcmp(v, "forward") || !*v) o->order = MSL_EMU_ORDER_FORWARD;
    else if (!std::strcmp(v, "reverse")) o->order = MSL_EMU_ORDER_REVERSE;
    else if (!std::strcmp(v, "shuffle")) o->order = MSL_EMU_ORDER_SHUFFLE;
    else
      return fail(error, error_size, MSL_EMU_ERR_ARGUMENT,
                  format("SCANSTREAM_METAL_EMU_ORDER='%s' is not forward, reverse or shuffle", v));
  }
  uint64_t seed = o->seed, threads = o->workers, stack_kib = o->stack_bytes >> 10;
  if (!number("SCANSTREAM_METAL_EMU_SEED", 0, ~0ull, &seed) || !number("SCANSTREAM_METAL_EMU_THREADS", 1, 256, &threads) ||
      !number("SCANSTREAM_METAL_EMU_STACK_KIB", 16, 1u << 20, &stack_kib))
    return MSL_EMU_ERR_ARGUMENT;
  o->seed = seed;
  o->workers = uint32_t(threads);
  o->stack_bytes = uint32_t(stack_kib << 10);
  return MSL_EMU_OK;
}

int msl_emu_dispatch(const msl_emu_kernel_info* kernel, msl_emu_grid_kind grid_kind, msl_emu_size grid,
                     msl_emu_size threads_per_threadgroup, const msl_emu_bindings* bindings,
                     const msl_emu_options* options, char* error, size_t error_size) {
  if (error && error_size) error[0] = 0;
  if (!kernel || !kernel->entry) return fail(error, error_size, MSL_EMU_ERR_ARGUMENT, "msl_emu_dispatch: no kernel");
  job j;
  j.kernel = kernel;
  if (options) {
    j.options = *options;
  } else if (int status = msl_emu_options_from_env(&j.options, error, error_size)) {
    return status;
  }
  const std::string name = format("kernel '%s'", kernel->name);
  const uint32_t tpt[3] = {threads_per_threadgroup.width, threads_per_threadgroup.height, threads_per_threadgroup.depth};
  const uint32_t g[3] = {grid.width, grid.height, grid.depth};
  const uint64_t group_threads = uint64_t(tpt[0]) * tpt[1] * tpt[2];
  if (!tpt[0] || !tpt[1] || !tpt[2] || group_threads > j.options.max_threads_per_threadgroup)
    return fail(error, error_size, MSL_EMU_ERR_ARGUMENT,
                format("%s: threads per threadgroup (%u,%u,%u) must each be at least 1 and together at most %u",
                       name.c_str(), tpt[0], tpt[1], tpt[2], j.options.max_threads_per_threadgroup));
  if (j.options.stack_bytes < (16u << 10) || !j.options.workers)
    return fail(error, error_size, MSL_EMU_ERR_ARGUMENT, name + ": options need workers >= 1 and stacks >= 16 KiB");
  if (!g[0] || !g[1] || !g[2]) return MSL_EMU_OK; /* an empty grid runs nothing */
  j.threads_grid = grid_kind == MSL_EMU_GRID_THREADS;
  uint64_t total = 1;
  for (int d = 0; d < 3; ++d) {
    j.group_size[d] = tpt[d];
    j.groups[d] = j.threads_grid ? (g[d] + tpt[d] - 1) / tpt[d] : g[d];
    const uint64_t threads = j.threads_grid ? g[d] : uint64_t(g[d]) * tpt[d];
    if (threads > 0xffffffffull)
      return fail(error, error_size, MSL_EMU_ERR_ARGUMENT, name + ": the grid has more than 2^32 threads in a dimension");
    j.grid_threads[d] = uint32_t(threads);
    total *= j.groups[d];
  }
  if (total > 0xffffffffull)
    return fail(error, error_size, MSL_EMU_ERR_ARGUMENT, name + ": more than 2^32 threadgroups");
  j.total_groups = uint32_t(total);

  msl_emu_bindings none;
  if (!bindings) {
    msl_emu_bindings_init(&none);
    bindings = &none;
  }
  for (uint32_t i = 0; i < kernel->buffer_count; ++i) {
    const msl_emu_buffer_param& p = kernel->buffers[i];
    if (p.index >= MSL_EMU_MAX_BUFFERS || !bindings->buffers[p.index])
      return fail(error, error_size, MSL_EMU_ERR_ARGUMENT,
                  format("%s: buffer(%u) '%s' is not bound", name.c_str(), p.index, p.name));
  }
  std::copy(bindings->buffers, bindings->buffers + MSL_EMU_MAX_BUFFERS, j.buffers);
  uint64_t threadgroup_bytes = 0;
  for (uint32_t i = 0; i < kernel->threadgroup_count; ++i) {
    const msl_emu_threadgroup_param& p = kernel->threadgroups[i];
    if (p.index >= MSL_EMU_MAX_THREADGROUP_BUFFERS || !bindings->threadgroup_lengths[p.index])
      return fail(error, error_size, MSL_EMU_ERR_ARGUMENT,
                  format("%s: threadgroup(%u) '%s' has no memory length", name.c_str(), p.index, p.name));
    j.threadgroup_lengths[p.index] = bindings->threadgroup_lengths[p.index];
    threadgroup_bytes += (bindings->threadgroup_lengths[p.index] + 15u) & ~15u;
  }
  if (threadgroup_bytes > j.options.max_threadgroup_memory)
    return fail(error, error_size, MSL_EMU_ERR_ARGUMENT,
                format("%s: %llu bytes of threadgroup memory requested, the limit is %u", name.c_str(),
                       (unsigned long long)threadgroup_bytes, j.options.max_threadgroup_memory));
  if (j.options.order == MSL_EMU_ORDER_SHUFFLE) {
    uint64_t seed = j.options.seed;
    j.group_order.resize(j.total_groups);
    for (uint32_t i = 0; i < j.total_groups; ++i) j.group_order[i] = i;
    for (uint32_t i = j.total_groups; i > 1; --i) std::swap(j.group_order[i - 1], j.group_order[uint32_t(splitmix64(seed) % i)]);
  }

  const uint32_t helpers = std::min(j.options.workers, j.total_groups) - 1;
  if (!helpers || !worker_pool::instance().run(j, helpers, own_worker())) work(j, own_worker());
  if (j.failed) return fail(error, error_size, MSL_EMU_ERR_KERNEL, j.error);
  return MSL_EMU_OK;
}

} // extern "C"
