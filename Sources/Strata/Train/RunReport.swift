import Foundation

/// What one training run came to, as `strata train --result FILE.json` writes it and `strata sweep` reads it:
/// how it ended, how far it got and how long it took. The epochs' figures are in the history file beside the
/// checkpoint.
public struct RunReport: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case finished
        case stoppedEarly = "stopped_early"
        case diverged
        case interrupted
        /// Dropped by successive halving after its first epochs (`strata sweep --halving`).
        case pruned
    }

    public var status: Status
    /// The `--set` values the run was trained with.
    public var settings: [SpecSetting]
    public var checkpoint: String
    /// Epochs completed, and optimizer steps taken.
    public var epochs: Int
    public var steps: Int
    /// Wall time of the epochs trained.
    public var seconds: Double
    /// The epoch that produced NaN or infinite weights, for a diverged run.
    public var divergedEpoch: Int?
    /// The test set's loss and metrics after training, when the spec has one.
    public var test: [String: Double]?
    public var message: String?
    /// Training as a group of processes: how many, and the seconds rank 0 spent in the gradients' sums (the
    /// exchange, and waiting for the slowest process).
    public var processes: Int?
    public var sumSeconds: Double?
    /// On more than one thread: how many of this run's steps (`steps` also counts a resumed run's earlier ones)
    /// the worker pool ran on one thread alone, having timed that faster lately: a model too small to share, or
    /// another program using the machine's cores, where a second thread then gains nothing.
    public var stepsAlone: Int?

    public init(
        status: Status, settings: [SpecSetting], checkpoint: String, epochs: Int, steps: Int, seconds: Double,
        divergedEpoch: Int? = nil, test: [String: Double]? = nil, message: String? = nil
    ) {
        self.status = status
        self.settings = settings
        self.checkpoint = checkpoint
        self.epochs = epochs
        self.steps = steps
        self.seconds = seconds
        self.divergedEpoch = divergedEpoch
        self.test = test
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case status, settings, checkpoint, epochs, steps, seconds, test, message, processes
        case divergedEpoch = "diverged_epoch"
        case sumSeconds = "sum_seconds"
        case stepsAlone = "steps_alone"
    }

    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try AtomicFile.write(Array(try encoder.encode(self)) + [0x0A], to: path)
    }

    /// The report at `path`; nil when there is none or it is not one (a run to do again).
    public static func read(_ path: String) -> RunReport? {
        guard let bytes = try? FileBytes.read(path, limit: 1 << 20, text: true) else { return nil }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try? decoder.decode(RunReport.self, from: Data(bytes))
    }
}
