#include "CStrataKernels.h"

/* y[OH, OW, C] = max over each window of x[H, W, C], and winners[o] = the index in x of the first maximum
   (scan order). Channels are innermost, so every step is a whole channel vector. */
void strata_maxpool_forward(float *restrict y, int *restrict winners, const float *restrict x,
                            long height, long width, long channels, long pool_h, long pool_w,
                            long stride_h, long stride_w, long pad_top, long pad_left,
                            long out_h, long out_w) {
    for (long oy = 0; oy < out_h; oy++) {
        long y0 = oy * stride_h - pad_top;
        long ky0 = y0 < 0 ? -y0 : 0, ky1 = height - y0 < pool_h ? height - y0 : pool_h;
        for (long ox = 0; ox < out_w; ox++) {
            long x0 = ox * stride_w - pad_left;
            long kx0 = x0 < 0 ? -x0 : 0, kx1 = width - x0 < pool_w ? width - x0 : pool_w;
            float *restrict out = y + (oy * out_w + ox) * channels;
            int *restrict won = winners + (oy * out_w + ox) * channels;
            int first = 1;
            for (long ky = ky0; ky < ky1; ky++) {
                for (long kx = kx0; kx < kx1; kx++) {
                    long position = ((y0 + ky) * width + x0 + kx) * channels;
                    const float *restrict source = x + position;
                    if (first) {
                        for (long c = 0; c < channels; c++) { out[c] = source[c]; won[c] = (int)(position + c); }
                        first = 0;
                    } else {
                        for (long c = 0; c < channels; c++) {
                            float v = source[c];
                            int better = v > out[c];
                            out[c] = better ? v : out[c];
                            won[c] = better ? (int)(position + c) : won[c];
                        }
                    }
                }
            }
        }
    }
}
