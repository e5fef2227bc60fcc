import Yams

/// Applies settings to a spec's text, so the checkpoint records the spec that was trained and every value is
/// read and checked by the ordinary parser (a bad value is reported where it now stands). A setting replaces
/// the value at its path in place, keeping the rest of the text (comments included), or adds the key to the
/// mapping that should hold it; a bare name (`- flatten`, `optimizer: adam`) becomes `{name: {key: value}}`.
public enum SpecEditor {
    public static func apply(
        _ settings: [SpecSetting], to text: String, file: String
    ) -> (
        text: String?, diagnostics: Diagnostics
    ) {
        var diagnostics = Diagnostics()
        var current = text
        for setting in settings {
            guard let edited = applyOne(setting, to: current, file: file, into: &diagnostics) else {
                return (nil, diagnostics)
            }
            current = edited
        }
        return (current, diagnostics)
    }

    private static func applyOne(
        _ setting: SpecSetting, to text: String, file: String, into diagnostics: inout Diagnostics
    ) -> String? {
        guard let root = YAMLLoader.compose(text: text, file: file, into: &diagnostics) else { return nil }
        let source = SourceText(text)
        let segments = setting.path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func fail(_ message: String, at node: Node?, help: String? = nil) -> String? {
            let location = node.map { YAMLLoader.location($0.mark, file: file) }
            diagnostics.error("\(setting.option): \(message)", at: location, help: help)
            return nil
        }
        if segments.contains(where: \.isEmpty) {
            return fail("the path has an empty part", at: nil, help: "write it as keys and indices joined by dots")
        }
        // The value must be YAML on its own: an unclosed `[1` would otherwise be reported inside the spec, at
        // whatever line the parser gave up on.
        var valueDiagnostics = Diagnostics()
        if YAMLLoader.compose(text: setting.value, file: "--set", into: &valueDiagnostics) == nil {
            let reason = valueDiagnostics.items.first?.message ?? "it does not parse"
            return fail(
                "the value is not YAML on its own (\(reason))", at: nil,
                help: "close its brackets or quotes, or quote it whole: --set '\(setting.path)=\"…\"'")
        }
        var node = root
        var key: Node?
        for (depth, segment) in segments.enumerated() {
            let walked = segments[..<depth].joined(separator: ".")
            let rest = Array(segments[(depth + 1)...])
            switch node {
            case .mapping(let mapping):
                if let entry = mapping.first(where: { $0.key.string == segment }) {
                    (key, node) = (entry.key, entry.value)
                    continue
                }
                return source.insert(
                    key: segment, rest: rest, value: setting.value, into: mapping, at: node.mark,
                    fail: { fail($0, at: node) })
            case .sequence(let sequence):
                guard let index = Int(segment), sequence.indices.contains(index) else {
                    return fail(
                        "`\(walked)` is a list of \(sequence.count) items; `\(segment)` is not one of its indices",
                        at: node, help: "indices count from 0: \(walked).0 … \(walked).\(max(0, sequence.count - 1))")
                }
                (key, node) = (nil, sequence[index])
            case .scalar(let scalar) where scalar.string == segment && !rest.isEmpty:
                // `- flatten` or `optimizer: adam`: the kind's name alone, written out with the new key.
                guard let span = source.span(of: node) else {
                    return fail("cannot edit `\(walked)` in place", at: node)
                }
                return source.replacing(span, with: "{\(segment): \(SourceText.nested(rest, setting.value))}")
            case .scalar(let scalar):
                return fail(
                    "`\(walked.isEmpty ? "the spec" : walked)` is the value `\(scalar.string)`; it has no key `\(segment)`",
                    at: node)
            case .alias:
                return fail("`\(walked)` is an alias; set the value it stands for instead", at: node)
            }
        }
        if let span = source.span(of: node) { return source.replacing(span, with: setting.value) }
        // A block under its key (`optimizer:` and the lines below it) is replaced whole: `optimizer=sgd`.
        if let key, let span = source.blockSpan(key: key, value: node) {
            return source.replacing(span, with: " " + setting.value)
        }
        return fail(
            "`\(setting.path)` holds a block of keys or lines; set one of its values instead", at: node,
            help: "e.g. \(setting.path).KEY=VALUE")
    }
}

/// The spec's text as Unicode scalars, addressed by Yams' marks (1-based line and column).
private struct SourceText {
    let scalars: [Unicode.Scalar]
    let lineStarts: [Int]

    init(_ text: String) {
        scalars = Array(text.unicodeScalars)
        var starts = [0]
        for (index, scalar) in scalars.enumerated() where scalar == "\n" { starts.append(index + 1) }
        lineStarts = starts
    }

    func offset(_ mark: Mark?) -> Int? {
        guard let mark, mark.line >= 1, mark.line <= lineStarts.count else { return nil }
        let offset = lineStarts[mark.line - 1] + mark.column - 1
        return offset <= scalars.count ? offset : nil
    }

