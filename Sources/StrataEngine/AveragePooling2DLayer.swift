/// Average pooling, channels last. Shapes: x [batch, H, W, C], y [batch, OH, OW, C]. Each output is the mean of
/// its window's inputs inside the image: with same padding the padded positions are not counted (Keras' rule).
public final class AveragePooling2DLayer: Layer {
    public let name: String
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let window: Window

    public init?(name: String, inputShape: [Int], pool: (Int, Int), strides: (Int, Int), same: Bool = false) {
        guard inputShape.count == 3,
            let window = Window(input: (inputShape[0], inputShape[1]), kernel: pool, strides: strides, same: same)
        else { return nil }
        self.name = name
        self.inputShape = inputShape
        outputShape = [window.outputHeight, window.outputWidth, inputShape[2]]
        self.window = window
    }

    /// The input rows and columns of output (i, j)'s window that lie inside the image.
    private func span(_ i: Int, _ j: Int) -> (rows: Range<Int>, columns: Range<Int>) {
        let w = window
        let top = i * w.strideHeight - w.padTop, left = j * w.strideWidth - w.padLeft
        return (
            max(top, 0)..<min(top + w.kernelHeight, w.inputHeight),
            max(left, 0)..<min(left + w.kernelWidth, w.inputWidth)
        )
    }

    private func eachExample(_ batch: Int, _ context: StepContext, _ body: (Int) -> Void) {
        let parts = Parallel.parts(batch, threads: context.threads)
        Parallel.run(parts) { part in
            for b in Parallel.share(part, of: parts, batch) { body(b) }
        }
    }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let (width, c) = (inputShape[1], inputShape[2])
        eachExample(batch, context) { b in
            let x = input + b * inputSize
            var y = output + b * outputSize
            for i in 0..<window.outputHeight {
                for j in 0..<window.outputWidth {
                    let (rows, columns) = span(i, j)
                    y.update(repeating: 0, count: c)
                    for r in rows {
                        for s in columns {
                            let v = x + (r * width + s) * c
                            for k in 0..<c { y[k] += v[k] }
                        }
                    }
                    let inverse = 1 / Float(rows.count * columns.count)
                    for k in 0..<c { y[k] *= inverse }
                    y += c
                }
            }
        }
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        guard let inputGradient else { return }
        let (width, c) = (inputShape[1], inputShape[2])
        eachExample(batch, context) { b in
            let dx = inputGradient + b * inputSize
            dx.update(repeating: 0, count: inputSize)
            var dy = outputGradient + b * outputSize
            for i in 0..<window.outputHeight {
                for j in 0..<window.outputWidth {
                    let (rows, columns) = span(i, j)
                    let inverse = 1 / Float(rows.count * columns.count)
                    for r in rows {
                        for s in columns {
                            let g = dx + (r * width + s) * c
                            for k in 0..<c { g[k] += dy[k] * inverse }
                        }
                    }
                    dy += c
                }
            }
        }
    }
}
