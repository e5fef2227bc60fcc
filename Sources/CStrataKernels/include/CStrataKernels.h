#ifndef STRATA_KERNELS_H
#define STRATA_KERNELS_H

#include <stddef.h>

/// 1 when this CPU runs AVX2 and FMA instructions, so the fast micro-kernels may be used.
int strata_cpu_has_avx2_fma(void);

#endif
