/* ss_kernel_count, ss_kernel_name and ss_args_sizeof, from the one kernel table (every backend links this). */
#include "kernel_table.h"

#include <cstring>

static const char* const kKernelNames[SS_KERNEL_COUNT] = {
#define SS_KT_NAME_(name, buffers) "ss_" #name,
    SS_KERNEL_TABLE(SS_KT_NAME_, SS_KT_NO_BUFFER_, SS_KT_NO_BUFFER_, SS_KT_NO_BUFFER_)
#undef SS_KT_NAME_
};

int32_t ss_kernel_index(const char* name) {
  if (!name) return -1;
  for (int32_t i = 0; i < SS_KERNEL_COUNT; ++i)
    if (strcmp(name, kKernelNames[i]) == 0) return i;
  return -1;
}

extern "C" {

SS_API uint32_t ss_kernel_count(void) { return SS_KERNEL_COUNT; }

SS_API const char* ss_kernel_name(uint32_t index) { return index < SS_KERNEL_COUNT ? kKernelNames[index] : nullptr; }

/* sizeof(ss_<kernel>_args) by kernel name without the prefix ("depth_to_points"), so the TypeScript facade can check its layouts */
SS_API uint32_t ss_args_sizeof(const char* name) {
  if (!name) return 0;
#define SS_KT_SIZEOF_(kernel, buffers) \
  if (strcmp(name, #kernel) == 0) return (uint32_t)sizeof(ss_##kernel##_args);
  SS_KERNEL_TABLE(SS_KT_SIZEOF_, SS_KT_NO_BUFFER_, SS_KT_NO_BUFFER_, SS_KT_NO_BUFFER_)
#undef SS_KT_SIZEOF_
  return 0;
}

}  // extern "C"
