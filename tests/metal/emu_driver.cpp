/* Runs one kernel of the emulated fixtures for tests/metal/emulator.test.ts,
 * or the emulator's speed benchmark.
 *
 *   emu_driver run KERNEL threads|threadgroups GX GY GZ TX TY TZ [--order forward|reverse|shuffle|env]
 *              [--seed N] [--workers N] [--buffer I:PATH]... [--bytes I:PATH]... [--threadgroup I:BYTES]...
 *       --buffer binds PATH's contents (page-aligned copy) and writes them back to PATH.out;
 *       --bytes passes PATH's contents by value (setBytes); --order env takes the options from
 *       SCANSTREAM_METAL_EMU_*. Prints "ok", or the error and exits 3.
 *   emu_driver list    one line per kernel: name, uses_sync, buffers (index:r|w)
 *   emu_driver bench   the speed figures as JSON
 */
#include "dispatch.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <string>
#include <thread>
#include <vector>

extern "C" const msl_emu_kernel_registry* msl_emu_registry_fixtures(void);

namespace {

struct bound_file {
  uint32_t index;
  std::string path;
  void* data = nullptr;
  size_t bytes = 0;
};

bool read_file(const std::string& path, std::vector<unsigned char>& out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::fseek(f, 0, SEEK_END);
  out.resize(size_t(std::ftell(f)));
  std::fseek(f, 0, SEEK_SET);
  const bool ok = std::fread(out.data(), 1, out.size(), f) == out.size();
  std::fclose(f);
  return ok;
}

bool split_index(const char* arg, uint32_t* index, std::string* rest) {
  const char* colon = std::strchr(arg, ':');
  if (!colon) return false;
  *index = uint32_t(std::strtoul(arg, nullptr, 10));
  *rest = colon + 1;
  return true;
}

int usage() {
  std::fprintf(stderr, "usage: emu_driver run KERNEL threads|threadgroups GX GY GZ TX TY TZ [options] | list | bench\n");
  return 2;
}

int run(int argc, char** argv) {
  if (argc < 10) return usage();
  const msl_emu_kernel_info* kernel = msl_emu_find_kernel(msl_emu_registry_fixtures(), argv[2]);
  if (!kernel) {
    std::printf("no kernel named %s\n", argv[2]);
    return 2;
  }
  const msl_emu_grid_kind kind = std::strcmp(argv[3], "threads") == 0 ? MSL_EMU_GRID_THREADS : MSL_EMU_GRID_THREADGROUPS;
  const msl_emu_size grid{uint32_t(std::atoi(argv[4])), uint32_t(std::atoi(argv[5])), uint32_t(std::atoi(argv[6]))};
  const msl_emu_size group{uint32_t(std::atoi(argv[7])), uint32_t(std::atoi(argv[8])), uint32_t(std::atoi(argv[9]))};
  msl_emu_options options = msl_emu_default_options();
  msl_emu_bindings bindings;
  msl_emu_bindings_init(&bindings);
  std::vector<bound_file> buffers;
  std::vector<std::vector<unsigned char>> storage;
  for (int i = 10; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) return usage();
    const char* value = argv[++i];
    uint32_t index = 0;
    std::string rest;
    if (flag == "--order" && !std::strcmp(value, "env")) {
      char error[512];
      if (msl_emu_options_from_env(&options, error, sizeof error) != MSL_EMU_OK) {
        std::printf("%s\n", error);
        return 3;
      }
    } else if (flag == "--order") {
      options.order = !std::strcmp(value, "reverse")   ? MSL_EMU_ORDER_REVERSE
                      : !std::strcmp(value, "shuffle") ? MSL_EMU_ORDER_SHUFFLE
                                                       : MSL_EMU_ORDER_FORWARD;
    } else if (flag == "--seed") {
      options.seed = std::strtoull(value, nullptr, 10);
    } else if (flag == "--workers") {
      options.workers = uint32_t(std::atoi(value));
    } else if (flag == "--buffer" && split_index(value, &index, &rest)) {
      std::vector<unsigned char> bytes;
      if (!read_file(rest, bytes)) return usage();
      bound_file b{index, rest};
      b.bytes = bytes.size();
      if (posix_memalign(&b.data, 16384, b.bytes ? b.bytes : 1) != 0) return 1;
      std::memcpy(b.data, bytes.data(), b.bytes);
      msl_emu_bindings_set_buffer(&bindings, index, b.data, b.bytes);
      buffers.push_back(b);
    } else if (flag == "--bytes" && split_index(value, &index, &rest)) {
      std::vector<unsigned char> bytes;
      if (!read_file(rest, bytes) || msl_emu_bindings_set_bytes(&bindings, index, bytes.data(), uint32_t(bytes.size())))
        return usage();
    } else if (flag == "--threadgroup" && split_index(value, &index, &rest)) {
      if (msl_emu_bindings_set_threadgroup_length(&bindings, index, uint32_t(std::atoi(rest.c_str())))) return usage();
    } else {
      return usage();
    }
  }
  char error[2048];
  const int status = msl_emu_dispatch(kernel, kind, grid, group, &bindings, &options, error, sizeof error);
  for (bound_file& b : buffers) {
    FILE* f = std::fopen((b.path + ".out").c_str(), "wb");
    if (!f || std::fwrite(b.data, 1, b.bytes, f) != b.bytes) return 1;
    std::fclose(f);
    std::free(b.data);
  }
  if (status != MSL_EMU_OK) {
    std::printf("%s\n", error);
    return 3;
  }
  std::printf("ok\n");
  return 0;
}

