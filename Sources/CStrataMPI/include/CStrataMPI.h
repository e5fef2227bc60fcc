#ifndef STRATA_MPI_H
#define STRATA_MPI_H

#include <stddef.h>
#include <stdint.h>

/* A narrow C face of MPI for Swift: MPI_COMM_WORLD and the datatypes are macros Swift cannot import. Every
   function returns MPI_SUCCESS (0) or an MPI error code, whose text strata_mpi_error_text gives. */

/// Starts MPI (threads funneled: only the calling thread makes MPI calls) and returns this rank and the count.
int strata_mpi_init(int *rank, int *size);
/// Sums `count` values across every rank, in place; every rank receives the same sums.
int strata_mpi_sum_floats(float *values, size_t count);
int strata_mpi_sum_doubles(double *values, size_t count);
/// Every rank's `bytes` bytes, rank by rank, into `gathered` (size × bytes).
int strata_mpi_all_gather(const void *bytes, void *gathered, int count);
/// Starts a thread that ends this process (exit 1, with a message naming `rank`) when one exchange has waited
/// more than `seconds`: another process stopped without dying, which MPI does not notice. 0 when started.
int strata_mpi_watch(int rank, double seconds);
/// Ends this rank's MPI; after it no MPI call may be made.
int strata_mpi_finalize(void);
/// Stops every rank of the job with `code` (a rank that failed would otherwise leave the others waiting).
void strata_mpi_abort(int code);
/// The text of an MPI error code, into `text` (at least 256 bytes).
void strata_mpi_error_text(int code, char *text, int capacity);

#endif
