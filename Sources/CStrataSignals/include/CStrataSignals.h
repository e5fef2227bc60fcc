#ifndef STRATA_SIGNALS_H
#define STRATA_SIGNALS_H

/// Installs a SIGINT handler that only sets a flag, so training can finish its step and save first; with
/// `also_terminate`, for SIGTERM too (what an MPI launcher sends every process when it is interrupted).
void strata_catch_interrupt(int also_terminate);
/// Whether SIGINT arrived since strata_catch_interrupt.
int strata_interrupted(void);
/// Puts back the default SIGINT handling (a second Ctrl-C then ends the program at once).
void strata_release_interrupt(void);

#endif
