#include "CStrataKernels.h"

#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { MR = STRATA_GEMM_MR, NR = STRATA_GEMM_NR, MC = STRATA_GEMM_MC, KC = STRATA_GEMM_KC, NC = STRATA_GEMM_NC };

#if defined(__x86_64__)
/* One full panel from MR row pointers, 8 depths at a time: an 8x8 transpose of the six rows (two zero rows)
   turns them into eight MR-wide columns. Each 8-float store spills two zeros into the next column, which the
   next store overwrites; the last one stores exactly MR floats. */
__attribute__((target("avx2,fma")))
static void pack_a_panel_avx2(const float *const row[MR], long kc, float *out) {
    long p = 0;
    for (; p + 8 <= kc; p += 8, out += 8 * MR) {
        __m256 zero = _mm256_setzero_ps();
        __m256 r0 = _mm256_loadu_ps(row[0] + p), r1 = _mm256_loadu_ps(row[1] + p);
        __m256 r2 = _mm256_loadu_ps(row[2] + p), r3 = _mm256_loadu_ps(row[3] + p);
        __m256 r4 = _mm256_loadu_ps(row[4] + p), r5 = _mm256_loadu_ps(row[5] + p);
        __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        __m256 s4 = _mm256_shuffle_ps(t4, zero, 0x44), s5 = _mm256_shuffle_ps(t4, zero, 0xEE);
        __m256 s6 = _mm256_shuffle_ps(t5, zero, 0x44), s7 = _mm256_shuffle_ps(t5, zero, 0xEE);
        _mm256_storeu_ps(out + 0 * MR, _mm256_permute2f128_ps(s0, s4, 0x20));
        _mm256_storeu_ps(out + 1 * MR, _mm256_permute2f128_ps(s1, s5, 0x20));
        _mm256_storeu_ps(out + 2 * MR, _mm256_permute2f128_ps(s2, s6, 0x20));
        _mm256_storeu_ps(out + 3 * MR, _mm256_permute2f128_ps(s3, s7, 0x20));
        _mm256_storeu_ps(out + 4 * MR, _mm256_permute2f128_ps(s0, s4, 0x31));
        _mm256_storeu_ps(out + 5 * MR, _mm256_permute2f128_ps(s1, s5, 0x31));
        _mm256_storeu_ps(out + 6 * MR, _mm256_permute2f128_ps(s2, s6, 0x31));
        __m256 last = _mm256_permute2f128_ps(s3, s7, 0x31);
        _mm_storeu_ps(out + 7 * MR, _mm256_castps256_ps128(last));
        _mm_storel_pi((__m64 *)(out + 7 * MR + 4), _mm256_extractf128_ps(last, 1));
    }
    for (; p < kc; p++, out += MR)
        for (int r = 0; r < MR; r++) out[r] = row[r][p];
}
#endif

/* Packs op(A)[i0:i0+mc, p0:p0+kc] into row panels of MR: panel r holds, for each p, MR consecutive rows. */
static void pack_a(int use_avx2, int trans_a, const float *a, long lda, long i0, long p0, long mc, long kc,
                   float *out) {
    (void)use_avx2;
    for (long ir = 0; ir < mc; ir += MR) {
        long rows = mc - ir < MR ? mc - ir : MR;
        if (rows == MR) {
            /* Full panels without per-element bounds: the common case, and the one the compiler unrolls. */
            if (trans_a) {
                const float *src = a + p0 * lda + i0 + ir;
#if defined(__x86_64__)
                /* Six consecutive floats per depth: four and two at a time instead of one by one. */
                for (long p = 0; p < kc; p++, src += lda, out += MR) {
                    _mm_storeu_ps(out, _mm_loadu_ps(src));
                    _mm_storel_pi((__m64 *)(out + 4), _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(src + 4)));
                }
#else
                for (long p = 0; p < kc; p++, src += lda, out += MR)
                    for (int r = 0; r < MR; r++) out[r] = src[r];
#endif
            } else {
                const float *row[MR];
                for (int r = 0; r < MR; r++) row[r] = a + (i0 + ir + r) * lda + p0;
#if defined(__x86_64__)
                if (use_avx2) {
                    pack_a_panel_avx2(row, kc, out);
                    out += kc * MR;
                    continue;
                }
#endif
                for (long p = 0; p < kc; p++, out += MR)
                    for (int r = 0; r < MR; r++) out[r] = row[r][p];
            }
            continue;
        }
        for (long p = 0; p < kc; p++) {
            for (long r = 0; r < rows; r++) {
                long i = i0 + ir + r, q = p0 + p;
                out[r] = trans_a ? a[q * lda + i] : a[i * lda + q];
            }
            for (long r = rows; r < MR; r++) out[r] = 0.0f;
            out += MR;
        }
    }
}

