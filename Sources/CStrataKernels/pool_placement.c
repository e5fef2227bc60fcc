#define _GNU_SOURCE
#include "pool_placement.h"

#if defined(__linux__)
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { MAX_PLACED = 64 };

/* Thread ids of the workers (0 until a worker has started), and which of them a rescue moved. */
static atomic_int worker_thread[MAX_PLACED];
static int rescued[MAX_PLACED];
/* The processors the process may use, read once; the submitter's processor the workers are kept off, and how
   many workers that was done for. */
static cpu_set_t allowed;
static int allowed_known, kept_off = -1, kept_workers;
/* Set once the system refused to place a worker: the workers are then left wherever the system puts them. */
static int refused;

void placement_register_worker(int worker) {
    if (worker >= 0 && worker < MAX_PLACED)
        atomic_store_explicit(&worker_thread[worker], (int)syscall(SYS_gettid), memory_order_release);
}

/* Returns 0 when the system refused. */
static int place(int worker, const cpu_set_t *processors) {
    int thread = atomic_load_explicit(&worker_thread[worker], memory_order_acquire);
    return thread <= 0 || sched_setaffinity(thread, sizeof *processors, processors) == 0;
}

/* `processor` alone. */
static cpu_set_t only(int processor) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(processor, &set);
    return set;
}

/* Every allowed processor but `processor`. */
static cpu_set_t all_but(int processor) {
    cpu_set_t set = allowed;
    CPU_CLR(processor, &set);
    return set;
}

int placement_keep_off(int processor, int workers) {
    if (!allowed_known) {
        allowed_known = 1;
        if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) CPU_ZERO(&allowed);
    }
    if (refused || processor < 0 || processor >= CPU_SETSIZE || !CPU_ISSET(processor, &allowed) ||
        CPU_COUNT(&allowed) < 2)
        return 0;
    if (workers > MAX_PLACED) workers = MAX_PLACED;
    int started = 0;
    while (started < workers && atomic_load_explicit(&worker_thread[started], memory_order_acquire) > 0) started++;
    if (processor != kept_off || started != kept_workers) {
        cpu_set_t set = all_but(processor);
        for (int w = 0; w < started && !refused; w++) refused = !place(w, &set);
        if (refused) {
            for (int w = 0; w < started; w++) place(w, &allowed);
            return 0;
        }
        kept_off = processor;
        kept_workers = started;
    }
    return 1;
}

void placement_rescue(int worker, int processor) {
    if (worker < 0 || worker >= MAX_PLACED || processor < 0 || processor >= CPU_SETSIZE) return;
    cpu_set_t set = only(processor);
    if (place(worker, &set)) rescued[worker] = 1;
}

void placement_return(int processor) {
    cpu_set_t set = all_but(processor);
    for (int w = 0; w < MAX_PLACED; w++) {
        if (!rescued[w]) continue;
        place(w, &set);
        rescued[w] = 0;
    }
}

int strata_current_processor(void) { return sched_getcpu(); }

int strata_allowed_processors(int *processors, int capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    int count = 0;
    for (int p = 0; p < CPU_SETSIZE; p++) {
        if (!CPU_ISSET(p, &set)) continue;
        if (count < capacity) processors[count] = p;
        count++;
    }
    return count;
}

int strata_pin_thread(int processor) {
    if (processor < 0 || processor >= CPU_SETSIZE) return -1;
    cpu_set_t set = only(processor);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -1;
}

#else

int strata_current_processor(void) { return -1; }
int strata_allowed_processors(int *processors, int capacity) {
    (void)processors;
    (void)capacity;
    return 0;
}
int strata_pin_thread(int processor) {
    (void)processor;
    return -1;
}

void placement_register_worker(int worker) { (void)worker; }
int placement_keep_off(int processor, int workers) {
    (void)processor;
    (void)workers;
    return 0;
}
void placement_rescue(int worker, int processor) {
    (void)worker;
    (void)processor;
}
void placement_return(int processor) { (void)processor; }

#endif
