import Foundation
import Testing

@testable import Strata
import StrataEngine

/// A group of ranks that are threads of this process, for testing sharded training without MPI: sums are taken
/// in rank order, so every rank receives the same bits, as MPI's do.
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    private var deposits: [UnsafeRawPointer?]

    init(size: Int) {
        self.size = size
        deposits = Array(repeating: nil, count: size)
    }

    /// Waits until every rank has called it.
    func barrier() {
        condition.lock()
        defer { condition.unlock() }
        let current = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == current { condition.wait() }
        }
    }

    /// Every rank's `values`, summed in rank order, into each rank's.
    func sum<Value: AdditiveArithmetic>(_ values: UnsafeMutableBufferPointer<Value>, rank: Int) {
        guard !values.isEmpty else { return }
        deposits[rank] = UnsafeRawPointer(values.baseAddress)
        barrier()
        var total = [Value](repeating: .zero, count: values.count)
        for source in deposits {
            let other = source!.assumingMemoryBound(to: Value.self)
            for i in total.indices { total[i] += other[i] }
        }
        barrier()
        for i in total.indices { values[i] = total[i] }
        barrier()
    }

    func gather(_ bytes: [UInt8], rank: Int) -> [[UInt8]] {
        var all: [[UInt8]] = []
        for other in 0..<size {
            var mine = other == rank ? bytes : [UInt8](repeating: 0, count: bytes.count)
            mine.withUnsafeMutableBufferPointer { sum($0, rank: rank) }
            all.append(mine)
        }
        return all
    }

    /// One rank's view.
    final class Member: ProcessGroup, @unchecked Sendable {
        let group: ThreadGroup
        let rank: Int
        var size: Int { group.size }

        init(_ group: ThreadGroup, rank: Int) {
            self.group = group
            self.rank = rank
        }

        func sum(_ values: UnsafeMutableBufferPointer<Float>) throws { group.sum(values, rank: rank) }
        func sum(_ values: UnsafeMutableBufferPointer<Double>) throws { group.sum(values, rank: rank) }
        func gather(_ bytes: [UInt8]) throws -> [[UInt8]] { group.gather(bytes, rank: rank) }
        func finish() {}
        func abort(code: Int32) -> Never { fatalError("rank \(rank) aborted with \(code)") }
    }

    /// Runs `body(rank)` on one thread per rank and returns each rank's result, in rank order.
    func run<Result>(_ body: @escaping @Sendable (Member) throws -> Result) -> [Swift.Result<Result, Error>] {
        let results = ResultBox<Result>(count: size)
        let threads = (0..<size).map { rank in
            Thread { [self] in
                results.set(rank, Swift.Result { try body(Member(self, rank: rank)) })
            }
        }
        for thread in threads {
            thread.stackSize = 8 << 20
            thread.start()
        }
        results.wait(for: size)
        return results.values
    }
}

private final class ResultBox<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var slots: [Swift.Result<Value, Error>?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Swift.Result<Value, Error>) {
        condition.lock()
        slots[index] = value
        condition.broadcast()
        condition.unlock()
    }

    func wait(for count: Int) {
        condition.lock()
        while slots.contains(where: { $0 == nil }) { condition.wait() }
        condition.unlock()
    }

    var values: [Swift.Result<Value, Error>] { slots.map { $0! } }
}

// MARK: - Shard arithmetic

@Test(arguments: [1, 2, 3, 4, 7])
func shardsCoverABatchInOrderWithSizesWithinOne(ranks: Int) {
    for count in 0...40 {
        let shards = (0..<ranks).map { Shard.rows(count, rank: $0, of: ranks) }
        #expect(shards.first?.lowerBound == 0 && shards.last?.upperBound == count)
        for (a, b) in zip(shards, shards.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        let sizes = shards.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1, "\(count) over \(ranks): \(sizes)")
        #expect(sizes.max()! == Shard.largestShare(count, of: ranks))
    }
}

