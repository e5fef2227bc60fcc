import CStrataSignals
import Foundation
import StrataEngine

public struct TrainOptions: Sendable {
    public var epochs: Int?
    public var batchSize: Int?
    public var learningRate: Double?
    public var seed: UInt64?
    /// The checkpoint path, instead of the spec's.
    public var output: String?
    /// Continue from this checkpoint: weights, optimizer state, epoch, data order.
    public var resume: String?
    /// Start from this checkpoint's weights with a fresh optimizer.
    public var initFrom: String?
    public var threads: Int = CPU.coreCount
    /// Each thread has its own workspace: more than this is refused, not allocated.
    public static let maximumThreads = 256
    /// Catch Ctrl-C to finish the step and save (the CLI sets this; an embedding app may not want it).
    public var catchInterrupt = false
    /// Write the checkpoint and history files; off for in-memory runs such as the loss-surface replay, and for
    /// every process of a group but rank 0.
    public var writeFiles = true
    /// The processes training this model together (each its shard of every batch), or nil for this one alone.
    public var group: ProcessGroup?

    public init() {}
}

public enum TrainingError: Error, CustomStringConvertible {
    case diverged(epoch: Int, batch: Int, layer: String?, checkpoint: String?)
    /// The loss stayed finite but a weight did not (a huge learning rate can overflow the update itself).
    case nonFiniteWeights(epoch: Int, tensor: String, checkpoint: String?)
    case checkpoint(CheckpointError)

    /// Whether training diverged (exit 3) rather than failed on its input.
    public var isDivergence: Bool {
        switch self {
        case .diverged, .nonFiniteWeights: true
        case .checkpoint: false
        }
    }

    public var description: String {
        switch self {
        case .diverged(let epoch, let batch, let layer, let checkpoint):
            var text = "error: the loss became NaN or infinite in epoch \(epoch), batch \(batch)"
            text +=
                layer.map { "; the first layer whose output went non-finite is \($0)" }
                ?? "; every layer's output is finite, but the outputs grew too large for the loss"
            text += "\n  help: lower the learning_rate (or add standardize: true / scale for large inputs)"
            text += checkpoint.map { "\n  note: the last good checkpoint, \($0), is unchanged" } ?? ""
            return text
        case .nonFiniteWeights(let epoch, let tensor, let checkpoint):
            var text = "error: after epoch \(epoch) the weights in \(tensor) are NaN or infinite: training diverged"
            text += "\n  help: lower the learning_rate"
            text += checkpoint.map { "\n  note: the last good checkpoint, \($0), is unchanged" } ?? ""
            return text
        case .checkpoint(let error):
            return error.rendered
        }
    }
}

/// Receives progress as training goes; the CLI draws bars or lines from it.
public protocol TrainingObserver: AnyObject {
    /// Whether to call `batchFinished` (at most about ten times a second); a plain log needs only epochs.
    var wantsBatchUpdates: Bool { get }
    func epochStarted(_ epoch: Int, of epochs: Int, batches: Int)
    func batchFinished(_ batch: Int, of batches: Int, loss: Double, metrics: [(String, Double)], seconds: Double)
    func epochFinished(_ record: EpochRecord, of epochs: Int)
}

public struct TrainingResult: Sendable {
    public var checkpointPath: String
    public var historyPath: String
    public var history: [EpochRecord]
    public var interrupted: Bool
    public var stoppedEarly: Bool
    /// The epoch the monitor found best (its weights restored, with `restore_best_weights`).
    public var bestEpoch: Int?
    /// The final evaluation on the test set, when there is one.
    public var test: Evaluation?
}

/// The training loop: epochs of shuffled mini-batches (the last partial batch is used, not dropped),
/// validation after each epoch, early stopping, learning-rate schedules and checkpoints.
public final class Trainer {
    public let checked: CheckedSpec
    public let options: TrainOptions
    public let plan: ModelPlan
    public let data: TrainingData
    public private(set) var state = TrainingState()
    public weak var observer: TrainingObserver?
    /// Called after every optimizer step with the plan (the loss-surface plot records the path with it).
    public var afterStep: ((ModelPlan) -> Void)?
    let spec: Spec
    /// Where the checkpoint is written.
    public let checkpointPath: String
    /// Wall time of the epochs this run trained (not a resumed run's earlier ones).
    public private(set) var secondsTrained: Double = 0
    /// How many of this run's training steps the pool ran on this thread alone, having timed that faster lately
    /// (`StepContext.timedStep`; 0 on one thread).
    public private(set) var stepsAlone = 0
    /// In a group, the part of it spent summing the gradients across the processes (`shardedStep`).
    public internal(set) var secondsSumming: Double = 0
    /// In a group, what layers call to add their sums across the processes (synchronized batch normalization),
    /// made once; and the first failure of such a sum, reported after the step.
    var sumAcrossProcesses: ((UnsafeMutableBufferPointer<Double>) -> Void)?
    var layerSumFailure: Error?
    /// Copies of the best weights (and state) when early stopping restores them, parallel to
    /// `plan.modelTensors`; allocated once.
    private(set) var bestWeights: [Tensor] = []

