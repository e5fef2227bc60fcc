#include "conv_tiles.h"

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
    const float *rows[TILE_BLOCK][TR];
    float *outputs[TILE_BLOCK][TR];
    long tiles = 0;
    for (long r0 = first; r0 < last; r0 += TR) {
        long count = last - r0 < TR ? last - r0 : TR;
        for (long i = 0; i < TR; i++) {
            if (i < count) {
                rows[tiles][i] = x + b * g->image + g->row_base[q];
                outputs[tiles][i] = y + (b * positions + g->row_output[q]) * filters;
                if (++q == active) { q = 0; b++; }
            } else {
                rows[tiles][i] = rows[tiles][i - 1];
                outputs[tiles][i] = outputs[tiles][i - 1];
            }
        }
        if (++tiles == TILE_BLOCK || r0 + TR >= last) {
            forward_tiles((float *const(*)[TR])outputs, (const float *const(*)[TR])rows, tiles, g->patch_offset,
                          g->patch, w, filters, bias);
            tiles = 0;
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
                for (long i = 0; i < TR; i++)
                    rows[i] = gradient + g->row_output[r0 + (i < count ? i : count - 1)] * filters;
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
