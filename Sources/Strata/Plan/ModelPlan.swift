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
        // An activation that never decreases commutes with max pooling: pool first, and the activation runs on
        // a quarter of the values (exactly, gradients included: the window's first maximum wins either way).
        var deferred: ActivationLayer?
        for (index, layer) in spec.layers.enumerated() {
            if let pending = deferred {
                if case .maxPool2d(let pool) = layer.kind {
                    let p = pool.poolSize.value, s = pool.strides.value
                    let engine = MaxPool2DLayer(name: layer.name.value, inputShape: shape, pool: (p[0], p[1]), strides: (s[0], s[1]), same: pool.padding == .same)!
                    layers.append(engine)
                    shape = engine.outputShape
                    layers.append(ActivationLayer(name: pending.name, kind: pending.kind, shape: shape))
                    deferred = nil
                    continue
                }
                layers.append(pending)
                deferred = nil
            }
            let name = layer.name.value
            switch layer.kind {
            case .dense(let dense):
                // A dense layer takes flat input; the checker has made sure it is.
                let engine = DenseLayer(
                    name: name, inputs: shape.reduce(1, *), units: dense.units.value, useBias: dense.useBias,
                    kernelInitializer: ModelPlan.engine(dense.kernelInitializer.value),
                    biasInitializer: ModelPlan.engine(dense.biasInitializer.value))
                layers.append(engine)
                shape = engine.outputShape
                if let activation = dense.activation, activation.value != .linear {
                    layers.append(ActivationLayer(name: name, kind: ModelPlan.engine(activation.value), shape: shape))
                }
            case .conv2d(let conv):
                let k = conv.kernelSize.value, s = conv.strides.value
                // The checker verified the window fits, so the initializer cannot fail here.
                let engine = Conv2DLayer(
                    name: name, inputShape: shape, filters: conv.filters.value, kernel: (k[0], k[1]), strides: (s[0], s[1]),
                    same: conv.padding == .same, useBias: conv.useBias,
                    kernelInitializer: ModelPlan.engine(conv.kernelInitializer.value),
                    biasInitializer: ModelPlan.engine(conv.biasInitializer.value))!
                layers.append(engine)
                shape = engine.outputShape
                if let activation = conv.activation, activation.value != .linear {
                    let kind = ModelPlan.engine(activation.value)
                    let activationLayer = ActivationLayer(name: name, kind: kind, shape: shape)
                    if kind.isMonotonic, index + 1 < spec.layers.count, case .maxPool2d = spec.layers[index + 1].kind {
                        deferred = activationLayer
                    } else {
                        layers.append(activationLayer)
                    }
                }
            case .maxPool2d(let pool):
                let p = pool.poolSize.value, s = pool.strides.value
                let engine = MaxPool2DLayer(name: name, inputShape: shape, pool: (p[0], p[1]), strides: (s[0], s[1]), same: pool.padding == .same)!
                layers.append(engine)
                shape = engine.outputShape
            case .flatten:
                let engine = FlattenLayer(name: name, inputShape: shape)
                layers.append(engine)
                shape = engine.outputShape
            case .dropout(let rate):
                layers.append(DropoutLayer(name: name, rate: Float(rate.value), shape: shape, index: index))
            case .activation(let activation):
                layers.append(ActivationLayer(name: name, kind: ModelPlan.engine(activation.value), shape: shape))
            }
        }
        if let pending = deferred { layers.append(pending) }
        network = Network(layers: layers, loss: ModelPlan.engine(spec.loss.value), maxBatch: batchSize, threads: threads)
        let named = network.parameters
        parameterNames = named.map { "\($0.layer).\($0.parameter.name)" }
        optimizer = Optimizer(kind: ModelPlan.engine(spec.optimizer.kind.value), parameters: named.map(\.parameter))
        optimizer.threads = network.workspace.threads
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
