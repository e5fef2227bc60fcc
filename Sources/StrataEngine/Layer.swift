/// A trainable tensor and its gradient, which accumulates (+=) during a step and is zeroed once per step.
public final class Parameter: @unchecked Sendable {
    /// The name inside its layer: `weight` or `bias`.
    public let name: String
    public let value: Tensor
    public let gradient: Tensor
    public let initializer: InitializerKind

    public init(name: String, shape: [Int], initializer: InitializerKind) {
        self.name = name
        value = Tensor(shape: shape)
        gradient = Tensor(shape: shape)
        self.initializer = initializer
    }
}

/// What a layer's forward and backward may use besides its buffers.
public struct StepContext {
    public var training: Bool
    /// Distinguishes steps for stateless per-step randomness (dropout masks).
    public var step: UInt64
    public var seed: UInt64
    public var workspace: GEMMWorkspace
    /// The optimizer whose step is under way (`beginStep` called), when layers may apply its updates to their
    /// parameters themselves as each piece of a gradient is computed; nil to leave every gradient in its tensor.
    public var optimizer: Optimizer?

    public init(training: Bool, step: UInt64, seed: UInt64, workspace: GEMMWorkspace, optimizer: Optimizer? = nil) {
        self.training = training
        self.step = step
        self.seed = seed
        self.workspace = workspace
        self.optimizer = optimizer
    }
}

/// A layer of a sequential network. Shapes are per example; buffers hold `batch` examples back to back.
/// Layers size their own scratch once in `prepare(maxBatch:)`; forward and backward then allocate nothing.
public protocol Layer: AnyObject {
    var name: String { get }
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    var parameters: [Parameter] { get }

    func prepare(maxBatch: Int)

    /// output[batch, outputShape] from input[batch, inputShape].
    func forward(
        output: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, batch: Int, context: StepContext)

    /// Adds parameter gradients (+=) and, when `inputGradient` is given, overwrites it with dL/dinput.
    func backward(
        inputGradient: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>,
        input: UnsafePointer<Float>, output: UnsafePointer<Float>, batch: Int, context: StepContext)
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public func prepare(maxBatch: Int) {}
    public var inputSize: Int { inputShape.reduce(1, *) }
    public var outputSize: Int { outputShape.reduce(1, *) }
}
