/// Batch normalization over the last (channel) dimension, Keras' semantics. Shapes: x and y [batch, …, C];
/// gamma, beta, moving_mean, moving_variance [C]. While training each channel is normalized by the batch's own
/// mean and (biased) variance over its M = batch·positions values, and the moving statistics follow them:
/// moving ← moving·momentum + batch·(1 − momentum). When evaluating the moving statistics are used.
public final class BatchNormalizationLayer: Layer {
    public let name: String
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    public let momentum: Float
    public let epsilon: Float
    public let gamma: Parameter?
    public let beta: Parameter?
    public let movingMean: StateTensor
    public let movingVariance: StateTensor
    /// The batch's mean and 1/√(variance + ε) per channel, kept from forward for backward.
    private let mean: Tensor
    private let inverseDeviation: Tensor
    /// Per-part partial sums [parts, C], added in part order: the same bits on any number of threads.
    private let partials: UnsafeMutablePointer<Double>
    private let partials2: UnsafeMutablePointer<Double>
    /// The combined sums [2, C].
    private let sums: UnsafeMutablePointer<Double>
    private static let parts = 8

    public init(name: String, shape: [Int], momentum: Float, epsilon: Float, center: Bool = true, scale: Bool = true) {
        self.name = name
        inputShape = shape
        self.momentum = momentum
        self.epsilon = epsilon
        let c = shape.last ?? 1
        gamma = scale ? Parameter(name: "gamma", shape: [c], initializer: .ones) : nil
        beta = center ? Parameter(name: "beta", shape: [c], initializer: .zeros) : nil
        movingMean = StateTensor(name: "moving_mean", shape: [c], initial: 0)
        movingVariance = StateTensor(name: "moving_variance", shape: [c], initial: 1)
        mean = Tensor(shape: [c])
        inverseDeviation = Tensor(shape: [c])
        partials = .allocate(capacity: Self.parts * c)
        partials2 = .allocate(capacity: Self.parts * c)
        sums = .allocate(capacity: 2 * c)
    }

    deinit {
        partials.deallocate()
        partials2.deallocate()
        sums.deallocate()
    }

    public var parameters: [Parameter] { [gamma, beta].compactMap { $0 } }
    public var state: [StateTensor] { [movingMean, movingVariance] }
    private var channels: Int { inputShape.last ?? 1 }

    /// Σ over the rows of f(row, part's sums) into `out[C]` (and `out2`), rows cut into fixed parts.
    private func channelSums(
        rows: Int, threads: Int, _ out: UnsafeMutablePointer<Double>, _ out2: UnsafeMutablePointer<Double>?,
        _ body: (Int, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>) -> Void
    ) {
        let c = channels, parts = min(Self.parts, rows)
        partials.update(repeating: 0, count: Self.parts * c)
        partials2.update(repeating: 0, count: Self.parts * c)
        let tasks = rows * c >= Parallel.serialElements ? parts : 1
        Parallel.run(tasks) { task in
            for part in Parallel.share(task, of: tasks, parts) {
                for row in Parallel.share(part, of: parts, rows) { body(row, self.partials + part * c, self.partials2 + part * c) }
            }
        }
        for j in 0..<c {
            var sum = 0.0, sum2 = 0.0
            for part in 0..<parts {
                sum += partials[part * c + j]
                sum2 += partials2[part * c + j]
            }
            out[j] = sum
            out2?[j] = sum2
        }
    }

    public func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext) {
        let c = channels, rows = batch * inputSize / c
        if context.training {
            do {
                let total = sums, squares = sums + c
                channelSums(rows: rows, threads: context.workspace.threads, total, nil) { row, s, _ in
                    let x = input + row * c
                    for j in 0..<c { s[j] += Double(x[j]) }
                }
                for j in 0..<c { mean[j] = Float(total[j] / Double(rows)) }
                let mean = self.mean.pointer
                channelSums(rows: rows, threads: context.workspace.threads, squares, nil) { row, s, _ in
                    let x = input + row * c
                    for j in 0..<c {
                        let d = Double(x[j] - mean[j])
                        s[j] += d * d
                    }
                }
                for j in 0..<c {
                    let variance = Float(squares[j] / Double(rows))
                    inverseDeviation[j] = 1 / (variance + epsilon).squareRoot()
                    movingMean.value[j] = movingMean.value[j] * momentum + mean[j] * (1 - momentum)
                    movingVariance.value[j] = movingVariance.value[j] * momentum + variance * (1 - momentum)
                }
            }
        } else {
            for j in 0..<c {
                mean[j] = movingMean.value[j]
                inverseDeviation[j] = 1 / (movingVariance.value[j] + epsilon).squareRoot()
            }
        }
        let (m, s) = (mean.pointer, inverseDeviation.pointer)
        let g = gamma?.value.pointer, b = beta?.value.pointer
        eachRows(rows, context) { row in
            let x = input + row * c, y = output + row * c
            for j in 0..<c { y[j] = (x[j] - m[j]) * s[j] * (g?[j] ?? 1) + (b?[j] ?? 0) }
        }
    }

    /// dx = γ·s/M · (M·dy − Σdy − x̂·Σ(dy·x̂)), x̂ = (x − mean)·s; dγ += Σ dy·x̂, dβ += Σ dy (training statistics).
    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient dy: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let c = channels, rows = batch * inputSize / c
        let (m, s) = (mean.pointer, inverseDeviation.pointer)
        do {
            let sumDy = sums, sumDyXhat = sums + c
            channelSums(rows: rows, threads: context.workspace.threads, sumDy, sumDyXhat) { row, s1, s2 in
                let x = input + row * c, g = dy + row * c
                for j in 0..<c {
                    s1[j] += Double(g[j])
                    s2[j] += Double(g[j] * ((x[j] - m[j]) * s[j]))
                }
            }
            if let gamma { for j in 0..<c { gamma.gradient[j] += Float(sumDyXhat[j]) } }
            if let beta { for j in 0..<c { beta.gradient[j] += Float(sumDy[j]) } }
            guard let dx = inputGradient else { return }
            let g = gamma?.value.pointer
            let count = Float(rows)
            eachRows(rows, context) { row in
                let x = input + row * c, gy = dy + row * c, gx = dx + row * c
                for j in 0..<c {
                    let xhat = (x[j] - m[j]) * s[j]
                    let scale = (g?[j] ?? 1) * s[j] / count
                    gx[j] = scale * (count * gy[j] - Float(sumDy[j]) - xhat * Float(sumDyXhat[j]))
                }
            }
        }
    }

    /// Rows are independent: split across the pool when large.
    private func eachRows(_ rows: Int, _ context: StepContext, _ body: (Int) -> Void) {
        let parts = rows * channels >= Parallel.serialElements ? Parallel.parts(rows, threads: context.workspace.threads) : 1
        Parallel.run(parts) { part in
            for row in Parallel.share(part, of: parts, rows) { body(row) }
        }
    }
}