int list() {
  const msl_emu_kernel_registry* r = msl_emu_registry_fixtures();
  for (uint32_t i = 0; i < r->count; ++i) {
    const msl_emu_kernel_info& k = r->kernels[i];
    std::printf("%s %d", k.name, k.uses_sync);
    for (uint32_t b = 0; b < k.buffer_count; ++b) std::printf(" %u:%c", k.buffers[b].index, k.buffers[b].is_const ? 'r' : 'w');
    std::printf("\n");
  }
  return 0;
}

/* seconds of the fastest of `repeats` dispatches */
double best_seconds(const char* name, msl_emu_grid_kind kind, msl_emu_size grid, msl_emu_size group,
                    const msl_emu_bindings& bindings, int repeats, uint32_t workers = 1) {
  const msl_emu_kernel_info* kernel = msl_emu_find_kernel(msl_emu_registry_fixtures(), name);
  msl_emu_options options = msl_emu_default_options();
  options.workers = workers;
  double best = 1e30;
  char error[1024];
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    if (msl_emu_dispatch(kernel, kind, grid, group, &bindings, &options, error, sizeof error) != MSL_EMU_OK) {
      std::fprintf(stderr, "%s\n", error);
      std::exit(1);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s < best) best = s;
  }
  return best;
}

int bench() {
  const uint32_t n = 1u << 22;
  std::vector<float> x(n, 1.0f), y(n, 0.0f);
  msl_emu_bindings b;
  msl_emu_bindings_init(&b);
  msl_emu_bindings_set_buffer(&b, 0, y.data(), n * 4);
  msl_emu_bindings_set_buffer(&b, 1, x.data(), n * 4);
  msl_emu_bindings_set_threadgroup_length(&b, 0, 16);
  const uint32_t cores = std::max(1u, std::thread::hardware_concurrency());
  const double plain = best_seconds("bench_plain", MSL_EMU_GRID_THREADS, {n, 1, 1}, {256, 1, 1}, b, 3);
  const double plain_all = best_seconds("bench_plain", MSL_EMU_GRID_THREADS, {n, 1, 1}, {256, 1, 1}, b, 3, cores);
  std::printf("{\n  \"plain_ns_per_thread\": %.2f,\n  \"plain_ns_per_thread_%u_workers\": %.2f", plain / n * 1e9, cores,
              plain_all / n * 1e9);
  for (uint32_t size : {32u, 256u, 1024u}) {
    const double fibers = best_seconds("bench_fibers", MSL_EMU_GRID_THREADS, {n, 1, 1}, {size, 1, 1}, b, 3);
    std::printf(",\n  \"fibers_ns_per_thread_tg%u\": %.2f", size, fibers / n * 1e9);
  }

  const uint32_t rounds = 64;
  msl_emu_bindings r;
  msl_emu_bindings_init(&r);
  msl_emu_bindings_set_buffer(&r, 0, y.data(), n * 4);
  msl_emu_bindings_set_bytes(&r, 1, &rounds, 4);
  for (uint32_t size : {64u, 256u, 1024u}) {
    const uint32_t threads = 1u << 16;
    /* the fibers' start and end, without barriers, is taken off */
    const double base = best_seconds("bench_fibers", MSL_EMU_GRID_THREADS, {threads, 1, 1}, {size, 1, 1}, b, 3);
    const double s = best_seconds("bench_barriers", MSL_EMU_GRID_THREADS, {threads, 1, 1}, {size, 1, 1}, r, 3);
    std::printf(",\n  \"barrier_ns_per_thread_tg%u\": %.2f", size, (s - base) / (double(threads) * rounds * 2) * 1e9);
  }
  {
    const uint32_t threads = 1u << 16;
    const double s = best_seconds("bench_simd_sum", MSL_EMU_GRID_THREADS, {threads, 1, 1}, {256, 1, 1}, r, 3);
    std::printf(",\n  \"simd_sum_ns_per_lane\": %.2f", s / (double(threads) * rounds) * 1e9);
  }
  {
    const uint32_t groups = 256;
    std::vector<float> out(groups * 64);
    msl_emu_bindings_set_buffer(&r, 0, out.data(), out.size() * 4);
    const double s = best_seconds("bench_simdgroup_mma", MSL_EMU_GRID_THREADGROUPS, {groups, 1, 1}, {32, 1, 1}, r, 3);
    std::printf(",\n  \"simdgroup_mma_ns_per_call\": %.1f", s / (double(groups) * rounds) * 1e9);
  }
  std::printf("\n}\n");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && !std::strcmp(argv[1], "run")) return run(argc, argv);
  if (argc >= 2 && !std::strcmp(argv[1], "list")) return list();
  if (argc >= 2 && !std::strcmp(argv[1], "bench")) return bench();
  return usage();
}
