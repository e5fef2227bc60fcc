import Foundation

/// Keras-style progress. On a terminal a bar per epoch redrawn in place; into a file or pipe one plain line
/// per epoch with no control characters.
public final class ProgressPrinter: TrainingObserver {
    private let interactive: Bool
    private let write: (String) -> Void
    private var epochLabel = ""

    public init(interactive: Bool, write: @escaping (String) -> Void) {
        self.interactive = interactive
        self.write = write
    }

    public var wantsBatchUpdates: Bool { interactive }

    public func epochStarted(_ epoch: Int, of epochs: Int, batches: Int) {
        epochLabel = "Epoch \(epoch)/\(epochs)"
    }

    public func batchFinished(_ batch: Int, of batches: Int, loss: Double, metrics: [(String, Double)], seconds: Double)
    {
        guard interactive else { return }
        let width = 20
        let filled = batches > 0 ? width * batch / batches : width
        let bar = String(repeating: "━", count: filled) + String(repeating: "─", count: width - filled)
        let figures = Figure.list([("loss", loss)] + metrics)
        write("\r\u{1B}[2K\(epochLabel) \(bar) \(batch)/\(batches) \(String(format: "%.1fs", seconds)) - \(figures)")
    }

    public func epochFinished(_ record: EpochRecord, of epochs: Int) {
        let line =
            "\(epochLabel) - \(String(format: "%.1fs", record.seconds ?? 0)) - \(ProgressPrinter.figures(record))"
        write(interactive ? "\r\u{1B}[2K" + line + "\n" : line + "\n")
    }

    /// `loss: 0.4213 - accuracy: 0.8512 - val_loss: … - val_accuracy: …`, training figures first.
    public static func figures(_ record: EpochRecord) -> String {
        let keys = record.values.keys.sorted { a, b in
            let (va, vb) = (a.hasPrefix("val_"), b.hasPrefix("val_"))
            if va != vb { return !va }
            let (la, lb) = (a.hasSuffix("loss"), b.hasSuffix("loss"))
            if la != lb { return la }
            return a < b
        }
        return Figure.list(keys.map { ($0, record.values[$0]!) })
    }
}

/// How a loss or metric is printed during training, in its test line and by `strata eval`: four decimals, as
/// Keras prints them, and below 0.001 four in scientific notation (Keras' switch too), where four decimals would
/// show a loss still falling, 3e-05 then 2e-09, as 0.0000.
public enum Figure {
    public static func text(_ value: Double) -> String {
        value == 0 || abs(value) > 1e-3 || !value.isFinite
            ? String(format: "%.4f", value) : String(format: "%.4e", value)
    }

    /// `loss: 0.4213 - accuracy: 0.8512`, in the order given.
    public static func list(_ figures: [(String, Double)]) -> String {
        figures.map { "\($0.0): \(text($0.1))" }.joined(separator: " - ")
    }
}
