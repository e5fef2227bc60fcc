import CStrataKernels

/// Runs `body(0..<count)` on the kept-warm worker pool (the calling thread takes part 0). Callers split work
/// into fixed, disjoint parts so results never depend on scheduling. The closure does not escape, so its
/// context stays on the stack: a parallel region allocates nothing.
enum Parallel {
    /// Below this many elements an elementwise pass costs less than waking a second thread.
    static let serialElements = 1 << 16

    /// How many parts to cut `count` independent items into for `threads` threads: a few per thread, so a thread
    /// the machine slows down takes fewer of them instead of holding up the rest.
    static func parts(_ count: Int, threads: Int) -> Int {
        threads > 1 ? min(count, threads * 4) : min(count, 1)
    }

    /// Share `part` of 0..<count cut into `parts` nearly equal ranges: fixed by the three numbers alone.
    static func share(_ part: Int, of parts: Int, _ count: Int) -> Range<Int> {
        (count * part / parts)..<(count * (part + 1) / parts)
    }

    /// Runs `first` on one thread while the others run `part(0..<parts)`, which `first`'s thread joins in when
    /// done; with one thread, in turn. Parallel regions inside any of them run inline on its thread.
    static func alongside(threads: Int, _ first: () -> Void, parts: Int, _ part: (Int) -> Void) {
        guard threads > 1, parts > 0 else {
            first()
            for index in 0..<parts { part(index) }
            return
        }
        run(1 + parts) { task in task == 0 ? first() : part(task - 1) }
    }

    /// Whether the pool runs regions alone for now (see `StepContext.threads`).
    static var runningAlone: Bool { strata_parallel_running_alone() != 0 }

    static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: body) { pointer in
                strata_parallel_run(
                    count,
                    { context, task in
                        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(task))
                    }, UnsafeMutableRawPointer(mutating: pointer))
            }
        }
    }
}
