/// A value read from an imported description (Keras JSON, Caffe's protobuf text, a Darknet cfg), with where it
/// stood, so every import error points into the file it came from.
public struct SourceNode: Sendable {
    public indirect enum Value: Sendable {
        /// Fields in file order; protobuf text repeats a key for a repeated field.
        case object([SourceField])
        case array([SourceNode])
        case string(String)
        /// A number with its text as written.
        case number(Double, text: String)
        case bool(Bool)
        /// An unquoted word: a protobuf enum value (`MAX`), a Darknet value (`leaky`).
        case word(String)
        case null
    }

    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value
        self.location = location
    }

    public var fields: [SourceField] {
        if case .object(let fields) = value { return fields }
        return []
    }

    public var isObject: Bool {
        if case .object = value { return true }
        return false
    }

    /// The first field named `key`.
    public subscript(key: String) -> SourceNode? { fields.first { $0.key == key }?.node }

    /// Every field named `key`, in order (a protobuf repeated field).
    public func all(_ key: String) -> [SourceNode] { fields.filter { $0.key == key }.map(\.node) }

    /// A string or an unquoted word.
    public var text: String? {
        switch value {
        case .string(let s), .word(let s): return s
        default: return nil
        }
    }

    public var number: Double? {
        switch value {
        case .number(let x, _): return x
        case .word(let w), .string(let w): return Double(w)
        default: return nil
        }
    }

    /// A whole number within ±(2^31 − 1): every count, size and step in these formats fits, and a product of
    /// two such numbers cannot overflow (larger values are refused by the rules that read them).
    public var integer: Int? {
        guard let x = number, x == x.rounded(), abs(x) <= Double(Int32.max) else { return nil }
        return Int(x)
    }

    public var bool: Bool? {
        switch value {
        case .bool(let b): return b
        case .word("true"), .word("TRUE"): return true
        case .word("false"), .word("FALSE"): return false
        default: return nil
        }
    }

    public var array: [SourceNode]? {
        if case .array(let items) = value { return items }
        return nil
    }

    public var isNull: Bool {
        if case .null = value { return true }
        return false
    }

    /// How the value reads in a message: `"relu"`, `3`, `[3, 3]`, `an object`.
    public var described: String {
        switch value {
        case .object: return "an object"
        case .array(let items):
            let inner = items.prefix(4).map(\.described).joined(separator: ", ")
            return "[\(inner)\(items.count > 4 ? ", …" : "")]"
        case .string(let s): return "\"\(s)\""
        case .number(_, let text): return text
        case .bool(let b): return b ? "true" : "false"
        case .word(let w): return w
        case .null: return "null"
        }
    }
}

public struct SourceField: Sendable {
    public var key: String
    public var keyLocation: SourceLocation
    public var node: SourceNode
}

/// A problem in an imported file, at its place.
struct ImportFailure: Error {
    var diagnostic: Diagnostic

    init(_ message: String, at location: SourceLocation?, help: String? = nil) {
        diagnostic = Diagnostic(.error, message, at: location, help: help)
    }
}

/// Reads text one Unicode scalar at a time, counting lines and columns from 1 as the spec parser does.
struct ScalarCursor {
    private let scalars: [Unicode.Scalar]
    private(set) var index = 0
    private(set) var line = 1
    private(set) var column = 1
    let file: String

    init(_ text: String, file: String) {
        scalars = Array(text.unicodeScalars)
        self.file = file
    }

    var location: SourceLocation { SourceLocation(file: file, line: line, column: column) }
    var atEnd: Bool { index >= scalars.count }
    var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    func peek(_ offset: Int) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    mutating func advance() {
        guard index < scalars.count else { return }
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    /// A string closed by `quote` on the same line, the cursor on its opening quote; the
    /// character after a backslash (and what it reads after it) into text (`unescape`).
    mutating func quoted(
        by quote: Unicode.Scalar,
        unescape: (Unicode.Scalar, SourceLocation, inout ScalarCursor) throws(ImportFailure) -> String
    ) throws(ImportFailure) -> String {
        let start = location
        advance()
        var text = ""
        while true {
            guard let c = current, c != "\n" else { throw ImportFailure("unterminated string", at: start) }
            advance()
            if c == quote { return text }
            guard c == "\\" else {
                text.unicodeScalars.append(c)
                continue
            }
            let escapeStart = location
            guard let e = current else { throw ImportFailure("unterminated string", at: start) }
            advance()
            text += try unescape(e, escapeStart, &self)
        }
    }

    /// Skips spaces, tabs, carriage returns and newlines.
    mutating func skipWhitespace() {
        while let c = current, c == " " || c == "\t" || c == "\r" || c == "\n" { advance() }
    }
}
