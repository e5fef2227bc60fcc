#include "CStrataKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Columns j0.. in register blocks of 32, then 8; returns the first column left for the scalar loop. */
__attribute__((target("avx2")))
static long bias_reduce_avx2(float *db, const float *dy, long rows, long width, long j0, long last) {
    for (; j0 + 32 <= last; j0 += 32) {
        __m256 a0 = _mm256_loadu_ps(db + j0), a1 = _mm256_loadu_ps(db + j0 + 8);
        __m256 a2 = _mm256_loadu_ps(db + j0 + 16), a3 = _mm256_loadu_ps(db + j0 + 24);
        const float *row = dy + j0;
        for (long r = 0; r < rows; r++, row += width) {
            a0 = _mm256_add_ps(a0, _mm256_loadu_ps(row));
            a1 = _mm256_add_ps(a1, _mm256_loadu_ps(row + 8));
            a2 = _mm256_add_ps(a2, _mm256_loadu_ps(row + 16));
            a3 = _mm256_add_ps(a3, _mm256_loadu_ps(row + 24));
        }
        _mm256_storeu_ps(db + j0, a0);
        _mm256_storeu_ps(db + j0 + 8, a1);
        _mm256_storeu_ps(db + j0 + 16, a2);
        _mm256_storeu_ps(db + j0 + 24, a3);
    }
    for (; j0 + 8 <= last; j0 += 8) {
        __m256 a = _mm256_loadu_ps(db + j0);
        const float *row = dy + j0;
        for (long r = 0; r < rows; r++, row += width) a = _mm256_add_ps(a, _mm256_loadu_ps(row));
        _mm256_storeu_ps(db + j0, a);
    }
    return j0;
}
#endif

void strata_bias_reduce(float *db, const float *dy, long rows, long width, long first, long last) {
    long j0 = first;
#if defined(__x86_64__)
    if (strata_cpu_has_avx2_fma()) j0 = bias_reduce_avx2(db, dy, rows, width, j0, last);
#endif
    for (; j0 < last; j0++) {
        float sum = db[j0];
        for (long r = 0; r < rows; r++) sum += dy[r * width + j0];
        db[j0] = sum;
    }
}
