#define _GNU_SOURCE
#include "pool_placement.h"

#if defined(__linux__)
#include <dirent.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Thread ids of the workers (0 until a worker has started), and which of them a rescue moved. */
static atomic_int worker_thread[POOL_MAX_WORKERS];
static int rescued[POOL_MAX_WORKERS];
/* The processors the process may use (its main thread's, as `taskset -p` shows them), asked again before the
   workers are moved, so that a restriction put on the running process (`taskset -a -p`) is kept rather than
   undone; the submitter's processor the workers are kept off, and how many workers that was done for. */
static cpu_set_t allowed;
static int allowed_known, kept_off = -1, kept_workers;
/* Set once the system refused to place a worker: the workers are then left wherever the system puts them. */
static int refused;

void placement_register_worker(int worker) {
    if (worker >= 0 && worker < POOL_MAX_WORKERS)
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

static void read_allowed(void) {
    allowed_known = 1;
    if (sched_getaffinity(getpid(), sizeof allowed, &allowed) != 0) CPU_ZERO(&allowed);
}

/* Whether the workers can be kept off `processor`: it is one of two or more the process may use. */
static int placeable(int processor) {
    return !refused && processor >= 0 && processor < CPU_SETSIZE && CPU_ISSET(processor, &allowed) &&
           CPU_COUNT(&allowed) >= 2;
}

/* Every allowed processor but `processor`. */
static cpu_set_t all_but(int processor) {
    cpu_set_t set = allowed;
    CPU_CLR(processor, &set);
    return set;
}

int placement_keep_off(int processor, int workers) {
    if (!allowed_known) read_allowed();
    if (!placeable(processor)) return 0;
    if (workers > POOL_MAX_WORKERS) workers = POOL_MAX_WORKERS;
    int started = 0;
    while (started < workers && atomic_load_explicit(&worker_thread[started], memory_order_acquire) > 0) started++;
    if (processor != kept_off || started != kept_workers) {
        read_allowed();
        if (!placeable(processor)) {
            kept_off = -1;
            return 0;
        }
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
    if (worker < 0 || worker >= POOL_MAX_WORKERS || processor < 0 || processor >= CPU_SETSIZE) return;
    cpu_set_t set = only(processor);
    if (place(worker, &set)) rescued[worker] = 1;
}

void placement_return(int processor) {
    cpu_set_t set;
    int read = 0;
    for (int w = 0; w < POOL_MAX_WORKERS; w++) {
        if (!rescued[w]) continue;
        if (!read) {  // asked only when a rescue happened, not every region
            read_allowed();
            set = all_but(processor);
            read = 1;
        }
        /* None left when the process may now use `processor` alone: the worker then stays there. */
        if (CPU_COUNT(&set) > 0) place(w, &set);
        rescued[w] = 0;
    }
}

int strata_current_processor(void) { return sched_getcpu(); }

/* The members of `set` in order into `processors` (at most `capacity`); returns how many there are. */
static int list(const cpu_set_t *set, int *processors, int capacity) {
    int count = 0;
    for (int p = 0; p < CPU_SETSIZE; p++) {
        if (!CPU_ISSET(p, set)) continue;
        if (count < capacity) processors[count] = p;
        count++;
    }
    return count;
}

int strata_allowed_processors(int *processors, int capacity) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return list(&set, processors, capacity);
}

int strata_restrict_process(const int *processors, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++)
        if (processors[i] >= 0 && processors[i] < CPU_SETSIZE) CPU_SET(processors[i], &set);
    DIR *tasks = opendir("/proc/self/task");
    if (!tasks) return -1;
    int result = 0;
    for (struct dirent *entry; (entry = readdir(tasks));) {
        int thread = atoi(entry->d_name);
        if (thread > 0 && sched_setaffinity(thread, sizeof set, &set) != 0) result = -1;
    }
    closedir(tasks);
    return result;
}

int strata_worker_processors(int worker, int *processors, int capacity) {
    if (worker < 0 || worker >= POOL_MAX_WORKERS) return -1;
    int thread = atomic_load_explicit(&worker_thread[worker], memory_order_acquire);
    cpu_set_t set;
    if (thread <= 0 || sched_getaffinity(thread, sizeof set, &set) != 0) return -1;
    return list(&set, processors, capacity);
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
int strata_restrict_process(const int *processors, int count) {
    (void)processors;
    (void)count;
    return -1;
}
int strata_worker_processors(int worker, int *processors, int capacity) {
    (void)worker;
    (void)processors;
    (void)capacity;
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
