#include "CStrataKernels.h"
#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma")))
static float probe_avx2(long iterations) {
    __m256 acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    }
    __m256 sum = acc[0];
    for (int i = 1; i < 12; i++) sum = _mm256_add_ps(sum, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, sum);
    return out[0] + out[7];
}

__attribute__((target("avx512f")))
static float probe_avx512(long iterations) {
    __m512 acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    }
    __m512 sum = acc[0];
    for (int i = 1; i < 12; i++) sum = _mm512_add_ps(sum, acc[i]);
    float out[16];
    _mm512_storeu_ps(out, sum);
    return out[0] + out[15];
}
#endif

int strata_fma_peak_width(void) {
#if defined(__x86_64__)
    if (strata_cpu_has_avx2_fma()) return strata_cpu_use_avx512() ? 16 : 8;
#endif
    return 0;
}

float strata_fma_peak_probe(long iterations) {
#if defined(__x86_64__)
    if (strata_fma_peak_width() == 16) return probe_avx512(iterations);
    if (strata_cpu_has_avx2_fma()) return probe_avx2(iterations);
#endif
    (void)iterations;
    return 0.0f;
}