    public init(checked: CheckedSpec, options: TrainOptions) throws {
        var spec = checked.spec
        if let epochs = options.epochs { spec.training.epochs.value = epochs }
        if let batchSize = options.batchSize { spec.training.batchSize.value = batchSize }
        if let rate = options.learningRate { spec.optimizer.learningRate.value = rate }
        if let seed = options.seed { spec.seed = seed }
        var adjusted = checked
        adjusted.spec = spec
        // Training keeps its own split of the data; the checker's copy is not held twice.
        adjusted.data?.datasets = nil
        self.checked = adjusted
        self.spec = spec
        self.options = options
        checkpointPath = Trainer.checkpointPath(options.output ?? spec.checkpoint.path.value, name: spec.name)
        guard let facts = checked.data else { throw DataError(path: spec.file, "the spec's data was not checked") }
        // Where the files go is checked before any work, not after an hour of training.
        if options.writeFiles {
            try AtomicFile.checkWritable(checkpointPath)
            try AtomicFile.checkWritable(CompanionFiles.history(checkpointPath))
        }
        data = try TrainingData.prepare(spec, encoding: facts.encoding, loaded: facts.datasets)
        // A batch larger than every source is never filled: buffers are sized to the largest source.
        let largest = max(data.train.count, data.validation?.count ?? 0, data.test?.count ?? 0, 1)
        // In a group a process computes at most its share of a batch: its buffers are sized for that.
        let batchSize = spec.training.batchSize.value
        let rows = options.group.map { Shard.largestShare(batchSize, of: $0.size) } ?? batchSize
        plan = ModelPlan(
            spec: spec, batchSize: min(rows, largest),
            threads: min(max(options.threads, 1), TrainOptions.maximumThreads))
        plan.initialize(seed: spec.seed)
        if let early = spec.training.earlyStopping, early.restoreBestWeights {
            bestWeights = plan.modelTensors.map { Tensor(shape: $0.tensor.shape) }
        }
        if let path = options.resume {
            let checkpoint = try Trainer.read(path)
            try asTrainingError {
                // Tensors first: another model's checkpoint is named as such (its shapes), rather than as metadata
                // that does not fit. Loading copies into this plan's own tensors only, so nothing is trusted yet.
                do { try plan.load(checkpoint, path: path, optimizerState: true) } catch var error as CheckpointError {
                    error.help = error.help ?? "it was trained from \(checkpoint.specPath): resume with that spec"
                    throw error
                }
                try validate(checkpoint, path: path)
            }
            state = checkpoint.state
            for (index, (name, _)) in plan.modelTensors.enumerated() where !bestWeights.isEmpty {
                if let stored = checkpoint.tensor("best.\(name)"), stored.values.count == bestWeights[index].count {
                    for i in 0..<stored.values.count { bestWeights[index][i] = stored.values[i] }
                }
            }
        } else if let path = options.initFrom {
            let checkpoint = try Trainer.read(path)
            try asTrainingError { try plan.load(checkpoint, path: path, optimizerState: false) }
        }
        // Last, so the ranks compare the weights and state they start from, however they got them.
        if let group = options.group { try joinGroup(group) }
    }

    /// Runs `body`, reporting a checkpoint problem as a training error.
    private func asTrainingError(_ body: () throws -> Void) throws {
        do { try body() } catch let error as CheckpointError { throw TrainingError.checkpoint(error) }
    }

    /// A path ending in `/` or naming a folder means a file named after the spec inside it.
    public static func checkpointPath(_ path: String, name: String) -> String {
        var isFolder: ObjCBool = false
        guard
            path.hasSuffix("/")
                || (FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue)
        else { return path }
        return (path.hasSuffix("/") ? path : path + "/") + "\(name).safetensors"
    }