@Test func anUnevenLastBatchLeavesTheLaterRanksTheSmallerShares() {
    // 1,000 rows in batches of 64 end in a batch of 40: 13 and 14 rows over 3 ranks.
    #expect((0..<3).map { Shard.rows(40, rank: $0, of: 3) } == [0..<13, 13..<26, 26..<40])
    // A last batch of 1 row over 2 ranks: the first has nothing to do.
    #expect((0..<2).map { Shard.rows(1, rank: $0, of: 2) } == [0..<0, 0..<1])
}

@Test func threadsPerProcessShareTheMachinesCores() {
    #expect(ParallelLaunch.localProcesses(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "2"]) == 2)
    #expect(ParallelLaunch.localProcesses(environment: ["MPI_LOCALNRANKS": "4"]) == 4)
    #expect(ParallelLaunch.localProcesses(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "zero"]) == nil)
    let cores = CPU.coreCount
    #expect(ParallelLaunch.threadsPerProcess(environment: [:]) == cores)
    #expect(ParallelLaunch.threadsPerProcess(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "\(cores)"]) == 1)
    #expect(ParallelLaunch.threadsPerProcess(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "\(cores * 4)"]) == 1)
}

@Test func fewerExamplesOrRowsThanRanksAreRefused() {
    #expect(throws: Never.self) { try Shard.check(examples: 4, batchSize: 4, ranks: 4) }
    let examples = #expect(throws: ProcessGroupError.self) { try Shard.check(examples: 3, batchSize: 8, ranks: 4) }
    #expect(
        examples?.description
            == "error: the training data has 3 examples but 4 processes share each batch; each needs at least one\n  help: start fewer processes (mpirun -np 3)"
    )
    let rows = #expect(throws: ProcessGroupError.self) { try Shard.check(examples: 100, batchSize: 2, ranks: 4) }
    #expect(rows?.description.hasPrefix("error: batch_size is 2 but 4 processes share each batch") == true)
}

// MARK: - Training as a group

/// Trains `spec` as `ranks` thread ranks of one thread each; every rank's trainer and result, in rank order.
private func trainInGroup(
    _ checked: CheckedSpec, ranks: Int, folder: URL,
    configure: @escaping @Sendable (inout TrainOptions, Int) -> Void = {
        _, _ in
    }
) throws -> [SendableTrainer] {
    let group = ThreadGroup(size: ranks)
    let results = group.run { member in
        var options = TrainOptions()
        options.threads = 1
        options.group = member
        options.writeFiles = member.rank == 0
        options.output = folder.appendingPathComponent("group.safetensors").path
        configure(&options, member.rank)
        let trainer = try Trainer(checked: checked, options: options)
        return SendableTrainer(trainer, try trainer.run())
    }
    return try results.map { try $0.get() }
}

private struct SendableTrainer: @unchecked Sendable {
    let trainer: Trainer
    let result: TrainingResult
    init(_ trainer: Trainer, _ result: TrainingResult) {
        self.trainer = trainer
        self.result = result
    }
}

private func checkedSpec(_ name: String) throws -> CheckedSpec {
    let (checked, _, diagnostics) = Checker.check(path: Paths.spec(name))
    return try #require(checked, "\(diagnostics.items)")
}

/// The largest difference between two models' tensors relative to the tensor's largest magnitude.
private func largestRelativeDifference(_ a: Trainer, _ b: Trainer) -> Float {
    zip(a.plan.modelTensors, b.plan.modelTensors).map { x, y in
        let scale = max(x.tensor.values.map(abs).max() ?? 0, .leastNormalMagnitude)
        return zip(x.tensor.values, y.tensor.values).map { abs($0 - $1) }.max()! / scale
    }.max()!
}

