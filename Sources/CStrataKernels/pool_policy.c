#include "CStrataKernels.h"

/* When the worker pool runs regions on the submitting thread alone. The machine may run other programs on the workers'
   cores. A worker that holds a claimed task while the caller has run out of work to claim, and that the machine took
   off its processor meanwhile, is late; spinning workers that take no task of a region long enough to join are
   absent (not scheduled); a worker running on the caller's own processor crowds it. When late regions cost more than
   a small share of the time spent in shared regions lately, or after a few absent or crowded regions in a row, the
   caller runs regions alone for a while (10 ms, doubling while it recurs and shorter than a second: at most 1.28 s),
   leaving the processors to the other programs, then tries the workers again. Periods start again from 10 ms after a
   cleanly shared region once the workers have run a second without trouble since the last period ended: under a
   lasting load, each retry costs a few troubled regions, so the periods stay long. A late region now and then (a
   virtual machine's processor taken by its host, a system thread) costs its wait once; running alone for it would
   cost far more. Who runs a task does not change its result, so this changes only speed.

   Where the pool keeps its workers off the caller's processor and rescues late ones (pool_placement.h), an absent
   worker costs the caller nothing and a late one costs it a short wait, which the time the workers save in other
   regions may outweigh: late regions are then trouble only when, lately, the waits have cost more than sharing
   saved. */

/* Alone periods start at SHORTEST_PERIOD and double while shorter than STOP_DOUBLING. */
static const double SHORTEST_PERIOD = 0.01, STOP_DOUBLING = 1.0;
/* Late waits are trouble when, lately, they exceed this share of the shared regions' time. */
static const double LATE_SHARE = 0.03;
/* Both histories fade by FADE every FADE_SECONDS, so about the last second counts. */
static const double FADE = 0.7, FADE_SECONDS = 0.25;
/* Absent or crowded regions in a row that are trouble (once may be a passing migration or a wake-up). */
enum { TROUBLE_RUN = 4 };

static void fade_history(strata_pool_policy *policy, double now) {
    if (now - policy->faded_at < FADE_SECONDS) return;
    policy->late_seconds *= FADE;
    policy->shared_seconds *= FADE;
    policy->saved_seconds *= FADE;
    policy->faded_at = now;
}

/* Seconds a shared region saved against the caller running every task at its own pace (negative: it cost). */
static double seconds_saved(strata_region_report region) {
    long own = region.tasks - region.helpers_ran;
    if (own <= 0) return 0;
    return region.busy * (double)region.tasks / (double)own - (region.busy + region.waited);
}

int strata_pool_policy_note(strata_pool_policy *policy, strata_region_report region, double now) {
    fade_history(policy, now);
    int helped = region.helpers_ran > 0;
    if (helped) policy->shared_seconds += region.busy + region.waited;
    if (helped && region.placed) policy->saved_seconds += seconds_saved(region);
    /* Late: the submitter waited, more than half as long as it worked, for a worker that the machine had taken
       off its processor (with tasks claimed in turn, a worker on time leaves it about one task to wait for). */
    int late = region.waited > 50e-6 + region.busy / 2 && region.preempted;
    if (late) policy->late_seconds += region.waited;
    int late_trouble = late && (region.placed ? policy->saved_seconds < 0
                                              : policy->late_seconds > LATE_SHARE * policy->shared_seconds);
    /* Crowded: a worker shared the submitter's processor, which slows the submitter as much as it helps. */
    if (region.crowded) policy->crowded_regions++;
    else if (helped) policy->crowded_regions = 0;
    /* Absent: a spinning worker missed a region it had time to join (one woken from sleep may miss it). Trouble
       only where it may be queued on the submitter's processor, to take its time later: not when the workers
       are kept off it. */
    if (!helped && region.busy > 20e-6 && !region.woken && !region.placed) policy->absent_regions++;
    else if (helped) policy->absent_regions = 0;
    double period = policy->alone_period > 0 ? policy->alone_period : SHORTEST_PERIOD;
    if (late_trouble || policy->absent_regions >= TROUBLE_RUN || policy->crowded_regions >= TROUBLE_RUN) {
        policy->alone_until = now + period;
        policy->alone_period = period < STOP_DOUBLING ? 2 * period : period;
        policy->absent_regions = policy->crowded_regions = 0;
        return 1;
    }
    if (helped && region.waited < 10e-6 && now - policy->alone_until > 1.0) policy->alone_period = SHORTEST_PERIOD;
    return 0;
}
