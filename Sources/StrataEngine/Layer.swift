import CStrataKernels

/// A trainable tensor and its gradient, which accumulates (+=) during a step and is zeroed once per step.
public final class Parameter: @unchecked Sendable {
    /// The name inside its layer: `weight` or `bias`.
    public let name: String
    public let value: Tensor
    public let gradient: Tensor
    public let initializer: InitializerKind
    /// A penalty on the values added to the loss, whose gradient the optimizer adds to this one's.
    public var regularizer: Regularizer?

    public init(name: String, shape: [Int], initializer: InitializerKind, regularizer: Regularizer? = nil) {
        self.name = name
        value = Tensor(shape: shape)
        gradient = Tensor(shape: shape)
        self.initializer = initializer
        self.regularizer = regularizer
    }
}

/// Keras' weight penalties: l1·Σ|w| + l2·Σw², added to the loss of every batch.
public struct Regularizer: Sendable, Equatable {
    public var l1: Float
    public var l2: Float

    public init(l1: Float = 0, l2: Float = 0) {
        self.l1 = l1
        self.l2 = l2
    }

    /// The penalty of `w[count]`, summed in order in Double.
    public func penalty(_ w: UnsafePointer<Float>, count: Int) -> Double {
        var absolute = 0.0, squares = 0.0
        for i in 0..<count {
            absolute += Double(abs(w[i]))
            squares += Double(w[i] * w[i])
        }
        return Double(l1) * absolute + Double(l2) * squares
    }

    /// g += l1·sign(w) + 2·l2·w, elementwise.
    public func addGradient(_ g: UnsafeMutablePointer<Float>, weights w: UnsafePointer<Float>, count: Int) {
        if l1 > 0 { for i in 0..<count { g[i] += w[i] > 0 ? l1 : w[i] < 0 ? -l1 : 0 } }
        if l2 > 0 { for i in 0..<count { g[i] += 2 * l2 * w[i] } }
    }
}

/// A tensor a layer keeps that training does not differentiate (a batch normalization's moving statistics):
/// saved in checkpoints beside the parameters, restored on resume, reset to `initial` on initialization.
public final class StateTensor: @unchecked Sendable {
    public let name: String
    public let value: Tensor
    public let initial: Float

    public init(name: String, shape: [Int], initial: Float) {
        self.name = name
        value = Tensor(shape: shape, value: initial)
        self.initial = initial
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
    /// Where this batch's first row stands in the whole batch when it is one process's shard of it, so per-row
    /// randomness (dropout masks) is the same however the batch is split.
    public var firstRow = 0
    /// Sums values across the processes training together, in place (nil for one process alone): what a layer
    /// that computes over the whole batch of all of them calls (synchronized batch normalization).
    public var sumAcrossProcesses: ((UnsafeMutableBufferPointer<Double>) -> Void)?
    /// The threads layers cut this step's work for: the workspace's, or one while the pool runs its regions alone
    /// (another program keeps the workers late) or when `timedStep` runs the step alone, so that the step is one
    /// thread's work rather than the parts of two run in turn. Any count gives the same bits.
    public var threads: Int

    public init(training: Bool, step: UInt64, seed: UInt64, workspace: GEMMWorkspace, optimizer: Optimizer? = nil) {
        self.training = training
        self.step = step
        self.seed = seed
        self.workspace = workspace
        self.optimizer = optimizer
        threads = workspace.threads > 1 && Parallel.runningAlone ? 1 : workspace.threads
    }

    /// Runs `step`, one step over `rows` rows of this context's kind (training or inference), given this context
    /// or, when the pool finds that steps run faster on one thread than on the workers lately (it times both ways
    /// now and then), one cut for one thread. Any count gives the same bits.
    public func timedStep<Result>(rows: Int, _ step: (StepContext) throws -> Result) rethrows -> Result {
        guard workspace.threads > 1 else { return try step(self) }
        var context = self
        if strata_pool_step_begins(training ? 1 : 0) != 0 { context.threads = 1 }
        defer { strata_pool_step_ends(training ? 1 : 0, rows) }
        return try step(context)
    }

    /// The steps of a kind (training or inference) this thread has run through `timedStep` with more than one
    /// thread, and how many of them the pool ran alone; a run's share is the difference over it.
    public static func timedSteps(training: Bool) -> (all: Int, alone: Int) {
        var begun = 0, alone = 0
        strata_pool_steps_counted(training ? 1 : 0, &begun, &alone)
        return (begun, alone)
    }
}

/// A layer of a sequential network. Shapes are per example; buffers hold `batch` examples back to back.
/// Layers size their own scratch once in `prepare(maxBatch:)`; forward and backward then allocate nothing.
public protocol Layer: AnyObject {
    var name: String { get }
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    var parameters: [Parameter] { get }
    /// Non-trainable state, updated by forward while training.
    var state: [StateTensor] { get }

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
    public var state: [StateTensor] { [] }
    public func prepare(maxBatch: Int) {}
    public var inputSize: Int { inputShape.reduce(1, *) }
    public var outputSize: Int { outputShape.reduce(1, *) }
}
