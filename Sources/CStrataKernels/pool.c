#define _GNU_SOURCE
#include "CStrataKernels.h"
#include "pool_placement.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdatomic.h>
#include <unistd.h>

/* A kept-warm pool: workers spin briefly for the next job before sleeping, because waking a sleeping thread
   costs about as much as a small matrix product. Jobs come from one thread at a time (the trainer's).

   The caller never waits for a worker, only for the job's tasks: it claims tasks itself like any worker, so when
   the machine runs a worker late (another program on its core), the caller finishes the region alone instead of
   holding every region until that worker is scheduled. A worker that wakes after its job has ended finds
   nothing to claim and goes back to waiting. When a worker holds the job's last task but the machine has taken
   its processor, the caller sleeps, having moved that worker onto its own processor where the system allows
   (pool_placement.h), instead of leaving it queued behind another program for the rest of that program's time
   slice. */

/* How long a worker spins for the next job before it sleeps: long enough to catch the next region of a
   training step, short enough that an idle worker soon stops taking processor time from other programs (and,
   on a busy machine, from the thread that submits the work). */
static const double SPIN_SECONDS = 200e-6;
/* How long the submitter spins for the last tasks of a job, at least, before it sleeps: longer than a small task
   of a training step runs. */
static const double WAIT_SPIN_SECONDS = 100e-6;

/* The job's claim word: generation (24 bits), task count (20 bits) and next task (20 bits) in one atomic, so a
   claim succeeds only for the job it was meant for, with that job's count. */
enum { TASK_BITS = 20, COUNT_SHIFT = TASK_BITS, GENERATION_SHIFT = 2 * TASK_BITS };
#define TASK_MASK ((1UL << TASK_BITS) - 1)

static pthread_t workers[POOL_MAX_WORKERS];
static int worker_count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static atomic_ulong claim_word;
static atomic_long finished;
/* Whether the current job's submitter sleeps until its last task finishes. */
static atomic_int submitter_sleeping;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t last_task_done = PTHREAD_COND_INITIALIZER;

static void wake_submitter(void) {
    pthread_mutex_lock(&done_lock);
    pthread_cond_signal(&last_task_done);
    pthread_mutex_unlock(&done_lock);
}
/* Tasks of the current job that workers (not the caller) ran, and whether the machine took a worker's
   processor away while it held tasks of it (its wall time ran ahead of its processor time). */
static atomic_long helped;
/* Which workers are running a task of the current job now. */
static atomic_int holding[POOL_MAX_WORKERS];
static atomic_int preempted;
/* Whether a worker ran tasks of the current job on the submitter's processor: the machine put both threads on
   one processor (the others busy), so sharing the work only halves the submitter's speed. */
static atomic_int crowded;
static atomic_int submitter_processor;
static atomic_int sleepers;
static void (*job_function)(void *, long);
static void *job_context;

/* Set while this thread runs a task: a task that asks for a parallel region of its own runs it inline (the
   pool takes one job at a time), in task order, so its results are the same. */
static _Thread_local int inside_task;

static int on_submitters_processor(void) {
    int processor = strata_current_processor();
    return processor >= 0 && processor == atomic_load_explicit(&submitter_processor, memory_order_relaxed);
}

static inline unsigned long generation_of(unsigned long word) { return word >> GENERATION_SHIFT; }

static long clock_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Claims and runs the tasks of job `generation` until none is left; a task's result is fixed by its index, so
   it does not matter which thread runs it, and a thread slowed by the machine takes fewer. `worker` is the
   worker's index, or -1 for the submitter. Returns how many it ran. */
