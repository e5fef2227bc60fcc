/// Protocol Buffers' text format into a located tree: Caffe's net and solver prototxt. A message is an object
/// whose repeated fields repeat their key; `#` starts a comment. Nesting is limited, as for JSON.
struct ProtoTextReader {
    static let maximumDepth = 100
    private var cursor: ScalarCursor

    static func read(_ text: String, file: String) throws(ImportFailure) -> SourceNode {
        var reader = ProtoTextReader(cursor: ScalarCursor(text, file: file))
        let start = reader.cursor.location
        let fields = try reader.fields(depth: 0, closing: nil)
        return SourceNode(.object(fields), at: start)
    }

    private mutating func skipBlanks() {
        while true {
            cursor.skipWhitespace()
            guard cursor.current == "#" else { return }
            while let c = cursor.current, c != "\n" { cursor.advance() }
        }
    }

    /// Fields until `closing` (or the end of the file for the top level).
    private mutating func fields(depth: Int, closing: Unicode.Scalar?) throws(ImportFailure) -> [SourceField] {
        var fields: [SourceField] = []
        while true {
            skipBlanks()
            if let closing, cursor.current == closing {
                cursor.advance()
                return fields
            }
            guard let next = cursor.current else {
                guard let closing else { return fields }
                throw ImportFailure("the file ends inside a message; a '\(closing)' is missing", at: cursor.location)
            }
            let keyLocation = cursor.location
            guard let key = identifier() else {
                throw ImportFailure("expected a field name, found '\(next)'", at: keyLocation)
            }
            skipBlanks()
            var colon = false
            if cursor.current == ":" {
                colon = true
                cursor.advance()
                skipBlanks()
            }
            let node: SourceNode
            if cursor.current == "{" || cursor.current == "<" {
                node = try message(depth: depth + 1)
            } else if colon, cursor.current == "[" {
                node = try list(depth: depth + 1)
            } else if colon {
                node = try scalar()
            } else {
                throw ImportFailure("expected ':' or '{' after '\(key)'", at: cursor.location)
            }
            fields.append(SourceField(key: key, keyLocation: keyLocation, node: node))
            skipBlanks()
            if cursor.current == "," || cursor.current == ";" { cursor.advance() }
        }
    }

    private mutating func message(depth: Int) throws(ImportFailure) -> SourceNode {
        let start = cursor.location
        guard depth < Self.maximumDepth else {
            throw ImportFailure("messages nested deeper than \(Self.maximumDepth) levels", at: start)
        }
        let closing: Unicode.Scalar = cursor.current == "{" ? "}" : ">"
        cursor.advance()
        return SourceNode(.object(try fields(depth: depth, closing: closing)), at: start)
    }

    /// `[a, b, c]`: the values of a repeated field at once.
    private mutating func list(depth: Int) throws(ImportFailure) -> SourceNode {
        let start = cursor.location
        cursor.advance()
        var items: [SourceNode] = []
        while true {
            skipBlanks()
            if cursor.current == "]" {
                cursor.advance()
                return SourceNode(.array(items), at: start)
            }
            items.append(cursor.current == "{" || cursor.current == "<" ? try message(depth: depth) : try scalar())
            skipBlanks()
            if cursor.current == "," { cursor.advance() }
        }
    }

    private mutating func scalar() throws(ImportFailure) -> SourceNode {
        let start = cursor.location
        if cursor.current == "\"" || cursor.current == "'" {
            var text = ""
            // Adjacent strings are one string, as in C.
            while let quote = cursor.current, quote == "\"" || quote == "'" {
                text += try quoted(by: quote)
                skipBlanks()
            }
            return SourceNode(.string(text), at: start)
        }
        guard let word = identifier() else {
            throw ImportFailure(
                cursor.atEnd ? "the file ends where a value should be" : "expected a value", at: start)
        }
        if let x = Double(word) ?? (word.hasPrefix("0x") ? Int(word.dropFirst(2), radix: 16).map(Double.init) : nil) {
            return SourceNode(.number(x, text: word), at: start)
        }
        switch word {
        case "true", "True", "t": return SourceNode(.bool(true), at: start)
        case "false", "False", "f": return SourceNode(.bool(false), at: start)
        default: return SourceNode(.word(word), at: start)
        }
    }

    /// A name, an enum value or a number as written (`-1.5e-3`, `inf`).
    private mutating func identifier() -> String? {
        var text = ""
        while let c = cursor.current,
            c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "_" || c == "." || c == "-" || c == "+"
        {
            text.unicodeScalars.append(c)
            cursor.advance()
        }
        return text.isEmpty ? nil : text
    }

    private mutating func quoted(by quote: Unicode.Scalar) throws(ImportFailure) -> String {
        try cursor.quoted(by: quote) { (e, _, _) throws(ImportFailure) -> String in
            switch e {
            case "n": return "\n"
            case "t": return "\t"
            case "r": return "\r"
            default: return String(Character(e))
            }
        }
    }
}
