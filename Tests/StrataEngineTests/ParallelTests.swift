import Foundation
import Testing

@testable import StrataEngine

/// A job whose last task a worker holds well past the submitter's spin (the submitter then sleeps until the
/// worker wakes it) returns once every task has run, each exactly once, region after region: no wake-up is
/// lost (a lost one would hang here, failing at the time limit) and none is taken for another region's.
@Test(.timeLimit(.minutes(1))) func regionsWhoseWorkerIsLateFinishEveryTaskOnce() {
    let submitter = pthread_self()
    let tasks = 4
    let counts = UnsafeMutablePointer<Int>.allocate(capacity: tasks)
    let onWorker = UnsafeMutablePointer<Bool>.allocate(capacity: tasks)
    defer {
        counts.deallocate()
        onWorker.deallocate()
    }
    var regions = 0, regionsAWorkerHelped = 0
    let start = Date()
    // Until a few regions have had a late worker: after one, the pool runs regions alone for a while (up to a
    // second), so this may take a few seconds.
    while regionsAWorkerHelped < 3 && Date().timeIntervalSince(start) < 5 {
        counts.initialize(repeating: 0, count: tasks)
        onWorker.initialize(repeating: false, count: tasks)
        Parallel.run(tasks) { task in
            counts[task] += 1
            if pthread_equal(pthread_self(), submitter) == 0 {
                onWorker[task] = true
                usleep(400)  // past the submitter's spin for a worker's last task
            }
        }
        #expect((0..<tasks).map { counts[$0] } == [Int](repeating: 1, count: tasks))
        if (0..<tasks).contains(where: { onWorker[$0] }) { regionsAWorkerHelped += 1 }
        regions += 1
    }
    #expect(regionsAWorkerHelped >= 1, "no region ran a task on a worker in \(regions) regions")
}