/* One panel of op(B)[p0:p0+kc, col0:col0+cols] element by element, zeros past `cols`. */
static void pack_b_panel(int trans_b, const float *b, long ldb, long p0, long col0, long kc, long cols, float *out) {
    for (long p = 0; p < kc; p++, out += NR) {
        long q = p0 + p;
        for (long j = 0; j < cols; j++) out[j] = trans_b ? b[(col0 + j) * ldb + q] : b[q * ldb + col0 + j];
        for (long j = cols; j < NR; j++) out[j] = 0.0f;
    }
}

/* A full panel of op(B) = the transpose of B stored [n, k]: four depths of the panel's NR rows of B at a time,
   transposed four rows by four. */
static void pack_b_transposed(const float *b, long ldb, long p0, long col0, long kc, float *out) {
#if defined(__x86_64__)
    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int g = 0; g < NR; g += 4) {
            const float *src = b + (col0 + g) * ldb + p0 + p;
            __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + ldb);
            __m128 r2 = _mm_loadu_ps(src + 2 * ldb), r3 = _mm_loadu_ps(src + 3 * ldb);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(out + p * NR + g, r0);
            _mm_storeu_ps(out + (p + 1) * NR + g, r1);
            _mm_storeu_ps(out + (p + 2) * NR + g, r2);
            _mm_storeu_ps(out + (p + 3) * NR + g, r3);
        }
    }
    if (p < kc) pack_b_panel(1, b, ldb, p0 + p, col0, kc - p, NR, out + p * NR);
#else
    pack_b_panel(1, b, ldb, p0, col0, kc, NR, out);
#endif
}

/* Packs op(B)[p0:p0+kc, j0:j0+nc] into column panels of NR: panel j holds, for each p, NR consecutive columns. */
static void pack_b(int trans_b, const float *b, long ldb, long p0, long j0, long kc, long nc, float *out) {
    long panels = nc / NR;
    for (long g = 0; g < panels; g++) {
        float *panel = out + g * kc * NR;
        if (trans_b) {
            pack_b_transposed(b, ldb, p0, j0 + g * NR, kc, panel);
            continue;
        }
        for (long p = 0; p < kc; p++) memcpy(panel + p * NR, b + (p0 + p) * ldb + j0 + g * NR, NR * sizeof(float));
    }
    if (panels * NR < nc)
        pack_b_panel(trans_b, b, ldb, p0, j0 + panels * NR, kc, nc - panels * NR, out + panels * kc * NR);
}

/* Portable micro-kernel: tile[MR][NR] = Σp a[p][r]·b[p][j], summed in p order. */
static void kernel_generic(long kc, const float *a, const float *b, float *tile) {
    float acc[MR][NR];
    memset(acc, 0, sizeof(acc));
    for (long p = 0; p < kc; p++) {
        for (int r = 0; r < MR; r++) {
            float av = a[p * MR + r];
            for (int j = 0; j < NR; j++) acc[r][j] += av * b[p * NR + j];
        }
    }
    memcpy(tile, acc, sizeof(acc));
}

#if defined(__x86_64__)
/* 6x16 register tile: 12 ymm accumulators, one broadcast of A and two loads of B per step. */
__attribute__((target("avx2,fma")))
static void kernel_avx2(long kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    /* The C tile is touched only after the loop: start fetching its lines now. */
    for (int r = 0; r < MR; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0);
    }
    /* Unrolled, as the AVX-512 tile below (the front end, not the FMA ports, limits a step). */
