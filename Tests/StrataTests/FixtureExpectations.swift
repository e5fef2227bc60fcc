import Foundation

/// An expected diagnostic marked in a fixture, either by a caret comment under the offending line
/// (`#      ^ error: message`, the caret's column is the expected column) or, where a caret cannot reach
/// (column 1, or no following line), by `# expect: LINE:COL error: message`.
struct Expectation: CustomStringConvertible {
    var line: Int
    var column: Int
    var severity: String
    var message: String

    var description: String { "\(line):\(column) \(severity): \(message)" }

    static func parse(_ text: String) -> [Expectation] {
        var expectations: [Expectation] = []
        var target = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            if line.hasPrefix("# expect: ") {
                let rest = line.dropFirst("# expect: ".count)
                let parts = rest.split(separator: " ", maxSplits: 2)
                let position = parts[0].split(separator: ":")
                expectations.append(
                    Expectation(
                        line: Int(position[0])!, column: Int(position[1])!, severity: String(parts[1].dropLast()),
                        message: String(parts[2])))
            } else if line.hasPrefix("#"), let caret = line.firstIndex(of: "^"),
                line[line.index(after: line.startIndex)..<caret].allSatisfy({ $0 == " " })
            {
                let column = line.distance(from: line.startIndex, to: caret) + 1
                let rest = line[line.index(after: caret)...].trimmingCharacters(in: .whitespaces)
                guard let colon = rest.firstIndex(of: ":") else { continue }
                expectations.append(
                    Expectation(
                        line: target, column: column, severity: String(rest[..<colon]),
                        message: rest[rest.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            } else {
                target = number
            }
        }
        return expectations
    }
}

enum Paths {
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = testsFolder.appendingPathComponent("Fixtures")
    static let repository = testsFolder.deletingLastPathComponent().deletingLastPathComponent()
    static func spec(_ name: String) -> String { repository.appendingPathComponent("specs/\(name)").path }
}

import StrataEngine

enum SplitMixSeed {
    static func make(_ seed: UInt64) -> SplitMix64 { SplitMix64(seed: seed) }
}
