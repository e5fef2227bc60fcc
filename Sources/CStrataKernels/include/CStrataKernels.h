#ifndef STRATA_KERNELS_H
#define STRATA_KERNELS_H

#include <stddef.h>

/// 1 when this CPU runs AVX2 and FMA instructions, so the fast micro-kernels may be used.
int strata_cpu_has_avx2_fma(void);
int strata_cpu_has_avx512(void);
/// Whether the AVX2 kernels may use their AVX-512 forms: the CPU has AVX-512F and the environment does not set
/// STRATA_NO_AVX512. Those forms compute every element in the same order, so they change no bit, only speed.
int strata_cpu_use_avx512(void);
/// Allows or forbids the AVX-512 forms (still only where the CPU has them); returns the previous setting.
int strata_cpu_set_avx512(int allowed);

/// Treats denormal floats as zero on this thread (FTZ and DAZ). Tiny gradients otherwise turn into denormals
/// that slow every multiply touching them many times over; the pool's workers set it too, so results stay
/// identical whatever thread computes them.
void strata_flush_denormals(void);

/// Block sizes of the packed GEMM; a workspace holds STRATA_GEMM_MC*STRATA_GEMM_KC floats for A and
/// STRATA_GEMM_KC*STRATA_GEMM_NC for B.
#define STRATA_GEMM_MR 6
#define STRATA_GEMM_NR 16
#define STRATA_GEMM_MC 96
#define STRATA_GEMM_KC 320
#define STRATA_GEMM_NC 2048

/// C[m,n] (+)= op(A)[m,k] · op(B)[k,n], single-threaded, over packed panels.
/// op(A) is A[m,k] (row stride lda) or, when trans_a, the transpose of A stored [k,m]; likewise op(B)
/// is B[k,n] or the transpose of B stored [n,k]. accumulate = 0 overwrites C, 1 adds to it.
/// Every element's sum runs over k in the same order whatever m, n and the caller's partition,
/// so splitting the columns across threads gives identical bits.
void strata_sgemm(int use_avx2, int trans_a, int trans_b, long m, long n, long k,
                  const float *a, long lda, const float *b, long ldb,
                  int accumulate, float *c, long ldc,
                  float *pack_a, float *pack_b);

/// How many floats strata_sgemm_pack_b writes for op(B)[k,n].
long strata_sgemm_packed_b_count(long n, long k);

/// Packs all of op(B)[k,n] (B[k,n], or the transpose of B stored [n,k] when trans_b) once, for products that
/// share it: strata_sgemm_prepacked over any rows of op(A) then gives the bits strata_sgemm would.
void strata_sgemm_pack_b(int trans_b, long n, long k, const float *b, long ldb, float *out);

/// C[m,n] (+)= op(A)[m,k] · B with B packed by strata_sgemm_pack_b; pack_a holds MC*KC floats.
void strata_sgemm_prepacked(int use_avx2, int trans_a, long m, long n, long k, const float *a, long lda,
                            const float *packed_b, int accumulate, float *c, long ldc, float *pack_a);

/// Floats per FMA of the widest kernels in use: 16 with AVX-512, 8 with AVX2, 0 for the portable kernels.
int strata_fma_peak_width(void);

/// Runs `iterations` rounds of 12 independent FMAs of strata_fma_peak_width() floats (the most a core can issue)
/// and returns a value that depends on all of them, so the work is not optimized away. Used to measure this
/// core's FMA peak.
float strata_fma_peak_probe(long iterations);

/// Runs function(context, t) for t in 0..<tasks on this thread and kept-warm workers (one per other processor),
/// each task claimed by whichever thread is free, and returns when all are done. Callers give each task a fixed,
/// disjoint part of the work, so results never depend on which thread ran it. Called from inside a task, it runs
/// the tasks inline, in order.
void strata_parallel_run(long tasks, void (*function)(void *, long), void *context);

/// The processor the calling thread runs on, or -1 where the system does not say.
int strata_current_processor(void);

/// The processors the process may run on, in order, into `processors` (at most `capacity`); returns how many
/// there are (0 where the system does not say).
int strata_allowed_processors(int *processors, int capacity);

