/// A position in a spec file; line and column count from 1, columns in Unicode scalars (as libyaml does).
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

public enum Severity: String, Sendable, Comparable {
    case error, warning, note

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        let order: [Severity] = [.error, .warning, .note]
        return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
    }
}

/// One finding about a spec or its data: where, how bad, what, and how to fix it when that is known.
public struct Diagnostic: Sendable, Equatable, Error, CustomStringConvertible {
    public var severity: Severity
    public var location: SourceLocation?
    public var message: String
    public var help: String?
    public var notes: [String]

    public init(
        _ severity: Severity, _ message: String, at location: SourceLocation?,
        help: String? = nil, notes: [String] = []
    ) {
        self.severity = severity
        self.message = message
        self.location = location
        self.help = help
        self.notes = notes
    }

    /// The one-line form `file:line:col: error: message`.
    public var description: String {
        let place = location.map { "\($0): " } ?? ""
        return "\(place)\(severity.rawValue): \(message)"
    }
}

/// Collects diagnostics so one run reports every problem, not only the first.
public struct Diagnostics: Sendable, Error {
    public private(set) var items: [Diagnostic] = []

    public init(_ items: [Diagnostic] = []) { self.items = items }

    public var hasErrors: Bool { items.contains { $0.severity == .error } }
    public var errors: [Diagnostic] { items.filter { $0.severity == .error } }

    public mutating func append(_ diagnostic: Diagnostic) { items.append(diagnostic) }
    public mutating func append(contentsOf other: Diagnostics) { items.append(contentsOf: other.items) }

    public mutating func error(_ message: String, at location: SourceLocation?, help: String? = nil) {
        items.append(Diagnostic(.error, message, at: location, help: help))
    }

    public mutating func warning(_ message: String, at location: SourceLocation?, help: String? = nil) {
        items.append(Diagnostic(.warning, message, at: location, help: help))
    }

    /// Sorted by file position so output reads top to bottom; stable for equal positions.
    public var sorted: [Diagnostic] {
        items.enumerated().sorted { a, b in
            let la = a.element.location, lb = b.element.location
            let ka = (la?.line ?? 0, la?.column ?? 0), kb = (lb?.line ?? 0, lb?.column ?? 0)
            return ka != kb ? ka < kb : a.offset < b.offset
        }.map(\.element)
    }
}

/// An error about a file outside the spec (data, a checkpoint, an output): the file, the place in it when known,
/// what is wrong and what to do. `rendered` is the one way they are printed.
public protocol FileError: Error, CustomStringConvertible {
    var path: String { get }
    /// "line 12", "byte 16", a field's name, or nil when the whole file is at fault.
    var place: String? { get }
    var message: String { get }
    var help: String? { get }
}

extension FileError {
    public var description: String { "\(path)\(place.map { ", \($0)" } ?? ""): error: \(message)" }
    /// The description with its help line, as the command line prints it.
    public var rendered: String { description + (help.map { "\n  help: \($0)" } ?? "") }
}
