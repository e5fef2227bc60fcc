import CStrataKernels

/// A sequential network with every buffer sized once for `maxBatch`: activations, their gradients, and each
/// layer's scratch. A training step (`forward`, `loss`, `backward`, the optimizer's update, which clears the
/// gradients for the next step) allocates nothing.
///
/// When the loss is a cross-entropy and the last layer is its matching activation (softmax, or sigmoid for
/// binary_crossentropy), the two are fused: the loss is computed from the logits and backward starts below the
/// activation with the gradient p − y.
public final class Network: @unchecked Sendable {
    public let layers: [Layer]
    public let loss: LossKind
    public let maxBatch: Int
    /// activations[0] is the input batch; activations[i + 1] is layer i's output. Flatten shares its input's buffer.
    public let activations: [Tensor]
    /// gradients[i] is dL/d(activations[i]); the input's is not needed.
    public let gradients: [Tensor?]
    public let workspace: GEMMWorkspace
    public let targets: Tensor
    /// Whether the last layer's activation is fused into the loss.
    public let fused: Bool

    public init(layers: [Layer], loss: LossKind, maxBatch: Int, threads: Int = CPU.coreCount) {
        precondition(!layers.isEmpty && maxBatch > 0)
        CPU.flushDenormals()
        self.layers = layers
        self.loss = loss
        self.maxBatch = maxBatch
        workspace = GEMMWorkspace(threads: max(1, threads))
        var activations = [Tensor(shape: [maxBatch] + layers[0].inputShape)]
        var gradients: [Tensor?] = [nil]
        for layer in layers {
            layer.prepare(maxBatch: maxBatch)
            if layer is FlattenLayer {
                activations.append(activations.last!)
                gradients.append(gradients.last!)
            } else {
                activations.append(Tensor(shape: [maxBatch] + layer.outputShape))
                gradients.append(Tensor(shape: [maxBatch] + layer.outputShape))
            }
        }
        // A flatten right after the input shares the input, which has no gradient buffer; give it one.
        for i in 1..<gradients.count where gradients[i] == nil {
            gradients[i] = Tensor(shape: [maxBatch] + layers[i - 1].outputShape)
        }
        self.activations = activations
        self.gradients = gradients
        let outputWidth = layers.last!.outputSize
        targets = Tensor(shape: [maxBatch, loss.targetWidth(outputWidth: outputWidth)])
        if layers.count >= 2, let last = layers.last as? ActivationLayer {
            switch (loss, last.kind) {
            case (.categoricalCrossentropy, .softmax), (.sparseCategoricalCrossentropy, .softmax), (.binaryCrossentropy, .sigmoid):
                fused = true
            default:
                fused = false
            }
        } else {
            fused = false
        }
    }

    public var input: Tensor { activations[0] }
    public var output: Tensor { activations[activations.count - 1] }
    public var outputWidth: Int { layers.last!.outputSize }
    public var targetWidth: Int { targets.shape[1] }

    /// Every trainable parameter with its layer's name, in layer order.
    public var parameters: [(layer: String, parameter: Parameter)] {
        layers.flatMap { layer in layer.parameters.map { (layer.name, $0) } }
    }

    public func zeroGradients() {
        for layer in layers { for parameter in layer.parameters { parameter.gradient.fill(0) } }
    }

    /// Runs every layer on the first `batch` rows of `input`.
    public func forward(batch: Int, context: StepContext) {
        precondition(batch <= maxBatch)
        for (i, layer) in layers.enumerated() {
            layer.forward(output: activations[i + 1].pointer, input: activations[i].pointer, batch: batch, context: context)
        }
    }

    /// The summed loss of the batch against `targets`; with `gradient`, also writes dL/d(output) (or d/d(logits)
    /// when fused) for backward.
    public func computeLoss(batch: Int, gradient: Bool) -> Double {
        let width = outputWidth
        let n = layers.count
        let output = activations[n].pointer, y = targets.pointer
        if fused {
            let logits = activations[n - 1].pointer
            let g = gradient ? gradients[n - 1]!.pointer : nil
            switch loss {
            case .sparseCategoricalCrossentropy:
                return Losses.sparseSoftmaxCrossEntropy(gradient: g, logits: logits, probabilities: output, targets: y, batch: batch, classes: width)
            case .binaryCrossentropy:
                return Losses.sigmoidBinaryCrossEntropy(gradient: g, logits: logits, probabilities: output, targets: y, batch: batch, width: width)
            default:
                return Losses.softmaxCrossEntropy(gradient: g, logits: logits, probabilities: output, targets: y, batch: batch, classes: width)
            }
        }
        let g = gradient ? gradients[n]!.pointer : nil
        switch loss {
        case .mse: return Losses.meanSquaredError(gradient: g, predictions: output, targets: y, batch: batch, width: width)
        case .mae: return Losses.meanAbsoluteError(gradient: g, predictions: output, targets: y, batch: batch, width: width)
        case .categoricalCrossentropy, .binaryCrossentropy:
            return Losses.crossEntropy(gradient: g, probabilities: output, targets: y, batch: batch, classes: width)
        case .sparseCategoricalCrossentropy:
            precondition(false, "sparse_categorical_crossentropy needs a softmax output layer")
            return .nan
        }
    }

    /// Backward through every layer from the loss gradient; parameter gradients accumulate.
    public func backward(batch: Int, context: StepContext) {
        let top = fused ? layers.count - 2 : layers.count - 1
        guard top >= 0 else { return }
        for i in stride(from: top, through: 0, by: -1) {
            let inputGradient = i == 0 ? nil : gradients[i]!.pointer
            layers[i].backward(
                inputGradient: inputGradient, outputGradient: gradients[i + 1]!.pointer, input: activations[i].pointer,
                output: activations[i + 1].pointer, batch: batch, context: context)
        }
    }

    /// The first layer whose output holds a NaN or infinity in the first `batch` rows, for diagnosing divergence.
    public func firstNonFiniteLayer(batch: Int) -> String? {
        for (i, layer) in layers.enumerated() {
            let a = activations[i + 1]
            let count = batch * layer.outputSize
            for j in 0..<count where !a.pointer[j].isFinite { return layer.name }
        }
        return nil
    }
}

extension Network {
    /// Copies examples into the input and target buffers: row r of the batch is example `order[start + r]` (or
    /// `start + r` without an order) of `features` [examples, inputs] and `targets` [examples, targetWidth].
    /// Shuffled rows of a large set come from memory: the rows are split across the pool, and the next batch's
    /// rows (up to `total` examples) are asked for ahead, to arrive while this batch computes.
    public func loadBatch(
        features: UnsafePointer<Float>, targets: UnsafePointer<Float>, order: UnsafePointer<Int>?, start: Int, count: Int,
        total: Int
    ) {
        let f = input.count / maxBatch, t = targetWidth
        let parts = count * f >= 1 << 12 ? min(workspace.threads, count) : 1
        Parallel.run(parts) { part in
            let rows = Parallel.share(part, of: parts, count)
            for row in rows {
                let example = order.map { $0[start + row] } ?? start + row
                (self.input.pointer + row * f).update(from: features + example * f, count: f)
                for j in 0..<t { self.targets.pointer[row * t + j] = targets[example * t + j] }
            }
            // Each part asks for its share of the next batch's rows, so no thread waits while one does it all.
            guard let order else { return }
            let next = start + count
            for position in min(next + rows.lowerBound, total)..<min(next + rows.upperBound, total) {
                strata_prefetch(features + order[position] * f, f * MemoryLayout<Float>.stride)
            }
        }
    }
}
