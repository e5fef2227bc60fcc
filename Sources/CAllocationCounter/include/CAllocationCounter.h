#ifndef STRATA_ALLOCATION_COUNTER_H
#define STRATA_ALLOCATION_COUNTER_H

/// Heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) since the program
/// started, counted by wrappers that forward to glibc. Linked only into strata-bench.
unsigned long strata_allocation_count(void);

#endif
