import StrataEngine

/// The static plan of a checked spec: engine layers with every buffer sized for the batch size, the optimizer
/// with its slots, and the checkpoint name of every tensor. Built once; training then allocates nothing.
public final class ModelPlan: @unchecked Sendable {
    public let network: Network
    public let optimizer: Optimizer
    /// `dense_1.weight`, `dense_1.bias`, … in network order, parallel to `optimizer.parameters`.
    public let parameterNames: [String]
    public let spec: Spec

    public init(spec: Spec, batchSize: Int, threads: Int = CPU.coreCount) {
        self.spec = spec
        var layers: [Layer] = []
        var shape = spec.input.value
        func add(_ layer: Layer) {
            layers.append(layer)
            shape = layer.outputShape
        }
        func addActivation(_ activation: Located<Activation>?, name: String) {
            guard let activation, activation.value != .linear else { return }
            add(ActivationLayer(name: name, kind: ModelPlan.engine(activation.value), shape: shape))
        }
        for (index, layer) in spec.layers.enumerated() {
            let name = layer.name.value
            switch layer.kind {
            case .dense(let dense):
                // A dense layer takes flat input; the checker has made sure it is.
                add(DenseLayer(
                    name: name, inputs: shape.reduce(1, *), units: dense.units.value, useBias: dense.useBias,
                    kernelInitializer: ModelPlan.engine(dense.kernelInitializer.value),
                    biasInitializer: ModelPlan.engine(dense.biasInitializer.value)))
                addActivation(dense.activation, name: name)
            case .conv2d(let conv):
                let k = conv.kernelSize.value, s = conv.strides.value
                // The checker verified the window fits, so the initializer cannot fail here.
                add(Conv2DLayer(
                    name: name, inputShape: shape, filters: conv.filters.value, kernel: (k[0], k[1]), strides: (s[0], s[1]),
                    same: conv.padding == .same, useBias: conv.useBias,
                    kernelInitializer: ModelPlan.engine(conv.kernelInitializer.value),
                    biasInitializer: ModelPlan.engine(conv.biasInitializer.value))!)
                addActivation(conv.activation, name: name)
            case .maxPool2d(let pool):
                let p = pool.poolSize.value, s = pool.strides.value
                add(MaxPool2DLayer(name: name, inputShape: shape, pool: (p[0], p[1]), strides: (s[0], s[1]), same: pool.padding == .same)!)
            case .flatten:
                add(FlattenLayer(name: name, inputShape: shape))
            case .dropout(let rate):
                add(DropoutLayer(name: name, rate: Float(rate.value), shape: shape, index: index))
            case .activation(let activation):
                add(ActivationLayer(name: name, kind: ModelPlan.engine(activation.value), shape: shape))
            }
        }
        ModelPlan.poolBeforeActivations(&layers)
        ModelPlan.trimUnpooledOutputs(layers)
        ModelPlan.markSparseGradients(layers)
        ModelPlan.fuseFirstConvolutionWithPooling(&layers)
        network = Network(layers: layers, loss: ModelPlan.engine(spec.loss.value), maxBatch: batchSize, threads: threads)
        let named = network.parameters
        parameterNames = named.map { "\($0.layer).\($0.parameter.name)" }
        optimizer = Optimizer(kind: ModelPlan.engine(spec.optimizer.kind.value), parameters: named.map(\.parameter))
        optimizer.threads = network.workspace.threads
    }

    /// An activation that never decreases commutes with max pooling: pool first, and the activation runs on a
    /// quarter of the values (exactly, gradients included: the window's first maximum wins either way).
    public static func poolBeforeActivations(_ layers: inout [Layer]) {
        var i = 0
        while i + 1 < layers.count {
            if let activation = layers[i] as? ActivationLayer, activation.kind.isMonotonic, let pool = layers[i + 1] as? MaxPool2DLayer {
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
        if layers.count >= 3, let relu = layers[2] as? ActivationLayer, let fused = ConvPoolLayer(convolution, pooling, relu: relu) {
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
    }

    public var schedule: Schedule {
        guard let schedule = spec.optimizer.schedule?.value else { return .constant }
        switch schedule {
        case .step(let steps, let rate): return .step(decaySteps: steps, decayRate: rate)
        case .exponential(let steps, let rate): return .exponential(decaySteps: steps, decayRate: rate)
        case .cosine(let steps, let alpha): return .cosine(decaySteps: steps, alpha: alpha)
        }
    }

    static func engine(_ activation: Activation) -> ActivationKind {
        switch activation {
        case .linear: .linear
        case .relu: .relu
        case .sigmoid: .sigmoid
        case .tanh: .tanh
        case .softmax: .softmax
        case .leakyRelu(let alpha): .leakyRelu(alpha: Float(alpha))
        }
    }

    static func engine(_ initializer: Initializer) -> InitializerKind {
        switch initializer {
        case .glorotUniform: .glorotUniform
        case .heNormal: .heNormal
        case .heUniform: .heUniform
        case .zeros: .zeros
        case .ones: .ones
        case .constant(let value): .constant(Float(value))
        case .values(let values, _): .values(values.map(Float.init))
        }
    }

    static func engine(_ loss: LossKind) -> StrataEngine.LossKind {
        switch loss {
        case .mse: .mse
        case .mae: .mae
        case .binaryCrossentropy: .binaryCrossentropy
        case .categoricalCrossentropy: .categoricalCrossentropy
        case .sparseCategoricalCrossentropy: .sparseCategoricalCrossentropy
        }
    }

    static func engine(_ optimizer: OptimizerKind) -> StrataEngine.OptimizerKind {
        switch optimizer {
        case .sgd(let momentum, let nesterov, let decay):
            .sgd(momentum: Float(momentum), nesterov: nesterov, weightDecay: Float(decay))
        case .adam(let beta1, let beta2, let epsilon, let decay):
            .adam(beta1: Float(beta1), beta2: Float(beta2), epsilon: Float(epsilon), weightDecay: Float(decay))
        case .rmsprop(let rho, let momentum, let epsilon):
            .rmsprop(rho: Float(rho), momentum: Float(momentum), epsilon: Float(epsilon))
        }
    }
}

/// Independent random streams drawn from the spec's seed.
public enum RandomPurpose {
    public static let initialization: UInt64 = 1
    public static let split: UInt64 = 2
    public static let shuffle: UInt64 = 3
}
