import CStrataSignals
import Foundation
import StrataEngine

/// Training as one process of a group (`TrainOptions.group`): every process holds the same weights, takes its
/// shard of each batch (`Shard.rows`), and the group sums the gradients before every process takes the same step.
extension Trainer {
    /// Refuses a group that cannot share the batches, or whose processes were started differently.
    func joinGroup(_ group: ProcessGroup) throws {
        let batchSize = spec.training.batchSize.value
        try Shard.check(examples: data.train.count, batchSize: batchSize, ranks: group.size)
        try group.agree(on: groupIdentity(), what: "builds, specs, options or data")
        let synchronized = plan.network.layers.contains { ($0 as? BatchNormalizationLayer)?.synchronized == true }
        // A synchronized layer's sums need every process in every step: none may have an empty share.
        let last = data.train.count % batchSize
        if synchronized, last > 0, last < group.size {
            throw ProcessGroupError(
                "the last batch of each epoch has \(last) row\(last == 1 ? "" : "s"), fewer than the \(group.size) processes, and synchronized batch normalization needs a row on every process",
                help:
                    "choose a batch_size that leaves a last batch of at least \(group.size) rows (or none), or start fewer processes"
            )
        }
        sumAcrossProcesses = { [unowned self] values in
            do { try group.sum(values) } catch { if self.layerSumFailure == nil { self.layerSumFailure = error } }
        }
    }

    /// A digest of what must be the same in every process: this program, the spec as adjusted by the options, the
    /// options that change training, the data, and the weights, optimizer state and place in training it starts
    /// from (a checkpoint to resume is compared by content: machines may hold it under different paths, or
    /// different files under one path).
    private func groupIdentity() -> [UInt8] {
        var text = spec.source + "\n"
        text += "\(spec.seed) \(spec.training.epochs.value) \(spec.training.batchSize.value) "
        text += "\(spec.optimizer.learningRate.value) \(options.resume != nil) \(options.initFrom != nil)\n"
        let datasets: [Dataset?] = [data.train, data.validation, data.test]
        for case let dataset? in datasets {
            let features = dataset.features.withUnsafeBytes(Self.fingerprint)
            let targets = dataset.targets.withUnsafeBytes(Self.fingerprint)
            text += "\(dataset.count) \(features) \(targets)\n"
        }
        let tensors = plan.modelTensors.map(\.tensor) + plan.optimizer.slots.flatMap { $0 } + bestWeights
        for tensor in tensors { text += "\(Self.fingerprint(UnsafeRawBufferPointer(tensor.buffer))) " }
        text += "\(state.epoch) \(state.batch) \(plan.optimizer.iterations)\n"
        let program = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/self/exe"), options: .alwaysMapped)).map {
            $0.withUnsafeBytes(Self.fingerprint)
        }
        text += "\(program ?? 0)"
        return SHA256.digest(Array(text.utf8))
    }

    /// A fast 64-bit fingerprint of bytes: each 8-byte word mixed in turn.
    static func fingerprint(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(raw.count)
        let words = raw.count / 8
        for i in 0..<words { hash = SplitMix64.mix(hash ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) }
        for i in words * 8..<raw.count { hash = SplitMix64.mix(hash ^ UInt64(raw[i])) }
        return hash
    }

    /// One step on this process's `shard` of the loaded batch of `count` rows: forward and backward on the shard
    /// with the loss's gradient a mean over all `count` rows, the gradients summed across the group, and the same
    /// update everywhere; `metrics` gains the whole batch's. Returns the batch's summed loss (NaN when any
    /// process's was not finite: then nothing is updated) and whether any process was interrupted, which every
    /// process then stops after.
    func shardedStep(
        count: Int, shard: Range<Int>, group: ProcessGroup, metrics: inout MetricAccumulator, rate: inout Double
    ) throws -> (loss: Double, interrupted: Bool) {
        let network = plan.network
        var context = StepContext(
            training: true, step: UInt64(plan.optimizer.iterations), seed: spec.seed, workspace: network.workspace)
        context.firstRow = shard.lowerBound
        context.sumAcrossProcesses = sumAcrossProcesses
        // This shard's loss and metrics, summed with the others' below: every process then holds the whole batch's.
        var shardMetrics = MetricAccumulator()
        var loss = 0.0
        if !shard.isEmpty {
            loss = context.timedStep(rows: shard.count) { context in
                network.forward(batch: shard.count, context: context)
                let loss = network.computeLoss(batch: shard.count, gradient: true, meanOver: count)
                // Even after a non-finite loss (the step is then dropped): a synchronized layer's sums need every
                // process.
                network.backward(batch: shard.count, context: context)
                return loss
            }
            // Keras reports each batch's loss with the regularizers' penalty on the weights it used.
            let penalty = network.regularizationPenalty()
            shardMetrics.add(
                outputs: network.output.pointer, targets: network.targets.pointer, batch: shard.count,
                width: network.outputWidth, targetWidth: network.targetWidth,
                loss: penalty == 0 ? loss : loss + penalty * Double(shard.count))
        }
        let interrupted = options.catchInterrupt && strata_interrupted() != 0
        let started = DispatchTime.now().uptimeNanoseconds
        // One small sum first: the batch's metrics, whether any process's loss was not finite, and whether any was
        // interrupted (on the stack: the step allocates nothing).
        let (batchMetrics, anyNonFinite, anyInterrupted) = try withUnsafeTemporaryAllocation(
            of: Double.self, capacity: MetricAccumulator.packedCount + 2
        ) { values in
            let flags = MetricAccumulator.packedCount
            shardMetrics.pack(into: values)
            values[flags] = loss.isFinite ? 0 : 1
            values[flags + 1] = interrupted ? 1 : 0
            try group.sum(values)
            return (MetricAccumulator(packed: values), values[flags] > 0, values[flags + 1] > 0)
        }
        guard !anyNonFinite else { return (.nan, anyInterrupted) }
        if let failure = layerSumFailure { throw failure }
        for parameter in plan.optimizer.parameters { try group.sum(parameter.gradient.buffer) }
        secondsSumming += Double(DispatchTime.now().uptimeNanoseconds - started) * 1e-9
        metrics.add(batchMetrics)
        rate = plan.schedule.learningRate(base: spec.optimizer.learningRate.value, step: plan.optimizer.iterations)
        plan.optimizer.step(learningRate: Float(rate))
        return (batchMetrics.loss, anyInterrupted)
    }

    /// Evaluates `dataset`: in a group, each process its share of the rows, summed.
    func evaluate(_ dataset: Dataset) throws -> Evaluation {
        let classes = data.encoding.classCount
        guard let group = options.group else { return plan.evaluate(dataset, classCount: classes) }
        let rows = Shard.rows(dataset.count, rank: group.rank, of: group.size)
        return try group.sum(plan.evaluate(dataset, classCount: classes, rows: rows))
    }

    /// Makes the processes' state tensors (moving statistics, each updated from its own shards) their mean. The
    /// updates are linear, so averaging once before they are used equals averaging after every step.
    func averageGroupState() throws {
        guard let group = options.group else { return }
        try group.average(plan.state.map(\.value))
    }
}
