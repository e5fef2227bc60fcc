import CStrataKernels

/// Runs `body(0..<count)` on the kept-warm worker pool (the calling thread takes part 0). Callers split work
/// into fixed, disjoint parts so results never depend on scheduling. The closure does not escape, so its
/// context stays on the stack: a parallel region allocates nothing.
enum Parallel {
    /// How many parts to cut `count` independent items into for `threads` threads: a few per thread, so a thread
    /// the machine slows down takes fewer of them instead of holding up the rest.
    static func parts(_ count: Int, threads: Int) -> Int {
        threads > 1 ? min(count, threads * 4) : min(count, 1)
    }

    /// Share `part` of 0..<count cut into `parts` nearly equal ranges: fixed by the three numbers alone.
    static func share(_ part: Int, of parts: Int, _ count: Int) -> Range<Int> {
        (count * part / parts)..<(count * (part + 1) / parts)
    }

    static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            withUnsafePointer(to: body) { pointer in
                strata_parallel_run(count, { context, task in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(task))
                }, UnsafeMutableRawPointer(mutating: pointer))
            }
        }
    }
}