#pragma clang loop unroll_count(4)
    for (long p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 av;
        av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
        a += MR;
        b += NR;
    }
    __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int r = 0; r < MR; r++) {
        float *row = c + r * ldc;
        if (accumulate) {
            _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), rows[r][0]));
            _mm256_storeu_ps(row + 8, _mm256_add_ps(_mm256_loadu_ps(row + 8), rows[r][1]));
        } else {
            _mm256_storeu_ps(row, rows[r][0]);
            _mm256_storeu_ps(row + 8, rows[r][1]);
        }
    }
}

/* 6x32 register tile over two adjacent NR-wide panels of B (the second b_panel floats after the first, depth p
   of each at p * b_depth: packed panels, or op(B) read in place): 12 zmm accumulators, for the first `rows` (at
   most MR) rows; or, with `panels` 1, a 6x16 tile over one panel (the panel a width such as 784 = 24 x 32 + 16
   leaves, rather than the AVX2 tile at half the vector width). Row r's value at depth p is a_row[r][p * a_depth]:
   a packed row panel (its rows one float apart, depth MR) or op(A) read in place (its rows as stored, depth 1),
   which saves packing it. Every element is summed as kernel_avx2 sums it (fused multiply-adds in p order from
   zero, then stored or added to C), so the kernels give the same bits; the rows a batch leaves over after whole
   panels (128 = 21 x 6 + 2) take a fraction of a tile's time rather than two half-width AVX2 tiles. */
__attribute__((target("avx512f"), always_inline))
static inline void avx512_tile(int rows, int panels, long kc, const float *const *a_row, long a_depth,
                               const float *b, long b_panel, long b_depth, float *c, long ldc, int accumulate) {
    /* Each row through its own pointer and one shared offset (the callers are not inlined, so the compiler
       cannot reach rows 1 to 5 by adding the row stride again at every step, five more instructions a step). */
    const float *row[MR];
    for (int r = 0; r < rows; r++) row[r] = a_row[r];
    __m512 acc[MR][2];
    for (int r = 0; r < rows; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int r = 0; r < rows; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + NR * panels - 1), _MM_HINT_T0);
    }
    /* Unrolled: a step issues 20 instructions for 12 FMAs (6 cycles on two FMA ports), so the loop's own
       increments and branch would otherwise keep the front end from feeding them. */
