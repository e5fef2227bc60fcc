/* Internal to CStrataKernels: which processors the pool's workers may run on (pool.c). */
#ifndef STRATA_POOL_PLACEMENT_H
#define STRATA_POOL_PLACEMENT_H

/* Where another program runs on some processors, the system tends to put a woken worker on the submitting
   thread's processor (the one it woke from), where it only takes time from the submitter; and a worker taken off
   its processor while holding a task holds the whole region until the other program's time slice ends. So the
   pool keeps its workers off the submitter's processor, and when a worker holds the last tasks of a region past
   a short wait, moves it onto the submitter's processor (which then sleeps until the task is done: a rescue) and
   back after. Linux only; elsewhere these do nothing and return 0. Only the submitting thread calls them, except
   placement_register_worker. */

/* The most workers the pool starts (one fewer than the processors it uses at most, with the submitter). */
enum { POOL_MAX_WORKERS = 63 };

/* Records the calling thread as worker `worker` (from the worker itself, before it takes any task). */
void placement_register_worker(int worker);

/* Allows workers 0..<workers every processor the process may use but `processor`, asking the system only when
   that changed; returns 1 when the workers are kept off `processor` (0: one processor, not known, or the system
   refused, after which the workers are left where the system puts them). */
int placement_keep_off(int processor, int workers);

/* Moves worker `worker` onto `processor` alone, until placement_return. */
void placement_rescue(int worker, int processor);

/* Sends the workers that placement_rescue moved back off `processor`. */
void placement_return(int processor);

#endif
