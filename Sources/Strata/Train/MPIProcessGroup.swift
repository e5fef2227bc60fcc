#if MPI
    import CStrataMPI
    import Foundation

    /// The processes an MPI launcher (mpirun, srun) started, as one group: MPI_COMM_WORLD. Only the thread that
    /// created it makes MPI calls (the kernels' worker threads never do).
    public final class MPIProcessGroup: ProcessGroup, @unchecked Sendable {
        public let rank: Int
        public let size: Int
        private var finished = false

        /// Starts MPI; call once per process, before any other MPI use. An exchange that waits longer than
        /// `timeout` seconds ends this process (see `strata_mpi_watch`).
        public init(timeout: Double) throws {
            var rank: Int32 = 0, size: Int32 = 0
            try Self.check(strata_mpi_init(&rank, &size), "starting MPI")
            self.rank = Int(rank)
            self.size = Int(size)
            if strata_mpi_watch(rank, timeout) != 0 {
                throw ProcessGroupError(
                    "cannot start the thread that watches for stopped processes", everyProcess: false)
            }
        }

        public func sum(_ values: UnsafeMutableBufferPointer<Float>) throws {
            guard let start = values.baseAddress else { return }
            try Self.check(strata_mpi_sum_floats(start, values.count), "summing across the processes")
        }

        public func sum(_ values: UnsafeMutableBufferPointer<Double>) throws {
            guard let start = values.baseAddress else { return }
            try Self.check(strata_mpi_sum_doubles(start, values.count), "summing across the processes")
        }

        public func gather(_ bytes: [UInt8]) throws -> [[UInt8]] {
            var gathered = [UInt8](repeating: 0, count: bytes.count * size)
            try bytes.withUnsafeBytes { source in
                try gathered.withUnsafeMutableBytes { target in
                    try Self.check(
                        strata_mpi_all_gather(source.baseAddress, target.baseAddress, Int32(bytes.count)),
                        "exchanging with the other processes")
                }
            }
            return (0..<size).map { Array(gathered[$0 * bytes.count..<($0 + 1) * bytes.count]) }
        }

        /// Ends MPI for this process after a run every process finished.
        public func finish() {
            guard !finished else { return }
            finished = true
            _ = strata_mpi_finalize()
        }

        /// Ends every process of the job with `code`: this one failed, and the others would wait for it forever.
        public func abort(code: Int32) -> Never {
            strata_mpi_abort(code)
            exit(code)
        }

        private static func check(_ code: Int32, _ doing: String) throws {
            guard code != 0 else { return }
            var text = [CChar](repeating: 0, count: 512)
            strata_mpi_error_text(code, &text, Int32(text.count))
            let reason = String(decoding: text.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
            throw ProcessGroupError("MPI failed while \(doing): \(reason)", everyProcess: false)
        }
    }
#endif