#pragma clang loop unroll_count(4)
    for (long p = 0, at = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = panels == 2 ? _mm512_loadu_ps(b + b_panel) : b0;
        b += b_depth;
        for (int r = 0; r < rows; r++) {
            __m512 av = _mm512_set1_ps(row[r][at]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            if (panels == 2) acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
        /* One add per step: hidden from the optimizer, which would otherwise keep a pointer per row and
           unrolled step (more than the registers hold). */
        at += a_depth;
        __asm__("" : "+r"(at));
    }
    for (int r = 0; r < rows; r++) {
        float *out = c + r * ldc;
        for (int q = 0; q < panels; q++) {
            float *part = out + q * NR;
            _mm512_storeu_ps(part, accumulate ? _mm512_add_ps(_mm512_loadu_ps(part), acc[r][q]) : acc[r][q]);
        }
    }
}

__attribute__((target("avx512f"), noinline))
static void kernel_avx512(long kc, const float *const *a_row, long a_depth, const float *b, long b_panel,
                          long b_depth, float *c, long ldc, int accumulate) {
    avx512_tile(MR, 2, kc, a_row, a_depth, b, b_panel, b_depth, c, ldc, accumulate);
}

/* The tiles but the full 6x32 one: fewer than MR rows over two panels, or 1 to MR rows over one. One instance per
   row count and width, so each keeps its accumulators in registers. */
_Static_assert(MR == 6, "kernel_avx512_rows has a case for each row count up to MR");
__attribute__((target("avx512f"), noinline))
static void kernel_avx512_rows(int rows, int panels, long kc, const float *const *a_row, long a_depth, const float *b,
                               long b_panel, long b_depth, float *c, long ldc, int accumulate) {
#define TILE(ROWS, PANELS)                                                                                      \
    case ROWS * 4 + PANELS:                                                                                     \
        avx512_tile(ROWS, PANELS, kc, a_row, a_depth, b, b_panel, b_depth, c, ldc, accumulate);                 \
        break;
    switch (rows * 4 + panels) {
        TILE(1, 1) TILE(2, 1) TILE(3, 1) TILE(4, 1) TILE(5, 1) TILE(6, 1)
        TILE(1, 2) TILE(2, 2) TILE(3, 2) TILE(4, 2) TILE(5, 2)
    default: break;
    }
#undef TILE
}
#endif

/* Runs the micro-kernel for one tile; edge tiles go through a full-size scratch tile so their arithmetic
   is the same as a full tile's. */
static void tile(int use_avx2, long kc, const float *pa, const float *pb, float *c, long ldc,
                 long rows, long cols, int accumulate) {
    float scratch[MR * NR];
#if defined(__x86_64__)
    if (use_avx2) {
        if (rows == MR && cols == NR) {
            kernel_avx2(kc, pa, pb, c, ldc, accumulate);
            return;
        }
        kernel_avx2(kc, pa, pb, scratch, NR, 0);
    } else
#endif
    {
        (void)use_avx2;
        kernel_generic(kc, pa, pb, scratch);
    }
    for (long r = 0; r < rows; r++) {
        for (long j = 0; j < cols; j++) {
            if (accumulate) c[r * ldc + j] += scratch[r * NR + j];
            else c[r * ldc + j] = scratch[r * NR + j];
        }
    }
}

/* Where a block's rows of op(A) lie: row panel ir (a multiple of MR) starts at base + ir * panel, and its row r's
   value at depth p lies r * row + p * depth floats further. Packed panels are (kc, 1, MR); op(A) as stored,
   read in place, is (lda, lda, 1). */
typedef struct {
    const float *base;
    long panel, row, depth;
} a_rows;

static a_rows packed_rows(const float *pa, long kc) { return (a_rows){pa, kc, 1, MR}; }

/* op(A)[i0:, p0:] as stored (untransposed), for the AVX-512 tiles: its rows stream along the depth. */
static a_rows rows_in_place(const float *a, long lda, long i0, long p0) {
    return (a_rows){a + i0 * lda + p0, lda, lda, 1};
}

/* Where a block's columns of op(B) lie: column j (a multiple of NR) starts at base + j * col, and its value at
   depth p lies p * depth floats further. Packed panels are (kc, NR); op(B) as stored, read in place, is (1, ldb). */
typedef struct {
    const float *base;
    long col, depth;
} b_cols;

static b_cols packed_cols(const float *pb, long kc) { return (b_cols){pb, kc, NR}; }

/* op(B)[p0:, j0:] as stored (untransposed), for the AVX-512 tiles: a step of depth is a row of B. */
static b_cols cols_in_place(const float *b, long ldb, long p0, long j0) {
    return (b_cols){b + p0 * ldb + j0, 1, ldb};
}

/* Whether a block of nc columns reads op(A) in place: the 6x32 AVX-512 tiles take all of it (whole pairs of
   panels; where a panel is left over, the AVX-512 6x16 tile reads A packed, which measured faster there),
   and its rows do not lie a multiple of 4 KiB apart (a tile's six rows would then all fall in one set of the L1
   cache, where packing them measured faster). */
static int reads_a_in_place(int wide, int trans_a, long nc, long lda) {
    return wide && !trans_a && nc % (2 * NR) == 0 && lda % 1024 != 0;
}

/* Whether a block of nc columns reads op(B) in place rather than packed: stored untransposed, every panel full
   (only the AVX-512 tiles, which take any depth stride, read it), its rows not a multiple of 4 KiB apart (as for
   A), and few rows of C, at most three blocks of MC: packing is a pass over the block that pays for itself only
   where many row blocks read it (measured: up to 10% faster at one block, 1-3% at two to four, slower at six). */
static int reads_b_in_place(int wide, int trans_b, long m, long nc, long ldb) {
    return wide && !trans_b && nc % NR == 0 && ldb % 1024 != 0 && m <= 3 * MC;
}

/* The tiles of mc rows against one or two full panels: 6x32 (or 6x16) AVX-512 tiles for whole row panels, then
   the rows left over (the same bits either way). */
static void wide_tiles(int panels, long kc, a_rows a, b_cols b, float *c, long ldc, long mc, int accumulate) {
#if defined(__x86_64__)
    const float *row[MR];
    for (long ir = 0; ir < mc; ir += MR) {
        int rows = mc - ir < MR ? (int)(mc - ir) : MR;
        for (int r = 0; r < rows; r++) row[r] = a.base + ir * a.panel + r * a.row;
        if (rows == MR && panels == 2)
            kernel_avx512(kc, row, a.depth, b.base, NR * b.col, b.depth, c + ir * ldc, ldc, accumulate);
        else
            kernel_avx512_rows(rows, panels, kc, row, a.depth, b.base, NR * b.col, b.depth, c + ir * ldc, ldc,
                               accumulate);
    }
#else
    /* Never chosen without AVX-512 (nor A in place): the panels one after the other. */
    for (long ir = 0; ir < mc; ir += MR) {
        long rows = mc - ir < MR ? mc - ir : MR;
        for (int q = 0; q < panels; q++)
            tile(0, kc, a.base + ir * a.panel, b.base + q * NR * b.col, c + ir * ldc + q * NR, ldc, rows, NR,
                 accumulate);
    }
#endif
}

/* C[mc, nc] (+)= the row panels of `a` times the column panels of `b` (NR columns each, kc deep): column panels
   outer, so each stays in L1 while the row panels pass. Without AVX-512, and for a panel of fewer than NR
   columns, the AVX2 or portable tiles, which read `a` and `b` packed. */
static void block_tiles(int use_avx2, int wide, long kc, a_rows a, b_cols b, float *c, long ldc, long mc,
                        long nc, int accumulate) {
    for (long jr = 0; jr < nc;) {
        long cols = nc - jr < NR ? nc - jr : NR;
        if (wide && nc - jr >= NR) {
            int panels = nc - jr >= 2 * NR ? 2 : 1;
            wide_tiles(panels, kc, a, (b_cols){b.base + jr * b.col, b.col, b.depth}, c + jr, ldc, mc, accumulate);
            jr += panels * NR;
            continue;
        }
        for (long ir = 0; ir < mc; ir += MR) {
            long rows = mc - ir < MR ? mc - ir : MR;
            tile(use_avx2, kc, a.base + ir * a.panel, b.base + jr * b.col, c + ir * ldc + jr, ldc, rows, cols,
                 accumulate);
        }
        jr += NR;
    }
}

/* Depth blocks of equal size (784 = 4 x 196, not 3 x 256 + 16); they depend on k alone, so every caller's
   partition sums each element the same way. */
static long depth_step(long k) {
    long k_blocks = (k + KC - 1) / KC;
    return (k + k_blocks - 1) / k_blocks;
}

/* Where block (j0, p0) of op(B) starts when packed whole: the column blocks one after another, each holding
   its depth blocks, each of those its NR-wide panels. */
static long packed_b_offset(long k, long j0, long p0, long nc) {
    return j0 * k + p0 * ((nc + NR - 1) / NR * NR);
}

/* The blocked product; B comes from `packed_b` (op(B) packed whole) when given, else it is packed block by
   block into pack_b_buf. Either way every tile sees the same panels, so the bits are the same. */
static void gemm_blocks(int use_avx2, int trans_a, int trans_b, long m, long n, long k,
                        const float *a, long lda, const float *b, long ldb, const float *packed_b,
                        int accumulate, float *c, long ldc, float *pack_a_buf, float *pack_b_buf) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate) for (long i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    long k_step = depth_step(k);
    int wide = use_avx2 && strata_cpu_use_avx512();
    for (long j0 = 0; j0 < n; j0 += NC) {
        long nc = n - j0 < NC ? n - j0 : NC;
        int in_place = reads_a_in_place(wide, trans_a, nc, lda);
        int b_in_place = !packed_b && reads_b_in_place(wide, trans_b, m, nc, ldb);
        for (long p0 = 0; p0 < k; p0 += k_step) {
            long kc = k - p0 < k_step ? k - p0 : k_step;
            int acc = accumulate || p0 > 0;
            b_cols panels = packed_cols(pack_b_buf, kc);
            if (packed_b) panels = packed_cols(packed_b + packed_b_offset(k, j0, p0, nc), kc);
            else if (b_in_place) panels = cols_in_place(b, ldb, p0, j0);
            else pack_b(trans_b, b, ldb, p0, j0, kc, nc, pack_b_buf);
            for (long i0 = 0; i0 < m; i0 += MC) {
                long mc = m - i0 < MC ? m - i0 : MC;
                /* The AVX-512 tiles read op(A) as stored in place (its rows run along the depth, as they
                   stream); the narrower tiles read packed panels. */
                a_rows rows = in_place ? rows_in_place(a, lda, i0, p0) : packed_rows(pack_a_buf, kc);
                if (!in_place) pack_a(use_avx2, trans_a, a, lda, i0, p0, mc, kc, pack_a_buf);
                block_tiles(use_avx2, wide, kc, rows, panels, c + i0 * ldc + j0, ldc, mc, nc, acc);
            }
        }
    }
}

