#include "CStrataMPI.h"

/* Compiled to nothing where Open MPI is absent: `swift build` compiles every target, used or not. */
#if __has_include(<mpi.h>)
#include <mpi.h>
#include <stdio.h>

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

static int sum(void *values, size_t count, MPI_Datatype type, size_t width) {
    char *bytes = values;
    for (size_t first = 0; first < count; first += piece) {
        size_t n = count - first < piece ? count - first : piece;
        int error = MPI_Allreduce(MPI_IN_PLACE, bytes + first * width, (int)n, type, MPI_SUM, MPI_COMM_WORLD);
        if (error != MPI_SUCCESS) return error;
    }
    return MPI_SUCCESS;
}

int strata_mpi_sum_floats(float *values, size_t count) { return sum(values, count, MPI_FLOAT, sizeof(float)); }

int strata_mpi_sum_doubles(double *values, size_t count) { return sum(values, count, MPI_DOUBLE, sizeof(double)); }

int strata_mpi_all_gather(const void *bytes, void *gathered, int count) {
    return MPI_Allgather(bytes, count, MPI_BYTE, gathered, count, MPI_BYTE, MPI_COMM_WORLD);
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
