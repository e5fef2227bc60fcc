import StrataEngine

/// Everything Strata knows about one kind of layer, in one type: its spec keys, shape rule, tensors, FLOPs,
/// explain text and engine layers. The parser, checker, summary, `explain`, the schema, the docs' key tables and
/// the plan all ask it; a value of the type is one configured layer of a spec.
public protocol LayerKind: Sendable {
    /// The word that names the kind in a spec: `dense`.
    static var typeName: String { get }
    /// One line for the docs, the schema and `explain`.
    static var summary: String { get }
    /// The keys its mapping takes besides `name`, in the order the docs list them.
    static var keys: [KeyRule] { get }
    /// A key whose value is the whole body (`- activation: relu`); such a layer takes no other key.
    static var bodyKey: String? { get }

    /// The layer as configured; every key has passed its rule, so nothing can fail here.
    init(_ arguments: LayerArguments)

    /// The output shape for one example of `input`, or why it cannot take that input.
    func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int]
    /// Its parameters and state, for counts, memory, initial-value checks.
    func tensors(input: [Int], output: [Int]) -> [TensorDecl]
    /// Forward FLOPs per example: a multiply-add counts 2, an add 1; comparisons and activations 0.
    func flops(input: [Int], output: [Int]) -> Int
    /// Floats training keeps per example for this layer: its engine layers' outputs and their gradients, and
    /// any per-example scratch (the memory estimate's activations).
    func trainingFloats(input: [Int], output: [Int]) -> Int
    /// `strata explain`'s lines: the math, the parameter count's derivation, the FLOPs.
    func explain(_ layer: LayerSummary) -> [String]
    /// Writes the layer into an ONNX graph after `input` (a value of [N] + `shape`, channels last) with its trained
    /// tensors by name (`weight`, `bias`, `moving_mean`, …); returns its output's name. A layer that cannot be
    /// written throws, naming itself.
    func export(
        _ graph: inout ONNXGraph, input: String, shape: [Int], name: String, tensors: [String: [Float]]
    ) throws(ExportProblem) -> String
    /// The activation at its output, if any: the loss and the checker ask this of the last layer.
    var activation: Located<ActivationKind>? { get }
    /// The engine layers that compute it, in order (a dense layer with an activation is two).
    func engineLayers(name: String, input: [Int], index: Int) -> [Layer]
}

extension LayerKind {
    public static var bodyKey: String? { nil }
    public var activation: Located<ActivationKind>? { nil }
    public func tensors(input: [Int], output: [Int]) -> [TensorDecl] { [] }
    public func flops(input: [Int], output: [Int]) -> Int { 0 }
    /// An output and its gradient.
    public func trainingFloats(input: [Int], output: [Int]) -> Int { saturatingMultiply(2, elementCount(output)) }
    public var typeName: String { Self.typeName }
}

/// Why a layer cannot take its input.
public enum ShapeProblem: Error {
    /// The input's rank or layout is wrong: "NAME needs `needs`, got SHAPE from PRODUCER".
    case needs(String, help: String?)
    /// A key's value does not fit the input.
    case invalid(String, at: SourceLocation, help: String?)
}

/// A tensor a layer holds: trainable parameters, or state training keeps without differentiating.
public struct TensorDecl: Sendable {
    /// As in the checkpoint: `LAYER.NAME`.
    public var name: String
    public var shape: [Int]
    public var trainable: Bool
    /// The spec key that sets its initial values, and what it holds, for checking explicit values.
    public var initializerKey: String?
    public var initializer: Located<InitializerKind>?
    /// The layout in words, for the help of a values-shape error.
    public var layout: String?

    public init(
        _ name: String, shape: [Int], trainable: Bool = true, initializerKey: String? = nil,
        initializer: Located<InitializerKind>? = nil, layout: String? = nil
    ) {
        self.name = name
        self.shape = shape
        self.trainable = trainable
        self.initializerKey = initializerKey
        self.initializer = initializer
        self.layout = layout
    }
}

/// What the checker derived for one layer.
public struct LayerSummary: Sendable {
    public var name: String
    public var typeName: String
    public var inputShape: [Int]
    public var outputShape: [Int]
    /// Trainable parameters.
    public var params: Int
    /// State kept without training (moving statistics).
    public var nonTrainableParams: Int
    /// Multiply-adds count 2; bias adds 1; activations and pooling comparisons are not counted.
    public var flops: Int
    /// Floats training keeps per example (outputs, gradients, scratch).
    public var trainingFloats: Int
    public var location: SourceLocation
}