void strata_sgemm(int use_avx2, int trans_a, int trans_b, long m, long n, long k,
                  const float *a, long lda, const float *b, long ldb,
                  int accumulate, float *c, long ldc,
                  float *pack_a_buf, float *pack_b_buf) {
    gemm_blocks(use_avx2, trans_a, trans_b, m, n, k, a, lda, b, ldb, 0, accumulate, c, ldc, pack_a_buf, pack_b_buf);
}

long strata_sgemm_packed_b_count(long n, long k) {
    return (n + NR - 1) / NR * NR * (k > 0 ? k : 0);
}

/* Packs block `block` of op(B) (column blocks outer, depth blocks inner) where gemm_blocks reads it packed whole. */
static void pack_b_whole_block(int trans_b, long n, long k, const float *b, long ldb, long block, float *out) {
    long k_step = depth_step(k), depth_blocks = (k + k_step - 1) / k_step;
    long j0 = block / depth_blocks * NC, p0 = block % depth_blocks * k_step;
    long nc = n - j0 < NC ? n - j0 : NC, kc = k - p0 < k_step ? k - p0 : k_step;
    pack_b(trans_b, b, ldb, p0, j0, kc, nc, out + packed_b_offset(k, j0, p0, nc));
}

/* How many blocks pack_b_whole_block takes to pack op(B) [k, n]. */
static long pack_b_whole_blocks(long n, long k) {
    long k_step = depth_step(k);
    return (n + NC - 1) / NC * ((k + k_step - 1) / k_step);
}

