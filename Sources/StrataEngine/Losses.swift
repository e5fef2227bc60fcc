import Foundation

public enum LossKind: String, Sendable, CaseIterable {
    case mse, mae
    case binaryCrossentropy = "binary_crossentropy"
    case categoricalCrossentropy = "categorical_crossentropy"
    case sparseCategoricalCrossentropy = "sparse_categorical_crossentropy"

    public var isClassification: Bool { outputActivation != nil }

    /// The activation a cross-entropy is computed through: the model must end in it, and the network fuses the
    /// two (the loss from the logits, backward from p − y). The checker and the network both ask this.
    public var outputActivation: ActivationKind? {
        switch self {
        case .mse, .mae: nil
        case .binaryCrossentropy: .sigmoid
        case .categoricalCrossentropy, .sparseCategoricalCrossentropy: .softmax
        }
    }

    /// Values per example the targets hold: class indices take one.
    public func targetWidth(outputWidth: Int) -> Int { self == .sparseCategoricalCrossentropy ? 1 : outputWidth }
}

/// Losses as batch means (Keras' convention). Each returns the summed per-example loss (so epochs can average
/// over examples exactly) and writes dL/d(input) of the batch mean into `gradient`; with `meanOver`, of the mean
/// over that many rows, of which these are a part (a process's shard of a batch shared by several).
/// Shapes: predictions, logits, probabilities and gradients [batch, width]; targets [batch, width], or [batch]
/// class indices for the sparse loss.
public enum Losses {
    /// Clamp for log of probabilities, as Keras' epsilon.
    public static let epsilon: Float = 1e-7

    /// Σ_b mean_j (p − y)²; gradient 2(p − y) / (batch·width).
    public static func meanSquaredError(
        gradient: UnsafeMutablePointer<Float>?, predictions p: UnsafePointer<Float>, targets y: UnsafePointer<Float>,
        batch: Int, width: Int, meanOver: Int? = nil
    ) -> Double {
        var total = 0.0
        let scale = 2 / Float((meanOver ?? batch) * width)
        for i in 0..<batch * width {
            let d = p[i] - y[i]
            total += Double(d * d)
            gradient?[i] = scale * d
        }
        return total / Double(width)
    }

    /// Σ_b mean_j |p − y|; gradient sign(p − y) / (batch·width), 0 where p = y.
    public static func meanAbsoluteError(
        gradient: UnsafeMutablePointer<Float>?, predictions p: UnsafePointer<Float>, targets y: UnsafePointer<Float>,
        batch: Int, width: Int, meanOver: Int? = nil
    ) -> Double {
        var total = 0.0
        let scale = 1 / Float((meanOver ?? batch) * width)
        for i in 0..<batch * width {
            let d = p[i] - y[i]
            total += Double(abs(d))
            gradient?[i] = d > 0 ? scale : d < 0 ? -scale : 0
        }
        return total / Double(width)
    }

    /// Softmax and categorical cross-entropy fused on logits z: per example Σ_j y_j·(logsumexp(z) − z_j), which
    /// never takes the log of a rounded-off probability; gradient (p·Σy − y) / batch with p = softmax(z).
    public static func softmaxCrossEntropy(
        gradient: UnsafeMutablePointer<Float>?, logits z: UnsafePointer<Float>, probabilities p: UnsafePointer<Float>,
        targets y: UnsafePointer<Float>, batch: Int, classes: Int, meanOver: Int? = nil
    ) -> Double {
        var total = 0.0
        let scale = 1 / Float(meanOver ?? batch)
        for b in 0..<batch {
            let row = b * classes
            let lse = logSumExp(z + row, classes)
            var mass: Float = 0
            for j in 0..<classes {
                let t = y[row + j]
                mass += t
                if t != 0 { total += Double(t) * (lse - Double(z[row + j])) }
            }
            if let gradient {
                for j in 0..<classes { gradient[row + j] = scale * (p[row + j] * mass - y[row + j]) }
            }
        }
        return total
    }

    /// As `softmaxCrossEntropy` with targets given as class indices [batch]; an index outside 0..<classes
    /// contributes nothing (the data loader rejects such labels before training). The loss of an example is
    /// −log p of its class (within 1e-7 of log-sum-exp − z while p ≥ 1e-30), else log-sum-exp − z.
    public static func sparseSoftmaxCrossEntropy(
        gradient: UnsafeMutablePointer<Float>?, logits z: UnsafePointer<Float>, probabilities p: UnsafePointer<Float>,
        targets: UnsafePointer<Float>, batch: Int, classes: Int, meanOver: Int? = nil
    ) -> Double {
        var total = 0.0
        let scale = 1 / Float(meanOver ?? batch)
        for b in 0..<batch {
            let row = b * classes
            let label = Int(targets[b])
            let valid = label >= 0 && label < classes
            if valid {
                // The softmax has done the exponentials: no exp per class here, on the step's serial path.
                let q = p[row + label]
                total += q >= 1e-30 ? -log(Double(q)) : logSumExp(z + row, classes) - Double(z[row + label])
            }
            if let gradient {
                for j in 0..<classes { gradient[row + j] = scale * (p[row + j] - (valid && j == label ? 1 : 0)) }
            }
        }
        return total
    }

    /// Sigmoid and binary cross-entropy fused on logits: max(z, 0) − z·y + log(1 + e^−|z|) per value, averaged
    /// over the width; gradient (σ(z) − y) / (batch·width).
    public static func sigmoidBinaryCrossEntropy(
        gradient: UnsafeMutablePointer<Float>?, logits z: UnsafePointer<Float>, probabilities p: UnsafePointer<Float>,
        targets y: UnsafePointer<Float>, batch: Int, width: Int, meanOver: Int? = nil
    ) -> Double {
        var total = 0.0
        let scale = 1 / Float((meanOver ?? batch) * width)
        for i in 0..<batch * width {
            let x = Double(z[i]), t = Double(y[i])
            total += max(x, 0) - x * t + log1p(exp(-abs(x)))
            gradient?[i] = scale * (p[i] - y[i])
        }
        return total / Double(width)
    }

    /// Categorical cross-entropy −Σ y·log ŷ on probabilities (clamped to [ε, 1 − ε] as in Keras); gradient
    /// −y / ŷ / batch. For outputs that are not a softmax the network uses this unfused form.
    public static func crossEntropy(
        gradient: UnsafeMutablePointer<Float>?, probabilities p: UnsafePointer<Float>, targets y: UnsafePointer<Float>,
        batch: Int, classes: Int, meanOver: Int? = nil
    ) -> Double {
        var total = 0.0
        let scale = 1 / Float(meanOver ?? batch)
        for i in 0..<batch * classes {
            let clamped = min(max(p[i], epsilon), 1 - epsilon)
            total -= Double(y[i]) * log(Double(clamped))
            gradient?[i] = p[i] == clamped ? -scale * y[i] / clamped : 0
        }
        return total
    }

    static func logSumExp(_ z: UnsafePointer<Float>, _ count: Int) -> Double {
        var maximum = -Float.infinity
        for j in 0..<count { maximum = max(maximum, z[j]) }
        var sum = 0.0
        for j in 0..<count { sum += exp(Double(z[j] - maximum)) }
        return Double(maximum) + log(sum)
    }
}