/// digits (dense, dropout, adam) for 10 steps of 130 rows: two ranks of 65 rows each reach the weights one
/// process does, to rounding (the shards' gradients are summed in another order), dropout masks included.
@Test func twoRanksTrainTheWeightsOneProcessDoes() throws {
    let checked = try checkedSpec("digits.yaml")
    let folder = temporaryFolder()
    let configure: @Sendable (inout TrainOptions, Int) -> Void = { options, _ in
        options.epochs = 1
        options.batchSize = 130
    }
    let ranks = try trainInGroup(checked, ranks: 2, folder: folder, configure: configure)
    let group = ranks.map(\.trainer)
    var options = TrainOptions()
    options.threads = 1
    options.writeFiles = false
    configure(&options, 0)
    let alone = try Trainer(checked: checked, options: options)
    let aloneResult = try alone.run()
    #expect(alone.plan.optimizer.iterations == 10)
    #expect(group[0].plan.optimizer.iterations == 10)
    let difference = largestRelativeDifference(alone, group[0])
    #expect(difference < 1e-5, "largest relative difference \(difference)")
    // Both ranks hold the same bits.
    #expect(largestRelativeDifference(group[0], group[1]) == 0)
    // The epoch's figures are the group's sums: the same examples as one process counted.
    let one = try #require(alone.state.history.last), two = try #require(group[1].state.history.last)
    #expect(abs(one.values["loss"]! - two.values["loss"]!) < 1e-5)
    #expect(abs(one.values["val_accuracy"]! - two.values["val_accuracy"]!) < 1e-9)
    // The test set, evaluated in two shares and summed: the whole set's figures and confusion matrix.
    let test = try #require(aloneResult.test), shared = try #require(ranks[1].result.test)
    #expect(shared.metrics.examples == test.metrics.examples)
    #expect(shared.confusion == test.confusion)
    #expect(abs(shared.loss - test.loss) < 1e-5)
}

/// The same group twice: the same bits; the checkpoint is rank 0's alone.
@Test func aGroupTrainsTheSameBitsTwice() throws {
    let checked = try checkedSpec("iris.yaml")
    let configure: @Sendable (inout TrainOptions, Int) -> Void = { options, _ in options.epochs = 3 }
    let first = temporaryFolder(), second = temporaryFolder()
    _ = try trainInGroup(checked, ranks: 3, folder: first, configure: configure)
    _ = try trainInGroup(checked, ranks: 3, folder: second, configure: configure)
    let a = try Data(contentsOf: first.appendingPathComponent("group.safetensors"))
    let b = try Data(contentsOf: second.appendingPathComponent("group.safetensors"))
    #expect(a == b)
}

/// Batch normalization takes each rank's statistics from its own shard; the moving statistics are averaged over
/// the ranks before they are used, so every rank evaluates and saves the same model.
@Test func batchNormalizationStateIsTheSameOnEveryRank() throws {
    let group = try trainInGroup(
        try irisWithBatchNormalization(synchronized: false), ranks: 2, folder: temporaryFolder(),
        configure: { options, _ in options.epochs = 2 }
    ).map(\.trainer)
    #expect(!group[0].plan.state.isEmpty)
    #expect(largestRelativeDifference(group[0], group[1]) == 0)
    #expect(group[0].state.history.last?.values["val_accuracy"] == group[1].state.history.last?.values["val_accuracy"])
}