void strata_sgemm_pack_b(int trans_b, long n, long k, const float *b, long ldb, float *out) {
    if (n <= 0 || k <= 0) return;
    long blocks = pack_b_whole_blocks(n, k);
    for (long block = 0; block < blocks; block++) pack_b_whole_block(trans_b, n, k, b, ldb, block, out);
}

void strata_sgemm_prepacked(int use_avx2, int trans_a, long m, long n, long k, const float *a, long lda,
                            const float *packed_b, int accumulate, float *c, long ldc, float *pack_a_buf) {
    gemm_blocks(use_avx2, trans_a, 0, m, n, k, a, lda, 0, 0, packed_b, accumulate, c, ldc, pack_a_buf, 0);
}

typedef struct {
    int use_avx2, trans_a, trans_b, accumulate, tasks;
    long m, n, k, lda, ldb, ldc;
    const float *a, *b;
    float *c;
    float *const *pack_a, *const *pack_b;
} parallel_job;

static void run_part(void *context, long t) {
    const parallel_job *j = (const parallel_job *)context;
    long units = (j->n + NR - 1) / NR;
    long first = units * t / j->tasks * NR, last = units * (t + 1) / j->tasks * NR;
    if (last > j->n) last = j->n;
    if (first >= last) return;
    const float *b = j->trans_b ? j->b + first * j->ldb : j->b + first;
    strata_sgemm(j->use_avx2, j->trans_a, j->trans_b, j->m, last - first, j->k, j->a, j->lda, b, j->ldb,
                 j->accumulate, j->c + first, j->ldc, j->pack_a[t], j->pack_b[t]);
}

/* The product with op(A) packed once into shared memory (a region of the pool, in parts), or read in place when
   every block takes the AVX-512 tiles; then blocks of columns that the threads claim in turn, each thread packing
   its block of op(B) into its own part of the shared buffer (or reading it in place where strata_sgemm would), so
   a thread the machine runs slower takes fewer blocks and none waits for a fixed half. Every element is summed as
   strata_sgemm sums it (the same depth blocks, tiles and kernels), so the bits do not depend on the split. Depth
   block p of op(A) is stored at p * m_pad, its row panels one after another. */
