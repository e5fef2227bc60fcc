#include "conv_tiles.h"

#include <math.h>

/* Backward of a convolution whose output gradient is mostly zeros, as it is under a max pooling (one position per
   window receives anything, and a relu after the pooling drops more). The tile kernels multiply every zero; these
   list the nonzero values of dy and sum only those. Each element is the same fused multiply-add chain, in the
   same order, as the tile kernels compute, less the terms whose dy is 0, which leave such a chain unchanged: it
   starts at +0 (or at a gradient cleared to +0), and x·0 + s is s for s != 0 and +0 for s = +0. So the results are
   the same bits. */

#if defined(__x86_64__)
/* Sums over a list of rows, held in registers across the list: for j in 0..<8·NV,
   acc[j] = fma(values[e], rows[e][offset + j], acc[j]) for e in order; the sums are then stored to target
   (having started from target's values) or, with add_to_target, added to it (having started from +0). */
#define SEGMENT(NV)                                                                                            \
    __attribute__((target("avx2,fma"))) static inline void segment_##NV(                                    \
        float *target, const float *const *rows, const float *values, long count, long offset, int add_to_target) { \
        __m256 acc[NV];                                                                                      \
        for (int v = 0; v < NV; v++) acc[v] = add_to_target ? _mm256_setzero_ps() : _mm256_loadu_ps(target + 8 * v); \
        for (long e = 0; e < count; e++) {                                                                   \
            __m256 a = _mm256_broadcast_ss(values + e);                                                      \
            const float *row = rows[e] + offset;                                                             \
            for (int v = 0; v < NV; v++) acc[v] = _mm256_fmadd_ps(a, _mm256_loadu_ps(row + 8 * v), acc[v]);  \
        }                                                                                                    \
        for (int v = 0; v < NV; v++)                                                                         \
            _mm256_storeu_ps(target + 8 * v,                                                                 \
                             add_to_target ? _mm256_add_ps(_mm256_loadu_ps(target + 8 * v), acc[v]) : acc[v]);   \
    }
SEGMENT(12)
SEGMENT(4)
SEGMENT(1)
#undef SEGMENT

/* The same over n consecutive floats: 96, 32 and 8 at a time, then one by one. */
__attribute__((target("avx2,fma")))
static void segments(float *target, long n, const float *const *rows, const float *values, long count, long offset,
                     int add_to_target) {
    long j = 0;
    for (; j + 96 <= n; j += 96) segment_12(target + j, rows, values, count, offset + j, add_to_target);
    for (; j + 32 <= n; j += 32) segment_4(target + j, rows, values, count, offset + j, add_to_target);
    for (; j + 8 <= n; j += 8) segment_1(target + j, rows, values, count, offset + j, add_to_target);
    for (; j < n; j++) {
        float acc = add_to_target ? 0.0f : target[j];
        for (long e = 0; e < count; e++) acc = fmaf(values[e], rows[e][offset + j], acc);
        target[j] = add_to_target ? target[j] + acc : acc;
    }
}

/* The nonzero values of row[0..n) and their indices, in order; returns how many. 64 values at a time go into
   one bit mask first, so the loop over the found ones mispredicts once per 64, not once per 8. */
__attribute__((target("avx2,fma")))
static long nonzeros(const float *row, long n, float *values, long *indices) {
    long count = 0;
    for (long j0 = 0; j0 < n; j0 += 64) {
        long m = n - j0 < 64 ? n - j0 : 64, j = 0;
        unsigned long long mask = 0;
        for (; j + 8 <= m; j += 8) {
            __m256 v = _mm256_loadu_ps(row + j0 + j);
            unsigned nonzero = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ));
            mask |= (unsigned long long)nonzero << j;
        }
        for (; j < m; j++) mask |= (unsigned long long)(row[j0 + j] != 0.0f) << j;
        while (mask) {
            long index = j0 + __builtin_ctzll(mask);
            mask &= mask - 1;
            values[count] = row[index];
            indices[count++] = index;
        }
    }
    return count;
}

/* The window as runs of taps whose offsets are consecutive: for channels-last images, one run per kernel row. */
typedef struct { long tap, length, offset; } tap_run;
enum { MAX_RUNS = 256 };

static long window_runs(const strata_conv_geometry *g, tap_run *runs) {
    long count = 0;
    for (long p = 0; p < g->patch; p++) {
        if (count > 0 && g->patch_offset[p] == runs[count - 1].offset + runs[count - 1].length) {
            runs[count - 1].length++;
            continue;
        }
        if (count == MAX_RUNS) return -1;
        runs[count++] = (tap_run){p, 1, g->patch_offset[p]};
    }
    return count;
}

