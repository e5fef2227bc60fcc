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
        let figures = ([("loss", loss)] + metrics).map { "\($0.0): \(ProgressPrinter.number($0.1))" }.joined(
            separator: " - ")
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
        return keys.map { "\($0): \(number(record.values[$0]!))" }.joined(separator: " - ")
    }

    static func number(_ value: Double) -> String { String(format: "%.4f", value) }
}