typedef struct {
    int use_avx2, wide, trans_a, trans_b, accumulate, in_place, b_in_place;
    long m, n, k, lda, ldb, ldc, k_step, m_pad, block_cols, col_blocks, next_block;
    const float *a, *b;
    float *c, *packed_a, *packed_b;
} column_job;

static void column_pack_a(void *context, long t) {
    const column_job *j = (const column_job *)context;
    long depth_blocks = (j->k + j->k_step - 1) / j->k_step;
    long p0 = t % depth_blocks * j->k_step, kc = j->k - p0 < j->k_step ? j->k - p0 : j->k_step;
    long i0 = t / depth_blocks * MC, mc = j->m - i0 < MC ? j->m - i0 : MC;
    pack_a(j->use_avx2, j->trans_a, j->a, j->lda, i0, p0, mc, kc, j->packed_a + p0 * j->m_pad + i0 * kc);
}

static void column_blocks(void *context, long t) {
    column_job *j = (column_job *)context;
    float *pack_b_buf = j->packed_b + t * j->k_step * j->block_cols;
    for (long block; (block = strata_claim(&j->next_block)) < j->col_blocks;) {
        long j0 = block * j->block_cols, nc = j->n - j0 < j->block_cols ? j->n - j0 : j->block_cols;
        for (long p0 = 0; p0 < j->k; p0 += j->k_step) {
            long kc = j->k - p0 < j->k_step ? j->k - p0 : j->k_step;
            b_cols panels = packed_cols(pack_b_buf, kc);
            if (j->b_in_place) panels = cols_in_place(j->b, j->ldb, p0, j0);
            else pack_b(j->trans_b, j->b, j->ldb, p0, j0, kc, nc, pack_b_buf);
            for (long i0 = 0; i0 < j->m; i0 += MC) {
                long mc = j->m - i0 < MC ? j->m - i0 : MC;
                a_rows rows = j->in_place ? rows_in_place(j->a, j->lda, i0, p0)
                                          : packed_rows(j->packed_a + p0 * j->m_pad + i0 * kc, kc);
                block_tiles(j->use_avx2, j->wide, kc, rows, panels, j->c + i0 * j->ldc + j0, j->ldc, mc, nc,
                            j->accumulate || p0 > 0);
            }
        }
    }
}

/* Whether the column path ran: it takes products at least as wide as tall, and taller ones whose op(A) is read in
   place over a short depth (at most SHORT_DEPTH), with room in `shared` for op(A) packed (unless read in place)
   and a block of op(B) per thread. Over a short depth the row path's tiles go through all of op(B) for every row
   panel, which then costs more than the column blocks' reading op(A) again from L2 for each block of op(B) kept
   in L1 (measured at depth 64: 9-24% faster on 2 threads at 392 to 1568 rows; level at 128, slower at 256). */
enum { SHORT_DEPTH = 64 };

static int sgemm_columns(int use_avx2, int threads, int trans_a, int trans_b, long m, long n, long k,
                         const float *a, long lda, const float *b, long ldb, int accumulate, float *c, long ldc,
                         float *shared, long shared_floats) {
    if (m <= 0 || n <= 0 || k <= 0 || !shared) return 0;
    int wide = use_avx2 && strata_cpu_use_avx512();
    /* Every block is whole pairs of panels when n is (block_cols is); op(A) read in place takes no room. */
    int in_place = reads_a_in_place(wide, trans_a, n, lda);
    if (m > n && !(in_place && k <= SHORT_DEPTH)) return 0;
    long k_step = depth_step(k);
    /* A few blocks per thread, in whole wide tiles. */
    long wide_units = (n + 2 * NR - 1) / (2 * NR), wanted = 4L * threads;
    long blocks = wanted < wide_units ? wanted : wide_units;
    long block_cols = (wide_units + blocks - 1) / blocks * 2 * NR;
    long m_pad = (m + MR - 1) / MR * MR, packed_a_floats = in_place ? 0 : m_pad * k;
    if (packed_a_floats + threads * k_step * block_cols > shared_floats) return 0;
    column_job job = {use_avx2, wide, trans_a, trans_b, accumulate, in_place,
                      reads_b_in_place(wide, trans_b, m, n, ldb), /* n in whole panels: every block is */
                      m, n, k, lda, ldb, ldc, k_step, m_pad, block_cols, (n + block_cols - 1) / block_cols, 0,
                      a, b, c, shared, shared + packed_a_floats};
    if (!job.in_place) strata_parallel_run((m + MC - 1) / MC * ((k + k_step - 1) / k_step), column_pack_a, &job);
    strata_parallel_run(threads, column_blocks, &job);
    return 1;
}

