#include "conv_tiles.h"

/* Convolution fused with a max pooling whose windows tile its output (stride = pool size, no padding before).
   The convolution's output exists only one band of pool_h rows at a time, in `band` [pool_h][run][F] floats
   (run = the used output width): computed, pooled, and dropped while it is still in L1. */

/* One pooled cell without winners (evaluation): the same comparisons as with them, so the same values. */
static inline void pool_window(float *restrict out, const float *restrict window, const strata_pool_shape *pool,
                               long run, long filters) {
    for (long c = 0; c < filters; c++) out[c] = window[c];
    for (long ky = 0; ky < pool->pool_h; ky++) {
        for (long kx = ky == 0 ? 1 : 0; kx < pool->pool_w; kx++) {
            const float *restrict source = window + (ky * run + kx) * filters;
            for (long c = 0; c < filters; c++) {
                float v = source[c], best = out[c];
                out[c] = v > best ? v : best;
            }
        }
    }
    if (pool->relu)
        for (long c = 0; c < filters; c++) {
            float v = out[c];
            out[c] = v <= 0.0f ? 0.0f : v;
        }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void conv_pool_forward_avx2(float *pooled, unsigned char *winners, const float *x, const float *w, const float *bias,
                                   long first_example, long last_example, const strata_conv_geometry *g,
                                   const strata_pool_shape *pool, float *band) {
    long filters = g->filters, run = g->run, band_rows = pool->pool_h * run;
    long pooled_size = pool->pooled_h * pool->pooled_w * filters;
    for (long b = first_example; b < last_example; b++) {
        const float *image = x + b * g->image;
        for (long py = 0; py < pool->pooled_h; py++) {
            long q0 = py * band_rows;
            for (long l0 = 0; l0 < band_rows; l0 += TR) {
                long count = band_rows - l0 < TR ? band_rows - l0 : TR;
                const float *rows[TR];
                float *outputs[TR];
                for (long i = 0; i < TR; i++) {
                    long l = l0 + (i < count ? i : count - 1);
                    rows[i] = image + g->row_base[q0 + l];
                    outputs[i] = band + l * filters;
                }
                forward_tiles((float *const(*)[TR]) & outputs, (const float *const(*)[TR]) & rows, 1, g->patch_offset,
                              g->patch, w, filters, bias);
            }
            /* Each window's first maximum in scan order wins, as in strata_maxpool_forward; the winner is
               recorded as its cell in the window, ky·pool_w + kx. */
            for (long px = 0; px < pool->pooled_w; px++) {
                float *restrict out = pooled + b * pooled_size + (py * pool->pooled_w + px) * filters;
                if (!winners) {
                    pool_window(out, band + px * pool->pool_w * filters, pool, run, filters);
                    continue;
                }
                unsigned char *restrict won = winners + b * pooled_size + (py * pool->pooled_w + px) * filters;
                for (long ky = 0; ky < pool->pool_h; ky++) {
                    for (long kx = 0; kx < pool->pool_w; kx++) {
                        const float *restrict source = band + (ky * run + px * pool->pool_w + kx) * filters;
                        unsigned char cell = (unsigned char)(ky * pool->pool_w + kx);
                        if (ky == 0 && kx == 0) {
                            for (long c = 0; c < filters; c++) { out[c] = source[c]; won[c] = 0; }
                        } else {
                            for (long c = 0; c < filters; c++) {
                                float v = source[c], best = out[c];
                                unsigned char kept = won[c];
                                int better = v > best;
                                out[c] = better ? v : best;
                                won[c] = better ? cell : kept;
                            }
                        }
                    }
                }
                /* relu after pooling keeps NaN (as strata_relu_forward) and is what backward's mask reads. */
                if (pool->relu)
                    for (long c = 0; c < filters; c++) {
                        float v = out[c];
                        out[c] = v <= 0.0f ? 0.0f : v;
                    }
            }
        }
    }
}
#endif

void strata_conv_pool_forward(float *pooled, unsigned char *winners, const float *x, const float *w, const float *bias,
                              long first_example, long last_example, const strata_conv_geometry *g,
                              const strata_pool_shape *pool, float *band) {
#if defined(__x86_64__)
    conv_pool_forward_avx2(pooled, winners, x, w, bias, first_example, last_example, g, pool, band);
#else
    (void)pooled; (void)winners; (void)x; (void)w; (void)bias; (void)first_example; (void)last_example; (void)g;
    (void)pool; (void)band;
#endif
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void conv_pool_weight_gradient_avx2(float *dw, float *db, const float *x, const float *dpooled,
                                           const float *pooled, const unsigned char *winners, long batch, long first_tile,
                                           long last_tile, const strata_conv_geometry *g, const strata_pool_shape *pool,
                                           const long *band_output, float *band) {
    long filters = g->filters, patch = g->patch, run = g->run, band_rows = pool->pool_h * run;
    long tap_panels = (patch + TR - 1) / TR;
    long pooled_size = pool->pooled_h * pool->pooled_w * filters;
    if (first_tile >= last_tile) return;
    /* This part's filter columns: its tiles cover whole 16-filter panels. */
    long c0 = first_tile / tap_panels * TC, c1 = ((last_tile - 1) / tap_panels + 1) * TC;
    for (long b = 0; b < batch; b++) {
        const float *image = x + b * g->image;
        const float *gradient = dpooled + b * pooled_size, *output = pooled + b * pooled_size;
        const unsigned char *won = winners + b * pooled_size;
        for (long py = 0; py < pool->pooled_h; py++) {
            /* The band's output gradient: each pooled gradient goes to its window's winner, 0 elsewhere. */
            for (long ky = 0; ky < pool->pool_h; ky++) {
                for (long ox = 0; ox < run; ox++) {
                    long o = (py * pool->pooled_w + ox / pool->pool_w) * filters;
                    unsigned char cell = (unsigned char)(ky * pool->pool_w + ox % pool->pool_w);
                    float *restrict target = band + (ky * run + ox) * filters;
                    const unsigned char *restrict winner = won + o;
                    const float *restrict source = gradient + o, *restrict result = output + o;
                    /* 16 filters at a time (this part's columns are whole panels): the winners' bytes compared
                       at once, their mask widened to the floats. With relu, a window whose maximum was not
                       positive passes nothing back (as relu's gradient would). */
                    __m128i wanted = _mm_set1_epi8((char)cell);
                    for (long c = c0; c < c1; c += 16) {
                        __m128i same = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(winner + c)), wanted);
                        __m256 low = _mm256_castsi256_ps(_mm256_cvtepi8_epi32(same));
                        __m256 high = _mm256_castsi256_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(same, 8)));
                        if (pool->relu) {
                            __m256 zero = _mm256_setzero_ps();
                            low = _mm256_and_ps(low, _mm256_cmp_ps(_mm256_loadu_ps(result + c), zero, _CMP_GT_OQ));
                            high = _mm256_and_ps(high,
                                                 _mm256_cmp_ps(_mm256_loadu_ps(result + c + 8), zero, _CMP_GT_OQ));
                        }
                        _mm256_storeu_ps(target + c, _mm256_and_ps(low, _mm256_loadu_ps(source + c)));
                        _mm256_storeu_ps(target + c + 8, _mm256_and_ps(high, _mm256_loadu_ps(source + c + 8)));
                    }
                }
            }
            if (db) {
                /* Each sum kept in a register over the band's rows, added in the same order as one by one. */
                for (long c = c0; c < c1; c += 16) {
                    __m256 low = _mm256_loadu_ps(db + c), high = _mm256_loadu_ps(db + c + 8);
                    for (long l = 0; l < band_rows; l++) {
                        low = _mm256_add_ps(low, _mm256_loadu_ps(band + l * filters + c));
                        high = _mm256_add_ps(high, _mm256_loadu_ps(band + l * filters + c + 8));
                    }
                    _mm256_storeu_ps(db + c, low);
                    _mm256_storeu_ps(db + c + 8, high);
                }
            }
            for (long t = first_tile; t < last_tile; t++) {
                long f0 = t / tap_panels * TC, p0 = t % tap_panels * TR;
                int taps = patch - p0 < TR ? (int)(patch - p0) : TR;
                long offset[TR];
                for (int i = 0; i < TR; i++) offset[i] = g->patch_offset[p0 + (i < taps ? i : taps - 1)];
                weight_tile(dw + p0 * filters + f0, filters, taps, image, g->row_base + py * band_rows, band_output,
                            pool->pool_h, run, g->window_step, offset, band + f0, filters);
            }
        }
    }
}
#endif

void strata_conv_pool_weight_gradient(float *dw, float *db, const float *x, const float *dpooled, const float *pooled,
                                      const unsigned char *winners, long batch, long first_tile, long last_tile,
                                      const strata_conv_geometry *g, const strata_pool_shape *pool,
                                      const long *band_output, float *band) {
#if defined(__x86_64__)
    conv_pool_weight_gradient_avx2(dw, db, x, dpooled, pooled, winners, batch, first_tile, last_tile, g, pool,
                                   band_output, band);
#else
    (void)dw; (void)db; (void)x; (void)dpooled; (void)pooled; (void)winners; (void)batch; (void)first_tile;
    (void)last_tile; (void)g; (void)pool; (void)band_output; (void)band;
#endif
}
