#include "CStrataMPI.h"

/* Compiled to nothing where Open MPI is absent: `swift build` compiles every target, used or not. */
#if __has_include(<mpi.h>)
#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Large buffers go in pieces whose count fits MPI's int. */
static const size_t piece = (size_t)1 << 30;

int strata_mpi_init(int *rank, int *size) {
    int provided = 0;
    int error = MPI_Init_thread(0, 0, MPI_THREAD_FUNNELED, &provided);
    if (error != MPI_SUCCESS) return error;
    /* Errors come back as codes, to be reported with the rank, instead of ending the job silently. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    error = MPI_Comm_rank(MPI_COMM_WORLD, rank);
    if (error != MPI_SUCCESS) return error;
    return MPI_Comm_size(MPI_COMM_WORLD, size);
}

/* The watchdog: when this process has waited longer than the timeout in one exchange, another process has stopped
   without dying (stopped, stuck, or cut off), which MPI does not notice: this one says so and exits, and the
   launcher then ends the others. */
static _Atomic long long waiting_since; /* nanoseconds; 0 outside an exchange */
static double timeout_seconds;
static int watched_rank;

static long long monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *watch(void *unused) {
    (void)unused;
    for (;;) {
        sleep(1);
        long long since = atomic_load(&waiting_since);
        if (since == 0 || (double)(monotonic_ns() - since) * 1e-9 <= timeout_seconds) continue;
        char line[512];
        int length = snprintf(line, sizeof line,
                              "error: rank %d waited %.0f s for the other processes in one exchange: one of them "
                              "has stopped or cannot be reached; ending this process so the launcher ends the rest\n"
                              "  help: STRATA_MPI_TIMEOUT sets the wait, in seconds\n",
                              watched_rank, timeout_seconds);
        if (write(2, line, (size_t)length) < 0) {}
        _exit(1);
    }
    return 0;
}

int strata_mpi_watch(int rank, double seconds) {
    watched_rank = rank;
    timeout_seconds = seconds;
    pthread_t thread;
    if (pthread_create(&thread, 0, watch, 0) != 0) return -1;
    return pthread_detach(thread);
}

static void enter(void) { atomic_store(&waiting_since, monotonic_ns()); }
static void leave(void) { atomic_store(&waiting_since, 0); }

static int sum(void *values, size_t count, MPI_Datatype type, size_t width) {
    enter();
    int error = MPI_SUCCESS;
    char *bytes = values;
    for (size_t first = 0; first < count; first += piece) {
        size_t n = count - first < piece ? count - first : piece;
        error = MPI_Allreduce(MPI_IN_PLACE, bytes + first * width, (int)n, type, MPI_SUM, MPI_COMM_WORLD);
        if (error != MPI_SUCCESS) break;
    }
    leave();
    return error;
}

int strata_mpi_sum_floats(float *values, size_t count) { return sum(values, count, MPI_FLOAT, sizeof(float)); }

int strata_mpi_sum_doubles(double *values, size_t count) { return sum(values, count, MPI_DOUBLE, sizeof(double)); }

int strata_mpi_all_gather(const void *bytes, void *gathered, int count) {
    enter();
    int error = MPI_Allgather(bytes, count, MPI_BYTE, gathered, count, MPI_BYTE, MPI_COMM_WORLD);
    leave();
    return error;
}

int strata_mpi_finalize(void) { return MPI_Finalize(); }

void strata_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

void strata_mpi_error_text(int code, char *text, int capacity) {
    char message[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (MPI_Error_string(code, message, &length) != MPI_SUCCESS) length = 0;
    message[length < MPI_MAX_ERROR_STRING ? length : MPI_MAX_ERROR_STRING - 1] = 0;
    snprintf(text, (size_t)capacity, "%s", length > 0 ? message : "unknown MPI error");
}

#endif
