import Foundation
import StrataEngine

/// A trained model loaded from a checkpoint: evaluate it on data, or predict on inputs, with exactly the
/// preprocessing and label encoding training used.
public final class Model: @unchecked Sendable {
    public let spec: Spec
    public let checkpoint: Checkpoint
    public let plan: ModelPlan
    /// The checked model: every layer's shapes.
    public let summary: ModelSummary
    public let path: String

    /// Loads a checkpoint, re-checks its spec and fills the model's weights; any mismatch is an error.
    public init(checkpoint path: String, threads: Int = CPU.coreCount) throws {
        let checkpoint = try Checkpoint.read(path)
        let specFile = Model.locateSpec(checkpoint, checkpointPath: path)
        let (parsed, diagnostics) = SpecParser.parse(text: checkpoint.specText, file: specFile)
        guard let parsed else {
            throw CheckpointError(
                path: path,
                message: "its spec no longer parses: \(diagnostics.errors.first?.description ?? "unknown error")")
        }
        let (checked, _, shapeDiagnostics) = Checker.check(parsed, options: CheckOptions(readData: false))
        guard let checked else {
            throw CheckpointError(
                path: path,
                message: "its spec no longer checks: \(shapeDiagnostics.errors.first?.description ?? "unknown error")")
        }
        summary = checked.summary
        var spec = checked.spec
        spec.seed = checkpoint.seed
        self.spec = spec
        self.checkpoint = checkpoint
        self.path = path
        plan = ModelPlan(spec: spec, batchSize: max(1, spec.training.batchSize.value), threads: threads)
        try checkpoint.validate(
            path: path, loss: spec.loss.value, outputWidth: plan.network.outputWidth,
            featureCount: elementCount(spec.input.value))
        try plan.load(checkpoint, path: path, optimizerState: false)
        if let tensor = plan.firstNonFiniteTensor() {
            throw CheckpointError(
                path: path, place: tensor, message: "holds NaN or infinite values: the training that wrote it diverged",
                help: "train again with a lower learning_rate")
        }
        // The weights are final: inference packs them once.
        plan.freezeWeights()
    }

    /// Where the spec the checkpoint carries lives now, so its relative data paths resolve from any folder and
    /// after the project moved: its stored path from the current folder, or from the checkpoint's folder or one
    /// above it, whichever holds the same text (the same SHA-256 the checkpoint verified). Else the stored path.
    static func locateSpec(_ checkpoint: Checkpoint, checkpointPath: String) -> String {
        let stored = checkpoint.specPath
        guard !stored.hasPrefix("/") else { return stored }
        var folders = [FileManager.default.currentDirectoryPath]
        var folder = URL(fileURLWithPath: checkpointPath).deletingLastPathComponent().standardizedFileURL
        for _ in 0..<8 {
            folders.append(folder.path)
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
        let carried = LineBreaks.normalized(checkpoint.specText)
        for folder in folders {
            let candidate = URL(fileURLWithPath: folder).appendingPathComponent(stored).path
            // Only a regular file of a spec's size is read, and compared as the parser reads it (LineBreaks).
            if let bytes = try? RegularFile.read(candidate, limit: SpecParser.maximumSpecSize),
                LineBreaks.normalized(String(decoding: bytes, as: UTF8.self)) == carried
            {
                return candidate
            }
        }
        return stored
    }

    public var encoding: LabelEncoding { checkpoint.encoding }
    public var classNames: [String]? {
        guard let count = encoding.classCount else { return nil }
        if let names = encoding.classNames, names.count == count { return names }
        return (0..<count).map(String.init)
    }

    /// The spec's own data (train, validation or test split, re-derived from the seed) or a CSV file laid out
    /// like the training CSV.
    public enum DataChoice: Sendable {
        case train, validation, test
        case file(String)
    }

    public func evaluate(_ choice: DataChoice) throws -> Evaluation {
        let dataset: Dataset
        switch choice {
        case .file(let file):
            dataset = try loadFile(file)
        default:
            let data = try TrainingData.prepare(spec, encoding: encoding, preprocessing: checkpoint.preprocessing)
            switch choice {
            case .train: dataset = data.train
            case .validation:
                guard let validation = data.validation else {
                    throw DataError(path: spec.file, "the spec has no validation data")
                }
                dataset = validation
            default:
                guard let test = data.test else {
                    throw DataError(
                        path: spec.file, "the spec has no test data",
                        help: "give `data: {test: …}` or `test_split`, or choose --data train|validation|PATH")
                }
                dataset = test
            }
        }
        return plan.evaluate(dataset, classCount: encoding.classCount)
    }

    public func evaluate(_ dataset: Dataset) -> Evaluation { plan.evaluate(dataset, classCount: encoding.classCount) }

    private var loader: DatasetLoader {
        DatasetLoader(
            encoding: encoding, loss: spec.loss.value, specFile: spec.file, featureCount: spec.input.value.reduce(1, *))
    }

    private func loadFile(_ file: String) throws -> Dataset {
        guard case .csv(let csv)? = spec.data?.train.value else {
            throw DataError(path: file, "only CSV files can be evaluated for this model; its training data is not CSV")
        }
        var source = csv
        // A file named on the command line is relative to the current folder, not to the spec.
        source.path.value = URL(fileURLWithPath: file).path
        var dataset = try loader.load(.csv(source))
        checkpoint.preprocessing.apply(to: &dataset.features, featureCount: dataset.featureCount)
        return dataset
    }

    /// Outputs for raw inputs [count, features]: class probabilities (softmax or sigmoid) or regression values.
    public func predict(_ inputs: [Float]) -> [Float] {
        let f = spec.input.value.reduce(1, *)
        var features = inputs
        checkpoint.preprocessing.apply(to: &features, featureCount: f)
        let count = features.count / f
        let network = plan.network
        let width = network.outputWidth
        var outputs = [Float](repeating: 0, count: count * width)
        let context = StepContext(training: false, step: 0, seed: spec.seed, workspace: network.workspace)
        var start = 0
        while start < count {
            let batch = min(network.maxBatch, count - start)
            features.withUnsafeBufferPointer { source in
                network.input.pointer.update(from: source.baseAddress! + start * f, count: batch * f)
            }
            context.timedStep(rows: batch) { network.forward(batch: batch, context: $0) }
            for i in 0..<batch * width { outputs[start * width + i] = network.output.pointer[i] }
            start += batch
        }
        return outputs
    }

    /// Reads a CSV of inputs: with a header, the training features by name when the model knows them; without
    /// (`header: false`), all columns or the training layout's feature columns, by position.
    public func readInputs(csv path: String, header: Bool = true) throws -> [Float] {
        try loader.loadFeatures(
            csvPath: path, header: header, featureNames: checkpoint.featureNames, like: spec.data?.train.value)
    }
}
