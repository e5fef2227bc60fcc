import Foundation
import StrataEngine

/// Where training stands, enough to continue exactly: completed epochs, batches done in the current one,
/// optimizer steps, the history (without wall times) and the monitor's best.
public struct TrainingState: Sendable, Codable, Equatable {
    public var epoch: Int = 0
    public var batch: Int = 0
    public var iterations: Int = 0
    public var history: [EpochRecord] = []
    public var monitor = MonitorState()
    /// The sums of an epoch interrupted part-way (nil between epochs), so a resumed run reports the same epoch.
    public var partial: EpochProgress?

    public init() {}
}

/// An epoch's running sums and the learning rate of its last step.
public struct EpochProgress: Sendable, Codable, Equatable {
    public var metrics: MetricAccumulator
    public var learningRate: Double

    public init(metrics: MetricAccumulator, learningRate: Double) {
        self.metrics = metrics
        self.learningRate = learningRate
    }
}

/// A Strata checkpoint: one safetensors file holding parameters (`LAYER.weight`, `LAYER.bias`), optimizer
/// slots (`optimizer.LAYER.weight.m`, …), best weights when early stopping restores them (`best.LAYER.weight`),
/// and `__metadata__` strings: the spec and its SHA-256, the training state, label encoding and preprocessing.
/// Nothing in it depends on the time or the machine, so the same run gives the same bytes.
public struct Checkpoint: Sendable {
    public static let format = "strata-checkpoint-1"
    /// Checkpoints larger than this are refused before they are read.
    public static let maximumSize = 64 << 30

    public var specText: String
    public var specPath: String
    /// The seed training used (the spec's, or `--seed`); splits are re-derived from it.
    public var seed: UInt64
    public var state: TrainingState
    public var encoding: LabelEncoding
    public var preprocessing: Preprocessing
    /// The training CSV's feature columns, by name, when it had a header: predict finds its inputs by them.
    public var featureNames: [String]?
    public var tensors: [NamedTensor]

    public func tensor(_ name: String) -> NamedTensor? { tensors.first { $0.name == name } }

    public func encode() throws -> [UInt8] {
        func json<T: Encodable>(_ value: T) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        var metadata: [String: String] = [
            "format": Checkpoint.format,
            "spec": specText,
            "spec_sha256": SHA256.hex(specText),
            "spec_path": specPath,
            "seed": String(seed),
            "epoch": String(state.epoch),
            "step": String(state.iterations),
            "state": try json(state),
            "labels": try json(encoding),
            "class_names": try json(encoding.classNames ?? []),
            "preprocessing": try json(preprocessing),
        ]
        if let featureNames { metadata["feature_names"] = try json(featureNames) }
        return try SafeTensors.encode(tensors, metadata: metadata)
    }

    public func write(to path: String) throws { try AtomicFile.write(try encode(), to: path) }

    public static func read(_ path: String) throws -> Checkpoint {
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path, limit: maximumSize)
        } catch {
            throw CheckpointError(path: path, message: "cannot be read: \(error.reason)")
        }
        return try decode(bytes, path: path)
    }

    public static func decode(_ bytes: [UInt8], path: String) throws -> Checkpoint {
        func fail(_ message: String) -> CheckpointError { CheckpointError(path: path, message: message) }
        let (tensors, metadata) = try SafeTensors.decode(bytes, path: path)
        guard let format = metadata["format"] else {
            throw fail("no Strata format in __metadata__; a safetensors file from elsewhere?")
        }
        guard format == Checkpoint.format else { throw fail("format '\(format)' is not \(Checkpoint.format)") }
        guard let spec = metadata["spec"], let hash = metadata["spec_sha256"] else {
            throw fail("the metadata holds no spec")
        }
        guard SHA256.hex(spec) == hash else {
            throw fail("spec hash mismatch: the stored spec does not match its SHA-256")
        }
        func decodeJSON<T: Decodable>(_ key: String, as type: T.Type) throws -> T {
            guard let text = metadata[key] else { throw fail("the metadata has no '\(key)'") }
            do {
                let decoder = JSONDecoder()
                decoder.nonConformingFloatDecodingStrategy = .convertFromString(
                    positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                return try decoder.decode(T.self, from: Data(text.utf8))
            } catch {
                throw fail("the metadata's '\(key)' is not valid: \(error)")
            }
        }
        guard let seedText = metadata["seed"], let seed = UInt64(seedText) else {
            throw fail("the metadata has no valid 'seed'")
        }
        return Checkpoint(
            specText: spec, specPath: metadata["spec_path"] ?? "checkpoint.yaml", seed: seed,
            state: try decodeJSON("state", as: TrainingState.self),
            encoding: try decodeJSON("labels", as: LabelEncoding.self),
            preprocessing: try decodeJSON("preprocessing", as: Preprocessing.self),
            featureNames: metadata["feature_names"] == nil ? nil : try decodeJSON("feature_names", as: [String].self),
            tensors: tensors)
    }
}

extension ModelPlan {
    /// The plan's parameters and state (and, with `optimizerState`, the optimizer's slots) as checkpoint tensors.
    func tensors(optimizerState: Bool) -> [NamedTensor] {
        var out: [NamedTensor] = []
        for (name, tensor) in modelTensors {
            out.append(NamedTensor(name: name, shape: tensor.shape, values: tensor.values))
        }
        guard optimizerState else { return out }
        for (index, name) in parameterNames.enumerated() {
            for (slotName, slot) in zip(optimizer.slotNames, optimizer.slots[index]) {
                out.append(NamedTensor(name: "optimizer.\(name).\(slotName)", shape: slot.shape, values: slot.values))
            }
        }
        return out
    }

    /// Copies the checkpoint's parameters in, checking every name and shape; with `optimizerState`, the slots
    /// and step count too. Mismatches are named.
    public func load(_ checkpoint: Checkpoint, path: String, optimizerState: Bool) throws {
        var problems: [String] = []
        func copy(_ name: String, into tensor: Tensor) {
            guard let stored = checkpoint.tensor(name) else {
                problems.append("missing tensor '\(name)'")
                return
            }
            guard stored.shape == tensor.shape else {
                problems.append(
                    "'\(name)' has shape \(stored.shape) in the checkpoint, the model needs \(tensor.shape)")
                return
            }
            for i in 0..<tensor.count { tensor[i] = stored.values[i] }
        }
        for (name, tensor) in modelTensors { copy(name, into: tensor) }
        // The slots have their parameters' shapes: when those differ, naming the slots too repeats them.
        if optimizerState && problems.isEmpty {
            for (index, name) in parameterNames.enumerated() {
                for (slotName, slot) in zip(optimizer.slotNames, optimizer.slots[index]) {
                    copy("optimizer.\(name).\(slotName)", into: slot)
                }
            }
            optimizer.iterations = checkpoint.state.iterations
        }
        let known = Set(parameterNames + stateNames)
        for tensor in checkpoint.tensors
        where !tensor.name.hasPrefix("optimizer.") && !tensor.name.hasPrefix("best.") && !known.contains(tensor.name) {
            problems.append("tensor '\(tensor.name)' matches no layer of the model")
        }
        if !problems.isEmpty {
            throw CheckpointError(path: path, message: problems.joined(separator: "; "))
        }
    }
}
