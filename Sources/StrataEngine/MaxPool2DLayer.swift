import CStrataKernels

/// Max pooling, channels last. Shapes: x [batch, H, W, C], y [batch, OH, OW, C]. Forward takes the maximum of
/// each window a whole channel vector at a time and records which input won (the first maximum in scan
/// order); backward routes each gradient there.
public final class MaxPool2DLayer: Layer {
    public let name: String
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let window: Window
    /// For each output of the batch, the index of its winning input within its example.
    private(set) var winners: UnsafeMutablePointer<Int32>?
    private var capacity = 0

    public static func outputShape(input: [Int], pool: (Int, Int), strides: (Int, Int), same: Bool) -> [Int]? {
        guard input.count == 3,
            let window = Window(input: (input[0], input[1]), kernel: pool, strides: strides, same: same)
        else { return nil }
        return [window.outputHeight, window.outputWidth, input[2]]
    }

    public init?(name: String, inputShape: [Int], pool: (Int, Int), strides: (Int, Int), same: Bool = false) {
        guard let shape = MaxPool2DLayer.outputShape(input: inputShape, pool: pool, strides: strides, same: same),
            let window = Window(input: (inputShape[0], inputShape[1]), kernel: pool, strides: strides, same: same)
        else { return nil }
        self.name = name
        self.inputShape = inputShape
        outputShape = shape
        self.window = window
    }

    deinit { winners?.deallocate() }

    public func prepare(maxBatch: Int) {
        let needed = maxBatch * outputSize
        guard needed > capacity else { return }
        winners?.deallocate()
        winners = .allocate(capacity: needed)
        capacity = needed
    }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        precondition(batch * outputSize <= capacity, "\(name): prepare(maxBatch:) was not called for batch \(batch)")
        let winners = winners!
        let c = inputShape[2]
        let parts = Parallel.parts(batch, threads: context.threads)
        Parallel.run(parts) { part in
            for b in Parallel.share(part, of: parts, batch) {
                let x = input + b * self.inputSize
                let y = output + b * self.outputSize
                let won = winners + b * self.outputSize
                self.poolExample(y, won, x, channels: c)
            }
        }
    }

    /// One example's windows, in C where `restrict` lets the channel loops vectorize.
    private func poolExample(
        _ output: UnsafeMutablePointer<Float>, _ winners: UnsafeMutablePointer<Int32>, _ x: UnsafePointer<Float>,
        channels c: Int
    ) {
        let w = window
        strata_maxpool_forward(
            output, winners, x, w.inputHeight, w.inputWidth, c, w.kernelHeight, w.kernelWidth, w.strideHeight,
            w.strideWidth,
            w.padTop, w.padLeft, w.outputHeight, w.outputWidth)
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        guard let inputGradient, let winners else { return }
        let w = window
        let tiled = w.tilesInput
        let parts = Parallel.parts(batch, threads: context.threads)
        Parallel.run(parts) { part in
            for b in Parallel.share(part, of: parts, batch) {
                let dx = inputGradient + b * self.inputSize
                if tiled {
                    strata_maxpool_tiled_backward(
                        dx, outputGradient + b * self.outputSize, winners + b * self.outputSize, w.inputHeight,
                        w.inputWidth,
                        self.inputShape[2], w.kernelHeight, w.kernelWidth, w.outputHeight, w.outputWidth)
                    continue
                }
                dx.update(repeating: 0, count: self.inputSize)
                let first = b * self.outputSize
                for o in first..<first + self.outputSize { dx[Int(winners[o])] += outputGradient[o] }
            }
        }
    }
}
