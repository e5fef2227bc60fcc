#include "CStrataKernels.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Implicit-GEMM convolution: the GEMM micro-tile (6 rows x 16 columns in 12 ymm accumulators) reads the
   image through offset tables instead of an unrolled column matrix, so nothing of size batch x positions x
   patch is ever written. A row is an output position, a depth index p a (ky, kx, c) tap of the window. */

enum { TR = 6, TC = 16 };

#if defined(__x86_64__)

#define TILE_DECLARE                                                                                       \
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51
#define TILE_SET(lo, hi)                                                                                   \
    c00 = lo; c01 = hi; c10 = lo; c11 = hi; c20 = lo; c21 = hi;                                            \
    c30 = lo; c31 = hi; c40 = lo; c41 = hi; c50 = lo; c51 = hi
/* One depth step: a0..a5 are six broadcast row values, b0/b1 sixteen column values. */
#define TILE_STEP(a0, a1, a2, a3, a4, a5, b0, b1)                                                          \
    do {                                                                                                   \
        __m256 av;                                                                                         \
        av = _mm256_broadcast_ss(a0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01); \
        av = _mm256_broadcast_ss(a1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11); \
        av = _mm256_broadcast_ss(a2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21); \
        av = _mm256_broadcast_ss(a3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31); \
        av = _mm256_broadcast_ss(a4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41); \
        av = _mm256_broadcast_ss(a5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51); \
    } while (0)
/* Stores the accumulators to six rows of sixteen, or loads them from there. */
#define TILE_STORE(p0, p1, p2, p3, p4, p5)                                                                 \
    do {                                                                                                   \
        _mm256_storeu_ps(p0, c00); _mm256_storeu_ps((p0) + 8, c01);                                        \
        _mm256_storeu_ps(p1, c10); _mm256_storeu_ps((p1) + 8, c11);                                        \
        _mm256_storeu_ps(p2, c20); _mm256_storeu_ps((p2) + 8, c21);                                        \
        _mm256_storeu_ps(p3, c30); _mm256_storeu_ps((p3) + 8, c31);                                        \
        _mm256_storeu_ps(p4, c40); _mm256_storeu_ps((p4) + 8, c41);                                        \
        _mm256_storeu_ps(p5, c50); _mm256_storeu_ps((p5) + 8, c51);                                        \
    } while (0)
#define TILE_LOAD(p0, p1, p2, p3, p4, p5)                                                                  \
    do {                                                                                                   \
        c00 = _mm256_loadu_ps(p0); c01 = _mm256_loadu_ps((p0) + 8);                                        \
        c10 = _mm256_loadu_ps(p1); c11 = _mm256_loadu_ps((p1) + 8);                                        \
        c20 = _mm256_loadu_ps(p2); c21 = _mm256_loadu_ps((p2) + 8);                                        \
        c30 = _mm256_loadu_ps(p3); c31 = _mm256_loadu_ps((p3) + 8);                                        \
        c40 = _mm256_loadu_ps(p4); c41 = _mm256_loadu_ps((p4) + 8);                                        \
        c50 = _mm256_loadu_ps(p5); c51 = _mm256_loadu_ps((p5) + 8);                                        \
    } while (0)
#define TILE_SPILL(tile) TILE_STORE(tile, tile + TC, tile + 2 * TC, tile + 3 * TC, tile + 4 * TC, tile + 5 * TC)

/* outputs[r][j] = bias[j] + Σp x[rows[r] + offset[p]] · w[p·ldw + j] for six output positions and sixteen
   filters, stored straight from registers. */
__attribute__((target("avx2,fma")))
static void forward_tile(float *const outputs[TR], const float *const rows[TR], const long *offset, long patch,
                         const float *w, long ldw, const float *bias) {
    TILE_DECLARE;
    __m256 lo = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    __m256 hi = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    TILE_SET(lo, hi);
    const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2], *r3 = rows[3], *r4 = rows[4], *r5 = rows[5];
    for (long p = 0; p < patch; p++, w += ldw) {
        long o = offset[p];
        __m256 b0 = _mm256_loadu_ps(w), b1 = _mm256_loadu_ps(w + 8);
        TILE_STEP(r0 + o, r1 + o, r2 + o, r3 + o, r4 + o, r5 + o, b0, b1);
    }
    /* A short tile's repeated rows compute the same values into the same output. */
    TILE_STORE(outputs[0], outputs[1], outputs[2], outputs[3], outputs[4], outputs[5]);
}

