import StrataEngine

/// The static plan of a checked spec: engine layers with every buffer sized for the batch size, the optimizer
/// with its slots, and the checkpoint name of every tensor. Built once; training then allocates nothing.
public final class ModelPlan: @unchecked Sendable {
    public let network: Network
    public let optimizer: Optimizer
    /// `dense_1.weight`, `dense_1.bias`, … in network order, parallel to `optimizer.parameters`.
    public let parameterNames: [String]
    public let spec: Spec

    /// `LAYER.moving_mean`, … in network order, parallel to `state`.
    public let stateNames: [String]
    /// Every layer's non-trainable state, in network order.
    public let state: [StateTensor]

    public init(spec: Spec, batchSize: Int, threads: Int = CPU.coreCount) {
        self.spec = spec
        var layers: [Layer] = []
        var shape = spec.input.value
        for (index, layer) in spec.layers.enumerated() {
            // The checker has inferred this shape with the same kind, so the engine layers fit.
            let built = layer.kind.engineLayers(name: layer.name.value, input: shape, index: index)
            layers += built
            shape = built.last?.outputShape ?? shape
        }
        ModelPlan.poolBeforeActivations(&layers)
        ModelPlan.trimUnpooledOutputs(layers)
        ModelPlan.markSparseGradients(layers)
        ModelPlan.fuseFirstConvolutionWithPooling(&layers)
        network = Network(layers: layers, loss: spec.loss.value, maxBatch: batchSize, threads: threads)
        let named = network.parameters
        parameterNames = named.map { "\($0.layer).\($0.parameter.name)" }
        stateNames = network.state.map { "\($0.layer).\($0.state.name)" }
        state = network.state.map(\.state)
        optimizer = Optimizer(kind: spec.optimizer.kind.value, parameters: named.map(\.parameter))
        optimizer.threads = network.workspace.threads
    }

    /// An activation that never decreases commutes with max pooling: pool first, and the activation runs on a
    /// quarter of the values (exactly, gradients included: the window's first maximum wins either way).
    public static func poolBeforeActivations(_ layers: inout [Layer]) {
        var i = 0
        while i + 1 < layers.count {
            if let activation = layers[i] as? ActivationLayer, activation.kind.isMonotonic,
                let pool = layers[i + 1] as? MaxPool2DLayer
            {
                layers[i] = pool
                layers[i + 1] = ActivationLayer(name: activation.name, kind: activation.kind, shape: pool.outputShape)
                i += 2
            } else {
                i += 1
            }
        }
    }

    /// A valid max pooling whose windows stop short of the last rows or columns (2x2 over 11x11 reads 10x10)
    /// never reads them, and passes back a gradient of 0 there: a convolution feeding it, directly or through
    /// elementwise activations, need not compute them. Exact: the skipped terms are all products with 0.
    public static func trimUnpooledOutputs(_ layers: [Layer]) {
        for (convolution, pooling) in convolutionsUnderPooling(layers) {
            let w = pooling.window
            guard w.padTop == 0, w.padLeft == 0 else { continue }
            convolution.usedOutput = (min(w.inputHeight, w.reach.height), min(w.inputWidth, w.reach.width))
        }
    }

    /// Each convolution whose output reaches a max pooling directly or through elementwise activations only.
    static func convolutionsUnderPooling(_ layers: [Layer]) -> [(Conv2DLayer, MaxPool2DLayer)] {
        layers.indices.compactMap { i in
            guard let convolution = layers[i] as? Conv2DLayer,
                let pooling = layers[(i + 1)...].first(where: { !($0 is ActivationLayer) }) as? MaxPool2DLayer
            else { return nil }
            return (convolution, pooling)
        }
    }

    /// A max pooling passes a gradient back to one input per window: under one whose outputs are at most a quarter
    /// of its inputs, a convolution feeding it (directly or through activations) gets an output gradient that is
    /// at least three quarters zeros, and its backward visits only the rest (the same bits).
    public static func markSparseGradients(_ layers: [Layer]) {
        for (convolution, pooling) in convolutionsUnderPooling(layers) {
            let w = pooling.window
            convolution.sparseOutputGradient = 4 * w.outputHeight * w.outputWidth <= w.inputHeight * w.inputWidth
        }
    }

    /// A first-layer convolution straight into a max pooling that tiles its output (and a relu after it, where
    /// poolBeforeActivations put it) runs as one layer that never stores the convolution's output
    /// (ConvPoolLayer); same bits, same parameter names.
    public static func fuseFirstConvolutionWithPooling(_ layers: inout [Layer]) {
        guard layers.count >= 2, let convolution = layers[0] as? Conv2DLayer, let pooling = layers[1] as? MaxPool2DLayer
        else { return }
        if layers.count >= 3, let relu = layers[2] as? ActivationLayer,
            let fused = ConvPoolLayer(convolution, pooling, relu: relu)
        {
            layers.replaceSubrange(0...2, with: [fused])
        } else if let fused = ConvPoolLayer(convolution, pooling) {
            layers.replaceSubrange(0...1, with: [fused])
        }
    }

    /// Fills every parameter from its initializer, in network order, from the seed's initialization stream.
    public func initialize(seed: UInt64) {
        var random = SplitMix64.stream(seed: seed, purpose: RandomPurpose.initialization)
        for parameter in optimizer.parameters {
            Initialization.fill(parameter.value, parameter.initializer, random: &random)
        }
        for tensor in state { tensor.value.fill(tensor.initial) }
    }

    /// What a checkpoint holds of the model: every parameter, then every state tensor, by checkpoint name.
    public var modelTensors: [(name: String, tensor: Tensor)] {
        zip(parameterNames, optimizer.parameters.map(\.value)).map { ($0, $1) }
            + zip(stateNames, state.map(\.value)).map { ($0, $1) }
    }

    /// For a model that will not train again (eval, predict): layers prepare their weights for inference once.
    public func freezeWeights() {
        for layer in network.layers { (layer as? DenseLayer)?.freezeWeights() }
    }

    /// The first parameter or state tensor holding a NaN or an infinity, by checkpoint name.
    public func firstNonFiniteTensor() -> String? {
        modelTensors.first { !$0.tensor.buffer.allSatisfy(\.isFinite) }?.name
    }

    public var schedule: Schedule { spec.optimizer.schedule?.value ?? .constant }
}

/// Independent random streams drawn from the spec's seed.
public enum RandomPurpose {
    public static let initialization: UInt64 = 1
    public static let split: UInt64 = 2
    public static let shuffle: UInt64 = 3
}