    /// A checkpoint to resume must fit this model and this data: its metadata, its labels, where it stopped.
    private func validate(_ checkpoint: Checkpoint, path: String) throws {
        try checkpoint.validate(
            path: path, loss: spec.loss.value, outputWidth: plan.network.outputWidth,
            featureCount: elementCount(spec.input.value))
        let batchSize = spec.training.batchSize.value
        let batches = (data.train.count + batchSize - 1) / batchSize
        if checkpoint.state.batch > batches {
            throw CheckpointError(
                path: path,
                message: "'state.batch' is \(checkpoint.state.batch), but an epoch here has \(batches) batches")
        }
        if checkpoint.encoding != data.encoding {
            throw CheckpointError(
                path: path,
                message: "its labels were encoded differently from this spec's data (classes, names or one-hot)",
                help: "resume with the spec and data it was trained on, or start afresh with --init-from")
        }
    }

    private static func read(_ path: String) throws -> Checkpoint {
        do { return try Checkpoint.read(path) } catch let error as CheckpointError {
            throw TrainingError.checkpoint(error)
        }
    }

    /// The history file beside the checkpoint: `runs/digits.safetensors` → `runs/digits.history.jsonl`.
    public var historyPath: String { CompanionFiles.history(checkpointPath) }

    private var monitorName: String {
        spec.training.earlyStopping?.monitor.value ?? spec.checkpoint.monitor.value
    }

    /// What happened over the run, beyond the state: for the result and the last save.
    private struct RunOutcome {
        var savedAny = false
        var stoppedEarly = false
        var interrupted = false
    }

    public func run() throws -> TrainingResult {
        if options.catchInterrupt { strata_catch_interrupt(options.group == nil ? 0 : 1) }
        defer { if options.catchInterrupt { strata_release_interrupt() } }
        let epochs = spec.training.epochs.value
        var order = Array(0..<data.train.count)
        var outcome = RunOutcome()
        // Gradients start cleared; after that each optimizer step clears them for the next.
        plan.network.zeroGradients()
        let aloneBefore = StepContext.timedSteps(training: true).alone
        defer { stepsAlone = StepContext.timedSteps(training: true).alone - aloneBefore }
        while state.epoch < epochs {
            let epoch = state.epoch + 1
            let started = Date()
            shuffle(&order, epoch: epoch)
            let (metrics, rate) = try trainEpoch(epoch, of: epochs, order: order, outcome: &outcome)
            if outcome.interrupted {
                try averageGroupState()
                try save()
                break
            }
            if let tensor = plan.firstNonFiniteTensor() {
                throw TrainingError.nonFiniteWeights(
                    epoch: epoch, tensor: tensor,
                    checkpoint: outcome.savedAny || options.resume != nil ? checkpointPath : nil)
            }
            let values = try epochValues(metrics)
            let record = EpochRecord(
                epoch: epoch, learningRate: rate, values: values, seconds: Date().timeIntervalSince(started))
            state.epoch = epoch
            state.batch = 0
            state.history.append(record.timeless)
            secondsTrained += record.seconds ?? 0
            try appendHistory(record)
            observer?.epochFinished(record, of: epochs)
            if try monitorAndSave(values, epoch: epoch, outcome: &outcome) {
                outcome.stoppedEarly = true
                break
            }
        }
        if !outcome.interrupted {
            if let early = spec.training.earlyStopping, early.restoreBestWeights, state.monitor.best != nil {
                for (copy, model) in zip(bestWeights, plan.modelTensors) { model.tensor.copy(from: copy) }
            }
            if spec.checkpoint.save.value != .best || !outcome.savedAny { try save() }
        }
        // A run that trained no epoch (--epochs 0, or a resume with none left) still leaves the history it has, so
        // no older run's file stays beside the new checkpoint.
        if options.writeFiles, historyHandle == nil, !outcome.interrupted {
            try writeHistory(state.history)
        }
        let test = try data.test.map { try evaluate($0) }
        return TrainingResult(
            checkpointPath: checkpointPath, historyPath: historyPath, history: state.history,
            interrupted: outcome.interrupted, stoppedEarly: outcome.stoppedEarly,
            bestEpoch: state.monitor.best == nil ? nil : state.monitor.bestEpoch, test: test)
    }

    /// The order of an epoch depends only on the seed and the epoch, so a resumed run sees the same order.
    private func shuffle(_ order: inout [Int], epoch: Int) {
        for i in order.indices { order[i] = i }
        guard spec.training.shuffle else { return }
        var random = SplitMix64.stream(seed: spec.seed, purpose: RandomPurpose.shuffle &+ UInt64(epoch) << 8)
        random.shuffle(&order)
    }