__attribute__((target("avx2,fma")))
static void sparse_weight_gradient(float *dw, float *dwt, const float *x, const float *dy, long batch,
                                   long first_filter, long last_filter, const strata_conv_geometry *g, float *values,
                                   const float **rows, long *counts, long *indices) {
    long patch = g->patch, filters = g->filters, active = g->active, width = last_filter - first_filter;
    tap_run runs[MAX_RUNS];
    long run_count = window_runs(g, runs);
    /* This part's filters, transposed so each is a contiguous row of taps. */
    for (long f = first_filter; f < last_filter; f++)
        for (long p = 0; p < patch; p++) dwt[f * patch + p] = dw[p * filters + f];
    float found[filters];
    for (long b = 0; b < batch; b++) {
        const float *image = x + b * g->image, *gradient = dy + b * g->positions * filters;
        /* Each filter's nonzero gradient values over the positions, in order, with their windows. */
        for (long f = 0; f < width; f++) counts[f] = 0;
        for (long q = 0; q < active; q++) {
            long count = nonzeros(gradient + g->row_output[q] * filters + first_filter, width, found, indices);
            for (long e = 0; e < count; e++) {
                long f = indices[e], slot = f * active + counts[f]++;
                values[slot] = found[e];
                rows[slot] = image + g->row_base[q];
            }
        }
        for (long f = 0; f < width; f++) {
            if (counts[f] == 0) continue;
            float *row = dwt + (first_filter + f) * patch;
            for (long r = 0; r < run_count; r++)
                segments(row + runs[r].tap, runs[r].length, rows + f * active, values + f * active, counts[f],
                         runs[r].offset, 0);
        }
    }
    for (long f = first_filter; f < last_filter; f++)
        for (long p = 0; p < patch; p++) dw[p * filters + f] = dwt[f * patch + p];
}

__attribute__((target("avx2,fma")))
static void sparse_input_gradient(float *dx, const float *dy, const float *wt, long first_example, long last_example,
                                  const strata_conv_geometry *g, float *values, const float **rows, long *indices) {
    long patch = g->patch, filters = g->filters;
    tap_run runs[MAX_RUNS];
    long run_count = window_runs(g, runs);
    for (long b = first_example; b < last_example; b++) {
        float *image = dx + b * g->image;
        const float *gradient = dy + b * g->positions * filters;
        memset(image, 0, (size_t)g->image * sizeof(float));
        /* Positions last to first: an input value then receives its terms in the order of the window taps that
           reach it, which is the order the tile kernel's panels add them in. A position whose gradient is all 0
           would add +0 everywhere, which changes nothing. */
        for (long q = g->active - 1; q >= 0; q--) {
            long count = nonzeros(gradient + g->row_output[q] * filters, filters, values, indices);
            if (count == 0) continue;
            for (long e = 0; e < count; e++) rows[e] = wt + indices[e] * patch;
            float *window = image + g->row_base[q];
            for (long r = 0; r < run_count; r++)
                segments(window + runs[r].offset, runs[r].length, rows, values, count, runs[r].tap, 1);
        }
    }
}
#endif

int strata_conv_sparse_available(const strata_conv_geometry *g) {
#if defined(__x86_64__)
    tap_run runs[MAX_RUNS];
    return strata_cpu_has_avx2_fma() && window_runs(g, runs) > 0;
#else
    (void)g;
    return 0;
#endif
}

long strata_conv_sparse_scratch_bytes(const strata_conv_geometry *g) {
    /* A value, a row pointer and an index per filter and active position, and a count per filter. */
    return g->filters * g->active * (long)(sizeof(float) + sizeof(float *) + sizeof(long)) +
           g->filters * (long)sizeof(long);
}

void strata_conv_sparse_weight_gradient(float *dw, float *dwt, const float *x, const float *dy, long batch,
                                        long first_filter, long last_filter, const strata_conv_geometry *g,
                                        void *scratch) {
#if defined(__x86_64__)
    long entries = g->filters * g->active;
    const float **rows = (const float **)scratch;
    long *indices = (long *)(rows + entries), *counts = indices + entries;
    float *values = (float *)(counts + g->filters);
    sparse_weight_gradient(dw, dwt, x, dy, batch, first_filter, last_filter, g, values, rows, counts, indices);
#else
    (void)dw; (void)dwt; (void)x; (void)dy; (void)batch; (void)first_filter; (void)last_filter; (void)g; (void)scratch;
#endif
}

void strata_conv_transpose_weight(float *wt, const float *w, long patch, long filters) {
    for (long f = 0; f < filters; f++)
        for (long p = 0; p < patch; p++) wt[f * patch + p] = w[p * filters + f];
}

void strata_conv_sparse_input_gradient(float *dx, const float *dy, const float *wt, long first_example,
                                       long last_example, const strata_conv_geometry *g, void *scratch) {
#if defined(__x86_64__)
    long entries = g->filters * g->active;
    const float **rows = (const float **)scratch;
    long *indices = (long *)(rows + entries), *counts = indices + entries;
    float *values = (float *)(counts + g->filters);
    sparse_input_gradient(dx, dy, wt, first_example, last_example, g, values, rows, indices);
#else
    (void)dx; (void)dy; (void)wt; (void)first_example; (void)last_example; (void)g; (void)scratch;
#endif
}
