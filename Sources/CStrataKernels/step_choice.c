#include "CStrataKernels.h"

/* Whether whole steps run on the workers or on the submitting thread alone, chosen by measuring both. The region
   policy (pool_policy.c) sees late, absent and crowded workers; it cannot see a machine that runs both of its
   processors slower while both compute (a host that puts the two virtual processors on one physical core at
   times), where two threads can take longer than one although no worker is ever late. So, now and then, one
   window of steps runs the other way, and its time per row is compared with that of the windows just before and
   just after it (the mean of the two cancels a slow drift). A way faster by a margin is taken; probes of a way
   much slower than the chosen one come less and less often, so on an idle machine they cost little. Who runs a
   task does not change its result, so this changes only speed. */

/* A window is at least this many seconds of steps: a few periods of a load that comes and goes. */
static const double WINDOW_SECONDS = 0.010;
/* The first probe follows the second window (a run may be short; the first may hold its warm-up); later ones
   start this far apart, the gap growing while the chosen way stays far ahead, up to the longest. */
static const double SHORTEST_GAP = 0.05, LONGEST_GAP = 4.0;
/* The other way is taken when its time per row is below TAKE_BELOW of the chosen one's. The chosen way is ahead
   when the other's is above AHEAD of its own, and far ahead above FAR_AHEAD: the gap then doubles, or grows
   fourfold. */
static const double TAKE_BELOW = 0.95, AHEAD = 1.15, FAR_AHEAD = 1.4;

enum { RUNNING, PROBING, AFTER_PROBE };

static double per_row(double seconds, long rows) { return rows > 0 ? seconds / (double)rows : 0; }

static void start_window(strata_step_choice *choice) {
    choice->window_seconds = 0;
    choice->window_rows = 0;
}

/* Compares the probe with the windows around it and sets when the next one starts. */
static void decide(strata_step_choice *choice, double now) {
    double probe = per_row(choice->probe_seconds, choice->probe_rows);
    double chosen = per_row(choice->before_seconds + choice->window_seconds, choice->before_rows + choice->window_rows);
    double gap = choice->gap > 0 ? choice->gap : SHORTEST_GAP;
    if (probe < TAKE_BELOW * chosen) {
        choice->chosen_alone = !choice->chosen_alone;
        gap = SHORTEST_GAP;
    } else if (probe > AHEAD * chosen) {
        gap *= probe > FAR_AHEAD * chosen ? 4 : 2;
        if (gap > LONGEST_GAP) gap = LONGEST_GAP;
    }
    choice->gap = gap;
    choice->next_probe = now + gap;
    choice->alone = choice->chosen_alone;
    choice->phase = RUNNING;
}

void strata_step_choice_note(strata_step_choice *choice, double seconds, long rows, double now) {
    choice->window_seconds += seconds;
    choice->window_rows += rows;
    if (choice->window_seconds < WINDOW_SECONDS) return;
    switch (choice->phase) {
    case RUNNING:
        choice->before_seconds = choice->window_seconds;
        choice->before_rows = choice->window_rows;
        if (choice->next_probe == 0) {
            choice->next_probe = now;
        } else if (now >= choice->next_probe) {
            choice->phase = PROBING;
            choice->alone = !choice->chosen_alone;
        }
        break;
    case PROBING:
        choice->probe_seconds = choice->window_seconds;
        choice->probe_rows = choice->window_rows;
        choice->phase = AFTER_PROBE;
        choice->alone = choice->chosen_alone;
        break;
    default:
        decide(choice, now);
        break;
    }
    start_window(choice);
}
