#if os(Linux)
    import CStrataKernels
    import Foundation
    import Testing

    @testable import StrataEngine

    // Where the pool's workers run (pool_placement.c), with another program's busy loop on every processor but
    // the submitter's: the system then tends to run a woken worker on the submitter's processor.

    /// The processors this process may run on.
    private func allowedProcessors() -> [Int] {
        var processors = [Int32](repeating: 0, count: 1024)
        let count = Int(strata_allowed_processors(&processors, Int32(processors.count)))
        return processors.prefix(min(count, processors.count)).map(Int.init)
    }

    /// A flag threads poll under a lock.
    private final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    /// One after the other: the second restricts every thread of the process, which would move the first's.
    @Suite(.serialized) struct PlacementTests {
        /// No worker runs a task on the submitter's processor, though the other processors are busy (a rescued worker
        /// runs there only to finish the task it holds, and starts none there).
        @Test(.timeLimit(.minutes(1))) func workersRunOffTheSubmittersProcessor() {
            let processors = allowedProcessors()
            guard processors.count >= 2 else { return }  // one processor: nowhere else to run
            let stop = Flag(), done = Flag()
            for processor in processors.dropFirst() {
                Thread.detachNewThread {
                    _ = strata_pin_thread(Int32(processor))
                    while !stop.isSet {}
                }
            }
            let results = Results()
            Thread.detachNewThread {
                _ = strata_pin_thread(Int32(processors[0]))
                let submitter = pthread_self()
                let tasks = 8
                let started = UnsafeMutablePointer<Int32>.allocate(capacity: tasks)
                defer { started.deallocate() }
                let begin = Date()
                while results.workerTasks < 20 && Date().timeIntervalSince(begin) < 2 {
                    started.initialize(repeating: -1, count: tasks)
                    Parallel.run(tasks) { task in
                        guard pthread_equal(pthread_self(), submitter) == 0 else { return }
                        started[task] = strata_current_processor()
                        usleep(50)
                    }
                    for task in 0..<tasks where started[task] >= 0 {
                        results.note(onSubmittersProcessor: Int(started[task]) == processors[0])
                    }
                }
                done.set()
            }
            while !done.isSet { usleep(1000) }
            stop.set()
            #expect(results.workerTasks > 0, "no worker ran a task in 2 s")
            #expect(results.onSubmittersProcessor == 0, "\(results.onSubmittersProcessor) of \(results.workerTasks)")
        }

        /// A restriction put on the running process (`taskset -a -p` to one processor, away from the submitter's) is
        /// kept: moving the workers off the submitter's new processor must not hand them back a processor the
        /// process may no longer use.
        @Test(.timeLimit(.minutes(1))) func aRestrictionOnTheRunningProcessIsKept() {
            let processors = allowedProcessors().map(Int32.init)
            guard processors.count >= 2 else { return }  // one processor: nothing to restrict to
            let done = Flag(), workers = WorkerProcessors()
            Thread.detachNewThread {
                defer { done.set() }
                _ = strata_pin_thread(processors[0])
                // Workers now run tasks from this processor, and are kept off it.
                guard workerRanATask() else { return }
                var only = [processors[1]]
                _ = strata_restrict_process(&only, 1)
                defer { _ = strata_restrict_process(processors, Int32(processors.count)) }
                guard workerRanATask() else { return }
                workers.read()
            }
            while !done.isSet { usleep(1000) }
            #expect(!workers.lists.isEmpty, "no worker ran a task in 2 s")
            #expect(workers.lists.allSatisfy { $0 == [processors[1]] }, "\(workers.lists)")
        }

        /// The processors each pool worker may run on, read under a lock.
        private final class WorkerProcessors: @unchecked Sendable {
            private let lock = NSLock()
            private var values: [[Int32]] = []
            var lists: [[Int32]] { lock.withLock { values } }
            func read() {
                var worker: Int32 = 0, allowed = [Int32](repeating: -1, count: 64)
                var lists: [[Int32]] = []
                while case let count = strata_worker_processors(worker, &allowed, 64), count >= 0 {
                    lists.append(Array(allowed.prefix(Int(min(count, 64)))))
                    worker += 1
                }
                lock.withLock { values = lists }
            }
        }

        /// Runs regions of short tasks until a worker runs one of them (at most 2 s; the pool may be running
        /// regions alone for a while); returns whether one did.
        private func workerRanATask() -> Bool {
            let submitter = pthread_self(), ran = Flag()
            let begin = Date()
            while !ran.isSet && Date().timeIntervalSince(begin) < 2 {
                Parallel.run(8) { _ in
                    if pthread_equal(pthread_self(), submitter) == 0 { ran.set() }
                    usleep(50)
                }
            }
            return ran.isSet
        }
    }

    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var counts = (tasks: 0, onSubmitters: 0)
        var workerTasks: Int { lock.withLock { counts.tasks } }
        var onSubmittersProcessor: Int { lock.withLock { counts.onSubmitters } }
        func note(onSubmittersProcessor: Bool) {
            lock.withLock {
                counts.tasks += 1
                if onSubmittersProcessor { counts.onSubmitters += 1 }
            }
        }
    }
#endif
