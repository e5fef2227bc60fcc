/// JSON (RFC 8259) into a located tree: Keras' model configs. Nesting is limited, so a hostile file cannot
/// exhaust the stack.
struct JSONReader {
    static let maximumDepth = 200
    private var cursor: ScalarCursor

    static func read(_ text: String, file: String) throws(ImportFailure) -> SourceNode {
        var reader = JSONReader(cursor: ScalarCursor(text, file: file))
        reader.cursor.skipWhitespace()
        let value = try reader.value(depth: 0)
        reader.cursor.skipWhitespace()
        guard reader.cursor.atEnd else {
            throw ImportFailure("unexpected text after the JSON value", at: reader.cursor.location)
        }
        return value
    }

    private mutating func value(depth: Int) throws(ImportFailure) -> SourceNode {
        let start = cursor.location
        guard depth < Self.maximumDepth else {
            throw ImportFailure("JSON nested deeper than \(Self.maximumDepth) levels", at: start)
        }
        switch cursor.current {
        case "{": return SourceNode(.object(try object(depth: depth)), at: start)
        case "[": return SourceNode(.array(try array(depth: depth)), at: start)
        case "\"": return SourceNode(.string(try string()), at: start)
        case let c? where c == "-" || ("0"..."9").contains(c):
            let text = try numberText()
            guard let x = Double(text), x.isFinite else {
                throw ImportFailure("number \(text) is out of range", at: start)
            }
            return SourceNode(.number(x, text: text), at: start)
        default:
            for (word, value) in [("true", SourceNode.Value.bool(true)), ("false", .bool(false)), ("null", .null)]
            where matches(word) {
                for _ in word.unicodeScalars { cursor.advance() }
                return SourceNode(value, at: start)
            }
            // Python's json writes NaN and Infinity, which JSON does not allow; Keras configs hold none.
            throw ImportFailure(
                cursor.atEnd ? "the JSON ends where a value should be" : "expected a JSON value", at: start)
        }
    }

    private func matches(_ word: String) -> Bool {
        word.unicodeScalars.enumerated().allSatisfy { cursor.peek($0.offset) == $0.element }
    }

    private mutating func object(depth: Int) throws(ImportFailure) -> [SourceField] {
        try separated(closing: "}") { (reader: inout JSONReader) throws(ImportFailure) -> SourceField in
            let keyLocation = reader.cursor.location
            guard reader.cursor.current == "\"" else { throw ImportFailure("expected a quoted key", at: keyLocation) }
            let key = try reader.string()
            reader.cursor.skipWhitespace()
            guard reader.cursor.current == ":" else {
                throw ImportFailure("expected ':' after key \"\(key)\"", at: reader.cursor.location)
            }
            reader.cursor.advance()
            reader.cursor.skipWhitespace()
            return SourceField(key: key, keyLocation: keyLocation, node: try reader.value(depth: depth + 1))
        }
    }

    private mutating func array(depth: Int) throws(ImportFailure) -> [SourceNode] {
        try separated(closing: "]") { (reader: inout JSONReader) throws(ImportFailure) in
            try reader.value(depth: depth + 1)
        }
    }

    /// The items of an object or array, separated by commas, after its opening bracket up to `closing`.
    private mutating func separated<Item>(
        closing: Unicode.Scalar, _ item: (inout JSONReader) throws(ImportFailure) -> Item
    ) throws(ImportFailure) -> [Item] {
        cursor.advance()
        cursor.skipWhitespace()
        var items: [Item] = []
        if cursor.current == closing {
            cursor.advance()
            return items
        }
        while true {
            cursor.skipWhitespace()
            items.append(try item(&self))
            cursor.skipWhitespace()
            if cursor.current == "," {
                cursor.advance()
                continue
            }
            guard cursor.current == closing else {
                throw ImportFailure("expected ',' or '\(closing)'", at: cursor.location)
            }
            cursor.advance()
            return items
        }
    }

    private mutating func numberText() throws(ImportFailure) -> String {
        var text = ""
        while let c = cursor.current,
            c == "-" || c == "+" || c == "." || c == "e" || c == "E" || ("0"..."9").contains(c)
        {
            text.unicodeScalars.append(c)
            cursor.advance()
        }
        return text
    }

    private mutating func string() throws(ImportFailure) -> String {
        try cursor.quoted(by: "\"") { (e, at, cursor) throws(ImportFailure) -> String in
            switch e {
            case "\"", "\\", "/": return String(Character(e))
            case "b": return "\u{8}"
            case "f": return "\u{c}"
            case "n": return "\n"
            case "r": return "\r"
            case "t": return "\t"
            case "u":
                var code = try Self.hex4(&cursor, at: at)
                if (0xD800..<0xDC00).contains(code), cursor.current == "\\", cursor.peek(1) == "u" {
                    cursor.advance()
                    cursor.advance()
                    let low = try Self.hex4(&cursor, at: at)
                    if (0xDC00..<0xE000).contains(low) { code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00) }
                }
                return String(Character(Unicode.Scalar(code) ?? "\u{FFFD}"))
            default: throw ImportFailure("unknown escape '\\\(e)'", at: at)
            }
        }
    }

    private static func hex4(_ cursor: inout ScalarCursor, at location: SourceLocation) throws(ImportFailure) -> UInt32
    {
        var code: UInt32 = 0
        for _ in 0..<4 {
            guard let c = cursor.current, c.isASCII, let digit = UInt32(String(c), radix: 16) else {
                throw ImportFailure("\\u needs four hexadecimal digits", at: location)
            }
            code = code * 16 + digit
            cursor.advance()
        }
        return code
    }
}
