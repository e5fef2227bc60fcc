import StrataEngine

/// Fully connected: y = activation(x·W + b), W [inputs, units] as Keras lays it out.
public struct DenseSpec: LayerKind {
    public static let typeName = "dense"
    public static let summary = "fully connected: every output is a weighted sum of every input"
    public static let keys =
        [
            KeyRule(
                "units", .integer(1...Int.max), .required, "the number of outputs",
                help: "the number of outputs, e.g. `units: 10`")
        ]
        + WeightKeys.rules

    public var units: Located<Int>
    public var weights: WeightKeys
    public var activation: Located<ActivationKind>? { weights.activation }

    public init(_ arguments: LayerArguments) {
        units = arguments.integer("units")
        weights = WeightKeys(arguments)
    }

    public func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int] {
        guard input.count == 1 else { throw .needs("a flat input [features]", help: "add `- flatten` before \(name)") }
        return [units.value]
    }

    public func tensors(input: [Int], output: [Int]) -> [TensorDecl] {
        weights.tensors(kernel: [input[0], units.value], bias: units.value)
    }

    public func flops(input: [Int], output: [Int]) -> Int {
        saturatingAdd(
            saturatingMultiply(2, saturatingMultiply(input[0], units.value)), weights.useBias ? units.value : 0)
    }

    /// Its output and gradient (twice with an activation, which runs as a layer of its own), and dy packed for
    /// the weight gradient.
    public func trainingFloats(input: [Int], output: [Int]) -> Int {
        saturatingAdd(saturatingMultiply(weights.copiesPerOutput, units.value), units.value + 16)
    }

    public func explain(_ layer: LayerSummary) -> [String] {
        let g = groupedDigits
        let (inputs, units) = (layer.inputShape[0], units.value)
        let (name, formula) = (activation?.value ?? .linear).explained
        let affine = weights.useBias ? "W·x + b" : "W·x"
        var lines = [
            "y = \(name.isEmpty ? affine : "\(name)(\(affine))"), W of shape [\(inputs), \(units)]\(weights.useBias ? ", b of shape [\(units)]" : "")"
        ]
        if let formula { lines.append(formula) }
        if inputs == 1 && units == 1 && weights.useBias && name.isEmpty {
            lines.append(
                "with one input and one unit this is the line y = m·x + b: the slope m is W, the intercept b is b")
        }
        lines.append("parameters: \(inputs)·\(units)\(weights.useBias ? " + \(units)" : "") = \(g(layer.params))")
        lines.append(
            "FLOPs: 2·\(inputs)·\(units)\(weights.useBias ? " + \(units)" : "") = \(g(layer.flops)) (a multiply and an add per weight\(weights.useBias ? ", one add per bias" : ""))"
        )
        return lines + regularizerLines(weights.kernelRegularizer?.value)
    }

    public func engineLayers(name: String, input: [Int], index: Int) -> [Layer] {
        let layer = DenseLayer(
            name: name, inputs: input.reduce(1, *), units: units.value, useBias: weights.useBias,
            kernelInitializer: weights.kernelInitializer.value, biasInitializer: weights.biasInitializer.value)
        return weights.engineLayers(layer, weight: layer.weight, name: name)
    }
}

extension DenseSpec {
    /// Gemm(x, W, b), as Keras lays W out ([inputs, units]), then the activation.
    public func export(
        _ graph: inout ONNXGraph, input: String, shape: [Int], name: String, tensors: [String: [Float]]
    ) throws(ExportProblem) -> String {
        guard let weight = tensors["weight"] else { throw ExportProblem("\(name) has no weight in the checkpoint") }
        var inputs = [input, graph.constant("\(name).weight", weight, shape: [shape[0], units.value])]
        if weights.useBias, let bias = tensors["bias"] {
            inputs.append(graph.constant("\(name).bias", bias, shape: [units.value]))
        }
        let affine = graph.node("Gemm", inputs, name: name)
        return (activation?.value ?? .linear).export(&graph, input: affine, name: name)
    }
}

/// The explain line of a kernel regularizer.
func regularizerLines(_ regularizer: Regularizer?) -> [String] {
    guard let r = regularizer else { return [] }
    var terms: [String] = []
    if r.l1 > 0 { terms.append("\(format(Double("\(r.l1)") ?? 0))·Σ|W|") }
    if r.l2 > 0 { terms.append("\(format(Double("\(r.l2)") ?? 0))·ΣW²") }
    return [
        "regularizer: \(terms.joined(separator: " + ")) added to the loss of every batch (it pulls weights toward 0)"
    ]
}
