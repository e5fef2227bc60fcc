/// Batch normalization over the last (channel) dimension, Keras' semantics. Shapes: x and y [batch, …, C];
/// gamma, beta, moving_mean, moving_variance [C]. While training each channel is normalized by the batch's own
/// mean and (biased) variance over its M = batch·positions values, and the moving statistics follow them:
/// moving ← moving·momentum + batch·(1 − momentum). When evaluating the moving statistics are used.
/// `synchronized` (Keras' SyncBatchNorm): with several processes each computing a share of the batch, the statistics
/// are the whole batch's (the sums added across processes with `StepContext.sumAcrossProcesses`), not the share's.
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
    /// Per channel: the statistics forward used (mean, 1/√(variance + ε)), then the coefficients a pass applies.
    private let mean: Tensor, inverseDeviation: Tensor
    private let coefficients: Tensor
    /// Per-part sums [parts, 2, C] in Double, added in part order: the same bits on any number of threads.
    private let partials: UnsafeMutablePointer<Double>
    private static let parts = 8
    public let synchronized: Bool
    /// The sums and the row count [2·C + 1] as all processes add them, when synchronized.
    private let shared: UnsafeMutablePointer<Double>

    public init(
        name: String, shape: [Int], momentum: Float, epsilon: Float, center: Bool = true, scale: Bool = true,
        synchronized: Bool = false
    ) {
        self.name = name
        self.synchronized = synchronized
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
        coefficients = Tensor(shape: [3, c])
        partials = .allocate(capacity: Self.parts * 2 * c)
        shared = .allocate(capacity: 2 * c + 1)
    }

    deinit {
        partials.deallocate()
        shared.deallocate()
    }

    /// The sums [2, C] over `rows` (this process's), as the whole batch's when synchronized in a group: the
    /// processes' sums added, and their rows.
    private func wholeBatch(
        _ sums: UnsafeMutablePointer<Double>, rows: Int, context: StepContext
    ) -> (sums: UnsafePointer<Double>, rows: Int) {
        guard synchronized, let sum = context.sumAcrossProcesses else { return (UnsafePointer(sums), rows) }
        let c = channels
        for j in 0..<2 * c { shared[j] = sums[j] }
        shared[2 * c] = Double(rows)
        sum(UnsafeMutableBufferPointer(start: shared, count: 2 * c + 1))
        return (UnsafePointer(shared), Int(shared[2 * c]))
    }

    public var parameters: [Parameter] { [gamma, beta].compactMap { $0 } }
    public var state: [StateTensor] { [movingMean, movingVariance] }
    private var channels: Int { inputShape.last ?? 1 }

    /// Σ a and Σ a·b over the rows of a and b [rows, C], per channel, in Double; returned in partials[0, 0…1, C].
    private func channelSums(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, threads: Int
    ) -> UnsafeMutablePointer<Double> {
        let c = channels, parts = min(Self.parts, rows)
        let tasks = rows * c >= Parallel.serialElements ? min(parts, threads) : 1
        Parallel.run(tasks) { task in
            for part in Parallel.share(task, of: tasks, parts) {
                let s1 = partials + part * 2 * c, s2 = s1 + c
                s1.update(repeating: 0, count: 2 * c)
                for row in Parallel.share(part, of: parts, rows) {
                    let x = a + row * c, y = b + row * c
                    for j in 0..<c {
                        s1[j] += Double(x[j])
                        s2[j] += Double(x[j]) * Double(y[j])
                    }
                }
            }
        }
        for part in 1..<max(parts, 1) {
            let source = partials + part * 2 * c
            for j in 0..<2 * c { partials[j] += source[j] }
        }
        return partials
    }

    /// out = x·k0 + y·k1 + k2 per channel, rows split across the pool (rows are independent).
    private func combine(
        _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, rows: Int,
        threads: Int
    ) {
        let c = channels, k0 = coefficients.pointer, k1 = k0 + c, k2 = k1 + c
        let parts = rows * c >= Parallel.serialElements ? Parallel.parts(rows, threads: threads) : 1
        Parallel.run(parts) { part in
            for row in Parallel.share(part, of: parts, rows) {
                let o = out + row * c, a = x + row * c, b = y + row * c
                for j in 0..<c { o[j] = a[j] * k0[j] + b[j] * k1[j] + k2[j] }
            }
        }
    }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let c = channels, rows = batch * inputSize / c, threads = context.threads
        if context.training {
            // Σx and Σx² in one pass; in Double, E[x²] − mean² keeps the variance's digits.
            let (sums, count) = wholeBatch(
                channelSums(input, input, rows: rows, threads: threads), rows: rows, context: context)
            for j in 0..<c {
                let m = sums[j] / Double(count)
                let variance = Float(max(sums[c + j] / Double(count) - m * m, 0))
                mean[j] = Float(m)
                inverseDeviation[j] = 1 / (variance + epsilon).squareRoot()
                movingMean.value[j] = movingMean.value[j] * momentum + mean[j] * (1 - momentum)
                movingVariance.value[j] = movingVariance.value[j] * momentum + variance * (1 - momentum)
            }
        } else {
            for j in 0..<c {
                mean[j] = movingMean.value[j]
                inverseDeviation[j] = 1 / (movingVariance.value[j] + epsilon).squareRoot()
            }
        }
        // y = γ·s·x + (β − γ·s·mean)
        for j in 0..<c {
            let a = (gamma?.value[j] ?? 1) * inverseDeviation[j]
            coefficients[j] = a
            coefficients[c + j] = 0
            coefficients[2 * c + j] = (beta?.value[j] ?? 0) - a * mean[j]
        }
        combine(output, input, input, rows: rows, threads: threads)
    }

    /// With x̂ = (x − mean)·s: dγ += Σ dy·x̂, dβ += Σ dy, and dx = γ·s/M · (M·dy − Σdy − x̂·Σ(dy·x̂)) (the batch
    /// statistics depend on x), applied as dx = k0·dy + k1·x + k2 per channel.
    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient dy: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let c = channels, rows = batch * inputSize / c
        let local = channelSums(dy, input, rows: rows, threads: context.threads)
        // γ and β take this process's sums (the group adds their gradients); dx needs the whole batch's.
        for j in 0..<c {
            let s = Double(inverseDeviation[j]), m = Double(mean[j])
            gamma?.gradient[j] += Float(s * (local[c + j] - m * local[j]))
            beta?.gradient[j] += Float(local[j])
        }
        let (sums, rowsInBatch) = wholeBatch(local, rows: rows, context: context)
        let count = Double(rowsInBatch)
        for j in 0..<c {
            let s = Double(inverseDeviation[j]), m = Double(mean[j])
            let sumDy = sums[j], sumDyXhat = s * (sums[c + j] - m * sums[j])
            let g = Double(gamma?.value[j] ?? 1)
            coefficients[j] = Float(g * s)
            coefficients[c + j] = Float(-g * s * s * sumDyXhat / count)
            coefficients[2 * c + j] = Float(g * s * (s * sumDyXhat * m - sumDy) / count)
        }
        guard let inputGradient else { return }
        combine(inputGradient, dy, input, rows: rows, threads: context.threads)
    }
}
