#include "CStrataKernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

/* A kept-warm pool: workers spin briefly for the next job before sleeping, because waking a sleeping thread
   costs about as much as a small matrix product. Jobs come from one thread at a time (the trainer's). */

enum { MAX_WORKERS = 63, SPIN_ROUNDS = 200000 };

static pthread_t workers[MAX_WORKERS];
static int worker_count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t submit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static atomic_ulong generation;
static atomic_int remaining;
static atomic_int sleepers;
static void (*job_function)(void *, long);
static void *job_context;
static long job_tasks;
static atomic_long next_task;

/* Set while this thread runs a task: a task that asks for a parallel region of its own runs it inline (the
   pool takes one job at a time), in task order, so its results are the same. */
static _Thread_local int inside_task;

/* Tasks are claimed one at a time by whichever thread is free: what a task computes is fixed by its index, so
   results do not depend on who runs it, and a thread slowed by the machine takes fewer tasks. */
static void run_tasks(void) {
    long t;
    inside_task = 1;
    while ((t = atomic_fetch_add_explicit(&next_task, 1, memory_order_relaxed)) < job_tasks) job_function(job_context, t);
    inside_task = 0;
}

static inline void pause_cpu(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg) {
    (void)arg;
    strata_flush_denormals();
    unsigned long seen = 0;
    for (;;) {
        unsigned long current;
        int spins = 0;
        while ((current = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_ROUNDS) {
                pause_cpu();
                continue;
            }
            pthread_mutex_lock(&lock);
            atomic_fetch_add(&sleepers, 1);
            while (atomic_load_explicit(&generation, memory_order_acquire) == seen) pthread_cond_wait(&wake, &lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&lock);
            spins = 0;
        }
        seen = current;
        run_tasks();
        atomic_fetch_sub_explicit(&remaining, 1, memory_order_acq_rel);
    }
    return 0;
}

static void ensure_workers(int wanted) {
    if (wanted > MAX_WORKERS) wanted = MAX_WORKERS;
    pthread_mutex_lock(&lock);
    while (worker_count < wanted) {
        if (pthread_create(&workers[worker_count], 0, worker_main, (void *)(long)worker_count) != 0) break;
        pthread_detach(workers[worker_count]);
        worker_count++;
    }
    pthread_mutex_unlock(&lock);
}

long strata_claim(long *counter) {
    return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

void strata_parallel_run(long tasks, void (*function)(void *, long), void *context) {
    if (tasks <= 1 || inside_task) {
        for (long t = 0; t < tasks; t++) function(context, t);
        return;
    }
    pthread_mutex_lock(&submit_lock);
    /* At most one worker per processor beyond this thread: more tasks than that are claimed in turn. (glibc
       reads a file for the processor count, so it is asked once.) */
    static long processors;
    if (processors == 0) {
        processors = sysconf(_SC_NPROCESSORS_ONLN);
        if (processors < 1) processors = 1;
    }
    long wanted = tasks - 1 < processors - 1 ? tasks - 1 : processors - 1;
    ensure_workers(wanted > 0 ? (int)wanted : 1);
    int helpers = worker_count;
    job_function = function;
    job_context = context;
    job_tasks = tasks;
    atomic_store_explicit(&next_task, 0, memory_order_relaxed);
    atomic_store_explicit(&remaining, helpers, memory_order_release);
    pthread_mutex_lock(&lock);
    atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
    if (atomic_load(&sleepers) > 0) pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    run_tasks();
    while (atomic_load_explicit(&remaining, memory_order_acquire) > 0) pause_cpu();
    pthread_mutex_unlock(&submit_lock);
}