/// Keeps the calling thread on `processor` alone; returns 0 when done (-1 where the system does not allow it).
int strata_pin_thread(int processor);

/// Keeps every thread of the process on `processors` (`count` of them), as `taskset -a -p` does; returns 0 when
/// done (-1 where the system does not allow it).
int strata_restrict_process(const int *processors, int count);

/// The processors pool worker `worker` may run on, in order, into `processors` (at most `capacity`); returns how
/// many there are, or -1 when there is no such worker (or the system does not say).
int strata_worker_processors(int worker, int *processors, int capacity);

/// Whether the pool runs regions on the submitting thread alone for now (another program keeps its workers
/// late): a caller may then cut its work for one thread, which gives the same bits.
int strata_parallel_running_alone(void);

/// What the submitting thread saw of one region it shared with the pool's workers.
typedef struct {
    /// Seconds running its own tasks, then waiting for the workers' last ones.
    double busy, waited;
    /// Tasks of the region, and those the workers ran.
    long tasks, helpers_ran;
    /// Whether workers were woken from sleep for it; a worker was taken off its processor while it held tasks; a
    /// worker ran tasks on the submitting thread's processor; the workers were kept off that processor.
    int woken, preempted, crowded, placed;
} strata_region_report;

/// When the pool runs regions alone (another program keeps its workers late); starts zeroed.
typedef struct {
    double alone_until, alone_period, late_seconds, shared_seconds, saved_seconds, faded_at;
    int absent_regions, crowded_regions;
} strata_pool_policy;

/// Notes a region reported at `now` (seconds); returns 1 when it is trouble, which moves policy->alone_until on
/// (regions until then run alone, and are not reported). Pure: the pool keeps one policy, tests their own.
int strata_pool_policy_note(strata_pool_policy *policy, strata_region_report region, double now);

/// Whether whole steps of one kind run on the pool's workers or on the submitting thread alone, chosen by timing
/// both ways now and then (step_choice.c); starts zeroed (sharing).
typedef struct {
    /// The way the next step takes (1: alone), and the way chosen (which the probes are compared with).
    int alone, chosen_alone, phase;
    /// The window of steps being timed, the one before the probe, and the probe's.
    double window_seconds, before_seconds, probe_seconds;
    long window_rows, before_rows, probe_rows;
    /// Seconds between probes, and when the next one starts.
    double gap, next_probe;
} strata_step_choice;

/// Notes a step of `rows` rows that took `seconds` and ended at `now`; choice->alone then says how the next
/// runs. Pure: the pool keeps one choice per kind of step, tests their own.
void strata_step_choice_note(strata_step_choice *choice, double seconds, long rows, double now);

/// Called as a step (training: 1, inference: 0) begins on the thread that submits its regions; returns 1 when it
/// is to run alone (its regions then run on that thread, and its work is best cut for one). Same bits either way.
/// Each thread keeps its own choices.
int strata_pool_step_begins(int training);

/// Called as that step ends, with its rows: the time it took feeds the choice for the next ones.
void strata_pool_step_ends(int training, long rows);

/// How many steps of a kind the calling thread has begun, and how many of them ran alone.
void strata_pool_steps_counted(int training, long *begun, long *alone);

/// Returns *counter and adds one, atomically: threads of one parallel region take work items in turn.
long strata_claim(long *counter);

/// strata_sgemm on the pool. With threads > 1, m <= n (or k <= 64 and op(A) read in place) and room in `shared`
/// (shared_floats) for op(A) packed (unless the AVX-512 tiles read it in place) and a block of op(B) per thread,
/// op(A) is packed once or read in place and the threads claim blocks of columns in turn, each packing its block
/// of op(B). Otherwise, with m > n, op(B) is packed once into `shared` (unless read in place, or it does not fit:
/// then each block packs its own into pack_b[t]) and the threads claim blocks of rows in turn, each packing its
/// rows of op(A) into pack_a[t]. Otherwise `threads` tasks take fixed parts of the columns, in whole micro-tiles,
/// each with its own pack_a[t] and pack_b[t]. Identical bits for any thread count and either way.
void strata_sgemm_parallel(int use_avx2, int threads, int trans_a, int trans_b, long m, long n, long k,
                           const float *a, long lda, const float *b, long ldb,
                           int accumulate, float *c, long ldc,
                           float *const *pack_a, float *const *pack_b, float *shared, long shared_floats);

