import CStrataKernels

/// How a convolution is computed.
public enum ConvolutionMethod: Sendable {
    /// Windows read in place by AVX2 micro-kernels (filters a multiple of 16); the default where it runs.
    case implicitGEMM
    /// An unrolled column matrix and the general GEMM; runs everywhere.
    case im2col
}

/// 2-D convolution, channels last. Shapes: x [batch, H, W, C], kernel [KH, KW, C, F] (Keras' layout), bias [F],
/// y [batch, OH, OW, F]. As a product: cols [batch·OH·OW, KH·KW·C] · kernel [KH·KW·C, F], where cols holds every
/// window; `method` says whether cols is written out (im2col) or read in place (implicit GEMM).
public final class Conv2DLayer: Layer {
    public let name: String
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let window: Window
    public let weight: Parameter
    public let bias: Parameter?
    /// Chosen at init; set before `prepare` to force one (tests compare the two).
    public var method: ConvolutionMethod { didSet { rebuild() } }
    /// The top-left rows and columns of the output that anything reads; set by the plan before `prepare` when a
    /// max pooling drops the rest. The implicit method computes only these and sets the others to 0, and takes
    /// the output gradient there to be 0 (as the pooling's gradient is).
    public var usedOutput: (height: Int, width: Int) { didSet { rebuild() } }
    /// Set by the plan when a max pooling follows: the output gradient is then nonzero at one position per pooling
    /// window at most, and the implicit method's backward visits only those values (the same bits).
    public var sparseOutputGradient = false { didSet { implicit?.useSparseGradient(sparseOutputGradient) } }
    private(set) var implicit: ImplicitConvolution?
    private var columns: UnsafeMutablePointer<Float>?
    private var capacity = 0

    /// Shape inference: nil when the input is not [H, W, C] or a valid kernel does not fit.
    public static func outputShape(
        input: [Int], filters: Int, kernel: (Int, Int), strides: (Int, Int), same: Bool
    ) -> [Int]? {
        guard input.count == 3,
            let window = Window(input: (input[0], input[1]), kernel: kernel, strides: strides, same: same)
        else { return nil }
        return [window.outputHeight, window.outputWidth, filters]
    }

    public init?(
        name: String, inputShape: [Int], filters: Int, kernel: (Int, Int), strides: (Int, Int) = (1, 1),
        same: Bool = false, useBias: Bool = true, kernelInitializer: InitializerKind = .glorotUniform,
        biasInitializer: InitializerKind = .zeros
    ) {
        guard
            let shape = Conv2DLayer.outputShape(
                input: inputShape, filters: filters, kernel: kernel, strides: strides, same: same),
            let window = Window(input: (inputShape[0], inputShape[1]), kernel: kernel, strides: strides, same: same)
        else { return nil }
        self.name = name
        self.inputShape = inputShape
        outputShape = shape
        self.window = window
        weight = Parameter(
            name: "weight", shape: [kernel.0, kernel.1, inputShape[2], filters], initializer: kernelInitializer)
        bias = useBias ? Parameter(name: "bias", shape: [filters], initializer: biasInitializer) : nil
        method = strata_conv_implicit_available(filters) != 0 ? .implicitGEMM : .im2col
        usedOutput = (shape[0], shape[1])
        rebuild()
    }

    private func rebuild() {
        implicit =
            method == .implicitGEMM
            ? ImplicitConvolution(window: window, channels: inputShape[2], filters: outputShape[2], used: usedOutput)
            : nil
        implicit?.useSparseGradient(sparseOutputGradient)
    }

    deinit { columns?.deallocate() }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    private var patch: Int { window.kernelHeight * window.kernelWidth * inputShape[2] }
    private var positions: Int { window.outputHeight * window.outputWidth }

