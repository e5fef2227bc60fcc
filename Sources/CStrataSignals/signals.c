#include "CStrataSignals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t interrupted;
static int caught_terminate;

static void on_interrupt(int signal_number) {
    interrupted = 1;
    /* A second signal is not caught. */
    signal(signal_number, SIG_DFL);
}

static void catch_signal(int signal_number) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, 0);
    /* A parent may have started us with the signal blocked (spawned from a thread that blocks signals). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal_number);
    sigprocmask(SIG_UNBLOCK, &set, 0);
}

void strata_catch_interrupt(int also_terminate) {
    interrupted = 0;
    catch_signal(SIGINT);
    caught_terminate = also_terminate;
    if (also_terminate) catch_signal(SIGTERM);
}

int strata_interrupted(void) { return interrupted != 0; }

void strata_release_interrupt(void) {
    signal(SIGINT, SIG_DFL);
    if (caught_terminate) signal(SIGTERM, SIG_DFL);
    caught_terminate = 0;
}
