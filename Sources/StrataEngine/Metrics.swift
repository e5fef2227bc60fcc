import Foundation

public enum MetricKind: String, Sendable, CaseIterable {
    case accuracy, mse, rmse, mae
}

/// Sums over an epoch so every metric is exact over all examples (RMSE is the root of the epoch's mean square,
/// not a mean of batch roots).
public struct MetricAccumulator: Sendable, Codable, Equatable {
    public var examples = 0
    public var elements = 0
    public var correct = 0
    public var squaredError = 0.0
    public var absoluteError = 0.0
    public var loss = 0.0

    public init() {}

    /// Adds one batch. Outputs [batch, width]; targets [batch, targetWidth] (targetWidth 1 with width > 1 means
    /// class indices). Accuracy: argmax for several outputs, threshold 0.5 for one.
    public mutating func add(
        outputs: UnsafePointer<Float>, targets: UnsafePointer<Float>, batch: Int, width: Int, targetWidth: Int,
        loss batchLoss: Double
    ) {
        examples += batch
        loss += batchLoss
        for b in 0..<batch {
            let out = outputs + b * width, target = targets + b * targetWidth
            if width == 1 {
                if (out[0] >= 0.5) == (target[0] >= 0.5) { correct += 1 }
            } else {
                let predicted = argmax(out, width)
                let actual = targetWidth == 1 ? Int(target[0]) : argmax(target, targetWidth)
                if predicted == actual { correct += 1 }
            }
            for j in 0..<width {
                // Class-index targets compare against their one-hot vector.
                let t: Float = targetWidth == width ? target[j] : (Int(target[0]) == j ? 1 : 0)
                let d = Double(out[j] - t)
                squaredError += d * d
                absoluteError += abs(d)
            }
            elements += width
        }
    }

    public var meanLoss: Double { examples > 0 ? loss / Double(examples) : .nan }

    public func value(_ metric: MetricKind) -> Double {
        switch metric {
        case .accuracy: return examples > 0 ? Double(correct) / Double(examples) : .nan
        case .mse: return elements > 0 ? squaredError / Double(elements) : .nan
        case .rmse: return elements > 0 ? (squaredError / Double(elements)).squareRoot() : .nan
        case .mae: return elements > 0 ? absoluteError / Double(elements) : .nan
        }
    }
}

@inline(__always)
public func argmax(_ values: UnsafePointer<Float>, _ count: Int) -> Int {
    var best = 0
    for j in 1..<max(count, 1) where values[j] > values[best] { best = j }
    return best
}
