import StrataEngine

/// `- activation: relu`: an activation on its own, elementwise (softmax over the last dimension).
public struct ActivationSpec: LayerKind {
    public static let typeName = "activation"
    public static let summary = "applies an activation function on its own: `- activation: relu`"
    public static let keys = [KeyRule("function", .activation, .required, "the activation, e.g. `- activation: relu`")]
    public static let bodyKey: String? = "function"

    public var function: Located<ActivationKind>

    public init(_ arguments: LayerArguments) {
        function = arguments.activation("function") ?? Located(.linear, at: arguments.location)
    }

    public var activation: Located<ActivationKind>? { function }

    public func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int] { input }

    public func explain(_ layer: LayerSummary) -> [String] {
        let (name, formula) = function.value.explained
        return ["y = \(name.isEmpty ? "x" : "\(name)(x)")"] + (formula.map { [$0] } ?? []) + [
            "parameters: 0", "FLOPs: 0 counted",
        ]
    }

    public func engineLayers(name: String, input: [Int], index: Int) -> [Layer] {
        [ActivationLayer(name: name, kind: function.value, shape: input)]
    }

    public func export(
        _ graph: inout ONNXGraph, input: String, shape: [Int], name: String, tensors: [String: [Float]]
    ) throws(ExportProblem) -> String {
        function.value.export(&graph, input: input, name: name)
    }
}

extension ActivationKind {
    /// The activation as ONNX nodes (opset 17: gelu and silu are written out); linear adds none.
    func export(_ graph: inout ONNXGraph, input x: String, name: String) -> String {
        switch self {
        case .linear: return x
        case .relu: return graph.node("Relu", [x], name: name)
        case .sigmoid: return graph.node("Sigmoid", [x], name: name)
        case .tanh: return graph.node("Tanh", [x], name: name)
        case .softplus: return graph.node("Softplus", [x], name: name)
        case .softmax: return graph.node("Softmax", [x], name: name, attributes: [ONNXGraph.attribute("axis", int: -1)])
        case .leakyRelu(let alpha):
            return graph.node("LeakyRelu", [x], name: name, attributes: [ONNXGraph.attribute("alpha", float: alpha)])
        case .elu(let alpha):
            return graph.node("Elu", [x], name: name, attributes: [ONNXGraph.attribute("alpha", float: alpha)])
        case .silu:
            return graph.node("Mul", [x, graph.node("Sigmoid", [x], name: name)], name: name)
        case .gelu:
            // ½x·(1 + erf(x/√2))
            let scaled = graph.node(
                "Mul", [x, graph.constant("\(name)/inverse_root2", [Float(0.5).squareRoot()], shape: [])], name: name)
            let erf = graph.node("Erf", [scaled], name: name)
            let one = graph.node("Add", [erf, graph.constant("\(name)/one", [1], shape: [])], name: name)
            let half = graph.node("Mul", [x, graph.constant("\(name)/half", [0.5], shape: [])], name: name)
            return graph.node("Mul", [half, one], name: name)
        }
    }

    /// The name explain writes (empty for linear) and the function as a formula.
    var explained: (name: String, formula: String?) {
        switch self {
        case .linear: ("", nil)
        case .relu: ("relu", "relu(z) = max(0, z)")
        case .leakyRelu(let alpha):
            ("leaky_relu", "leaky_relu(z) = z if z > 0, else \(format(Double("\(alpha)") ?? 0))·z")
        case .elu(let alpha): ("elu", "elu(z) = z if z > 0, else \(format(Double("\(alpha)") ?? 0))·(e^z − 1)")
        case .sigmoid: ("sigmoid", "sigmoid(z) = 1 / (1 + e^(−z))")
        case .tanh: ("tanh", "tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))")
        case .softmax: ("softmax", "softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ), probabilities that sum to 1")
        case .softplus: ("softplus", "softplus(z) = log(1 + e^z), a smooth relu")
        case .gelu: ("gelu", "gelu(z) = z·Φ(z) = ½z·(1 + erf(z/√2)), Φ the standard normal distribution")
        case .silu: ("silu", "silu(z) = z·sigmoid(z) (also called swish)")
        }
    }
}
