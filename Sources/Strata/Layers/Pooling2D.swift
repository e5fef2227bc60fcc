import ONNXProto
import StrataEngine

/// What max and average pooling share: keys, shape rule, explain; each kind says only how it reduces a window.
public protocol Pooling2DKind: LayerKind {
    var poolSize: Located<[Int]> { get }
    var strides: Located<[Int]> { get }
    var padding: Padding { get }
    init(poolSize: Located<[Int]>, strides: Located<[Int]>, padding: Padding)
    /// "max" or "mean", for explain.
    static var reduction: String { get }
    /// ONNX's operator and the attributes beyond the window's.
    static var onnxOperator: (name: String, attributes: [Onnx_AttributeProto]) { get }
    func engineLayer(name: String, input: [Int], window: Window) -> Layer?
}

extension Pooling2DKind {
    public static var keys: [KeyRule] {
        [
            KeyRule("pool_size", .pair(1...Int.max), .value(.pair([2, 2])), "the window size"),
            KeyRule("strides", .pair(1...Int.max), .derived("`pool_size`"), "the step between windows"),
            KeyRule(
                "padding", .word(Padding.allCases.map(\.rawValue)), .value(.word("valid")),
                "`same` pads so the output is ⌈input / stride⌉"),
        ]
    }

    public init(_ arguments: LayerArguments) {
        let pool = arguments.pair("pool_size") ?? Located([2, 2], at: arguments.location)
        // Keras: strides default to the pool size.
        self.init(
            poolSize: pool, strides: arguments.pair("strides") ?? pool,
            padding: Padding(rawValue: arguments.word("padding")) ?? .valid)
    }

    private func window(_ input: [Int], name: String) throws(ShapeProblem) -> Window {
        try windowOutput(input, size: poolSize, strides: strides.value, padding: padding, what: "pool_size", name: name)
    }

    public func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int] {
        let w = try window(input, name: name)
        return [w.outputHeight, w.outputWidth, input[2]]
    }

    /// Its output and gradient, and which input won each window (max pooling; a 32-bit index each).
    public func trainingFloats(input: [Int], output: [Int]) -> Int { saturatingMultiply(3, elementCount(output)) }

    public func explain(_ layer: LayerSummary) -> [String] {
        let p = poolSize.value
        return [
            "y[i, j, c] = \(Self.reduction) over a \(p[0])x\(p[1]) window, stride \(strides.value.map(String.init).joined(separator: "x")), of x[·, ·, c]",
            "parameters: 0", "FLOPs: 0 counted (\(Self.reduction == "max" ? "comparisons" : "additions") only)",
        ]
    }

    public func export(
        _ graph: inout ONNXGraph, input: String, shape: [Int], name: String, tensors: [String: [Float]]
    ) throws(ExportProblem) -> String {
        guard let w = try? window(shape, name: name) else {
            throw ExportProblem("\(name): its window does not fit its input")
        }
        let (op, extra) = Self.onnxOperator
        return graph.channelsFirst(input, name: name) { graph, x in
            graph.node(op, [x], name: name, attributes: w.onnxAttributes + extra)
        }
    }

    public func engineLayers(name: String, input: [Int], index: Int) -> [Layer] {
        guard let w = try? window(input, name: name), let layer = engineLayer(name: name, input: input, window: w)
        else {
            preconditionFailure("\(name): the checked window does not fit")
        }
        return [layer]
    }
}

public struct MaxPool2DSpec: Pooling2DKind {
    public static let typeName = "max_pool2d"
    public static let summary = "the maximum of each window, channel by channel"
    public static let reduction = "max"
    public static let onnxOperator = (name: "MaxPool", attributes: [Onnx_AttributeProto]())
    public let poolSize: Located<[Int]>, strides: Located<[Int]>, padding: Padding

    public init(poolSize: Located<[Int]>, strides: Located<[Int]>, padding: Padding) {
        (self.poolSize, self.strides, self.padding) = (poolSize, strides, padding)
    }

    public func engineLayer(name: String, input: [Int], window w: Window) -> Layer? {
        MaxPool2DLayer(
            name: name, inputShape: input, pool: (w.kernelHeight, w.kernelWidth),
            strides: (w.strideHeight, w.strideWidth), same: padding == .same)
    }
}

public struct AveragePooling2DSpec: Pooling2DKind {
    public static let typeName = "average_pooling2d"
    public static let summary = "the mean of each window, channel by channel (padding not counted)"
    public static let reduction = "mean"
    /// Padded cells are not counted, as in Strata and Keras.
    public static let onnxOperator = (
        name: "AveragePool", attributes: [ONNXGraph.attribute("count_include_pad", int: 0)]
    )
    public let poolSize: Located<[Int]>, strides: Located<[Int]>, padding: Padding

    public init(poolSize: Located<[Int]>, strides: Located<[Int]>, padding: Padding) {
        (self.poolSize, self.strides, self.padding) = (poolSize, strides, padding)
    }

    public func engineLayer(name: String, input: [Int], window w: Window) -> Layer? {
        AveragePooling2DLayer(
            name: name, inputShape: input, pool: (w.kernelHeight, w.kernelWidth),
            strides: (w.strideHeight, w.strideWidth), same: padding == .same)
    }
}
