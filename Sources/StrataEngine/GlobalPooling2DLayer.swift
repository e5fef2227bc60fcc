/// Global pooling, channels last: x [batch, H, W, C] to y [batch, C], the mean or the maximum of each channel
/// over every position (the first maximum in scan order wins, and gets the gradient).
public final class GlobalPooling2DLayer: Layer {
    public enum Reduction: Sendable { case average, maximum }

    public let name: String
    public let inputShape: [Int]
    public let outputShape: [Int]
    public let reduction: Reduction
    /// For the maximum: the winning position of each (example, channel).
    private var winners = UnsafeMutablePointer<Int32>.allocate(capacity: 1)

    public init?(name: String, inputShape: [Int], reduction: Reduction) {
        guard inputShape.count == 3 else { return nil }
        self.name = name
        self.inputShape = inputShape
        outputShape = [inputShape[2]]
        self.reduction = reduction
    }

    deinit { winners.deallocate() }

    public func prepare(maxBatch: Int) {
        winners.deallocate()
        winners = .allocate(capacity: max(1, maxBatch * outputSize))
    }

    private var positions: Int { inputShape[0] * inputShape[1] }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let c = inputShape[2], positions = positions
        let parts = Parallel.parts(batch, threads: context.threads)
        Parallel.run(parts) { part in
            for b in Parallel.share(part, of: parts, batch) {
                let x = input + b * inputSize, y = output + b * c, won = winners + b * c
                y.update(from: x, count: c)
                won.update(repeating: 0, count: c)
                for p in 1..<max(positions, 1) {
                    let v = x + p * c
                    switch reduction {
                    case .average: for k in 0..<c { y[k] += v[k] }
                    case .maximum: for k in 0..<c where v[k] > y[k] { (y[k], won[k]) = (v[k], Int32(p)) }
                    }
                }
                if reduction == .average {
                    let inverse = 1 / Float(positions)
                    for k in 0..<c { y[k] *= inverse }
                }
            }
        }
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        guard let inputGradient else { return }
        let c = inputShape[2], positions = positions
        let parts = Parallel.parts(batch, threads: context.threads)
        Parallel.run(parts) { part in
            for b in Parallel.share(part, of: parts, batch) {
                let dx = inputGradient + b * inputSize, dy = outputGradient + b * c, won = winners + b * c
                switch reduction {
                case .average:
                    let inverse = 1 / Float(positions)
                    for p in 0..<positions { for k in 0..<c { dx[p * c + k] = dy[k] * inverse } }
                case .maximum:
                    dx.update(repeating: 0, count: inputSize)
                    for k in 0..<c { dx[Int(won[k]) * c + k] = dy[k] }
                }
            }
        }
    }
}
