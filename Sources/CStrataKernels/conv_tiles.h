/* Internal to CStrataKernels: the 6x16 register tiles shared by conv.c and conv_pool.c. */
#ifndef STRATA_CONV_TILES_H
#define STRATA_CONV_TILES_H

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
static inline void forward_tile(float *const outputs[TR], const float *const rows[TR], const long *offset, long patch,
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

/* forward_tile for 32 filters, two adjacent panels of the packed weight (the second `patch` rows of TC after the
   first), in 12 zmm accumulators: every output summed as forward_tile sums it, so the bits are the same. */
__attribute__((target("avx512f")))
static inline void forward_tile_wide(float *const outputs[TR], const float *const rows[TR], const long *offset,
                                     long patch, const float *w, const float *bias) {
    const float *w_next = w + patch * TC;
    __m512 lo = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    __m512 hi = bias ? _mm512_loadu_ps(bias + TC) : _mm512_setzero_ps();
    __m512 acc[TR][2];
    for (int r = 0; r < TR; r++) { acc[r][0] = lo; acc[r][1] = hi; }
    for (long p = 0; p < patch; p++) {
        long o = offset[p];
        __m512 b0 = _mm512_loadu_ps(w + p * TC), b1 = _mm512_loadu_ps(w_next + p * TC);
        for (int r = 0; r < TR; r++) {
            __m512 av = _mm512_set1_ps(rows[r][o]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < TR; r++) {
        _mm512_storeu_ps(outputs[r], acc[r][0]);
        _mm512_storeu_ps(outputs[r] + TC, acc[r][1]);
    }
}

/* `tiles` tiles of six output positions (outputs[t], rows[t]) for every filter: 32 filters at a time where
   AVX-512 may be used, else 16; each panel of weights against every tile before the next panel, so a panel
   stays in cache across the tiles. */
static inline void forward_tiles(float *const (*outputs)[TR], const float *const (*rows)[TR], long tiles,
                                 const long *offset, long patch, const float *w, long filters, const float *bias) {
    int wide = strata_cpu_use_avx512();
    for (long f0 = 0; f0 < filters;) {
        long width = wide && filters - f0 >= 2 * TC ? 2 * TC : TC;
        const float *b = bias ? bias + f0 : NULL;
        for (long t = 0; t < tiles; t++) {
            float *panel[TR];
            for (long i = 0; i < TR; i++) panel[i] = outputs[t][i] + f0;
            if (width == 2 * TC) forward_tile_wide(panel, rows[t], offset, patch, w + f0 * patch, b);
            else forward_tile(panel, rows[t], offset, patch, w + f0 * patch, TC, b);
        }
        f0 += width;
    }
}

/* How many tiles forward_tiles takes at a time. */
enum { TILE_BLOCK = 16 };

/* dw[p0+i][j] += Σ over positions of window[offset[i]] · dy[position·ldy + j]: six taps of the window against
   sixteen filters. The positions come in `runs` runs of `run` along an output row, each starting at the
   window x + row_base[q] and gradient row row_output[q] (q = run index · run), then stepping by window_step
   and one gradient row: a pointer bump per position, nothing loaded but the operands. */
__attribute__((target("avx2,fma")))
static inline void weight_tile(float *dw, long lddw, int taps, const float *x, const long *row_base,
                               const long *row_output, long runs, long run, long window_step, const long offset[TR],
                               const float *dy, long ldy) {
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
static inline void input_tile(float *tile, float *const *targets, const float *const dy_rows[TR], long filters,
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

#endif
