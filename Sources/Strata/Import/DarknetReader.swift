/// A Darknet `.cfg`: `[section]` headers, each followed by `key=value` lines; `#` and `;` start comments. Each
/// section is an object of its values, as text (Darknet parses them when it reads them).
struct DarknetReader {
    struct Section {
        var name: String
        var location: SourceLocation
        var values: SourceNode
    }

    static func read(_ text: String, file: String) throws(ImportFailure) -> [Section] {
        var sections: [Section] = []
        var fields: [SourceField] = []
        func close() {
            if !sections.isEmpty { sections[sections.count - 1].values.value = .object(fields) }
            fields = []
        }
        for (offset, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = offset + 1
            let leading = raw.prefix { $0 == " " || $0 == "\t" }.count
            let content = raw.drop { $0 == " " || $0 == "\t" }.trimmingTrailingBlanks()
            let at = { (column: Int) in SourceLocation(file: file, line: line, column: column) }
            if content.isEmpty || content.hasPrefix("#") || content.hasPrefix(";") { continue }
            if content.hasPrefix("[") {
                guard content.hasSuffix("]"), content.count > 2 else {
                    throw ImportFailure("a section header is `[name]`", at: at(leading + 1))
                }
                close()
                let location = at(leading + 1)
                sections.append(
                    Section(
                        name: String(content.dropFirst().dropLast()), location: location,
                        values: SourceNode(.object([]), at: location)))
                continue
            }
            guard let equals = content.firstIndex(of: "=") else {
                throw ImportFailure("expected `key=value` or `[section]`", at: at(leading + 1))
            }
            guard !sections.isEmpty else {
                throw ImportFailure("a value comes before any `[section]`", at: at(leading + 1))
            }
            let key = content[..<equals].trimmingTrailingBlanks()
            let valueStart = content[content.index(after: equals)...].prefix { $0 == " " || $0 == "\t" }.count
            let value = content[content.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            let valueColumn = leading + content.distance(from: content.startIndex, to: equals) + 2 + valueStart
            fields.append(
                SourceField(
                    key: String(key), keyLocation: at(leading + 1),
                    node: SourceNode(.word(String(value)), at: at(valueColumn))))
        }
        close()
        return sections
    }
}

extension Substring {
    fileprivate func trimmingTrailingBlanks() -> Substring {
        var s = self
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s = s.dropLast() }
        return s
    }
}
