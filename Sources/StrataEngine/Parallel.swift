import Dispatch

/// Runs `body(0..<count)` on Dispatch's workers. Callers split work into fixed, disjoint parts so results
/// never depend on scheduling; the closure carries raw pointers, hence the unchecked box.
enum Parallel {
    private struct UncheckedBody: @unchecked Sendable {
        let body: (Int) -> Void
    }

    static func run(_ count: Int, _ body: @escaping (Int) -> Void) {
        if count <= 1 {
            if count == 1 { body(0) }
            return
        }
        let box = UncheckedBody(body: body)
        DispatchQueue.concurrentPerform(iterations: count) { box.body($0) }
    }
}