    func replacing(_ range: Range<Int>, with replacement: String) -> String {
        var result = String.UnicodeScalarView()
        result.append(contentsOf: scalars[..<range.lowerBound])
        result.append(contentsOf: replacement.unicodeScalars)
        result.append(contentsOf: scalars[range.upperBound...])
        return String(result)
    }

    /// `{a: {b: value}}` for rest [a, b]; the value itself for no rest.
    static func nested(_ rest: [String], _ value: String) -> String {
        guard let first = rest.first else { return value }
        return "{\(first): \(nested(Array(rest.dropFirst()), value))}"
    }

    /// Where a value is written: a one-line scalar, or a flow collection from its bracket to the matching one.
    /// Nil for block collections and multi-line scalars, which are not replaced as a whole.
    func span(of node: Node) -> Range<Int>? {
        guard let start = offset(node.mark), start < scalars.count else { return nil }
        switch node {
        case .scalar(let scalar):
            switch scalar.style {
            case .singleQuoted, .doubleQuoted: return quotedEnd(from: start).map { start..<$0 }
            case .literal, .folded: return nil
            default:
                let written = Array(scalar.string.unicodeScalars)
                guard !written.isEmpty, start + written.count <= scalars.count,
                    Array(scalars[start..<start + written.count]) == written
                else { return nil }
                return start..<start + written.count
            }
        case .sequence, .mapping:
            guard scalars[start] == "[" || scalars[start] == "{" else { return nil }
            return closingEnd(from: start).map { start..<$0 }
        case .alias:
            return nil
        }
    }

    /// From just past `key:` to the end of the block collection `value` below it: its lines are those indented
    /// past the key (and, for a list, `-` lines at the key's own indentation); comments and blank lines after
    /// the block's last line stay.
    func blockSpan(key: Node, value: Node) -> Range<Int>? {
        guard case .scalar = key, let keySpan = span(of: key), let keyLine = key.mark?.line,
            let keyColumn = key.mark?.column
        else { return nil }
        let isList: Bool
        switch value {
        case .mapping: isList = false
        case .sequence: isList = true
        default: return nil
        }
        var colon = keySpan.upperBound
        while colon < scalars.count, scalars[colon] == " " { colon += 1 }
        guard colon < scalars.count, scalars[colon] == ":" else { return nil }
        var end: Int?
        for line in keyLine..<lineStarts.count {
            let start = lineStarts[line]
            let stop = line + 1 < lineStarts.count ? lineStarts[line + 1] - 1 : scalars.count
            var first = start
            while first < stop, scalars[first] == " " { first += 1 }
            if first == stop || scalars[first] == "#" { continue }
            let indentation = first - start
            let listItem = scalars[first] == "-" && indentation == keyColumn - 1
            guard indentation >= keyColumn || (listItem && isList) else { break }
            end = stop
        }
        return end.map { colon + 1..<$0 }
    }

    /// Just past the quote that closes the one at `start` ('' and \" are escapes).
    private func quotedEnd(from start: Int) -> Int? {
        let quote = scalars[start]
        var index = start + 1
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\n" { return nil }
            if quote == "\"" && scalar == "\\" {
                index += 2
                continue
            }
            if scalar == quote {
                if quote == "'" && index + 1 < scalars.count && scalars[index + 1] == "'" {
                    index += 2
                    continue
                }
                return index + 1
            }
            index += 1
        }
        return nil
    }

    /// Just past the bracket that closes the one at `start`, skipping quoted text.
    private func closingEnd(from start: Int) -> Int? {
        var depth = 0, index = start
        while index < scalars.count {
            switch scalars[index] {
            case "[", "{": depth += 1
            case "]", "}":
                depth -= 1
                if depth == 0 { return index + 1 }
            case "'", "\"":
                guard let end = quotedEnd(from: index) else { return nil }
                index = end
                continue
            default: break
            }
            index += 1
        }
        return nil
    }

    /// The text with `key: …` added to a mapping: first inside a flow mapping's braces, or on a new line
    /// before a block mapping's first key, at its indentation.
    func insert(
        key: String, rest: [String], value: String, into mapping: Node.Mapping, at mark: Mark?,
        fail: (String) -> String?
    ) -> String? {
        let entry = "\(key): \(Self.nested(rest, value))"
        guard let start = offset(mark), start < scalars.count else {
            return fail("cannot add `\(key)` here")
        }
        if scalars[start] == "{" {
            var next = start + 1
            while next < scalars.count, scalars[next] == " " { next += 1 }
            let empty = next < scalars.count && scalars[next] == "}"
            return replacing(start + 1..<start + 1, with: empty ? entry : "\(entry), ")
        }
        guard !mapping.isEmpty, let column = mark?.column else { return fail("cannot add `\(key)` here") }
        return replacing(start..<start, with: entry + "\n" + String(repeating: " ", count: column - 1))
    }
}