/* dw[p0+i][j] += Σ over positions of window[offset[i]] · dy[position·ldy + j]: six taps of the window against
   sixteen filters. The positions come in `runs` runs of `run` along an output row, each starting at the
   window x + row_base[q] and gradient row row_output[q] (q = run index · run), then stepping by window_step
   and one gradient row: a pointer bump per position, nothing loaded but the operands. */
__attribute__((target("avx2,fma")))
static void weight_tile(float *dw, long lddw, int taps, const float *x, const long *row_base, const long *row_output,
                        long runs, long run, long window_step, const long offset[TR], const float *dy, long ldy) {
    TILE_DECLARE;
    float tile[TR * TC];
    /* Rows past a short panel's last tap read that tap's gradient again and are never stored. */
    float *d[TR];
    for (int i = 0; i < TR; i++) d[i] = dw + (i < taps ? i : taps - 1) * lddw;
    TILE_LOAD(d[0], d[1], d[2], d[3], d[4], d[5]);
    long o0 = offset[0], o1 = offset[1], o2 = offset[2], o3 = offset[3], o4 = offset[4], o5 = offset[5];
    for (long s = 0; s < runs; s++) {
        const float *window = x + row_base[s * run], *gradient = dy + row_output[s * run] * ldy;
        for (long r = 0; r < run; r++, window += window_step, gradient += ldy) {
            __m256 b0 = _mm256_loadu_ps(gradient), b1 = _mm256_loadu_ps(gradient + 8);
            TILE_STEP(window + o0, window + o1, window + o2, window + o3, window + o4, window + o5, b0, b1);
        }
    }
    if (taps == TR) {
        TILE_STORE(d[0], d[1], d[2], d[3], d[4], d[5]);
        return;
    }
    TILE_SPILL(tile);
    for (int i = 0; i < taps; i++) memcpy(dw + i * lddw, tile + i * TC, TC * sizeof(float));
}

/* tile[r][j] = Σf dy_rows[r][f] · wt[f·ldwt + j]: the gradient of six output positions' windows, sixteen taps.
   With `targets`, the tile is instead added to targets[r][0..16] straight from registers, row by row. */
__attribute__((target("avx2,fma")))
static void input_tile(float *tile, float *const *targets, const float *const dy_rows[TR], long filters,
                       const float *wt, long ldwt) {
    TILE_DECLARE;
    TILE_SET(_mm256_setzero_ps(), _mm256_setzero_ps());
    const float *r0 = dy_rows[0], *r1 = dy_rows[1], *r2 = dy_rows[2], *r3 = dy_rows[3], *r4 = dy_rows[4],
                *r5 = dy_rows[5];
    for (long f = 0; f < filters; f++, wt += ldwt) {
        __m256 b0 = _mm256_loadu_ps(wt), b1 = _mm256_loadu_ps(wt + 8);
        TILE_STEP(r0 + f, r1 + f, r2 + f, r3 + f, r4 + f, r5 + f, b0, b1);
    }
    if (targets) {
#define ADD_ROW(i, lo, hi)                                                                                 \
    _mm256_storeu_ps(targets[i], _mm256_add_ps(_mm256_loadu_ps(targets[i]), lo));                         \
    _mm256_storeu_ps(targets[i] + 8, _mm256_add_ps(_mm256_loadu_ps(targets[i] + 8), hi))
        ADD_ROW(0, c00, c01); ADD_ROW(1, c10, c11); ADD_ROW(2, c20, c21);
        ADD_ROW(3, c30, c31); ADD_ROW(4, c40, c41); ADD_ROW(5, c50, c51);
#undef ADD_ROW
        return;
    }
    TILE_SPILL(tile);
}

__attribute__((target("avx2,fma")))
static inline void add_16(float *target, const float *source) {
    _mm256_storeu_ps(target, _mm256_add_ps(_mm256_loadu_ps(target), _mm256_loadu_ps(source)));
    _mm256_storeu_ps(target + 8, _mm256_add_ps(_mm256_loadu_ps(target + 8), _mm256_loadu_ps(source + 8)));
}

#endif

void strata_conv_pack_weight(float *packed, const float *w, long patch, long filters) {
    for (long f0 = 0; f0 < filters; f0 += TC)
        for (long p = 0; p < patch; p++)
            for (long j = 0; j < TC; j++) *packed++ = w[p * filters + f0 + j];
}

void strata_conv_pack_transposed_weight(float *packed, const float *w, long patch, long filters) {
    for (long p0 = 0; p0 < patch; p0 += TC)
        for (long f = 0; f < filters; f++)
            for (long j = 0; j < TC; j++) *packed++ = p0 + j < patch ? w[(p0 + j) * filters + f] : 0.0f;
}

