#include "CStrataKernels.h"

int strata_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#include <stdlib.h>

int strata_cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* -1 until first asked: then whether the CPU has AVX-512F and STRATA_NO_AVX512 is unset. */
static int avx512_allowed = -1;

int strata_cpu_use_avx512(void) {
    int allowed = __atomic_load_n(&avx512_allowed, __ATOMIC_RELAXED);
    if (allowed < 0) {
        const char *off = getenv("STRATA_NO_AVX512");
        allowed = strata_cpu_has_avx512() && !(off && off[0] && off[0] != '0');
        __atomic_store_n(&avx512_allowed, allowed, __ATOMIC_RELAXED);
    }
    return allowed;
}

int strata_cpu_set_avx512(int allowed) {
    int previous = strata_cpu_use_avx512();
    __atomic_store_n(&avx512_allowed, allowed && strata_cpu_has_avx512(), __ATOMIC_RELAXED);
    return previous;
}

#if defined(__x86_64__)
#include <xmmintrin.h>
#include <pmmintrin.h>
#endif

void strata_flush_denormals(void) {
#if defined(__x86_64__)
    _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
    _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
#endif
}

void strata_prefetch(const void *start, long bytes) {
    const char *p = (const char *)start;
    for (long offset = 0; offset < bytes; offset += 64) __builtin_prefetch(p + offset, 0, 2);
}
