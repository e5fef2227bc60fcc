import CStrataKernels

/// Fully connected: y = x·W + b. Shapes: x [batch, inputs], W [inputs, units] (Keras' layout), b [units],
/// y [batch, units]. The activation, if any, runs as a separate ActivationLayer after it.
public final class DenseLayer: Layer {
    public let name: String
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let weight: Parameter
    public let bias: Parameter?

    /// Shape inference: a dense layer takes a flat input.
    public static func outputShape(input: [Int], units: Int) -> [Int]? {
        input.count == 1 ? [units] : nil
    }

    public init(name: String, inputs: Int, units: Int, useBias: Bool = true,
                kernelInitializer: InitializerKind = .glorotUniform, biasInitializer: InitializerKind = .zeros) {
        self.name = name
        inputShape = [inputs]
        outputShape = [units]
        weight = Parameter(name: "weight", shape: [inputs, units], initializer: kernelInitializer)
        bias = useBias ? Parameter(name: "bias", shape: [units], initializer: biasInitializer) : nil
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    public func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext) {
        let (inputs, units) = (inputShape[0], outputShape[0])
        GEMM.multiply(
            output, ldc: units, input, lda: inputs, .none, weight.value.pointer, ldb: units, .none,
            m: batch, n: units, k: inputs, accumulate: false, workspace: context.workspace)
        if let bias { BiasKernels.add(output, bias.value.pointer, rows: batch, width: units) }
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let (inputs, units) = (inputShape[0], outputShape[0])
        // dW[inputs, units] += xᵀ · dy
        GEMM.multiply(
            weight.gradient.pointer, ldc: units, input, lda: inputs, .transposed, outputGradient, ldb: units, .none,
            m: inputs, n: units, k: batch, accumulate: true, workspace: context.workspace)
        if let bias { BiasKernels.reduce(bias.gradient.pointer, outputGradient, rows: batch, width: units) }
        // dx[batch, inputs] = dy · Wᵀ
        if let inputGradient {
            GEMM.multiply(
                inputGradient, ldc: inputs, outputGradient, lda: units, .none, weight.value.pointer, ldb: units,
                .transposed, m: batch, n: inputs, k: units, accumulate: false, workspace: context.workspace)
        }
    }
}

public enum BiasKernels {
    /// Below this many values a second thread costs more than it saves.
    static let parallelThreshold = 1 << 16

    /// y[rows, width] += b[width] on every row; large outputs are split by rows across `threads`.
    public static func add(_ y: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, width: Int, threads: Int = 1) {
        let parts = rows * width >= parallelThreshold ? min(threads, rows) : 1
        Parallel.run(parts) { part in
            for r in Parallel.share(part, of: parts, rows) {
                let row = y + r * width
                for j in 0..<width { row[j] += b[j] }
            }
        }
    }

    /// db[width] += Σ_rows dy[rows, width], rows summed in order. Large inputs are split by columns, so each
    /// sum still runs over every row in order and any thread count gives the same bits.
    public static func reduce(_ db: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, rows: Int, width: Int, threads: Int = 1) {
        let parts = rows * width >= parallelThreshold ? min(threads, width) : 1
        Parallel.run(parts) { part in
            // Whole 8-column groups per part where possible, so each part runs vector loops.
            let groups = (width + 7) / 8
            let first = min(width, groups * part / parts * 8), last = min(width, groups * (part + 1) / parts * 8)
            strata_bias_reduce(db, dy, rows, width, first, last)
        }
    }
}
