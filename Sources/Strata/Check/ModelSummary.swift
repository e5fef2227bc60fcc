/// What the checker derived for one layer.
public struct LayerSummary: Sendable {
    public var name: String
    public var typeName: String
    public var inputShape: [Int]
    public var outputShape: [Int]
    /// Trainable parameters.
    public var params: Int
    /// State kept without training (moving statistics).
    public var nonTrainableParams: Int
    /// Multiply-adds count 2; bias adds 1; activations and pooling comparisons are not counted.
    public var flops: Int
    public var location: SourceLocation
}

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

/// Sizes come from user input and can be absurd (`units: 10000000000`); arithmetic saturates instead of trapping.
func saturatingMultiply(_ a: Int, _ b: Int) -> Int {
    let (result, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? Int.max : result
}

func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (result, overflow) = a.addingReportingOverflow(b)
    return overflow ? Int.max : result
}

func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, saturatingMultiply) }

func describeShape(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
