import StrataEngine

/// What a layer with a kernel and a bias (dense, conv2d) takes besides its shape: the keys both read, the two
/// tensors, the activation run after it.
public struct WeightKeys: Sendable {
    static let rules: [KeyRule] = [
        KeyRule("activation", .activation, .value(.activation(.linear)), "applied to the output"),
        KeyRule("use_bias", .boolean, .value(.boolean(true)), "add a learned bias"),
        KeyRule(
            "kernel_initializer", .initializer, .value(.initializer(.glorotUniform)), "the kernel's initial values"),
        KeyRule("bias_initializer", .initializer, .value(.initializer(.zeros)), "the bias's initial values"),
        KeyRule(
            "kernel_regularizer", .regularizer, .derived("none"),
            "a penalty on the kernel added to the loss: `{l2: 0.0001}`, `{l1: …}`"),
    ]

    public var activation: Located<ActivationKind>?
    public var useBias: Bool
    public var kernelInitializer: Located<InitializerKind>
    public var biasInitializer: Located<InitializerKind>
    public var kernelRegularizer: Located<Regularizer>?

    init(_ arguments: LayerArguments) {
        activation = arguments.given["activation"] != nil ? arguments.activation("activation") : nil
        useBias = arguments.boolean("use_bias")
        kernelInitializer = arguments.initializer("kernel_initializer")
        biasInitializer = arguments.initializer("bias_initializer")
        kernelRegularizer = arguments.regularizer("kernel_regularizer")
    }

    /// The kernel of `kernel`'s shape and, with `use_bias`, a bias of `bias` values.
    func tensors(kernel: [Int], bias: Int) -> [TensorDecl] {
        let layout = "dense kernels are [inputs, units]; conv2d kernels are [height, width, channels, filters]"
        let weight = TensorDecl(
            "weight", shape: kernel, initializerKey: "kernel_initializer", initializer: kernelInitializer,
            layout: layout)
        let biasTensor = TensorDecl(
            "bias", shape: [bias], initializerKey: "bias_initializer", initializer: biasInitializer)
        return useBias ? [weight, biasTensor] : [weight]
    }

    /// Floats per output value training keeps: the output and its gradient, twice when an activation runs as a
    /// layer of its own after it.
    var copiesPerOutput: Int { activation.map { $0.value == .linear } ?? true ? 2 : 4 }

    /// The engine layer with its regularizer, then its activation's layer.
    func engineLayers(_ layer: Layer, weight: Parameter, name: String) -> [Layer] {
        weight.regularizer = kernelRegularizer?.value
        return [layer] + activationLayers(activation, name: name, shape: layer.outputShape)
    }
}