int strata_conv_implicit_available(long filters) {
#if defined(__x86_64__)
    return strata_cpu_has_avx2_fma() && filters > 0 && filters % TC == 0;
#else
    (void)filters;
    return 0;
#endif
}

void strata_conv_forward(float *y, const float *x, const float *w, const float *bias,
                         long first_example, long last_example, const strata_conv_geometry *g) {
#if defined(__x86_64__)
    long positions = g->positions, active = g->active, filters = g->filters;
    long first = first_example * active, last = last_example * active;
    /* Rows run on across examples, so only the range's last tile can be short; it repeats its last row. */
    long b = first_example, q = 0;
    for (long r0 = first; r0 < last; r0 += TR) {
        long count = last - r0 < TR ? last - r0 : TR;
        const float *rows[TR];
        float *outputs[TR];
        for (long i = 0; i < TR; i++) {
            if (i < count) {
                rows[i] = x + b * g->image + g->row_base[q];
                outputs[i] = y + (b * positions + g->row_output[q]) * filters;
                if (++q == active) { q = 0; b++; }
            } else {
                rows[i] = rows[i - 1];
                outputs[i] = outputs[i - 1];
            }
        }
        for (long f0 = 0; f0 < filters; f0 += TC) {
            float *panel[TR];
            for (long i = 0; i < TR; i++) panel[i] = outputs[i] + f0;
            forward_tile(panel, rows, g->patch_offset, g->patch, w + f0 * g->patch, TC, bias ? bias + f0 : NULL);
        }
    }
#else
    (void)y; (void)x; (void)w; (void)bias; (void)first_example; (void)last_example; (void)g;
#endif
}

long strata_conv_weight_tiles(const strata_conv_geometry *g) {
    return ((g->patch + TR - 1) / TR) * (g->filters / TC);
}

void strata_conv_weight_gradient(float *dw, const float *x, const float *dy, long batch,
                                 long first_tile, long last_tile, const strata_conv_geometry *g) {
#if defined(__x86_64__)
    long positions = g->positions, filters = g->filters, patch = g->patch;
    long tap_panels = (patch + TR - 1) / TR;
    /* Example by example, so each example's image and gradient stay in cache across every tile; each
       tile's sum still runs over all positions of all examples in order. */
    for (long b = 0; b < batch; b++) {
        const float *image = x + b * g->image, *gradient = dy + b * positions * filters;
        for (long t = first_tile; t < last_tile; t++) {
            long f0 = t / tap_panels * TC, p0 = t % tap_panels * TR;
            int taps = patch - p0 < TR ? (int)(patch - p0) : TR;
            long offset[TR];
            for (int i = 0; i < TR; i++) offset[i] = g->patch_offset[p0 + (i < taps ? i : taps - 1)];
            weight_tile(dw + p0 * filters + f0, filters, taps, image, g->row_base, g->row_output, g->active / g->run,
                        g->run, g->window_step, offset, gradient + f0, filters);
        }
    }
#else
    (void)dw; (void)x; (void)dy; (void)batch; (void)first_tile; (void)last_tile; (void)g;
#endif
}

void strata_conv_input_gradient(float *dx, const float *dy, const float *wt, long first_example, long last_example,
                                const strata_conv_geometry *g) {
#if defined(__x86_64__)
    long positions = g->positions, active = g->active, filters = g->filters, patch = g->patch;
    float tile[TR * TC];
    for (long b = first_example; b < last_example; b++) {
        float *image = dx + b * g->image;
        const float *gradient = dy + b * positions * filters;
        memset(image, 0, (size_t)g->image * sizeof(float));
        /* Panel by panel, then position by position: every input value receives its terms in an order fixed
           by the geometry alone. */
        for (long p0 = 0; p0 < patch; p0 += TC) {
            long taps = patch - p0 < TC ? patch - p0 : TC;
            const long *offset = g->patch_offset + p0;
            int contiguous = taps == TC && offset[TC - 1] - offset[0] == TC - 1;
            for (long r0 = 0; r0 < active; r0 += TR) {
                long count = active - r0 < TR ? active - r0 : TR;
                const float *rows[TR];
                for (long i = 0; i < TR; i++) rows[i] = gradient + g->row_output[r0 + (i < count ? i : count - 1)] * filters;
                if (contiguous && count == TR) {
                    float *targets[TR];
                    for (long i = 0; i < TR; i++) targets[i] = image + g->row_base[r0 + i] + offset[0];
                    input_tile(tile, targets, rows, filters, wt + p0 * filters, TC);
                    continue;
                }
                input_tile(tile, NULL, rows, filters, wt + p0 * filters, TC);
                for (long i = 0; i < count; i++) {
                    float *window = image + g->row_base[r0 + i];
                    if (contiguous) {
                        add_16(window + offset[0], tile + i * TC);
                    } else {
                        for (long j = 0; j < taps; j++) window[offset[j]] += tile[i * TC + j];
                    }
                }
            }
        }
    }
#else
    (void)dx; (void)dy; (void)wt; (void)first_example; (void)last_example; (void)g;
#endif
}

