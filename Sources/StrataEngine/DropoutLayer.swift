/// Inverted dropout: while training, each value is kept with probability 1 − rate and scaled by 1/(1 − rate);
/// when evaluating it passes through. The mask is a hash of (seed, step, index), so it needs no stored state,
/// is the same whatever the thread count, and a resumed run draws the same masks.
public final class DropoutLayer: Layer {
    public let name: String
    public let rate: Float
    public let inputShape: [Int]
    public var outputShape: [Int] { inputShape }
    private let salt: UInt64

    public init(name: String, rate: Float, shape: [Int], index: Int) {
        self.name = name
        self.rate = rate
        inputShape = shape
        salt = SplitMix64.mix(UInt64(index) &+ 0xD1B5_4A32_D192_ED03)
    }

    @inline(__always)
    private func keeps(_ i: Int, base: UInt64) -> Bool {
        Float(SplitMix64.mix(base &+ UInt64(i)) >> 40) * 0x1p-24 >= rate
    }

    /// The hash base of the batch's first value: a shard's rows draw the masks they would in the whole batch.
    private func base(_ context: StepContext) -> UInt64 {
        SplitMix64.mix(context.seed ^ salt ^ SplitMix64.mix(context.step)) &+ UInt64(context.firstRow * inputSize)
    }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        let count = batch * inputSize
        guard context.training, rate > 0 else {
            if UnsafePointer(output) != input { output.update(from: input, count: count) }
            return
        }
        let scale = 1 / (1 - rate)
        let base = base(context)
        for i in 0..<count { output[i] = keeps(i, base: base) ? input[i] * scale : 0 }
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        guard let inputGradient else { return }
        let count = batch * inputSize
        guard context.training, rate > 0 else {
            inputGradient.update(from: outputGradient, count: count)
            return
        }
        let scale = 1 / (1 - rate)
        let base = base(context)
        for i in 0..<count { inputGradient[i] = keeps(i, base: base) ? outputGradient[i] * scale : 0 }
    }
}
