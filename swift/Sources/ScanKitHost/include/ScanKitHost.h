/* What ScanKit's Swift imports (the umbrella header of the ScanKitHost module): the shared
 * Metal host logic (metal_host.h: every ABI function as ss_metal_<name>, the GPU operations
 * table of gpu_ops.h, the ABI's types of scanstream.h) and the backend-independent table
 * queries, which Swift exports as ss_abi_version, ss_kernel_count, ss_kernel_name and
 * ss_args_sizeof. Plain C. */
#ifndef SCANKIT_HOST_H
#define SCANKIT_HOST_H

#include "metal_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SS_ABI_VERSION, through a function: Swift does not import every macro spelling (3u) alike */
static inline uint32_t scankit_abi_version(void) { return SS_ABI_VERSION; }

/* native/common/kernel_table.cpp's ss_kernel_count, ss_kernel_name and ss_args_sizeof,
 * compiled under these names (common_kernel_table.cpp) so that the Swift exports are the
 * only definitions of the ss_ symbols in libScanKit.dylib */
uint32_t scankit_kernel_count(void);
const char* scankit_kernel_name(uint32_t index);
uint32_t scankit_args_sizeof(const char* name);

#ifdef __cplusplus
}
#endif
#endif
