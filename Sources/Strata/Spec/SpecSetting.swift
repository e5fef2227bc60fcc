import Foundation

/// One `PATH=VALUE` override of a spec value, as `strata train --set` and `strata sweep` give it: PATH walks
/// mapping keys and list indices (`training.batch_size`, `optimizer.sgd.learning_rate`, `layers.0.dense.units`),
/// VALUE is YAML text (`16`, `relu`, `[3, 3]`).
public struct SpecSetting: Sendable, Hashable, Codable {
    public var path: String
    public var value: String

    public init(path: String, value: String) {
        self.path = path
        self.value = value
    }

    /// `PATH=VALUE` split at the first `=`; nil when there is none or either side is empty.
    public init?(assignment: String) {
        guard let equals = assignment.firstIndex(of: "=") else { return nil }
        let path = assignment[..<equals].trimmingWhitespace,
            value = assignment[assignment.index(after: equals)...]
                .trimmingWhitespace
        guard !path.isEmpty, !value.isEmpty else { return nil }
        self.init(path: path, value: value)
    }

    public var assignment: String { "\(path)=\(value)" }
    /// As given on the command line: `--set PATH=VALUE`.
    public var option: String { "--set \(assignment)" }
}

extension Substring {
    var trimmingWhitespace: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
