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
        __m256 velocity =
            _mm256_sub_ps(_mm256_mul_ps(mu, _mm256_loadu_ps(v + i)), _mm256_mul_ps(lr, _mm256_loadu_ps(g + i)));
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

/* Adam in Keras' form, element by element:
     m += (1 - beta1)·(g - m);  v += (1 - beta2)·(g·g - v);  w -= corrected·m / (√v + ε)
   with the roundings of the Swift loop it replaces (the same operations in the same order, no fused
   multiply-add; square root and division are exact in IEEE arithmetic, in vectors as in scalars). One loop per
   vector width: BITS (256 or 512) names the intrinsics (_mm256_…, _mm512_…), WIDTH the floats per vector. */
#define DEFINE_ADAM(NAME, TARGET, BITS, WIDTH)                                                             \
    __attribute__((target(TARGET))) static long NAME(float *restrict w, float *restrict m, float *restrict v, \
                                                     const float *restrict g, long count, float one_minus_beta1, \
                                                     float one_minus_beta2, float corrected, float epsilon) { \
        __m##BITS b1 = _mm##BITS##_set1_ps(one_minus_beta1), b2 = _mm##BITS##_set1_ps(one_minus_beta2);     \
        __m##BITS lr = _mm##BITS##_set1_ps(corrected), eps = _mm##BITS##_set1_ps(epsilon);                  \
        long i = 0;                                                                                        \
        for (; i + WIDTH <= count; i += WIDTH) {                                                           \
            __m##BITS g_ = _mm##BITS##_loadu_ps(g + i), m_ = _mm##BITS##_loadu_ps(m + i);                   \
            __m##BITS v_ = _mm##BITS##_loadu_ps(v + i);                                                    \
            m_ = _mm##BITS##_add_ps(m_, _mm##BITS##_mul_ps(b1, _mm##BITS##_sub_ps(g_, m_)));                \
            v_ = _mm##BITS##_add_ps(v_, _mm##BITS##_mul_ps(b2, _mm##BITS##_sub_ps(_mm##BITS##_mul_ps(g_, g_), v_))); \
            _mm##BITS##_storeu_ps(m + i, m_);                                                              \
            _mm##BITS##_storeu_ps(v + i, v_);                                                              \
            __m##BITS step = _mm##BITS##_div_ps(_mm##BITS##_mul_ps(lr, m_),                                \
                                                _mm##BITS##_add_ps(_mm##BITS##_sqrt_ps(v_), eps));          \
            _mm##BITS##_storeu_ps(w + i, _mm##BITS##_sub_ps(_mm##BITS##_loadu_ps(w + i), step));             \
        }                                                                                                  \
        return i;                                                                                          \
    }

#if defined(__x86_64__)
DEFINE_ADAM(adam_avx512, "avx512f", 512, 16)
DEFINE_ADAM(adam_avx2, "avx2", 256, 8)
#endif

void strata_adam_update(int use_avx2, float *restrict w, float *restrict m, float *restrict v, const float *restrict g,
                        long count, float one_minus_beta1, float one_minus_beta2, float corrected, float epsilon) {
    long i = 0;
#if defined(__x86_64__)
    if (use_avx2 && strata_cpu_use_avx512())
        i = adam_avx512(w, m, v, g, count, one_minus_beta1, one_minus_beta2, corrected, epsilon);
    else if (use_avx2)
        i = adam_avx2(w, m, v, g, count, one_minus_beta1, one_minus_beta2, corrected, epsilon);
#else
    (void)use_avx2;
#endif
    for (; i < count; i++) {
        m[i] += one_minus_beta1 * (g[i] - m[i]);
        v[i] += one_minus_beta2 * (g[i] * g[i] - v[i]);
        w[i] -= corrected * m[i] / (__builtin_sqrtf(v[i]) + epsilon);
    }
}
