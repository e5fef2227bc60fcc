#include "CStrataKernels.h"

/* y[OH, OW, C] = max over each window of x[H, W, C], and winners[o] = the index in x of the first maximum
   (scan order). Channels are innermost, so every step is a whole channel vector. */
#define MAXPOOL_BODY \
    for (long oy = 0; oy < out_h; oy++) { \
        long y0 = oy * stride_h - pad_top; \
        long ky0 = y0 < 0 ? -y0 : 0, ky1 = height - y0 < pool_h ? height - y0 : pool_h; \
        for (long ox = 0; ox < out_w; ox++) { \
            long x0 = ox * stride_w - pad_left; \
            long kx0 = x0 < 0 ? -x0 : 0, kx1 = width - x0 < pool_w ? width - x0 : pool_w; \
            float *restrict out = y + (oy * out_w + ox) * channels; \
            int *restrict won = winners + (oy * out_w + ox) * channels; \
            int first = 1; \
            for (long ky = ky0; ky < ky1; ky++) { \
                for (long kx = kx0; kx < kx1; kx++) { \
                    long position = ((y0 + ky) * width + x0 + kx) * channels; \
                    const float *restrict source = x + position; \
                    if (first) { \
                        for (long c = 0; c < channels; c++) { out[c] = source[c]; won[c] = (int)(position + c); } \
                        first = 0; \
                    } else { \
                        for (long c = 0; c < channels; c++) { \
                            float v = source[c]; \
                            int better = v > out[c]; \
                            out[c] = better ? v : out[c]; \
                            won[c] = better ? (int)(position + c) : won[c]; \
                        } \
                    } \
                } \
            } \
        } \
    }

#define MAXPOOL_PARAMETERS float *restrict y, int *restrict winners, const float *restrict x, long height, \
    long width, long channels, long pool_h, long pool_w, long stride_h, long stride_w, long pad_top, \
    long pad_left, long out_h, long out_w

#if defined(__x86_64__)
/* Compiled for AVX2 too: the channel loop's compare-and-select becomes 8-wide blends. */
__attribute__((target("avx2")))
static void maxpool_avx2(MAXPOOL_PARAMETERS) { MAXPOOL_BODY }
#endif

static void maxpool_portable(MAXPOOL_PARAMETERS) { MAXPOOL_BODY }

void strata_maxpool_forward(float *restrict y, int *restrict winners, const float *restrict x,
                            long height, long width, long channels, long pool_h, long pool_w,
                            long stride_h, long stride_w, long pad_top, long pad_left,
                            long out_h, long out_w) {
#if defined(__x86_64__)
    if (strata_cpu_has_avx2_fma()) {
        maxpool_avx2(y, winners, x, height, width, channels, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left,
                     out_h, out_w);
        return;
    }
#endif
    maxpool_portable(y, winners, x, height, width, channels, pool_h, pool_w, stride_h, stride_w, pad_top, pad_left,
                     out_h, out_w);
}

/* dx[H, W, C] for windows that tile the input (stride = pool, no padding before): every input lies in at most
   one window, so each is written once — its window's gradient if it won, else 0 — in one pass over dx instead
   of clearing it and scattering. Inputs past the last window are cleared. */
#define MAXPOOL_TILED_BACKWARD_BODY \
    long covered_w = out_w * pool_w < width ? out_w * pool_w : width; \
    long covered_h = out_h * pool_h < height ? out_h * pool_h : height; \
    for (long iy = 0; iy < covered_h; iy++) { \
        long oy = iy / pool_h; \
        for (long ix = 0; ix < covered_w; ix++) { \
            long o = (oy * out_w + ix / pool_w) * channels, position = (iy * width + ix) * channels; \
            const int *restrict won = winners + o; \
            const float *restrict g = dy + o; \
            float *restrict d = dx + position; \
            for (long c = 0; c < channels; c++) d[c] = won[c] == (int)(position + c) ? g[c] : 0.0f; \
        } \
        for (long c = covered_w * channels; c < width * channels; c++) dx[iy * width * channels + c] = 0.0f; \
    } \
    for (long c = covered_h * width * channels; c < height * width * channels; c++) dx[c] = 0.0f;

#define MAXPOOL_TILED_BACKWARD_PARAMETERS float *restrict dx, const float *restrict dy, \
    const int *restrict winners, long height, long width, long channels, long pool_h, long pool_w, long out_h, \
    long out_w

#if defined(__x86_64__)
__attribute__((target("avx2")))
static void maxpool_tiled_backward_avx2(MAXPOOL_TILED_BACKWARD_PARAMETERS) { MAXPOOL_TILED_BACKWARD_BODY }
#endif

static void maxpool_tiled_backward_portable(MAXPOOL_TILED_BACKWARD_PARAMETERS) { MAXPOOL_TILED_BACKWARD_BODY }

void strata_maxpool_tiled_backward(float *restrict dx, const float *restrict dy, const int *restrict winners,
                                   long height, long width, long channels, long pool_h, long pool_w,
                                   long out_h, long out_w) {
#if defined(__x86_64__)
    if (strata_cpu_has_avx2_fma()) {
        maxpool_tiled_backward_avx2(dx, dy, winners, height, width, channels, pool_h, pool_w, out_h, out_w);
        return;
    }
#endif
    maxpool_tiled_backward_portable(dx, dy, winners, height, width, channels, pool_h, pool_w, out_h, out_w);
}
