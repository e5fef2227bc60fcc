import StrataEngine

/// Batch normalization over the last dimension (channels last), Keras' semantics: batch statistics while
/// training, moving statistics when evaluating and predicting.
public struct BatchNormalizationSpec: LayerKind {
    public static let typeName = "batch_normalization"
    public static let summary =
        "normalizes each channel to mean 0 and variance 1 over the batch, then scales by γ and shifts by β"
    public static let keys = [
        KeyRule(
            "momentum", .number(NumberBounds(atLeast: 0, below: 1)), .value(.number(0.99)),
            "how slowly the moving statistics follow each batch's"),
        KeyRule(
            "epsilon", .number(NumberBounds(above: 0)), .value(.number(1e-3)),
            "added to the variance before its square root"),
        KeyRule("center", .boolean, .value(.boolean(true)), "learn a shift β"),
        KeyRule("scale", .boolean, .value(.boolean(true)), "learn a scale γ"),
        KeyRule(
            "synchronized", .boolean, .value(.boolean(false)),
            "under MPI, normalize over the whole batch of all processes, not each process's share"),
    ]

    public var momentum: Double
    public var epsilon: Double
    public var center: Bool
    public var scale: Bool
    public var synchronized: Bool

    public init(_ arguments: LayerArguments) {
        momentum = arguments.number("momentum").value
        epsilon = arguments.number("epsilon").value
        center = arguments.boolean("center")
        scale = arguments.boolean("scale")
        synchronized = arguments.boolean("synchronized")
    }

    public func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int] { input }

    public func tensors(input: [Int], output: [Int]) -> [TensorDecl] {
        let c = [input.last ?? 1]
        return (scale ? [TensorDecl("gamma", shape: c)] : []) + (center ? [TensorDecl("beta", shape: c)] : [])
            + [
                TensorDecl("moving_mean", shape: c, trainable: false),
                TensorDecl("moving_variance", shape: c, trainable: false),
            ]
    }

    /// Per value: a subtract and a multiply to normalize, a multiply-add for γ and β.
    public func flops(input: [Int], output: [Int]) -> Int { saturatingMultiply(4, elementCount(input)) }

    public func explain(_ layer: LayerSummary) -> [String] {
        let c = layer.inputShape.last ?? 1
        let affine = [scale ? "γ·" : "", "x̂", center ? " + β" : ""].joined()
        return [
            "while training: x̂ = (x − μ) / √(σ² + \(format(epsilon))), μ and σ² each channel's mean and variance over the batch\(layer.inputShape.count > 1 ? " and every position" : "")",
            "y = \(affine); the moving statistics follow: moving ← \(format(momentum))·moving + \(format(1 - momentum))·batch",
            "when evaluating and predicting: μ and σ² are the moving statistics",
            synchronized
                ? "synchronized: under MPI, μ and σ² are the whole batch's, summed across the processes at every step"
                : "under MPI, each process normalizes by its own share of the batch (synchronized: true for the whole batch's)",
            "parameters: \((scale ? 1 : 0) + (center ? 1 : 0))·\(c) trainable (γ, β) + 2·\(c) non-trainable (moving mean and variance) = \(groupedDigits(layer.params + layer.nonTrainableParams))",
            "FLOPs: 4 per value = \(groupedDigits(layer.flops))",
        ]
    }

    public func engineLayers(name: String, input: [Int], index: Int) -> [Layer] {
        [
            BatchNormalizationLayer(
                name: name, shape: input, momentum: Float(momentum), epsilon: Float(epsilon), center: center,
                scale: scale, synchronized: synchronized)
        ]
    }

    /// Inference form over the last (channel) axis, as the engine computes it: x·a + b with
    /// a = γ/√(moving variance + ε) and b = β − a·moving mean, per channel.
    public func export(
        _ graph: inout ONNXGraph, input: String, shape: [Int], name: String, tensors: [String: [Float]]
    ) throws(ExportProblem) -> String {
        let c = shape.last ?? 1
        guard let mean = tensors["moving_mean"], let variance = tensors["moving_variance"] else {
            throw ExportProblem("\(name) has no moving statistics in the checkpoint")
        }
        let gamma = tensors["gamma"] ?? [Float](repeating: 1, count: c),
            beta = tensors["beta"] ?? [Float](repeating: 0, count: c)
        let a = (0..<c).map { gamma[$0] * (1 / (variance[$0] + Float(epsilon)).squareRoot()) }
        let b = (0..<c).map { beta[$0] - a[$0] * mean[$0] }
        let scaled = graph.node("Mul", [input, graph.constant("\(name).scale", a, shape: [c])], name: name)
        return graph.node("Add", [scaled, graph.constant("\(name).shift", b, shape: [c])], name: name)
    }
}
