#include "fiber.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <sys/mman.h>
#include <unistd.h>

namespace msl_emu {

bool fiber_stack_create(fiber_stack* stack, size_t bytes) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  bytes = (bytes + page - 1) / page * page;
  const size_t total = bytes + page;
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_NORESERVE
  flags |= MAP_NORESERVE; /* pages are committed only when a fiber touches them */
#endif
  void* m = mmap(nullptr, total, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (m == MAP_FAILED) return false;
  if (mprotect(m, page, PROT_NONE) != 0) {
    munmap(m, total);
    return false;
  }
  stack->mapping = m;
  stack->mapping_bytes = total;
  stack->base = static_cast<char*>(m) + page;
  stack->bytes = bytes;
  static std::atomic<unsigned> created{0};
  stack->color = (created.fetch_add(1, std::memory_order_relaxed) * 5u % 64u) * 64u; /* 64 offsets, a cache line apart */
  return true;
}

void fiber_stack_destroy(fiber_stack* stack) {
  if (stack->mapping) munmap(stack->mapping, stack->mapping_bytes);
  *stack = fiber_stack{};
}

#if defined(MSL_EMU_FIBER_UCONTEXT)

namespace {
/* makecontext passes int arguments only: the pointers travel in halves */
void ucontext_trampoline(unsigned entry_hi, unsigned entry_lo, unsigned arg_hi, unsigned arg_lo) {
  auto entry = reinterpret_cast<fiber_entry>((uintptr_t(entry_hi) << 32) | uintptr_t(entry_lo));
  void* arg = reinterpret_cast<void*>((uintptr_t(arg_hi) << 32) | uintptr_t(arg_lo));
  entry(arg);
  abort(); /* an entry must switch away, never return */
}
} // namespace

void fiber_prepare(fiber* f, const fiber_stack* stack, fiber_entry entry, void* arg) {
  getcontext(&f->context);
  f->context.uc_stack.ss_sp = stack->base;
  f->context.uc_stack.ss_size = stack->bytes - stack->color;
  f->context.uc_link = nullptr;
  const uintptr_t e = reinterpret_cast<uintptr_t>(entry), a = reinterpret_cast<uintptr_t>(arg);
  makecontext(&f->context, reinterpret_cast<void (*)()>(ucontext_trampoline), 4, unsigned(uint64_t(e) >> 32),
              unsigned(e & 0xffffffffu), unsigned(uint64_t(a) >> 32), unsigned(a & 0xffffffffu));
}

void fiber_switch(fiber* from, fiber* to) { swapcontext(&from->context, &to->context); }

#else

extern "C" void msl_emu_fiber_switch_asm(void** save_sp, void* load_sp);
extern "C" void msl_emu_fiber_start_asm();

#if defined(__APPLE__)
#define MSL_EMU_SYM(name) "_" #name
#define MSL_EMU_FUNC_BEGIN(name) ".globl " MSL_EMU_SYM(name) "\n.p2align 4\n" MSL_EMU_SYM(name) ":\n"
#define MSL_EMU_FUNC_END(name)
#else
#define MSL_EMU_SYM(name) #name
#define MSL_EMU_FUNC_BEGIN(name)                                                                                       \
  ".globl " #name "\n.hidden " #name "\n.type " #name ",@function\n.p2align 4\n" #name ":\n"
#define MSL_EMU_FUNC_END(name) ".size " #name ", .-" #name "\n"
#endif

#if defined(__x86_64__)
/* System V: rbx rbp r12-r15 are callee-saved. The MXCSR and x87 control
 * words are too, but kernels never change rounding modes, and saving them
 * (ldmxcsr, fldcw) made a switch about twice as slow. */
asm(".text\n" MSL_EMU_FUNC_BEGIN(msl_emu_fiber_switch_asm)
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    /* not `ret`: the return-stack predictor expects this context's caller and
     * misses on every switch; an indirect jump is predicted from history
     * (a round trip 23 ns -> 7 ns here) */
    "  popq %rcx\n"
    "  jmpq *%rcx\n" MSL_EMU_FUNC_END(msl_emu_fiber_switch_asm)
    /* first switch to a fiber returns here: entry in r12, its argument in r13 */
    MSL_EMU_FUNC_BEGIN(msl_emu_fiber_start_asm)
    "  movq %r13, %rdi\n"
    "  callq *%r12\n"
    "  ud2\n" MSL_EMU_FUNC_END(msl_emu_fiber_start_asm));

void fiber_prepare(fiber* f, const fiber_stack* stack, fiber_entry entry, void* arg) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack->base) + stack->bytes - stack->color) & ~uintptr_t(15);
  /* after the final `ret` rsp == top (16-aligned), so the `call` in start_asm leaves the ABI's alignment */
  uint64_t* frame = reinterpret_cast<uint64_t*>(top - 56);
  frame[0] = 0;                                                    /* r15 */
  frame[1] = 0;                                                    /* r14 */
  frame[2] = reinterpret_cast<uint64_t>(arg);                      /* r13 */
  frame[3] = reinterpret_cast<uint64_t>(entry);                    /* r12 */
  frame[4] = 0;                                                    /* rbx */
  frame[5] = 0;                                                    /* rbp */
  frame[6] = reinterpret_cast<uint64_t>(&msl_emu_fiber_start_asm); /* return address */
  f->sp = frame;
}

