import Foundation
import StrataEngine

/// The processes that train one model together, data parallel: each computes the gradient of its shard of every
/// batch, the group sums the gradients, and every process takes the same optimizer step from the same sums, so
/// the weights stay identical everywhere. MPI provides one (`swift build --traits MPI`); tests use threads.
public protocol ProcessGroup: AnyObject, Sendable {
    /// This process's place in the group, 0..<size; rank 0 alone writes files and prints progress.
    var rank: Int { get }
    var size: Int { get }
    /// Sums `values` across the group in place; every process receives the same sums, bit for bit.
    func sum(_ values: UnsafeMutableBufferPointer<Float>) throws
    func sum(_ values: UnsafeMutableBufferPointer<Double>) throws
    /// Every process's bytes (the same count on each), in rank order.
    func gather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Leaves the group after a run that every process ended the same way.
    func finish()
    /// Ends every process of the group with `code`: this one failed alone, and the others would wait for it.
    func abort(code: Int32) -> Never
}

/// A failure of the group itself (a message that could not be exchanged), or a disagreement between processes.
public struct ProcessGroupError: Error, CustomStringConvertible {
    public var message: String
    public var help: String?
    /// Whether every process of the group reaches this same error (a check of what they all know), so they can
    /// stop together and one of them say why.
    public var everyProcess: Bool

    public init(_ message: String, help: String? = nil, everyProcess: Bool = true) {
        self.message = message
        self.help = help
        self.everyProcess = everyProcess
    }

    public var description: String { "error: \(message)" + (help.map { "\n  help: \($0)" } ?? "") }
}

/// How a batch is split among the processes of a group.
public enum Shard {
    /// Rank `rank`'s rows of a batch of `count` rows shared by `ranks` processes: contiguous, in rank order, sizes
    /// differing by at most one (a last batch smaller than the group leaves some ranks none).
    public static func rows(_ count: Int, rank: Int, of ranks: Int) -> Range<Int> {
        precondition(ranks > 0 && (0..<ranks).contains(rank) && count >= 0)
        return (count * rank / ranks)..<(count * (rank + 1) / ranks)
    }

    /// The most rows any rank takes of a batch of `count` (the buffers a rank needs).
    public static func largestShare(_ count: Int, of ranks: Int) -> Int {
        (count + ranks - 1) / max(ranks, 1)
    }

    /// Refuses a split that would leave a process without work in every batch.
    public static func check(examples: Int, batchSize: Int, ranks: Int) throws {
        if examples < ranks {
            throw ProcessGroupError(
                "the training data has \(examples) example\(examples == 1 ? "" : "s") but \(ranks) processes share each batch; each needs at least one",
                help: "start fewer processes (mpirun -np \(max(1, examples)))")
        }
        if batchSize < ranks {
            throw ProcessGroupError(
                "batch_size is \(batchSize) but \(ranks) processes share each batch; each needs at least one row",
                help: "use a batch_size of at least \(ranks) (it is the batch of all processes together)")
        }
    }
}

extension ProcessGroup {
    /// Sums metric sums across the group.
    func sum(_ metrics: MetricAccumulator) throws -> MetricAccumulator {
        try withUnsafeTemporaryAllocation(of: Double.self, capacity: MetricAccumulator.packedCount) { values in
            metrics.pack(into: values)
            try sum(values)
            return MetricAccumulator(packed: values)
        }
    }

    /// Sums evaluations of disjoint parts of a dataset: the evaluation of all of it.
    func sum(_ evaluation: Evaluation) throws -> Evaluation {
        var result = evaluation
        result.metrics = try sum(evaluation.metrics)
        if let confusion = evaluation.confusion {
            var counts = confusion.flatMap { $0.map(Double.init) }
            try counts.withUnsafeMutableBufferPointer { try sum($0) }
            let width = confusion.count
            result.confusion = (0..<width).map { row in (0..<width).map { Int(counts[row * width + $0]) } }
        }
        return result
    }

    /// Replaces each tensor by its mean across the group (batch normalization's moving statistics, which each
    /// process updates from its own shard).
    func average(_ tensors: [Tensor]) throws {
        for tensor in tensors {
            try sum(tensor.buffer)
            let scale = Float(size)
            for i in 0..<tensor.count { tensor.pointer[i] /= scale }
        }
    }

    /// Refuses to go on unless every process has the same `identity` (a digest of the build, the spec and its
    /// data): different inputs would train different models under one name.
    func agree(on identity: [UInt8], what: String) throws {
        let identities = try gather(identity)
        let differing = identities.indices.filter { identities[$0] != identities[0] }
        guard differing.isEmpty else {
            let ranks = differing.map(String.init).joined(separator: ", ")
            throw ProcessGroupError(
                "the processes were started with different \(what): rank\(differing.count == 1 ? "" : "s") \(ranks) differ\(differing.count == 1 ? "s" : "") from rank 0",
                help: "start every process with the same strata build, spec, options and data files")
        }
    }
}

extension MetricAccumulator {
    /// The sums as Doubles, to be summed across processes (the counts stay exact up to 2^53).
    static let packedCount = 6

    func pack(into values: UnsafeMutableBufferPointer<Double>) {
        values[0] = Double(examples)
        values[1] = Double(elements)
        values[2] = Double(correct)
        values[3] = squaredError
        values[4] = absoluteError
        values[5] = loss
    }

    init(packed values: UnsafeMutableBufferPointer<Double>) {
        self.init()
        examples = Int(values[0])
        elements = Int(values[1])
        correct = Int(values[2])
        squaredError = values[3]
        absoluteError = values[4]
        loss = values[5]
    }

    /// Adds another's sums (another batch's).
    mutating func add(_ other: MetricAccumulator) {
        examples += other.examples
        elements += other.elements
        correct += other.correct
        squaredError += other.squaredError
        absoluteError += other.absoluteError
        loss += other.loss
    }
}