/// Max pooling of one example, channels last: y[OH, OW, C] and the index in x of each window's first maximum.
void strata_maxpool_forward(float *restrict y, int *restrict winners, const float *restrict x,
                            long height, long width, long channels, long pool_h, long pool_w,
                            long stride_h, long stride_w, long pad_top, long pad_left,
                            long out_h, long out_w);

/// Geometry of a convolution for the implicit-GEMM kernels, channels last, over inputs already padded.
typedef struct strata_conv_geometry {
    long image;                /* floats per input example */
    long positions;            /* output positions per example, OH·OW: the stride of y and dy per example */
    long active;               /* positions computed per example: those a following layer reads */
    long run;                  /* active positions come in runs of this many along an output row... */
    long window_step;          /* ...whose windows lie this many floats apart */
    long patch;                /* depth of a window, KH·KW·C */
    long filters;              /* F, a multiple of 16 */
    const long *row_base;      /* [active]: offset in its example of each computed window's first value */
    const long *row_output;    /* [active]: index among the positions of each computed window */
    const long *patch_offset;  /* [patch]: offset of each (ky, kx, c) tap from the window's first value */
} strata_conv_geometry;

/// 1 when the implicit-GEMM kernels run here for this many filters (AVX2 and FMA, filters a multiple of 16).
int strata_conv_implicit_available(long filters);

/// Weights w[patch, F] as the forward kernel reads them: F/16 panels, each [patch][16] contiguous.
void strata_conv_pack_weight(float *packed, const float *w, long patch, long filters);

/// wᵀ as the input-gradient kernel reads it: panels of 16 taps (patch rounded up, zeros past it), each [F][16].
void strata_conv_pack_transposed_weight(float *packed, const float *w, long patch, long filters);

/// y[b, position, F] = bias[F] + Σ window · w at each active position of examples first..<last (others are
/// not written); w packed by strata_conv_pack_weight.
void strata_conv_forward(float *y, const float *x, const float *w, const float *bias,
                         long first_example, long last_example, const strata_conv_geometry *g);

/// How many independent tiles of the weight gradient there are to split across threads.
long strata_conv_weight_tiles(const strata_conv_geometry *g);

/// dw[patch, F] += Σ over every example and active position of window ⊗ dy, for tiles first..<last only. Each
/// element's sum runs over the examples and positions in order, whatever the split of the tiles.
void strata_conv_weight_gradient(float *dw, const float *x, const float *dy, long batch,
                                 long first_tile, long last_tile, const strata_conv_geometry *g);

/// 1 when the sparse backward kernels below can run this geometry (AVX2 and FMA, a window of at most 256 runs of
/// consecutive taps).
int strata_conv_sparse_available(const strata_conv_geometry *g);

/// Bytes of scratch each part of the two kernels below needs.
long strata_conv_sparse_scratch_bytes(const strata_conv_geometry *g);

/// As strata_conv_weight_gradient for filters first..<last (whole cache lines of dw: multiples of 16), summing
/// only the nonzero values of dy: the same bits, faster when most of dy is 0. dwt is [F][patch] scratch shared
/// by the parts (each uses its filters' rows), scratch this part's own.
void strata_conv_sparse_weight_gradient(float *dw, float *dwt, const float *x, const float *dy, long batch,
                                        long first_filter, long last_filter, const strata_conv_geometry *g,
                                        void *scratch);

/// wt[F, patch] = w[patch, F]ᵀ.
void strata_conv_transpose_weight(float *wt, const float *w, long patch, long filters);

/// As strata_conv_input_gradient, summing only the nonzero values of dy; wt from strata_conv_transpose_weight,
/// scratch this part's own. The same bits when the channel count is a multiple of 16 (each 16-tap panel of the
/// tile kernel then lies in one pixel).
void strata_conv_sparse_input_gradient(float *dx, const float *dy, const float *wt, long first_example,
                                       long last_example, const strata_conv_geometry *g, void *scratch);

