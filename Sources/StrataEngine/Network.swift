import CStrataKernels

/// A sequential network with every buffer sized once for `maxBatch`: activations, their gradients, and each
/// layer's scratch. A training step (`forward`, `computeLoss`, `backward` and the optimizer's update, which clears
/// the gradients for the next step; or `trainingStep`, which overlaps them with gathering the next batch)
/// allocates nothing.
///
/// When the loss is a cross-entropy and the last layer is its matching activation (softmax, or sigmoid for
/// binary_crossentropy), the two are fused: the loss is computed from the logits and backward starts below the
/// activation with the gradient p − y.
public final class Network: @unchecked Sendable {
    public let layers: [Layer]
    public let loss: LossKind
    public let maxBatch: Int
    /// activations[0] is the input batch; activations[i + 1] is layer i's output. Flatten shares its input's buffer.
    public private(set) var activations: [Tensor]
    /// gradients[i] is dL/d(activations[i]); the input's is not needed.
    public let gradients: [Tensor?]
    public let workspace: GEMMWorkspace
    public private(set) var targets: Tensor
    /// A second input and target buffer: the next batch is gathered into them while this one computes
    /// (`loadSpareRows`, then `useSpareBatch`).
    private var spareInput: Tensor
    private var spareTargets: Tensor
    /// Where the light tail begins (see `trainingStep`).
    public let tailStart: Int
    /// Whether the last layer's activation is fused into the loss: always for a cross-entropy.
    public let fused: Bool
    /// The parameters with a regularizer, listed once so the step's penalty allocates nothing.
    private let regularized: [Parameter]

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
        spareInput = Tensor(shape: activations[0].shape)
        spareTargets = Tensor(shape: targets.shape)
        tailStart = Network.tailStart(layers, maxBatch: maxBatch)
        regularized = layers.flatMap(\.parameters).filter { $0.regularizer != nil }
        if let needed = loss.outputActivation {
            // The checker refuses any other ending (it asks the same `outputActivation`).
            precondition(
                layers.count >= 2 && (layers.last as? ActivationLayer)?.kind == needed,
                "\(loss.rawValue) needs the network to end in \(needed.name)")
            fused = true
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

    /// Every non-trainable state tensor with its layer's name, in layer order.
    public var state: [(layer: String, state: StateTensor)] {
        layers.flatMap { layer in layer.state.map { (layer.name, $0) } }
    }

    /// The regularizers' penalty on the current weights (Keras adds it to each batch's loss), in layer order.
    public func regularizationPenalty() -> Double {
        var total = 0.0
        for parameter in regularized {
            guard let regularizer = parameter.regularizer else { continue }
            total += regularizer.penalty(parameter.value.pointer, count: parameter.value.count)
        }
        return total
    }

    public func zeroGradients() {
        for layer in layers { for parameter in layer.parameters { parameter.gradient.fill(0) } }
    }

    /// Runs every layer on the first `batch` rows of `input`.
    public func forward(batch: Int, context: StepContext) {
        forward(batch: batch, context: context, layers: layers.indices)
    }

    private func forward(batch: Int, context: StepContext, layers range: Range<Int>) {
        precondition(batch <= maxBatch)
        for i in range {
            layers[i].forward(
                output: activations[i + 1].pointer, input: activations[i].pointer, batch: batch, context: context)
        }
    }

    /// The summed loss of the batch against `targets`; with `gradient`, also writes dL/d(output) (or d/d(logits)
    /// when fused) for backward: of the batch's mean, or with `meanOver` of the mean over that many rows (the batch
    /// is one process's shard of them).
    public func computeLoss(batch: Int, gradient: Bool, meanOver: Int? = nil) -> Double {
        let width = outputWidth
        let n = layers.count
        let output = activations[n].pointer, y = targets.pointer
        if fused {
            let logits = activations[n - 1].pointer
            let g = gradient ? gradients[n - 1]!.pointer : nil
            switch loss {
            case .sparseCategoricalCrossentropy:
                return Losses.sparseSoftmaxCrossEntropy(
                    gradient: g, logits: logits, probabilities: output, targets: y, batch: batch, classes: width,
                    meanOver: meanOver)
            case .binaryCrossentropy:
                return Losses.sigmoidBinaryCrossEntropy(
                    gradient: g, logits: logits, probabilities: output, targets: y, batch: batch, width: width,
                    meanOver: meanOver)
            case .categoricalCrossentropy:
                return Losses.softmaxCrossEntropy(
                    gradient: g, logits: logits, probabilities: output, targets: y, batch: batch, classes: width,
                    meanOver: meanOver)
            case .mse, .mae:
                preconditionFailure("\(loss.rawValue) is never fused")
            }
        }
        let g = gradient ? gradients[n]!.pointer : nil
        switch loss {
        case .mse:
            return Losses.meanSquaredError(
                gradient: g, predictions: output, targets: y, batch: batch, width: width, meanOver: meanOver)
        case .mae:
            return Losses.meanAbsoluteError(
                gradient: g, predictions: output, targets: y, batch: batch, width: width, meanOver: meanOver)
        case .categoricalCrossentropy, .binaryCrossentropy, .sparseCategoricalCrossentropy:
            preconditionFailure("a cross-entropy is always fused")
        }
    }

    /// Backward through every layer from the loss gradient; parameter gradients accumulate.
    public func backward(batch: Int, context: StepContext) {
        backward(batch: batch, context: context, layers: 0..<layers.count)
    }

    /// Backward through the layers of `range`, from its top down; those below the fused activation only.
    private func backward(batch: Int, context: StepContext, layers range: Range<Int>) {
        let top = min(range.upperBound, fused ? layers.count - 1 : layers.count) - 1
        guard top >= range.lowerBound else { return }
        for i in stride(from: top, through: range.lowerBound, by: -1) {
            let inputGradient = i == 0 ? nil : gradients[i]!.pointer
            layers[i].backward(
                inputGradient: inputGradient, outputGradient: gradients[i + 1]!.pointer, input: activations[i].pointer,
                output: activations[i + 1].pointer, batch: batch, context: context)
        }
    }

    /// One training step: forward, loss, and — when `begin(loss)` returns the optimizer, its step begun — backward,
    /// during which layers may apply the optimizer's updates. The light tail (the layers from `tailStart` on, the
    /// loss and their backward) runs on one thread and would leave the others idle, so they run `alongside`'s
    /// parts meanwhile (the trainer gathers the next batch in them), and the tail's thread joins in when done.
    /// Returns the loss; the caller finishes the step.
    public func trainingStep(
        batch: Int, context: StepContext, alongside parts: Int, _ alongside: (Int) -> Void,
        begin: (Double) -> Optimizer?
    ) -> Double {
        forward(batch: batch, context: context, layers: 0..<tailStart)
        var context = context
        var loss = Double.nan
        var proceed = false
        Parallel.alongside(
            threads: context.threads,
            {
                forward(batch: batch, context: context, layers: tailStart..<layers.count)
                loss = computeLoss(batch: batch, gradient: true)
                guard let optimizer = begin(loss) else { return }
                context.optimizer = optimizer
                proceed = true
                backward(batch: batch, context: context, layers: tailStart..<layers.count)
            }, parts: parts, alongside)
        if proceed { backward(batch: batch, context: context, layers: 0..<tailStart) }
        return loss
    }

    /// Where the light tail begins: every layer from there on does less work than one thread's share of a
    /// parallel region (a small dense layer, an elementwise pass over few values, a flatten).
    static func tailStart(_ layers: [Layer], maxBatch: Int) -> Int {
        func isLight(_ layer: Layer) -> Bool {
            switch layer {
            case let dense as DenseLayer:
                return dense.inputSize * dense.outputSize * maxBatch < GEMM.multiplyAddsPerThread
            case is FlattenLayer: return true
            case is ActivationLayer, is DropoutLayer: return layer.outputSize * maxBatch < Parallel.serialElements
            default: return false
            }
        }
        var start = layers.count
        while start > 0, isLight(layers[start - 1]) { start -= 1 }
        return start
    }

    /// Makes the batch gathered into the spare buffers the current one; the current buffers become the spare.
    public func useSpareBatch() {
        let input = activations[0]
        // A flatten right after the input shares its buffer.
        for i in activations.indices where activations[i] === input { activations[i] = spareInput }
        spareInput = input
        swap(&targets, &spareTargets)
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
        features: UnsafePointer<Float>, targets: UnsafePointer<Float>, order: UnsafePointer<Int>?, start: Int,
        count: Int,
        total: Int
    ) {
        let f = input.count / maxBatch
        let parts = count * f >= 1 << 12 ? min(workspace.threads, count) : 1
        Parallel.run(parts) { part in
            let rows = Parallel.share(part, of: parts, count)
            copyRows(rows, into: input, self.targets, features: features, targets: targets, order: order, start: start)
            // Each part asks for its share of the next batch's rows, so no thread waits while one does it all.
            guard let order else { return }
            let next = start + count
            for position in min(next + rows.lowerBound, total)..<min(next + rows.upperBound, total) {
                strata_prefetch(features + order[position] * f, f * MemoryLayout<Float>.stride)
            }
        }
    }

    /// As `loadBatch` for part `part` of `parts` of the rows, into the spare buffers (for `useSpareBatch`): a part
    /// of the next batch, gathered while this one computes.
    public func loadSpareRows(
        part: Int, of parts: Int, features: UnsafePointer<Float>, targets: UnsafePointer<Float>,
        order: UnsafePointer<Int>?,
        start: Int, count: Int
    ) {
        copyRows(
            Parallel.share(part, of: parts, count), into: spareInput, spareTargets, features: features,
            targets: targets,
            order: order, start: start)
    }

    private func copyRows(
        _ rows: Range<Int>, into inputs: Tensor, _ targetRows: Tensor, features: UnsafePointer<Float>,
        targets: UnsafePointer<Float>, order: UnsafePointer<Int>?, start: Int
    ) {
        let f = input.count / maxBatch, t = targetWidth
        for row in rows {
            let example = order.map { $0[start + row] } ?? start + row
            (inputs.pointer + row * f).update(from: features + example * f, count: f)
            for j in 0..<t { targetRows.pointer[row * t + j] = targets[example * t + j] }
        }
    }
}
