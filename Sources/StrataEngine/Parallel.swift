import CStrataKernels

/// Runs `body(0..<count)` on the kept-warm worker pool (the calling thread takes part 0). Callers split work
/// into fixed, disjoint parts so results never depend on scheduling.
enum Parallel {
    private final class Box {
        let body: (Int) -> Void
        init(_ body: @escaping (Int) -> Void) { self.body = body }
    }

    static func run(_ count: Int, _ body: @escaping (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        let box = Box(body)
        withExtendedLifetime(box) {
            strata_parallel_run(count, { context, task in
                Unmanaged<Box>.fromOpaque(context!).takeUnretainedValue().body(Int(task))
            }, Unmanaged.passUnretained(box).toOpaque())
        }
    }
}