    /// The epoch's batches from `state.batch` on (the last partial one too): its metrics and last learning rate.
    /// Stops after a step when Ctrl-C was pressed (`outcome.interrupted`).
    private func trainEpoch(
        _ epoch: Int, of epochs: Int, order: [Int], outcome: inout RunOutcome
    ) throws -> (MetricAccumulator, Double) {
        let train = data.train, batchSize = spec.training.batchSize.value
        let batches = (train.count + batchSize - 1) / batchSize
        let network = plan.network
        observer?.epochStarted(epoch, of: epochs, batches: batches)
        let started = Date()
        // A resumed epoch goes on from the sums it was interrupted with.
        var metrics = state.batch > 0 ? state.partial?.metrics ?? MetricAccumulator() : MetricAccumulator()
        var rate =
            state.batch > 0
            ? state.partial?.learningRate ?? spec.optimizer.learningRate.value : spec.optimizer.learningRate.value
        var lastReport = -1.0
        let savedAny = outcome.savedAny
        var interrupted = false
        try order.withUnsafeBufferPointer { order in
            let rows = { (batchIndex: Int) in
                min(batchIndex * batchSize, train.count)..<min((batchIndex + 1) * batchSize, train.count)
            }
            // The next batch's rows in parts of about 8: shared between whichever threads are free.
            let gatherParts = max(1, batchSize / 8)
            let first = rows(state.batch)
            if !first.isEmpty, options.group == nil {
                plan.load(train, order: order, start: first.lowerBound, count: first.count)
            }
            for batchIndex in state.batch..<batches {
                let count = rows(batchIndex).count
                let hasNext = batchIndex + 1 < batches && options.group == nil
                let next = rows(batchIndex + 1)
                let loss: Double
                // The rows this process computed: its shard in a group.
                var computed = count
                if let group = options.group {
                    let shard = Shard.rows(count, rank: group.rank, of: group.size)
                    computed = shard.count
                    plan.load(
                        train, order: order, start: rows(batchIndex).lowerBound + shard.lowerBound, count: shard.count)
                    (loss, interrupted) = try shardedStep(
                        count: count, shard: shard, group: group, metrics: &metrics, rate: &rate)
                } else {
                    // The next batch is gathered while this one's light tail runs.
                    loss = step(count: count, metrics: &metrics, rate: &rate, gatherParts: hasNext ? gatherParts : 0) {
                        part in
                        plan.loadSpare(
                            train, order: order, start: next.lowerBound, count: next.count, part: part, of: gatherParts)
                    }
                    interrupted = options.catchInterrupt && strata_interrupted() != 0
                }
                guard loss.isFinite else {
                    throw TrainingError.diverged(
                        epoch: epoch, batch: batchIndex + 1, layer: network.firstNonFiniteLayer(batch: computed),
                        checkpoint: savedAny || options.resume != nil ? checkpointPath : nil)
                }
                if hasNext { network.useSpareBatch() }
                afterStep?(plan)
                state.batch = batchIndex + 1
                if let observer, observer.wantsBatchUpdates {
                    // Throttled here, so the reporting costs nothing on most steps.
                    let elapsed = Date().timeIntervalSince(started)
                    if elapsed - lastReport >= 0.1 || batchIndex + 1 == batches {
                        lastReport = elapsed
                        observer.batchFinished(
                            batchIndex + 1, of: batches, loss: metrics.meanLoss, metrics: reported(metrics),
                            seconds: elapsed)
                    }
                }
                if interrupted { return }
            }
        }
        outcome.interrupted = interrupted
        state.partial = interrupted ? EpochProgress(metrics: metrics, learningRate: rate) : nil
        return (metrics, rate)
    }

    /// One optimizer step on the loaded batch of `count` rows, with `gather`'s parts run alongside its light tail;
    /// layers may apply the update to a weight as they compute its gradient, and the optimizer does the rest.
    /// Returns the loss; a non-finite one stops before backward and updates nothing.
    private func step(
        count: Int, metrics: inout MetricAccumulator, rate: inout Double, gatherParts: Int, _ gather: (Int) -> Void
    ) -> Double {
        let network = plan.network
        let context = StepContext(
            training: true, step: UInt64(plan.optimizer.iterations), seed: spec.seed, workspace: network.workspace)
        return context.timedStep(rows: count) { context in
            let loss = network.trainingStep(batch: count, context: context, alongside: gatherParts, gather) { loss in
                guard loss.isFinite else { return nil }
                // Keras reports each batch's loss with the regularizers' penalty on the weights it used.
                let penalty = network.regularizationPenalty()
                metrics.add(
                    outputs: network.output.pointer, targets: network.targets.pointer, batch: count,
                    width: network.outputWidth, targetWidth: network.targetWidth,
                    loss: penalty == 0 ? loss : loss + penalty * Double(count))
                rate = plan.schedule.learningRate(
                    base: spec.optimizer.learningRate.value, step: plan.optimizer.iterations)
                plan.optimizer.beginStep(learningRate: Float(rate))
                return plan.optimizer
            }
            if loss.isFinite { plan.optimizer.finishStep() }
            return loss
        }
    }