/* Convolution fused with a max pooling whose windows tile its output (stride = pool size, no padding before).
   The convolution's output exists only one band of pool_h rows at a time, in `band` [pool_h][run][F] floats
   (run = the used output width): computed, pooled, and dropped while it is still in L1. */

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void conv_pool_forward_avx2(float *pooled, int *winners, const float *x, const float *w, const float *bias,
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
                for (long f0 = 0; f0 < filters; f0 += TC) {
                    float *panel[TR];
                    for (long i = 0; i < TR; i++) panel[i] = outputs[i] + f0;
                    forward_tile(panel, rows, g->patch_offset, g->patch, w + f0 * g->patch, TC, bias ? bias + f0 : NULL);
                }
            }
            /* Each window's first maximum in scan order wins, as in strata_maxpool_forward; the winner is
               recorded as an index into the example's convolution output [OH, OW, F]. */
            for (long px = 0; px < pool->pooled_w; px++) {
                float *restrict out = pooled + b * pooled_size + (py * pool->pooled_w + px) * filters;
                int *restrict won = winners + b * pooled_size + (py * pool->pooled_w + px) * filters;
                for (long ky = 0; ky < pool->pool_h; ky++) {
                    for (long kx = 0; kx < pool->pool_w; kx++) {
                        const float *restrict source = band + (ky * run + px * pool->pool_w + kx) * filters;
                        long position = ((py * pool->pool_h + ky) * pool->out_w + px * pool->pool_w + kx) * filters;
                        if (ky == 0 && kx == 0) {
                            for (long c = 0; c < filters; c++) { out[c] = source[c]; won[c] = (int)(position + c); }
                        } else {
                            for (long c = 0; c < filters; c++) {
                                float v = source[c], best = out[c];
                                int index = won[c], better = v > best;
                                out[c] = better ? v : best;
                                won[c] = better ? (int)(position + c) : index;
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

void strata_conv_pool_forward(float *pooled, int *winners, const float *x, const float *w, const float *bias,
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
                                           const float *pooled, const int *winners, long batch, long first_tile, long last_tile,
                                           const strata_conv_geometry *g, const strata_pool_shape *pool,
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
        const int *won = winners + b * pooled_size;
        for (long py = 0; py < pool->pooled_h; py++) {
            /* The band's output gradient: each pooled gradient goes to its window's winner, 0 elsewhere. */
            for (long ky = 0; ky < pool->pool_h; ky++) {
                for (long ox = 0; ox < run; ox++) {
                    long o = (py * pool->pooled_w + ox / pool->pool_w) * filters;
                    long position = ((py * pool->pool_h + ky) * pool->out_w + ox) * filters;
                    float *restrict target = band + (ky * run + ox) * filters;
                    const int *restrict winner = won + o;
                    const float *restrict source = gradient + o, *restrict result = output + o;
                    /* Loads unconditional, so the loops vectorize. With relu, a window whose maximum was not
                       positive passes nothing back (as relu's gradient would). */
                    if (pool->relu) {
                        for (long c = c0; c < c1; c++) {
                            float value = source[c], y = result[c];
                            target[c] = winner[c] == (int)(position + c) && y > 0.0f ? value : 0.0f;
                        }
                    } else {
                        for (long c = c0; c < c1; c++) {
                            float value = source[c];
                            target[c] = winner[c] == (int)(position + c) ? value : 0.0f;
                        }
                    }
                }
            }
            if (db) {
                for (long l = 0; l < band_rows; l++)
                    for (long c = c0; c < c1; c++) db[c] += band[l * filters + c];
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
                                      const int *winners, long batch, long first_tile, long last_tile,
                                      const strata_conv_geometry *g, const strata_pool_shape *pool,
                                      const long *band_output, float *band) {
#if defined(__x86_64__)
    conv_pool_weight_gradient_avx2(dw, db, x, dpooled, pooled, winners, batch, first_tile, last_tile, g, pool, band_output,
                                   band);
#else
    (void)dw; (void)db; (void)x; (void)dpooled; (void)pooled; (void)winners; (void)batch; (void)first_tile; (void)last_tile;
    (void)g; (void)pool; (void)band_output; (void)band;
#endif
}
