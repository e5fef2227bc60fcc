/// One epoch's figures: `loss`, each metric, and `val_`-prefixed ones for validation data.
public struct EpochRecord: Sendable, Codable, Equatable {
    public var epoch: Int
    public var learningRate: Double
    /// Keys as Keras logs them: loss, accuracy, val_loss, val_accuracy, …
    public var values: [String: Double]
    /// Wall time; kept out of the checkpoint (which must not depend on time), written to the history file.
    public var seconds: Double?

    enum CodingKeys: String, CodingKey {
        case epoch, values, seconds
        case learningRate = "learning_rate"
    }

    /// The record without its time, as checkpoints store it.
    public var timeless: EpochRecord {
        var copy = self
        copy.seconds = nil
        return copy
    }
}

/// Whether a larger monitored value is better: accuracy yes, losses and errors no.
func higherIsBetter(_ monitor: String) -> Bool { monitor.hasSuffix("accuracy") }

/// Early stopping's and best-checkpoint's memory of the best epoch so far.
public struct MonitorState: Sendable, Codable, Equatable {
    public var best: Double?
    public var bestEpoch: Int = 0
    public var wait: Int = 0

    enum CodingKeys: String, CodingKey {
        case best, wait
        case bestEpoch = "best_epoch"
    }

    /// Records `value` for `epoch`; returns whether it improved on the best by more than `minDelta`.
    public mutating func update(_ value: Double, epoch: Int, monitor: String, minDelta: Double) -> Bool {
        let improved: Bool
        if let best {
            improved = higherIsBetter(monitor) ? value > best + minDelta : value < best - minDelta
        } else {
            improved = value.isFinite
        }
        if improved {
            best = value
            bestEpoch = epoch
            wait = 0
        } else {
            wait += 1
        }
        return improved
    }
}
