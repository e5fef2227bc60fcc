import StrataEngine

/// A value together with the place in the spec that gave it, so later stages can point back at it.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }
}

extension Located: Equatable where Value: Equatable {}

extension Spec {
    /// What the model's output comes out of: the last layer's activation, or nil when the last layer has none
    /// (a dropout, a flatten, a pooling). The checker and the plan both ask this, and the loss needs it to be
    /// the activation it is computed through (`LossKind.outputActivation`).
    public var outputActivation: Located<ActivationKind>? { layers.last?.kind.activation }

    /// The last layer with an activation, and its index: where the output activation is, if layers follow it.
    public var lastActivation: (index: Int, activation: Located<ActivationKind>)? {
        for (index, layer) in layers.enumerated().reversed() {
            if let activation = layer.kind.activation { return (index, activation) }
        }
        return nil
    }
}

/// A parsed spec: every value the user wrote, with its position; defaults filled in where the user wrote nothing.
public struct Spec: Sendable {
    /// The path the spec was read from, as given; data paths are relative to its folder.
    public var file: String
    /// The full text, kept for the checkpoint and for printing source lines in diagnostics.
    public var source: String
    public var name: String
    public var seed: UInt64
    public var input: Located<[Int]>
    public var layers: [LayerSpec]
    public var loss: Located<LossKind>
    public var metrics: [Located<MetricKind>]
    public var optimizer: OptimizerSpec
    public var training: TrainingSpec
    public var data: DataSpec?
    public var checkpoint: CheckpointSpec
    /// `sweep:`: the values `strata sweep` tries; `strata train` ignores it.
    public var sweep: SweepSection? = nil
}

/// The spec's `sweep:` section: defaults for `strata sweep`'s options.
public struct SweepSection: Sendable {
    public var name: String?
    public var axes: [SweepAxis]
    public var random: Int?
    public var seed: UInt64?
    public var jobs: Int?
    public var halving: Bool
}

public struct LayerSpec: Sendable {
    public var name: Located<String>
    /// Where the list item starts; layer-level errors point here.
    public var location: SourceLocation
    /// The layer's kind and its configuration; the kind's type answers every question about it.
    public var kind: any LayerKind

    public var typeName: String { kind.typeName }
}

public enum Padding: String, Sendable, CaseIterable {
    case valid, same
}

public struct OptimizerSpec: Sendable {
    /// The spec's word (`adamw`), which the engine's kind does not keep.
    public var name: String
    public var kind: Located<OptimizerKind>
    public var learningRate: Located<Double>
    public var schedule: Located<Schedule>?
}

public struct EarlyStoppingSpec: Sendable {
    public var monitor: Located<String>
    public var patience: Int
    public var minDelta: Double
    public var restoreBestWeights: Bool
}

public struct TrainingSpec: Sendable {
    public var batchSize: Located<Int>
    public var epochs: Located<Int>
    public var shuffle: Bool
    public var validationSplit: Located<Double>
    public var earlyStopping: EarlyStoppingSpec?
    /// Whether the user chose the batch size (in the spec or with --batch-size), rather than the default.
    public var batchSizeChosen = false
}

/// What the label column holds in the source files.
public enum LabelFormat: String, Sendable, CaseIterable, Codable {
    /// Numbers to regress on (one or more columns).
    case values
    /// Integer class indices 0..<classes.
    case classes
    /// Strings naming classes, mapped to indices by `class_names` order (or sorted order when not given).
    case names
}

public enum DataSource: Sendable {
    case inline(x: [[Double]], y: [[Double]], yNames: [String]?)
    case csv(CSVSource)
    case idx(images: Located<String>, labels: Located<String>)

    public var kindName: String {
        switch self {
        case .inline: "inline"
        case .csv: "csv"
        case .idx: "idx"
        }
    }
}

public struct CSVSource: Sendable {
    public var path: Located<String>
    /// Column names (with a header) or zero-based indices as strings; nil means all columns but the label.
    public var features: Located<[String]>?
    /// Column name or zero-based index; nil means the last column.
    public var label: Located<String>?
    public var header: Bool

    public init(path: Located<String>, features: Located<[String]>?, label: Located<String>?, header: Bool) {
        self.path = path
        self.features = features
        self.label = label
        self.header = header
    }
}

public struct DataSpec: Sendable {
    public var train: Located<DataSource>
    public var validation: Located<DataSource>?
    public var test: Located<DataSource>?
    /// Fraction of the training source held out as the test set (stratified, seeded), when no test source is given.
    public var testSplit: Double
    /// Features are multiplied by this (e.g. 1/255) before anything else.
    public var scale: Located<Double>?
    /// Subtract the training split's per-feature mean and divide by its standard deviation.
    public var standardize: Bool
    /// What the label column holds; nil lets the checker infer it from the data and the loss.
    public var labels: Located<LabelFormat>?
    /// Turn class indices into one-hot vectors (what categorical_crossentropy needs).
    public var oneHot: Located<Bool>?
    public var classNames: Located<[String]>?
    /// Number of classes stated by the spec (or implied by class_names).
    public var classes: Located<Int>?
}

public enum SavePolicy: String, Sendable, CaseIterable {
    case end
    case everyEpoch = "every_epoch"
    case best
}

public struct CheckpointSpec: Sendable {
    public var path: Located<String>
    public var save: Located<SavePolicy>
    public var monitor: Located<String>
}