    public func prepare(maxBatch: Int) {
        if let implicit {
            implicit.prepare(maxBatch: maxBatch)
            return
        }
        let needed = maxBatch * positions * patch
        guard needed > capacity else { return }
        columns?.deallocate()
        columns = .allocate(capacity: needed)
        capacity = needed
    }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        if let implicit {
            implicit.forward(
                output, input, weight: weight.value.pointer, bias: bias.map { UnsafePointer($0.value.pointer) },
                batch: batch, threads: context.threads)
            return
        }
        precondition(
            batch * positions * patch <= capacity, "\(name): prepare(maxBatch:) was not called for batch \(batch)")
        let columns = columns!
        let filters = outputShape[2]
        let parts = Parallel.parts(batch, threads: context.threads)
        Parallel.run(parts) { part in
            for b in Parallel.share(part, of: parts, batch) {
                Im2Col.gather(
                    columns + b * self.positions * self.patch, input + b * self.inputSize, self.window,
                    channels: self.inputShape[2])
            }
        }
        GEMM.multiply(
            output, ldc: filters, columns, lda: patch, .none, weight.value.pointer, ldb: filters, .none,
            m: batch * positions, n: filters, k: patch, accumulate: false, workspace: context.workspace,
            threads: context.threads)
        if let bias {
            BiasKernels.add(
                output, bias.value.pointer, rows: batch * positions, width: filters, threads: context.threads)
        }
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let filters = outputShape[2]
        let rows = batch * positions
        if let implicit {
            let threads = context.threads
            implicit.weightGradient(weight.gradient.pointer, input, outputGradient, batch: batch, threads: threads)
            if let bias {
                BiasKernels.reduce(bias.gradient.pointer, outputGradient, rows: rows, width: filters, threads: threads)
            }
            if let inputGradient {
                implicit.inputGradient(
                    inputGradient, outputGradient, weight: weight.value.pointer, batch: batch, threads: threads)
            }
            return
        }
        let columns = columns!
        // dKernel[patch, F] += colsᵀ · dy, using the columns forward left behind.
        GEMM.multiply(
            weight.gradient.pointer, ldc: filters, columns, lda: patch, .transposed, outputGradient, ldb: filters,
            .none,
            m: patch, n: filters, k: rows, accumulate: true, workspace: context.workspace,
            threads: context.threads)
        if let bias {
            BiasKernels.reduce(
                bias.gradient.pointer, outputGradient, rows: rows, width: filters, threads: context.threads)
        }
        guard let inputGradient else { return }
        // dcols = dy · kernelᵀ, into the same scratch (the columns are no longer needed), then scattered back.
        GEMM.multiply(
            columns, ldc: patch, outputGradient, lda: filters, .none, weight.value.pointer, ldb: filters, .transposed,
            m: rows, n: patch, k: filters, accumulate: false, workspace: context.workspace,
            threads: context.threads)
        let parts = Parallel.parts(batch, threads: context.threads)
        Parallel.run(parts) { part in
            for b in Parallel.share(part, of: parts, batch) {
                Im2Col.scatter(
                    inputGradient + b * self.inputSize, columns + b * self.positions * self.patch, self.window,
                    channels: self.inputShape[2])
            }
        }
    }
}

/// Window unrolling for one example, channels last.
public enum Im2Col {
    /// Visits every tap of every window in cols order: `body(column offset, input pixel offset or nil for padding)`,
    /// offsets in floats. Inlined, so gather and scatter stay plain loops.
    @inline(__always)
    private static func forEachTap(_ w: Window, channels c: Int, _ body: (Int, Int?) -> Void) {
        var column = 0
        for oy in 0..<w.outputHeight {
            for ox in 0..<w.outputWidth {
                for ky in 0..<w.kernelHeight {
                    let iy = oy * w.strideHeight + ky - w.padTop
                    for kx in 0..<w.kernelWidth {
                        let ix = ox * w.strideWidth + kx - w.padLeft
                        let inside = iy >= 0 && iy < w.inputHeight && ix >= 0 && ix < w.inputWidth
                        body(column, inside ? (iy * w.inputWidth + ix) * c : nil)
                        column += c
                    }
                }
            }
        }
    }

    /// cols[OH·OW, KH·KW·C] from x[H, W, C]; positions outside the input are 0.
    public static func gather(
        _ cols: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: Window, channels c: Int
    ) {
        forEachTap(w, channels: c) { column, pixel in
            let out = cols + column
            guard let pixel else {
                out.update(repeating: 0, count: c)
                return
            }
            // With few channels a memmove call per tap costs more than the copy itself.
            if c >= 8 { out.update(from: x + pixel, count: c) } else { for ch in 0..<c { out[ch] = x[pixel + ch] } }
        }
    }

    /// dx[H, W, C] = Σ of cols entries over every window position that read each input value.
    public static func scatter(
        _ dx: UnsafeMutablePointer<Float>, _ cols: UnsafePointer<Float>, _ w: Window, channels c: Int
    ) {
        dx.update(repeating: 0, count: w.inputHeight * w.inputWidth * c)
        forEachTap(w, channels: c) { column, pixel in
            guard let pixel else { return }
            let target = dx + pixel, source = cols + column
            for ch in 0..<c { target[ch] += source[ch] }
        }
    }
}
