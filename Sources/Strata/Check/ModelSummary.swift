public struct MemoryEstimate: Sendable {
    /// Trainable parameters and non-trainable state.
    public var parameterBytes: Int
    public var gradientBytes: Int
    public var optimizerBytes: Int
    /// Layer outputs and their gradients for one batch, plus the batch's inputs and targets.
    public var activationBytes: Int

    public var totalBytes: Int {
        [parameterBytes, gradientBytes, optimizerBytes, activationBytes].reduce(0, saturatingAdd)
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
