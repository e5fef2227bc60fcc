public struct MemoryEstimate: Sendable {
    /// Trainable parameters and non-trainable state.
    public var parameterBytes: Int
    public var gradientBytes: Int
    public var optimizerBytes: Int
    /// Layer outputs, their gradients and per-example scratch for one batch, plus the batch's inputs and
    /// targets (twice: the next batch is gathered while one trains).
    public var activationBytes: Int
    /// The data held while training: every source's features and targets (as read, and as split).
    public var dataBytes: Int = 0
    /// The matrix kernels' packing buffers, one set per thread.
    public var workspaceBytes: Int = 0

    public var totalBytes: Int {
        [parameterBytes, gradientBytes, optimizerBytes, activationBytes, dataBytes, workspaceBytes].reduce(
            0, saturatingAdd)
    }
}

/// The checked model: shapes, sizes and cost, ready for the planner and for `strata check`'s summary.
public struct ModelSummary: Sendable {
    public var inputShape: [Int]
    public var layers: [LayerSummary]
    public var batchSize: Int
    public var memory: MemoryEstimate

    public var totalParams: Int { layers.map(\.params).reduce(0, saturatingAdd) }
    public var nonTrainableParams: Int { layers.map(\.nonTrainableParams).reduce(0, saturatingAdd) }
    public var flopsPerExample: Int { layers.map(\.flops).reduce(0, saturatingAdd) }
    public var outputShape: [Int] { layers.last?.outputShape ?? inputShape }
}