#elif defined(__aarch64__)
/* AAPCS64: x19-x28, fp, lr and the low halves of v8-v15 (d8-d15) are callee-saved. */
asm(".text\n" MSL_EMU_FUNC_BEGIN(msl_emu_fiber_switch_asm)
    "  sub sp, sp, #176\n"
    "  stp x19, x20, [sp, #0]\n"
    "  stp x21, x22, [sp, #16]\n"
    "  stp x23, x24, [sp, #32]\n"
    "  stp x25, x26, [sp, #48]\n"
    "  stp x27, x28, [sp, #64]\n"
    "  stp x29, x30, [sp, #80]\n"
    "  stp d8, d9, [sp, #96]\n"
    "  stp d10, d11, [sp, #112]\n"
    "  stp d12, d13, [sp, #128]\n"
    "  stp d14, d15, [sp, #144]\n"
    "  mov x2, sp\n"
    "  str x2, [x0]\n"
    "  mov sp, x1\n"
    "  ldp x19, x20, [sp, #0]\n"
    "  ldp x21, x22, [sp, #16]\n"
    "  ldp x23, x24, [sp, #32]\n"
    "  ldp x25, x26, [sp, #48]\n"
    "  ldp x27, x28, [sp, #64]\n"
    "  ldp x29, x30, [sp, #80]\n"
    "  ldp d8, d9, [sp, #96]\n"
    "  ldp d10, d11, [sp, #112]\n"
    "  ldp d12, d13, [sp, #128]\n"
    "  ldp d14, d15, [sp, #144]\n"
    "  add sp, sp, #176\n"
    "  br x30\n" /* not `ret`: see the x86-64 switch */ MSL_EMU_FUNC_END(msl_emu_fiber_switch_asm)
    /* first switch to a fiber returns here: entry in x19, its argument in x20 */
    MSL_EMU_FUNC_BEGIN(msl_emu_fiber_start_asm)
    "  mov x0, x20\n"
    "  blr x19\n"
    "  brk #0\n" MSL_EMU_FUNC_END(msl_emu_fiber_start_asm));

void fiber_prepare(fiber* f, const fiber_stack* stack, fiber_entry entry, void* arg) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack->base) + stack->bytes - stack->color) & ~uintptr_t(15);
  uint64_t* frame = reinterpret_cast<uint64_t*>(top - 176);
  for (int i = 0; i < 22; ++i) frame[i] = 0;
  frame[0] = reinterpret_cast<uint64_t>(entry);                     /* x19 */
  frame[1] = reinterpret_cast<uint64_t>(arg);                       /* x20 */
  frame[11] = reinterpret_cast<uint64_t>(&msl_emu_fiber_start_asm); /* x30: where `ret` goes */
  f->sp = frame;
}
#endif

void fiber_switch(fiber* from, fiber* to) { msl_emu_fiber_switch_asm(&from->sp, to->sp); }

#endif

} // namespace msl_emu
