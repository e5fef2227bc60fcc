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

    public init(
        name: String, inputs: Int, units: Int, useBias: Bool = true,
        kernelInitializer: InitializerKind = .glorotUniform, biasInitializer: InitializerKind = .zeros
    ) {
        self.name = name
        inputShape = [inputs]
        outputShape = [units]
        weight = Parameter(name: "weight", shape: [inputs, units], initializer: kernelInitializer)
        bias = useBias ? Parameter(name: "bias", shape: [units], initializer: biasInitializer) : nil
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// W packed once, for a model whose weights no longer change (`freezeWeights`): evaluating then skips the
    /// packing every product otherwise repeats, which a small batch pays for in full.
    private var frozenWeight: Tensor?

    /// Packs W for inference. Its owner calls this only once the weights are final (a loaded model, never one in
    /// training); the products give the bits `GEMM.multiply` gives.
    public func freezeWeights() {
        let (inputs, units) = (inputShape[0], outputShape[0])
        let packed = Tensor(shape: [strata_sgemm_packed_b_count(units, inputs)])
        strata_sgemm_pack_b(0, units, inputs, weight.value.pointer, units, packed.pointer)
        frozenWeight = packed
    }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let (inputs, units) = (inputShape[0], outputShape[0])
        if let frozen = frozenWeight, !context.training {
            forwardFrozen(
                output, input, packed: frozen.pointer, batch: batch, workspace: context.workspace,
                threads: context.threads)
            if let bias { BiasKernels.add(output, bias.value.pointer, rows: batch, width: units) }
            return
        }
        GEMM.multiply(
            output, ldc: units, input, lda: inputs, .none, weight.value.pointer, ldb: units, .none,
            m: batch, n: units, k: inputs, accumulate: false, workspace: context.workspace,
            threads: context.threads)
        if let bias { BiasKernels.add(output, bias.value.pointer, rows: batch, width: units) }
    }

    /// Rows of output per block of the frozen product: small enough that a thread the machine slows down
    /// leaves its share to the others, large enough to keep each packing of x worth it.
    static let frozenBlockRows = 8 * Int(STRATA_GEMM_MR)

    /// y = x·W over packed W, blocks of whole micro-tiles of rows taken in turn by the threads (rows are
    /// independent: any split, same bits).
    private func forwardFrozen(
        _ output: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, packed: UnsafePointer<Float>, batch: Int,
        workspace: GEMMWorkspace, threads: Int
    ) {
        let (inputs, units) = (inputShape[0], outputShape[0])
        let blockRows = Self.frozenBlockRows
        let blocks = (batch + blockRows - 1) / blockRows
        let tasks =
            batch * inputs * units >= 2 * GEMM.multiplyAddsPerThread ? min(threads, blocks) : 1
        let useAVX2: Int32 = CPU.hasAVX2FMA ? 1 : 0
        var nextBlock = 0
        withUnsafeMutablePointer(to: &nextBlock) { nextBlock in
            Parallel.run(tasks) { task in
                guard let packA = workspace.packA[task] else { return }
                while case let block = strata_claim(nextBlock), block < blocks {
                    let first = block * blockRows, rows = min(blockRows, batch - first)
                    strata_sgemm_prepacked(
                        useAVX2, 0, rows, units, inputs, input + first * inputs, inputs, packed, 0,
                        output + first * units, units, packA)
                }
            }
        }
    }

    /// dy packed once per step for the weight gradient's row blocks (`applyWeightGradient`); sized by `prepare`.
    private var packedOutputGradient = Tensor(shape: [0])
    private var preparedBatch = 0

    public func prepare(maxBatch: Int) {
        packedOutputGradient = Tensor(shape: [strata_sgemm_packed_b_count(outputShape[0], maxBatch)])
        preparedBatch = maxBatch
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let (inputs, units) = (inputShape[0], outputShape[0])
        // dx[batch, inputs] = dy · Wᵀ, first: a fused update below changes W.
        if let inputGradient {
            GEMM.multiply(
                inputGradient, ldc: inputs, outputGradient, lda: units, .none, weight.value.pointer, ldb: units,
                .transposed, m: batch, n: inputs, k: units, accumulate: false, workspace: context.workspace,
                threads: context.threads)
        }
        if let bias { BiasKernels.reduce(bias.gradient.pointer, outputGradient, rows: batch, width: units) }
        if let optimizer = context.optimizer, let index = optimizer.index(of: weight), batch <= preparedBatch,
            Int(STRATA_GEMM_MR) * units <= context.workspace.scratchFloats
        {
            applyWeightGradient(
                optimizer, index, input: input, outputGradient: outputGradient, batch: batch,
                workspace: context.workspace, threads: context.threads)
            optimizer.markApplied(index)
        } else {
            // dW[inputs, units] += xᵀ · dy
            GEMM.multiply(
                weight.gradient.pointer, ldc: units, input, lda: inputs, .transposed, outputGradient, ldb: units, .none,
                m: inputs, n: units, k: batch, accumulate: true, workspace: context.workspace,
                threads: context.threads)
        }
    }

    /// Floats of weight gradient per block: a block is still in cache when its update reads it, and a layer
    /// the size of fashion-mlp's first has enough blocks to share between threads.
    static let gradientBlockFloats = 12288

    /// dW = xᵀ · dy computed block of rows by block of rows, each block handed to the optimizer while it is in
    /// cache, so the weight gradient is never stored: a large layer's step otherwise writes it, reads it back and
    /// clears it, three passes through memory. Every block is summed as `GEMM.multiply` sums it (dy packed
    /// once, the same tiles and depth order). Its sums never come out as -0 (they start from +0), so writing
    /// them, rather than adding them to a cleared gradient, changes no bit of the update.
    private func applyWeightGradient(
        _ optimizer: Optimizer, _ index: Int, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
        batch: Int, workspace: GEMMWorkspace, threads: Int
    ) {
        let (inputs, units) = (inputShape[0], outputShape[0])
        let packed = packedOutputGradient.pointer
        strata_sgemm_pack_b(0, units, batch, outputGradient, units, packed)
        let tileRows = Int(STRATA_GEMM_MR)
        let blockRows = max(
            tileRows, min(Self.gradientBlockFloats, workspace.scratchFloats) / units / tileRows * tileRows)
        let blocks = (inputs + blockRows - 1) / blockRows
        let tasks = max(1, min(threads, blocks, inputs * units * batch / GEMM.multiplyAddsPerThread))
        let useAVX2: Int32 = CPU.hasAVX2FMA ? 1 : 0
        var nextBlock = 0
        withUnsafeMutablePointer(to: &nextBlock) { nextBlock in
            // One task per thread, each with its own scratch, taking blocks in turn: a block's result does not
            // depend on who computes it.
            Parallel.run(tasks) { task in
                // Each task's scratch: the block's gradient, and the packing of its rows of xᵀ.
                guard let scratch = workspace.packB[task], let packA = workspace.packA[task] else { return }
                while case let block = strata_claim(nextBlock), block < blocks {
                    let first = block * blockRows, rows = min(blockRows, inputs - first)
                    strata_sgemm_prepacked(
                        useAVX2, 1, rows, units, batch, input + first, inputs, packed, 0, scratch, units, packA)
                    optimizer.apply(index, elements: first * units..<(first + rows) * units, gradient: scratch)
                }
            }
        }
    }
}

public enum BiasKernels {
    /// y[rows, width] += b[width] on every row; large outputs are split by rows across `threads`.
    public static func add(
        _ y: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, width: Int, threads: Int = 1
    ) {
        let parts = rows * width >= Parallel.serialElements ? min(threads, rows) : 1
        Parallel.run(parts) { part in
            for r in Parallel.share(part, of: parts, rows) {
                let row = y + r * width
                for j in 0..<width { row[j] += b[j] }
            }
        }
    }

    /// db[width] += Σ_rows dy[rows, width], rows summed in order. Large inputs are split by columns, so each
    /// sum still runs over every row in order and any thread count gives the same bits.
    public static func reduce(
        _ db: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, rows: Int, width: Int, threads: Int = 1
    ) {
        let parts = rows * width >= Parallel.serialElements ? min(threads, width) : 1
        Parallel.run(parts) { part in
            // Whole 8-column groups per part where possible, so each part runs vector loops.
            let groups = (width + 7) / 8
            let first = min(width, groups * part / parts * 8), last = min(width, groups * (part + 1) / parts * 8)
            strata_bias_reduce(db, dy, rows, width, first, last)
        }
    }
}
