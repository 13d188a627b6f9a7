/* Cooperative fibers for the threads of one emulated threadgroup. A switch
 * saves the callee-saved registers on the current stack and moves to the
 * other stack: a few nanoseconds, no system call (swapcontext makes one per
 * switch to save the signal mask). x86-64 and aarch64 have an assembly
 * switch; other hosts fall back to ucontext. */
#ifndef MSL_EMU_FIBER_H
#define MSL_EMU_FIBER_H

#include <cstddef>

#if !defined(MSL_EMU_FIBER_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define MSL_EMU_FIBER_UCONTEXT 1
#endif
#if defined(MSL_EMU_FIBER_UCONTEXT)
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 /* macOS hides ucontext without it */
#endif
#include <ucontext.h>
#endif

namespace msl_emu {

/* A stack with an inaccessible guard page below it: an overflow faults at once instead of corrupting a neighbour. */
struct fiber_stack {
  void* mapping = nullptr;
  size_t mapping_bytes = 0;
  void* base = nullptr; /* lowest usable address */
  size_t bytes = 0;
  /* bytes left unused at the top: stacks are whole pages apart, so without
   * this every fiber's frames would fall in the same cache sets */
  size_t color = 0;
};

bool fiber_stack_create(fiber_stack* stack, size_t bytes);
void fiber_stack_destroy(fiber_stack* stack);

/* The saved state of a suspended fiber (or of the scheduler while a fiber runs). */
struct fiber {
#if defined(MSL_EMU_FIBER_UCONTEXT)
  ucontext_t context;
#else
  void* sp = nullptr;
#endif
};

/* Runs on the fiber's stack. It must never return: its last act is a switch away. */
typedef void (*fiber_entry)(void* arg);

/* Makes `f` start `entry(arg)` on `stack` at the first switch to it. A fiber
 * may be prepared again (abandoning what it was doing) once suspended. */
void fiber_prepare(fiber* f, const fiber_stack* stack, fiber_entry entry, void* arg);

/* Saves the running context in `from` and resumes `to`. */
void fiber_switch(fiber* from, fiber* to);

} // namespace msl_emu

#endif