/* The row form of the column path, for products taller than wide: op(B) packed once into shared memory (a
   region of the pool, in parts; unless a block of rows reads it in place, or it does not fit, when each block
   packs its own), then blocks of rows that the threads claim in turn, each packing its rows of op(A) into its own
   pack_a[t]. Rows are independent, so the bits are strata_sgemm's. */
typedef struct {
    int use_avx2, trans_a, trans_b, accumulate;
    long m, n, k, lda, ldb, ldc, block_rows, row_blocks, next_block;
    const float *a, *b;
    float *c, *packed_b;
    float *const *pack_a, *const *pack_b;
} row_job;

static void row_pack_b(void *context, long t) {
    const row_job *j = (const row_job *)context;
    pack_b_whole_block(j->trans_b, j->n, j->k, j->b, j->ldb, t, j->packed_b);
}

static void row_blocks(void *context, long t) {
    row_job *j = (row_job *)context;
    for (long block; (block = strata_claim(&j->next_block)) < j->row_blocks;) {
        long i0 = block * j->block_rows, mc = j->m - i0 < j->block_rows ? j->m - i0 : j->block_rows;
        const float *a = j->trans_a ? j->a + i0 : j->a + i0 * j->lda;
        gemm_blocks(j->use_avx2, j->trans_a, j->trans_b, mc, j->n, j->k, a, j->lda, j->b, j->ldb, j->packed_b,
                    j->accumulate, j->c + i0 * j->ldc, j->ldc, j->pack_a[t], j->pack_b[t]);
    }
}

static void sgemm_rows(int use_avx2, int threads, int trans_a, int trans_b, long m, long n, long k, const float *a,
                       long lda, const float *b, long ldb, int accumulate, float *c, long ldc,
                       float *const *pack_a, float *const *pack_b, float *shared, long shared_floats) {
    /* A few blocks per thread, in whole row panels, at most MC rows (one packing of op(A) each). */
    long wanted = 4L * threads, panels = (m + MR - 1) / MR;
    long block_rows = (panels + wanted - 1) / wanted * MR;
    if (block_rows > MC) block_rows = MC;
    int wide = use_avx2 && strata_cpu_use_avx512();
    int pack_once = !reads_b_in_place(wide, trans_b, block_rows, n, ldb) && k > 0 && shared &&
                    strata_sgemm_packed_b_count(n, k) <= shared_floats;
    row_job job = {use_avx2, trans_a, trans_b, accumulate, m, n, k, lda, ldb, ldc, block_rows,
                   (m + block_rows - 1) / block_rows, 0, a, b, c, pack_once ? shared : 0, pack_a, pack_b};
    if (pack_once) strata_parallel_run(pack_b_whole_blocks(n, k), row_pack_b, &job);
    strata_parallel_run(threads, row_blocks, &job);
}

void strata_sgemm_parallel(int use_avx2, int threads, int trans_a, int trans_b, long m, long n, long k,
                           const float *a, long lda, const float *b, long ldb,
                           int accumulate, float *c, long ldc,
                           float *const *pack_a, float *const *pack_b, float *shared, long shared_floats) {
    if (threads > 1 && sgemm_columns(use_avx2, threads, trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c,
                                    ldc, shared, shared_floats))
        return;
    if (threads > 1 && m > n && n > 0) {
        sgemm_rows(use_avx2, threads, trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc, pack_a, pack_b,
                   shared, shared_floats);
        return;
    }
    /* Fixed parts of the columns (without room for the column path), each packing its own op(A). */
    long units = (n + NR - 1) / NR;
    if (threads > units) threads = (int)units;
    if (threads < 1) threads = 1;
    parallel_job job = {use_avx2, trans_a, trans_b, accumulate, threads, m, n, k, lda, ldb, ldc,
                        a, b, c, pack_a, pack_b};
    strata_parallel_run(threads, run_part, &job);
}
