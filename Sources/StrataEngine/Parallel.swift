import CStrataKernels

/// Runs `body(0..<count)` on the kept-warm worker pool (the calling thread takes part 0). Callers split work
/// into fixed, disjoint parts so results never depend on scheduling. The closure does not escape, so its
/// context stays on the stack: a parallel region allocates nothing.
enum Parallel {
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
