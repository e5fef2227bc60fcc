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
}

public struct LayerSpec: Sendable {
    public var name: Located<String>
    /// Where the list item starts; layer-level errors point here.
    public var location: SourceLocation
    public var kind: LayerKind

    public var typeName: String { kind.typeName }
}

public enum LayerKind: Sendable {
    case dense(DenseSpec)
    case conv2d(Conv2DSpec)
    case maxPool2d(MaxPool2DSpec)
    case flatten
    case dropout(rate: Located<Double>)
    case activation(Located<Activation>)

    public static let typeNames = ["dense", "conv2d", "max_pool2d", "flatten", "dropout", "activation"]

    public var typeName: String {
        switch self {
        case .dense: "dense"
        case .conv2d: "conv2d"
        case .maxPool2d: "max_pool2d"
        case .flatten: "flatten"
        case .dropout: "dropout"
        case .activation: "activation"
        }
    }

    /// The activation applied at the layer's output, if any (dense and conv2d fuse theirs).
    public var activation: Located<Activation>? {
        switch self {
        case .dense(let d): d.activation
        case .conv2d(let c): c.activation
        case .activation(let a): a
        default: nil
        }
    }
}

public enum Activation: Sendable, Equatable, CustomStringConvertible {
    case linear, relu, sigmoid, tanh, softmax
    case leakyRelu(alpha: Double)

    public static let names = ["linear", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"]
    /// Keras' `keras.activations.leaky_relu` default negative slope.
    public static let defaultLeakyAlpha = 0.2

    public var name: String {
        switch self {
        case .linear: "linear"
        case .relu: "relu"
        case .leakyRelu: "leaky_relu"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .softmax: "softmax"
        }
    }

    public var description: String {
        if case .leakyRelu(let alpha) = self { return "leaky_relu(alpha=\(alpha))" }
        return name
    }
}

public enum Initializer: Sendable, Equatable {
    case glorotUniform, heNormal, heUniform, zeros, ones
    case constant(Double)
    /// Explicit values, row-major in the tensor's own layout; `shape` as written in the spec.
    case values([Double], shape: [Int])

    public static let names = ["glorot_uniform", "he_normal", "he_uniform", "zeros", "ones", "constant", "values"]
}

public struct DenseSpec: Sendable {
    public var units: Located<Int>
    public var activation: Located<Activation>?
    public var useBias: Bool
    public var kernelInitializer: Located<Initializer>
    public var biasInitializer: Located<Initializer>
}

public enum Padding: String, Sendable, CaseIterable {
    case valid, same
}

public struct Conv2DSpec: Sendable {
    public var filters: Located<Int>
    public var kernelSize: Located<[Int]>
    public var strides: Located<[Int]>
    public var padding: Padding
    public var activation: Located<Activation>?
    public var useBias: Bool
    public var kernelInitializer: Located<Initializer>
    public var biasInitializer: Located<Initializer>
}

public struct MaxPool2DSpec: Sendable {
    public var poolSize: Located<[Int]>
    public var strides: Located<[Int]>
    public var padding: Padding
}

public enum LossKind: String, Sendable, CaseIterable {
    case mse, mae
    case binaryCrossentropy = "binary_crossentropy"
    case categoricalCrossentropy = "categorical_crossentropy"
    case sparseCategoricalCrossentropy = "sparse_categorical_crossentropy"

    public var isClassification: Bool { self != .mse && self != .mae }
}

public enum MetricKind: String, Sendable, CaseIterable {
    case accuracy, mse, rmse, mae
}

public enum OptimizerKind: Sendable, Equatable {
    case sgd(momentum: Double, nesterov: Bool, weightDecay: Double)
    case adam(beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double)
    case rmsprop(rho: Double, momentum: Double, epsilon: Double)

    public static let names = ["sgd", "adam", "rmsprop"]

    public var name: String {
        switch self {
        case .sgd: "sgd"
        case .adam: "adam"
        case .rmsprop: "rmsprop"
        }
    }
}

/// Learning-rate schedules, all counted in optimizer steps (batches) as in Keras.
public enum ScheduleKind: Sendable, Equatable {
    /// lr · rate^⌊step / decay_steps⌋
    case step(decaySteps: Int, decayRate: Double)
    /// lr · rate^(step / decay_steps)
    case exponential(decaySteps: Int, decayRate: Double)
    /// lr · (alpha + (1 − alpha) · ½(1 + cos(π · min(step, decay_steps) / decay_steps)))
    case cosine(decaySteps: Int, alpha: Double)

    public static let names = ["step", "exponential", "cosine"]
}

public struct OptimizerSpec: Sendable {
    public var kind: Located<OptimizerKind>
    public var learningRate: Located<Double>
    public var schedule: Located<ScheduleKind>?
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
