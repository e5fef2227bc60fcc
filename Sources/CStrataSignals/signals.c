#include "CStrataSignals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signal_number) {
    (void)signal_number;
    interrupted = 1;
    /* A second Ctrl-C is not caught. */
    signal(SIGINT, SIG_DFL);
}

void strata_catch_interrupt(void) {
    interrupted = 0;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, 0);
    /* A parent may have started us with SIGINT blocked (spawned from a thread that blocks signals). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_UNBLOCK, &set, 0);
}

int strata_interrupted(void) { return interrupted != 0; }

void strata_release_interrupt(void) { signal(SIGINT, SIG_DFL); }
