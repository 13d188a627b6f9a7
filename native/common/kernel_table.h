/* The kernel table of scanstream.h as data for host code: names, lookup, args sizes. */
#ifndef SS_COMMON_KERNEL_TABLE_H
#define SS_COMMON_KERNEL_TABLE_H

#include "scanstream.h"

#define SS_KT_COUNT_ONE_(name, buffers) +1
#define SS_KT_NO_BUFFER_(b)
enum { SS_KERNEL_COUNT = 0 SS_KERNEL_TABLE(SS_KT_COUNT_ONE_, SS_KT_NO_BUFFER_, SS_KT_NO_BUFFER_, SS_KT_NO_BUFFER_) };
#undef SS_KT_COUNT_ONE_

/* index of "ss_<kernel>" in the table, or -1 */
int32_t ss_kernel_index(const char* name);

#endif
