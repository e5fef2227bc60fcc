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
    /// `strata explain`'s lines: the math, the parameter count's derivation, the FLOPs.
    func explain(_ layer: LayerSummary) -> [String]
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
    public var typeName: String { Self.typeName }
}

/// Every layer kind a spec may name. A new kind is one file in this folder and one entry here.
public enum LayerRegistry {
    public static let kinds: [any LayerKind.Type] = [
        DenseSpec.self, Conv2DSpec.self, MaxPool2DSpec.self, AveragePooling2DSpec.self,
        GlobalAveragePooling2DSpec.self, GlobalMaxPooling2DSpec.self, FlattenSpec.self, DropoutSpec.self,
        ActivationSpec.self, BatchNormalizationSpec.self,
    ]

    public static var typeNames: [String] { kinds.map { $0.typeName } }

    public static func kind(named name: String) -> (any LayerKind.Type)? { kinds.first { $0.typeName == name } }
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

/// Output height and width of a sliding window by Keras' rules, or the problem with `size` (at its location).
func windowOutput(
    _ input: [Int], size: Located<[Int]>, strides: [Int], padding: Padding, what: String, name: String
) throws(ShapeProblem) -> Window {
    guard input.count == 3 else { throw .needs("[height, width, channels]", help: nil) }
    let (k, s) = (size.value, strides)
    if padding == .valid, k[0] > input[0] || k[1] > input[1] {
        throw .invalid(
            "\(what) \(describeShape(k)) of \(name) is larger than its input \(input[0])x\(input[1])", at: size.location,
            help: "use a smaller \(what), or `padding: same`")
    }
    guard let window = Window(input: (input[0], input[1]), kernel: (k[0], k[1]), strides: (s[0], s[1]), same: padding == .same)
    else {
        throw .invalid(
            "\(what) \(describeShape(k)) with strides \(describeShape(s)) of \(name) is too large to lay over its input",
            at: size.location, help: "use sizes no larger than the input")
    }
    return window
}

/// The engine's activation layer for a dense or conv2d layer's `activation:`, if it is not linear.
func activationLayers(_ activation: Located<ActivationKind>?, name: String, shape: [Int]) -> [Layer] {
    guard let kind = activation?.value, kind != .linear else { return [] }
    return [ActivationLayer(name: name, kind: kind, shape: shape)]
}

extension Window {
    var size: String { "\(kernelHeight)x\(kernelWidth)" }
    var strideText: String { "\(strideHeight)x\(strideWidth)" }
}