/// dx[b] = Σ over active positions of dy[b, position] · wᵀ spread back over each window, for examples first..<last;
/// wt packed by strata_conv_pack_transposed_weight.
void strata_conv_input_gradient(float *dx, const float *dy, const float *wt, long first_example, long last_example,
                                const strata_conv_geometry *g);

/// db[first..<last] += Σ over rows of dy[rows, width], each column summed over the rows in order (so any split
/// of the columns gives the same bits), the sums kept in registers.
void strata_bias_reduce(float *db, const float *dy, long rows, long width, long first, long last);

/// SGD with momentum over count values: v = momentum·v − rate·g, then w += v, each product and sum rounded on its
/// own (no fused multiply-add), as the Swift reference loop does; use_avx2 only where the CPU has AVX2.
void strata_sgd_momentum_update(int use_avx2, float *restrict w, float *restrict v, const float *restrict g, long count,
                                float momentum, float rate);

/// Adam in Keras' form over count values: m += (1−β1)·(g − m), v += (1−β2)·(g·g − v), w −= corrected·m / (√v + ε),
/// each operation rounded on its own as the Swift reference loop does; use_avx2 only where the CPU has AVX2.
void strata_adam_update(int use_avx2, float *restrict w, float *restrict m, float *restrict v, const float *restrict g,
                        long count, float one_minus_beta1, float one_minus_beta2, float corrected, float epsilon);

/// y = max(x, 0) elementwise, NaN kept; y and x must not overlap.
void strata_relu_forward(float *restrict y, const float *restrict x, long count);

/// dx = dy where x > 0, else 0 (the kink counts as 0); no two of the buffers may overlap.
void strata_relu_backward(float *restrict dx, const float *restrict dy, const float *restrict x, long count);

/// Max-pooling gradient of one example when the windows tile the input (stride = pool size, no padding before):
/// dx[H, W, C] is written in one pass, dy where an input won its window and 0 elsewhere.
void strata_maxpool_tiled_backward(float *restrict dx, const float *restrict dy, const int *restrict winners,
                                   long height, long width, long channels, long pool_h, long pool_w,
                                   long out_h, long out_w);

/// A max pooling whose windows tile a convolution's output (stride = pool size, no padding before).
typedef struct strata_pool_shape {
    long out_w;                /* the convolution's output width */
    long pool_h, pool_w;
    long pooled_h, pooled_w;   /* the pooling's output; the convolution's used corner is pooled_h·pool_h rows */
    int relu;                  /* 1: a relu follows the pooling and is applied with it */
} strata_pool_shape;

/// Convolution then that pooling (and relu) for examples first..<last, one band of pool_h output rows at a time in
/// `band` ([pool_h, run, F] floats): pooled[b, PH, PW, F] and winners[b, PH, PW, F] (each the cell of its window
/// that won, ky·pool_w + kx: a byte, a quarter of the memory traffic of an index; NULL when evaluating, which needs
/// no backward pass).
void strata_conv_pool_forward(float *pooled, unsigned char *winners, const float *x, const float *w, const float *bias,
                              long first_example, long last_example, const strata_conv_geometry *g,
                              const strata_pool_shape *pool, float *band);

/// dw (and db, when given) += the gradients through that pooling (and relu) and convolution, for weight tiles
/// first..<last only (whole 16-filter panels; db for their filters). The output gradient is rebuilt band by
/// band in `band` from the pooled gradient, the pooled output and the winners; band_output is 0, 1, … (the
/// band's own rows). Sums run over examples and positions in order: the bits of the unfused layers.
void strata_conv_pool_weight_gradient(float *dw, float *db, const float *x, const float *dpooled, const float *pooled,
                                      const unsigned char *winners, long batch, long first_tile, long last_tile,
                                      const strata_conv_geometry *g, const strata_pool_shape *pool,
                                      const long *band_output, float *band);

/// Asks the memory system for `bytes` from `start` ahead of use (one prefetch per 64-byte line).
void strata_prefetch(const void *start, long bytes);

#endif