/// iris with a batch normalization, as text for `SpecParser`, its data beside the bundled specs.
private func irisWithBatchNormalization(synchronized: Bool) throws -> CheckedSpec {
    let layer = synchronized ? "batch_normalization: {synchronized: true}" : "batch_normalization"
    let text = try String(contentsOfFile: Paths.spec("iris.yaml"), encoding: .utf8).replacingOccurrences(
        of: "  - dense: {units: 16, activation: relu}\n",
        with: "  - dense: {units: 16, use_bias: false}\n  - \(layer)\n  - activation: relu\n")
    let (spec, parseDiagnostics) = SpecParser.parse(text: text, file: Paths.spec("iris-bn.yaml"))
    let (checked, _, diagnostics) = Checker.check(try #require(spec, "\(parseDiagnostics.items)"))
    return try #require(checked, "\(diagnostics.items)")
}

/// Synchronized batch normalization takes the whole batch's statistics (the ranks' sums added), so two ranks
/// train what one process does, to rounding, where per-rank statistics would not.
@Test func synchronizedBatchNormalizationTrainsWhatOneProcessDoes() throws {
    let configure: @Sendable (inout TrainOptions, Int) -> Void = { options, _ in options.epochs = 2 }
    for synchronized in [true, false] {
        let checked = try irisWithBatchNormalization(synchronized: synchronized)
        let group = try trainInGroup(checked, ranks: 2, folder: temporaryFolder(), configure: configure)
        var options = TrainOptions()
        options.threads = 1
        options.writeFiles = false
        configure(&options, 0)
        let alone = try Trainer(checked: checked, options: options)
        _ = try alone.run()
        let difference = largestRelativeDifference(alone, group[0].trainer)
        if synchronized {
            #expect(difference < 1e-5, "largest relative difference \(difference)")
        } else {
            #expect(difference > 1e-3, "per-rank statistics differ from the whole batch's: \(difference)")
        }
        #expect(largestRelativeDifference(group[0].trainer, group[1].trainer) == 0)
    }
}

/// Starts a trainer on each of `ranks` thread ranks (one thread each, only rank 0 writing) without training:
/// how each start ended, in rank order.
private func startInGroup(
    _ checked: CheckedSpec, ranks: Int = 2, configure: @escaping @Sendable (inout TrainOptions, Int) -> Void
) -> [Result<Void, Error>] {
    let folder = temporaryFolder()
    return ThreadGroup(size: ranks).run { member in
        var options = TrainOptions()
        options.threads = 1
        options.group = member
        options.writeFiles = false
        options.output = folder.appendingPathComponent("started.safetensors").path
        configure(&options, member.rank)
        _ = try Trainer(checked: checked, options: options)
    }
}

/// A last batch with fewer rows than ranks would leave a rank out of a synchronized layer's sums: refused.
@Test func synchronizedBatchNormalizationNeedsARowOnEveryRank() throws {
    let checked = try irisWithBatchNormalization(synchronized: true)
    // 120 training rows in batches of 17 end in a batch of 1.
    let results = startInGroup(checked) { options, _ in options.batchSize = 17 }
    for result in results {
        #expect(throws: ProcessGroupError.self) { try result.get() }
        if case .failure(let error) = result {
            #expect("\(error)".contains("the last batch of each epoch has 1 row, fewer than the 2 processes"))
        }
    }
}

/// Processes started with different settings would train different models under one name: refused at start.
@Test func ranksStartedDifferentlyAreRefused() throws {
    let checked = try checkedSpec("iris.yaml")
    let results = startInGroup(checked) { options, rank in options.learningRate = rank == 0 ? 0.01 : 0.02 }
    for result in results {
        #expect(throws: ProcessGroupError.self) { try result.get() }
        if case .failure(let error) = result {
            #expect(
                "\(error)".contains(
                    "the processes were started with different builds, specs, options or data: rank 1 differs from rank 0"
                ))
        }
    }
}

/// Ranks resuming from checkpoints are compared by what they start from, not by the path: the same file under
/// two paths trains; two different checkpoints are refused.
@Test func ranksResumingFromDifferentCheckpointsAreRefused() throws {
    let checked = try checkedSpec("iris.yaml")
    let folder = temporaryFolder()
    func trainAlone(epochs: Int, seed: UInt64, to name: String) throws {
        var options = TrainOptions()
        options.threads = 1
        options.epochs = epochs
        options.seed = seed
        options.output = folder.appendingPathComponent(name).path
        _ = try Trainer(checked: checked, options: options).run()
    }
    try trainAlone(epochs: 1, seed: 42, to: "a.safetensors")
    try trainAlone(epochs: 1, seed: 7, to: "b.safetensors")
    try FileManager.default.copyItem(
        at: folder.appendingPathComponent("a.safetensors"), to: folder.appendingPathComponent("a-copy.safetensors"))
    for (second, accepted) in [("a-copy.safetensors", true), ("b.safetensors", false)] {
        let results = startInGroup(checked) { options, rank in
            options.epochs = 2
            options.resume = folder.appendingPathComponent(rank == 0 ? "a.safetensors" : second).path
        }
        for result in results {
            if accepted {
                #expect(throws: Never.self) { try result.get() }
            } else {
                #expect(throws: ProcessGroupError.self) { try result.get() }
            }
        }
    }
}