    /// The epoch's loss and metrics, and the validation split's with `val_` in front.
    private func epochValues(_ metrics: MetricAccumulator) throws -> [String: Double] {
        try averageGroupState()
        var values: [String: Double] = ["loss": metrics.meanLoss]
        for (name, value) in reported(metrics) { values[name] = value }
        if let validation = data.validation {
            let evaluation = try evaluate(validation)
            values["val_loss"] = evaluation.loss
            for (name, value) in reported(evaluation.metrics) { values["val_" + name] = value }
        }
        return values
    }

    /// Updates the monitor, keeps the best weights, saves as the spec asks; returns whether to stop early.
    private func monitorAndSave(_ values: [String: Double], epoch: Int, outcome: inout RunOutcome) throws -> Bool {
        let monitored = values[monitorName]
        var improved = false
        if let monitored {
            let delta = spec.training.earlyStopping?.minDelta ?? 0
            improved = state.monitor.update(monitored, epoch: epoch, monitor: monitorName, minDelta: delta)
        }
        if improved, !bestWeights.isEmpty {
            for (copy, model) in zip(bestWeights, plan.modelTensors) { copy.copy(from: model.tensor) }
        }
        let save: Bool
        switch spec.checkpoint.save.value {
        case .everyEpoch: save = true
        case .best: save = improved
        case .end: save = false
        }
        if save {
            try self.save()
            outcome.savedAny = true
        }
        guard let early = spec.training.earlyStopping, monitored != nil else { return false }
        return state.monitor.wait > early.patience
    }

    /// The metrics the spec asks for, named as Keras logs them.
    private func reported(_ metrics: MetricAccumulator) -> [(String, Double)] {
        spec.metrics.map { ($0.value.rawValue, metrics.value($0.value)) }
    }

    public var checkpoint: Checkpoint {
        var tensors = plan.tensors(optimizerState: true)
        if !bestWeights.isEmpty {
            for ((name, _), copy) in zip(plan.modelTensors, bestWeights) {
                tensors.append(NamedTensor(name: "best.\(name)", shape: copy.shape, values: copy.values))
            }
        }
        var state = state
        state.iterations = plan.optimizer.iterations
        return Checkpoint(
            specText: spec.source, specPath: spec.file, seed: spec.seed, state: state, encoding: data.encoding,
            preprocessing: data.preprocessing, featureNames: data.train.featureNames, tensors: tensors)
    }

    private func save() throws {
        guard options.writeFiles else { return }
        do {
            try checkpoint.write(to: checkpointPath)
        } catch let error as CheckpointError {
            throw TrainingError.checkpoint(error)
        }
    }

    /// The history file: one JSON object per epoch. It is started afresh (with the records a resumed checkpoint
    /// carries) and then appended to, one line per epoch.
    private var historyHandle: FileHandle?

    private func historyLine(_ entry: EpochRecord) throws -> String {
        var object: [String: Double] = entry.values
        object["epoch"] = Double(entry.epoch)
        object["learning_rate"] = entry.learningRate
        if let seconds = entry.seconds { object["seconds"] = seconds }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(object), as: UTF8.self) + "\n"
    }

    /// Writes the history file afresh with `records`, and keeps it open for appending.
    private func writeHistory(_ records: ArraySlice<EpochRecord>) throws {
        try AtomicFile.write(Array(try records.map(historyLine).joined().utf8), to: historyPath)
        historyHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: historyPath))
        try historyHandle?.seekToEnd()
    }

    private func writeHistory(_ records: [EpochRecord]) throws { try writeHistory(records[...]) }

    /// A history file that cannot be written stops training like a checkpoint that cannot: nothing is lost quietly.
    private func appendHistory(_ record: EpochRecord) throws {
        guard options.writeFiles else { return }
        do {
            if historyHandle == nil { try writeHistory(state.history.dropLast()) }
            try historyHandle?.write(contentsOf: Data(historyLine(record).utf8))
        } catch let error as any FileError {
            throw error
        } catch {
            throw OutputError(path: historyPath, "cannot write the history: \(error.localizedDescription)")
        }
    }
}
