/// Renders diagnostics like a compiler: `file:line:col: error: message`, the source line, a caret under the
/// column, then `help:` and `note:` lines.
public struct DiagnosticPrinter {
    /// Source text per file, to show the offending line.
    public var sources: [String: String]

    public init(sources: [String: String] = [:]) { self.sources = sources }

    public func render(_ diagnostic: Diagnostic) -> String {
        var lines = [diagnostic.description]
        if let location = diagnostic.location, let text = sources[location.file],
            let sourceLine = line(location.line, of: text)
        {
            let gutter = String(location.line)
            let pad = String(repeating: " ", count: gutter.count)
            lines.append("\(pad) |")
            lines.append("\(gutter) | \(sourceLine)")
            // Tabs stay tabs so the caret lines up under them.
            let lead = sourceLine.unicodeScalars.prefix(max(0, location.column - 1)).map { $0 == "\t" ? "\t" : " " }
                .joined()
            lines.append("\(pad) | \(lead)^")
        }
        if let help = diagnostic.help { lines.append("  help: \(help)") }
        for note in diagnostic.notes { lines.append("  note: \(note)") }
        return lines.joined(separator: "\n")
    }

    public func render(_ diagnostics: Diagnostics) -> String {
        let items = diagnostics.sorted
        guard !items.isEmpty else { return "" }
        let errors = items.filter { $0.severity == .error }.count
        let warnings = items.filter { $0.severity == .warning }.count
        var parts: [String] = []
        if errors > 0 { parts.append("\(errors) error\(errors == 1 ? "" : "s")") }
        if warnings > 0 { parts.append("\(warnings) warning\(warnings == 1 ? "" : "s")") }
        return items.map(render).joined(separator: "\n\n") + "\n\n" + parts.joined(separator: ", ") + "\n"
    }

    private func line(_ number: Int, of text: String) -> String? {
        var current = 1
        var start = text.startIndex
        while current < number {
            guard let newline = text[start...].firstIndex(of: "\n") else { return nil }
            start = text.index(after: newline)
            current += 1
        }
        let end = text[start...].firstIndex(of: "\n") ?? text.endIndex
        var line = String(text[start..<end])
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}
