#include "CStrataKernels.h"
#if defined(__x86_64__)
#include <immintrin.h>

/* One probe per vector width: BITS (256 or 512) names the intrinsics, WIDTH the floats per vector. */
#define DEFINE_PROBE(NAME, TARGET, BITS, WIDTH)                                                            \
    __attribute__((target(TARGET))) static float NAME(long iterations) {                                   \
        __m##BITS acc[12];                                                                                 \
        for (int i = 0; i < 12; i++) acc[i] = _mm##BITS##_set1_ps((float)i * 1e-3f);                       \
        const __m##BITS x = _mm##BITS##_set1_ps(0.999999f), y = _mm##BITS##_set1_ps(1e-7f);                \
        for (long it = 0; it < iterations; it++) {                                                         \
            for (int i = 0; i < 12; i++) acc[i] = _mm##BITS##_fmadd_ps(acc[i], x, y);                      \
        }                                                                                                  \
        __m##BITS sum = acc[0];                                                                            \
        for (int i = 1; i < 12; i++) sum = _mm##BITS##_add_ps(sum, acc[i]);                                \
        float out[WIDTH];                                                                                  \
        _mm##BITS##_storeu_ps(out, sum);                                                                   \
        return out[0] + out[WIDTH - 1];                                                                    \
    }

DEFINE_PROBE(probe_avx2, "avx2,fma", 256, 8)
DEFINE_PROBE(probe_avx512, "avx512f", 512, 16)
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
