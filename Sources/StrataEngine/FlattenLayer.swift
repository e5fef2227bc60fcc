/// [height, width, channels] to [height·width·channels]: the same bytes, so forward and backward are copies
/// the network elides by sharing the buffer (see Network).
public final class FlattenLayer: Layer {
    public let name: String
    public let inputShape: [Int]
    public let outputShape: [Int]

    public static func outputShape(input: [Int]) -> [Int] { [input.reduce(1, *)] }

    public init(name: String, inputShape: [Int]) {
        self.name = name
        self.inputShape = inputShape
        outputShape = FlattenLayer.outputShape(input: inputShape)
    }

    public func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        if UnsafePointer(output) != input { output.update(from: input, count: batch * inputSize) }
    }

    public func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext
    ) {
        guard let inputGradient, UnsafePointer(inputGradient) != outputGradient else { return }
        inputGradient.update(from: outputGradient, count: batch * inputSize)
    }
}
