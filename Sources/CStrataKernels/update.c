#include "CStrataKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Each value is rounded exactly as the Swift loops of Optimizer round it (products, then the difference, then the
   sum; never a fused multiply-add), so a checkpoint does not depend on which of the two ran. */
#pragma clang fp contract(off)

#if defined(__x86_64__)
__attribute__((target("avx2")))
static void sgd_momentum_avx2(float *restrict w, float *restrict v, const float *restrict g, long count, float momentum,
                              float rate) {
    __m256 mu = _mm256_set1_ps(momentum), lr = _mm256_set1_ps(rate);
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 velocity = _mm256_sub_ps(_mm256_mul_ps(mu, _mm256_loadu_ps(v + i)), _mm256_mul_ps(lr, _mm256_loadu_ps(g + i)));
        _mm256_storeu_ps(v + i, velocity);
        _mm256_storeu_ps(w + i, _mm256_add_ps(_mm256_loadu_ps(w + i), velocity));
    }
    for (; i < count; i++) {
        v[i] = momentum * v[i] - rate * g[i];
        w[i] += v[i];
    }
}
#endif

void strata_sgd_momentum_update(int use_avx2, float *restrict w, float *restrict v, const float *restrict g, long count,
                                float momentum, float rate) {
#if defined(__x86_64__)
    if (use_avx2) {
        sgd_momentum_avx2(w, v, g, count, momentum, rate);
        return;
    }
#else
    (void)use_avx2;
#endif
    for (long i = 0; i < count; i++) {
        v[i] = momentum * v[i] - rate * g[i];
        w[i] += v[i];
    }
}
