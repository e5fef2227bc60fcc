/// Max pooling, channels last. Shapes: x [batch, H, W, C], y [batch, OH, OW, C]. Forward records which input
/// won each window (first maximum in scan order); backward routes the gradient there.
public final class MaxPool2DLayer: Layer {
    public let name: String
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let window: Window
    private var winners: UnsafeMutablePointer<Int32>?
    private var capacity = 0

    public static func outputShape(input: [Int], pool: (Int, Int), strides: (Int, Int), same: Bool) -> [Int]? {
        guard input.count == 3, let window = Window(input: (input[0], input[1]), kernel: pool, strides: strides, same: same)
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

    public func forward(output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext) {
        precondition(batch * outputSize <= capacity, "\(name): prepare(maxBatch:) was not called for batch \(batch)")
        let winners = winners!
        let w = window
        let c = inputShape[2]
        for b in 0..<batch {
            let x = input + b * inputSize
            let base = b * inputSize
            var o = b * outputSize
            for oy in 0..<w.outputHeight {
                for ox in 0..<w.outputWidth {
                    for ch in 0..<c {
                        var best = -Float.infinity
                        var winner = -1
                        for ky in 0..<w.kernelHeight {
                            let iy = oy * w.strideHeight + ky - w.padTop
                            guard iy >= 0 && iy < w.inputHeight else { continue }
                            for kx in 0..<w.kernelWidth {
                                let ix = ox * w.strideWidth + kx - w.padLeft
                                guard ix >= 0 && ix < w.inputWidth else { continue }
                                let index = (iy * w.inputWidth + ix) * c + ch
                                if x[index] > best || winner < 0 {
                                    best = x[index]
                                    winner = index
                                }
                            }
                        }
                        output[o] = best
                        winners[o] = Int32(base + winner)
                        o += 1
                    }
                }
            }
        }
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        guard let inputGradient, let winners else { return }
        inputGradient.update(repeating: 0, count: batch * inputSize)
        for o in 0..<batch * outputSize { inputGradient[Int(winners[o])] += outputGradient[o] }
    }
}
