#include "CStrataKernels.h"

/* Branch-free selects over restrict pointers, so both loops vectorize: a branch per element mispredicts on
   every sign change, which on real activations is every other element. */

void strata_relu_forward(float *restrict y, const float *restrict x, long count) {
    /* `x <= 0 ? 0 : x` keeps NaN (the comparison is false), so a diverging run is still caught downstream. */
    for (long i = 0; i < count; i++) {
        float v = x[i];
        y[i] = v <= 0.0f ? 0.0f : v;
    }
}

void strata_relu_backward(float *restrict dx, const float *restrict dy, const float *restrict x, long count) {
    /* Both loads unconditional: a load under the condition is not vectorized. */
    for (long i = 0; i < count; i++) {
        float g = dy[i], v = x[i];
        dx[i] = v > 0.0f ? g : 0.0f;
    }
}