static long run_tasks(unsigned long generation, int worker) {
    unsigned long word = atomic_load_explicit(&claim_word, memory_order_acquire);
    long wall = 0, cpu = 0, ran = 0;
    inside_task = 1;
    for (;;) {
        if (generation_of(word) != generation) break;
        unsigned long next = word & TASK_MASK, count = (word >> COUNT_SHIFT) & TASK_MASK;
        if (next >= count) break;
        if (!atomic_compare_exchange_weak_explicit(&claim_word, &word, word + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        if (worker >= 0) atomic_store_explicit(&holding[worker], 1, memory_order_release);
        if (worker >= 0 && wall == 0) {
            wall = clock_ns(CLOCK_MONOTONIC);
            cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
            if (on_submitters_processor()) atomic_store_explicit(&crowded, 1, memory_order_relaxed);
        }
        job_function(job_context, (long)next);
        ran++;
        if (worker >= 0) {
            atomic_store_explicit(&holding[worker], 0, memory_order_release);
            atomic_fetch_add_explicit(&helped, 1, memory_order_relaxed);
        }
        if (atomic_fetch_add_explicit(&finished, 1, memory_order_seq_cst) + 1 == (long)count &&
            atomic_load_explicit(&submitter_sleeping, memory_order_seq_cst))
            wake_submitter();
        word = atomic_load_explicit(&claim_word, memory_order_acquire);
    }
    if (wall != 0) {
        long off = (clock_ns(CLOCK_MONOTONIC) - wall) - (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu);
        if (off > 50000) atomic_store_explicit(&preempted, 1, memory_order_relaxed);
    }
    inside_task = 0;
    return ran;
}

static inline void pause_cpu(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

static double now_seconds(void) { return (double)clock_ns(CLOCK_MONOTONIC) * 1e-9; }

/* Set by each worker once placement knows it (see ensure_workers). */
static atomic_int worker_registered[POOL_MAX_WORKERS];

static void *worker_main(void *arg) {
    int index = (int)(long)arg;
    placement_register_worker(index);
    atomic_store_explicit(&worker_registered[index], 1, memory_order_release);
    strata_flush_denormals();
    unsigned long seen = generation_of(atomic_load_explicit(&claim_word, memory_order_acquire));
    for (;;) {
        unsigned long current;
        double idle_since = now_seconds();
        int spins = 0;
        while ((current = generation_of(atomic_load_explicit(&claim_word, memory_order_acquire))) == seen) {
            /* Spinning on the submitter's processor (where the scheduler moved it to finish a late task) only
               takes time from the submitter: sleep at once. */
            if (++spins % 64 != 0 ||
                (now_seconds() - idle_since < SPIN_SECONDS && !on_submitters_processor())) {
                pause_cpu();
                continue;
            }
            pthread_mutex_lock(&lock);
            atomic_fetch_add(&sleepers, 1);
            while (generation_of(atomic_load_explicit(&claim_word, memory_order_acquire)) == seen)
                pthread_cond_wait(&wake, &lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&lock);
            spins = 0;
            idle_since = now_seconds();
        }
        seen = current;
        run_tasks(current, index);
    }
    return 0;
}

static void ensure_workers(int wanted) {
    if (wanted > POOL_MAX_WORKERS) wanted = POOL_MAX_WORKERS;
    pthread_mutex_lock(&lock);
    while (worker_count < wanted) {
        if (pthread_create(&workers[worker_count], 0, worker_main, (void *)(long)worker_count) != 0) break;
        pthread_detach(workers[worker_count]);
        /* A new worker starts with its creator's processors (the submitter's, where the caller is pinned to one),
           and it is placed only once placement knows it: it takes no task before that. */
        while (!atomic_load_explicit(&worker_registered[worker_count], memory_order_acquire)) sched_yield();
        worker_count++;
    }
    pthread_mutex_unlock(&lock);
}

/* When to run regions alone: pool_policy.c. alone_until mirrors the policy's, for
   strata_parallel_running_alone on any thread; the policy itself only the submitting thread touches. */
static _Atomic(double) alone_until;
static strata_pool_policy policy;

static void note_region(double busy, double waited, long tasks, int woken, int placed, double now) {
    strata_region_report region = {busy, waited, tasks, atomic_load_explicit(&helped, memory_order_relaxed), woken,
                                   atomic_load_explicit(&preempted, memory_order_relaxed),
                                   atomic_load_explicit(&crowded, memory_order_relaxed), placed};
    if (strata_pool_policy_note(&policy, region, now))
        atomic_store_explicit(&alone_until, policy.alone_until, memory_order_relaxed);
}

/* Processor time of worker w's thread, in nanoseconds, or -1 where the system does not say. */
static long worker_processor_ns(int w) {
    clockid_t clock;
    if (pthread_getcpuclockid(workers[w], &clock) != 0) return -1;
    return clock_ns(clock);
}

/* Moves onto `processor` the workers that hold a task but do not run: over a short look their processor time
   advances by less than half of it (the machine gave their processor to another program). A worker that runs,
   on a long task, is left where it is: moving it would only cost it its caches. Returns how many it moved; none
   when the job's `tasks` finish during the look. */
static int rescue_stalled_workers(int processor, long tasks) {
    static const long LOOK_NS = 20000;
    long before[POOL_MAX_WORKERS];
    for (int w = 0; w < worker_count; w++)
        before[w] = atomic_load_explicit(&holding[w], memory_order_acquire) ? worker_processor_ns(w) : -1;
    long look_start = clock_ns(CLOCK_MONOTONIC);
    while (clock_ns(CLOCK_MONOTONIC) - look_start < LOOK_NS) {
        if (atomic_load_explicit(&finished, memory_order_acquire) >= tasks) return 0;
        pause_cpu();
    }
    int moved = 0;
    for (int w = 0; w < worker_count; w++) {
        if (before[w] < 0 || !atomic_load_explicit(&holding[w], memory_order_acquire)) continue;
        if (worker_processor_ns(w) - before[w] < LOOK_NS / 2) {
            placement_rescue(w, processor);
            moved++;
        }
    }
    return moved;
}

/* Sleeps until the job's `tasks` have finished, or for at most `limit` seconds when that is above 0. */
static void sleep_for_tasks(long tasks, double limit) {
    struct timespec deadline;
    if (limit > 0) {
        clock_gettime(CLOCK_REALTIME, &deadline);  // the condition variable's clock
        long ns = deadline.tv_nsec + (long)(limit * 1e9);
        deadline.tv_sec += ns / 1000000000L;
        deadline.tv_nsec = ns % 1000000000L;
    }
    pthread_mutex_lock(&done_lock);
    atomic_store_explicit(&submitter_sleeping, 1, memory_order_seq_cst);
    while (atomic_load_explicit(&finished, memory_order_seq_cst) < tasks) {
        if (limit <= 0) pthread_cond_wait(&last_task_done, &done_lock);
        else if (pthread_cond_timedwait(&last_task_done, &done_lock, &deadline) != 0) break;
    }
    atomic_store_explicit(&submitter_sleeping, 0, memory_order_relaxed);
    pthread_mutex_unlock(&done_lock);
}

/* Waits for the job's last tasks, which workers hold: by spinning for `spin` seconds, then by sleeping. Where the
   workers are kept off this processor (`placed`), it looks at once, and then every LOOK_SECONDS (waking for it),
   whether a holder is stalled, the machine having taken its processor for another program: that worker is moved
   onto this processor, which sleeps until the job is done, rather than the job waiting until that program's time
   slice ends. */
static void wait_for_tasks(long tasks, double since, double spin, int processor, int placed) {
    static const double LOOK_SECONDS = 100e-6;
    double look_at = since;
    int spins = 0;
    while (atomic_load_explicit(&finished, memory_order_acquire) < tasks) {
        if (++spins % 64 != 0) {
            pause_cpu();
            continue;
        }
        double now = now_seconds();
        if (placed && now >= look_at) {
            if (rescue_stalled_workers(processor, tasks) > 0) {
                sleep_for_tasks(tasks, 0);
                return;
            }
            look_at = now_seconds() + LOOK_SECONDS;
            continue;
        }
        if (now - since < spin) continue;
        sleep_for_tasks(tasks, placed ? look_at - now : 0);
    }
}

/* Whether steps run alone (step_choice.c): one choice per kind of step and per submitting thread (each trainer
   its own), and whether this thread's current step runs alone. */
static _Thread_local strata_step_choice step_choices[2];
static _Thread_local int step_alone;
static _Thread_local double step_started;

/* How many steps of each kind this thread has begun, and how many of them ran alone. */
static _Thread_local long begun_count[2], alone_count[2];

int strata_pool_step_begins(int training) {
    step_alone = step_choices[training != 0].alone;
    step_started = now_seconds();
    begun_count[training != 0]++;
    alone_count[training != 0] += step_alone;
    return step_alone;
}

void strata_pool_steps_counted(int training, long *begun, long *alone) {
    *begun = begun_count[training != 0];
    *alone = alone_count[training != 0];
}

void strata_pool_step_ends(int training, long rows) {
    double now = now_seconds();
    step_alone = 0;
    strata_step_choice_note(&step_choices[training != 0], now - step_started, rows, now);
}

int strata_parallel_running_alone(void) {
    return now_seconds() < atomic_load_explicit(&alone_until, memory_order_relaxed);
}

long strata_claim(long *counter) {
    return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static void run_inline(long tasks, void (*function)(void *, long), void *context) {
    int outer = inside_task;
    inside_task = 1;
    for (long t = 0; t < tasks; t++) function(context, t);
    inside_task = outer;
}

void strata_parallel_run(long tasks, void (*function)(void *, long), void *context) {
    if (tasks <= 1 || inside_task || tasks > (long)TASK_MASK) {
        run_inline(tasks, function, context);
        return;
    }
    pthread_mutex_lock(&submit_lock);
    double start = now_seconds();
    if (start < atomic_load_explicit(&alone_until, memory_order_relaxed) || step_alone) {
        run_inline(tasks, function, context);
        pthread_mutex_unlock(&submit_lock);
        return;
    }
    /* At most one worker per processor beyond this thread: more tasks than that are claimed in turn. (glibc
       reads a file for the processor count, so it is asked once.) */
    static long processors;
    if (processors == 0) {
        processors = sysconf(_SC_NPROCESSORS_ONLN);
        if (processors < 1) processors = 1;
    }
    long wanted = tasks - 1 < processors - 1 ? tasks - 1 : processors - 1;
    ensure_workers(wanted > 0 ? (int)wanted : 1);
    /* Every task of the last job has finished (the caller waited for that), so no thread still reads these. */
    job_function = function;
    job_context = context;
    atomic_store_explicit(&finished, 0, memory_order_relaxed);
    atomic_store_explicit(&helped, 0, memory_order_relaxed);
    atomic_store_explicit(&preempted, 0, memory_order_relaxed);
    atomic_store_explicit(&crowded, 0, memory_order_relaxed);
    int processor = strata_current_processor();
    atomic_store_explicit(&submitter_processor, processor, memory_order_relaxed);
    int placed = placement_keep_off(processor, worker_count);
    unsigned long generation = generation_of(atomic_load_explicit(&claim_word, memory_order_relaxed)) + 1;
    generation &= (1UL << (64 - GENERATION_SHIFT)) - 1;
    pthread_mutex_lock(&lock);
    atomic_store_explicit(&claim_word, generation << GENERATION_SHIFT | (unsigned long)tasks << COUNT_SHIFT,
                          memory_order_release);
    int woken = atomic_load(&sleepers) > 0;
    if (woken) pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    long own = run_tasks(generation, -1);
    double ran = now_seconds(), busy = ran - start;
    /* A worker on time leaves about one task to wait for. Without placement, waiting as long as this thread
       worked before sleeping gives the scheduler's balancing time to move a queued worker; with it, a stalled
       worker is rescued whenever it is seen, and one still running after two of this thread's tasks is waited
       for asleep. */
    double spin = placed && own > 0 ? 2 * busy / (double)own : busy;
    wait_for_tasks(tasks, ran, spin > WAIT_SPIN_SECONDS ? spin : WAIT_SPIN_SECONDS, processor, placed);
    if (placed) placement_return(processor);
    double done = now_seconds();
    note_region(busy, done - ran, tasks, woken, placed, done);
    pthread_mutex_unlock(&submit_lock);
}
