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
        + weightKeys

    /// The keys of a layer with a kernel and a bias (dense and conv2d).
    static let weightKeys = [
        KeyRule("activation", .activation, .value(.activation(.linear)), "applied to the output"),
        KeyRule("use_bias", .boolean, .value(.boolean(true)), "add a learned bias"),
        KeyRule(
            "kernel_initializer", .initializer, .value(.initializer(.glorotUniform)), "the kernel's initial values"),
        KeyRule("bias_initializer", .initializer, .value(.initializer(.zeros)), "the bias's initial values"),
        KeyRule(
            "kernel_regularizer", .regularizer, .derived("none"),
            "a penalty on the kernel added to the loss: `{l2: 0.0001}`, `{l1: …}`"),
    ]

    public var units: Located<Int>
    public var activation: Located<ActivationKind>?
    public var useBias: Bool
    public var kernelInitializer: Located<InitializerKind>
    public var biasInitializer: Located<InitializerKind>
    public var kernelRegularizer: Located<Regularizer>?

    public init(_ arguments: LayerArguments) {
        units = arguments.integer("units")
        activation = arguments.given["activation"] != nil ? arguments.activation("activation") : nil
        useBias = arguments.boolean("use_bias")
        kernelInitializer = arguments.initializer("kernel_initializer")
        biasInitializer = arguments.initializer("bias_initializer")
        kernelRegularizer = arguments.regularizer("kernel_regularizer")
    }

    public func outputShape(input: [Int], name: String) throws(ShapeProblem) -> [Int] {
        guard input.count == 1 else { throw .needs("a flat input [features]", help: "add `- flatten` before \(name)") }
        return [units.value]
    }

    public func tensors(input: [Int], output: [Int]) -> [TensorDecl] {
        let layout = "dense kernels are [inputs, units]; conv2d kernels are [height, width, channels, filters]"
        let kernel = TensorDecl(
            "weight", shape: [input[0], units.value], initializerKey: "kernel_initializer",
            initializer: kernelInitializer, layout: layout)
        let bias = TensorDecl(
            "bias", shape: [units.value], initializerKey: "bias_initializer", initializer: biasInitializer)
        return useBias ? [kernel, bias] : [kernel]
    }

    public func flops(input: [Int], output: [Int]) -> Int {
        saturatingAdd(saturatingMultiply(2, saturatingMultiply(input[0], units.value)), useBias ? units.value : 0)
    }

    /// Its output and gradient (twice with an activation, which runs as a layer of its own), and dy packed for
    /// the weight gradient.
    public func trainingFloats(input: [Int], output: [Int]) -> Int {
        let outputs = activation.map { $0.value == .linear } ?? true ? 2 : 4
        return saturatingAdd(saturatingMultiply(outputs, units.value), units.value + 16)
    }

    public func explain(_ layer: LayerSummary) -> [String] {
        let g = groupedDigits
        let (inputs, units) = (layer.inputShape[0], units.value)
        let (name, formula) = (activation?.value ?? .linear).explained
        let affine = useBias ? "W·x + b" : "W·x"
        var lines = [
            "y = \(name.isEmpty ? affine : "\(name)(\(affine))"), W of shape [\(inputs), \(units)]\(useBias ? ", b of shape [\(units)]" : "")"
        ]
        if let formula { lines.append(formula) }
        if inputs == 1 && units == 1 && useBias && name.isEmpty {
            lines.append(
                "with one input and one unit this is the line y = m·x + b: the slope m is W, the intercept b is b")
        }
        lines.append("parameters: \(inputs)·\(units)\(useBias ? " + \(units)" : "") = \(g(layer.params))")
        lines.append(
            "FLOPs: 2·\(inputs)·\(units)\(useBias ? " + \(units)" : "") = \(g(layer.flops)) (a multiply and an add per weight\(useBias ? ", one add per bias" : ""))"
        )
        return lines + regularizerLines(kernelRegularizer?.value)
    }

    public func engineLayers(name: String, input: [Int], index: Int) -> [Layer] {
        let layer = DenseLayer(
            name: name, inputs: input.reduce(1, *), units: units.value, useBias: useBias,
            kernelInitializer: kernelInitializer.value, biasInitializer: biasInitializer.value)
        layer.weight.regularizer = kernelRegularizer?.value
        return [layer] + activationLayers(activation, name: name, shape: [units.value])
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
